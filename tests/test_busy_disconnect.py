"""Lines that tell the box of a hangup only by busy tone (Line(hangup="busy-tone")).

When the caller hangs up, the exchange plays its plan's busy tone and nothing else; the
box's port must report a "hangup" with cause "busy-tone" within 3 s. The same detector
must never end a call on what callers and the box itself say or play: speech in English,
Russian and Ukrainian (espeak-ng) and music on hold (tests/audio_sources.py), for more
than ten minutes of engine time per plan and law.
"""
from __future__ import annotations

import functools
from typing import Dict, List, Tuple

import numpy as np
import pytest

from appliance.engine import Line, Play
from audio_sources import at_level, music_clips, speech_clips
from calls import answered_office

PLANS = ["ru", "us", "ua", "itu"]
LAWS = ["alaw", "ulaw"]
DETECT_WITHIN_MS = 3000
PLAIN_LINE = Line(loss_db=3.0, noise_dbm0=-50.0, hangup="busy-tone")
ECHO_LINE = Line(loss_db=3.0, noise_dbm0=-50.0, echo_delay_ms=8, echo_return_loss_db=12.0, hangup="busy-tone")
GAP_MS = 300


@functools.lru_cache(maxsize=1)
def clips() -> Dict[str, np.ndarray]:
    """Speech at -15 dBm0 during speech, music at -18 dBm0."""
    out = {k: at_level(v, -15.0) for k, v in speech_clips().items()}
    out.update({k: at_level(v, -18.0) for k, v in music_clips().items()})
    return out


def programme(order: List[str]) -> Tuple[np.ndarray, List[Tuple[float, str]]]:
    """The clips in this order with 300 ms between them, and where each begins (ms)."""
    parts, where, at = [], [], 0.0
    gap = np.zeros(GAP_MS * 8, np.int16)
    for name in order:
        where.append((at, name))
        parts += [clips()[name], gap]
        at += (len(clips()[name]) + len(gap)) / 8.0
    return np.concatenate(parts), where


def place(t_ms: float, where: List[Tuple[float, str]]) -> str:
    at, name = [w for w in where if w[0] <= t_ms][-1]
    return f"{(t_ms - at) / 1000.0:.2f} s into {name}"


def hang_up_and_time(o, play_on_port=None, after_ms: float = 2000) -> Tuple[str, float]:
    """The caller hangs up after_ms into the call; returns the port's hangup cause and
    how long after the hangup it came (inf if never within 20 s)."""
    port, caller = o.lines[0], o.callers[0]
    if play_on_port is not None:
        # A tone item without a length plays until stopped; a prompt list loops.
        o.engine.play(port, play_on_port, loop=play_on_port[-1].kind == "prompt")
    o.run(after_ms)
    assert o.engine.state(port) in ("offhook", "playing"), "the call ended before the caller hung up"
    hung = o.now_ms
    caller.hangup()
    ev = o.run_until(lambda e: e.channel == port and e.kind == "hangup", timeout_ms=20000)
    return (ev.cause, ev.ms - hung) if ev else ("", float("inf"))


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("plan", PLANS)
def test_busy_tone_ends_call(plan, law):
    with answered_office(1, law, line=PLAIN_LINE, plan=plan) as o:
        cause, took = hang_up_and_time(o)
    print(f"\n[{plan} {law}] busy tone after the caller hung up: hangup by {cause or 'nothing'} "
          f"after {took:.0f} ms")
    assert cause == "busy-tone"
    assert took <= DETECT_WITHIN_MS


@pytest.mark.parametrize("source", ["speech", "music", "ringback"])
@pytest.mark.parametrize("plan", PLANS)
def test_busy_tone_ends_call_while_box_plays(plan, source):
    """The same hangup while the box plays to the caller, as it does to callers waiting
    in a queue (a prompt, music on hold, or ringback tone while an agent is rung), on a
    line whose hybrid returns the box's audio 12 dB down. The caller hangs up 10 s into
    the call, when the port's echo canceller has learnt the line: in a call's first
    seconds the echo of a loud prompt is as loud as the exchange's busy tone and fills
    its silences, and no cadence can be heard in them."""
    with answered_office(1, "alaw", line=ECHO_LINE, plan=plan) as o:
        if source == "ringback":
            items = [Play.of_tone("ringback")]
        else:
            name = next(k for k in clips() if k.startswith("speech" if source == "speech" else "moh"))
            items = [Play.of_prompt(o.engine.add_prompt(clips()[name]))]
        cause, took = hang_up_and_time(o, items, after_ms=10000)
    print(f"\n[{plan}] busy tone while the box plays {source}: hangup by {cause or 'nothing'} after {took:.0f} ms")
    assert cause == "busy-tone"
    assert took <= DETECT_WITHIN_MS


def false_hangups(plan: str, law: str, far_order: List[str], box_order: List[str] = None):
    """A connected call on which the far end sends its programme and, if box_order is
    given, the box plays its own at the same time on an echo line. Returns the minutes
    of engine time, the hangups the port reported (with what was playing), and the
    number of call-progress tones it thought it heard."""
    far_pcm, far_where = programme(far_order)
    line = ECHO_LINE if box_order else PLAIN_LINE
    with answered_office(1, law, line=line, plan=plan) as o:
        port, caller = o.lines[0], o.callers[0]
        start = o.now_ms
        caller.send(far_pcm)
        if box_order:
            box_pcm, box_where = programme(box_order)
            o.engine.play(port, [Play.of_prompt(o.engine.add_prompt(box_pcm))])
        o.run(len(far_pcm) / 8.0 + 500)
        minutes = (o.now_ms - start) / 60000.0
        found = []
        for e in o.of(port, "hangup"):
            t = e.ms - start
            what = f"by {e.cause} at {t / 1000.0:.1f} s, far end {place(t, far_where)}"
            if box_order:
                what += f", box {place(t, box_where)}"
            found.append(what)
        tones = len([e for e in o.of(port, "tone") if e.b])
    return minutes, found, tones


@pytest.mark.slow
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("plan", PLANS)
def test_far_end_speech_and_music_never_hang_up(plan, law):
    order = sorted(clips())
    minutes, found, tones = false_hangups(plan, law, order)
    print(f"\n[{plan} {law}] {minutes:.1f} min of far-end speech and music: {len(found)} false hangups {found}; "
          f"{tones} call-progress tones reported")
    assert minutes >= 10
    assert not found


@pytest.mark.slow
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("plan", PLANS)
def test_own_prompts_echo_never_hangs_up(plan, law):
    """The far end talks and plays music while the box plays its own prompts and music,
    whose echo the port hears too."""
    far = sorted(clips())
    box = sorted(clips(), reverse=True)
    minutes, found, tones = false_hangups(plan, law, far, box)
    print(f"\n[{plan} {law}] {minutes:.1f} min of far-end audio with the box playing over echo: "
          f"{len(found)} false hangups {found}; {tones} call-progress tones reported")
    assert minutes >= 10
    assert not found
