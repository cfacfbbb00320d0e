"""Digits over the box's own prompts: barge-in, and no digits made up from the echo.

The line has a 2-wire hybrid that returns the box's audio 8 ms later, 12 dB down, plus
a little noise, so the DTMF receiver hears the prompt's echo under the caller's digits.
Speech is espeak-ng in English, Russian and Ukrainian at -15 dBm0 during speech (the
conventional telephone speech level); music on hold at -18 dBm0 (tests/audio_sources.py).
Only the DTMF detector runs on the ports here: what busy-tone detection makes of the
same audio is tests/test_busy_disconnect.py's concern.
"""
from __future__ import annotations

import functools
from typing import Dict, List

import numpy as np
import pytest

from appliance.engine import FRAME_MS, Line, Play
from audio_sources import at_level, minutes, music_clips, speech_clips
from calls import answered_office

LAWS = ["alaw", "ulaw"]
ECHO_LINE = Line(noise_dbm0=-50.0, echo_delay_ms=8, echo_return_loss_db=12.0)
SPEECH_DBM0 = -15.0
MUSIC_DBM0 = -18.0
DIGITS = "0123456789*#ABCD"


@functools.lru_cache(maxsize=1)
def prompts() -> Dict[str, np.ndarray]:
    clips = {k: at_level(v, SPEECH_DBM0) for k, v in speech_clips().items()}
    clips.update({k: at_level(v, MUSIC_DBM0) for k, v in music_clips().items()})
    return clips


@pytest.mark.slow
@pytest.mark.parametrize("law", LAWS)
def test_digits_interrupt_prompts(law):
    """1000 digits, each pressed while the box plays a 10 s stretch of speech or music
    taken from a random place (so the audio under the digit and its alignment with the
    receiver's blocks vary): digit, level -20 to -10 dBm0 per tone, 60 to 100 ms long,
    0.2 to 8 s into the prompt. Each digit must be reported exactly once and stop the
    prompt ("interrupted") while the key is still down; nothing else may be reported."""
    clips = list(prompts().items())
    lines, rounds = 25, 40
    rng = np.random.default_rng(20240611)
    excerpt = 10 * 8000
    n = detected = 0
    missed: List[str] = []
    false: List[str] = []
    late: List[str] = []
    latency = []
    with answered_office(lines, law, line=ECHO_LINE, detect=["dtmf"]) as o:
        for r in range(rounds):
            since = len(o.events)
            start = o.now_ms
            pids, plan = [], []
            for i, port in enumerate(o.lines):
                name, clip = clips[int(rng.integers(len(clips)))]
                at = int(rng.integers(0, len(clip) - excerpt))
                pid = o.engine.add_prompt(clip[at:at + excerpt])
                pids.append(pid)
                o.engine.play(port, [Play.of_prompt(pid)], interruptible=True)
                press_at = start + FRAME_MS * int(rng.integers(10, 400))
                plan.append((press_at, i, DIGITS[int(rng.integers(16))], float(rng.uniform(-20.0, -10.0)),
                             int(rng.integers(60, 101)), f"{name}@{at / 8000:.3f}s"))
            plan.sort()
            for press_at, i, digit, level, on_ms, _ in plan:
                if press_at > o.now_ms:
                    o.run(press_at - o.now_ms)
                o.callers[i].press(digit, level_dbm0=level, on_ms=on_ms, off_ms=60)
            o.run(500)
            for press_at, i, digit, level, on_ms, where in plan:
                port = o.lines[i]
                evs = [e for e in o.events[since:] if e.channel == port]
                digits = [e for e in evs if e.kind == "digit"]
                done = [e for e in evs if e.kind == "play-done"]
                what = f"{digit} {level:.1f} dBm0 {on_ms} ms over {where}"
                n += 1
                mine = [e for e in digits if e.digit == digit and e.ms >= press_at - 10]
                others = [e for e in digits if e not in mine[:1]]
                if mine:
                    detected += 1
                else:
                    missed.append(what)
                false.extend(f"{e.digit} at {e.ms - start:.0f} ms ({e.duration_ms} ms, {e.c} dBm0) "
                             f"while {what}" for e in others)
                if digits:
                    first = min(digits, key=lambda e: e.ms)
                    stop = [e for e in done if e.reason == "interrupted"]
                    if not stop or not first.ms <= stop[0].ms <= first.ms + first.duration_ms + FRAME_MS:
                        late.append(what)
                    else:
                        latency.append(stop[0].ms - first.ms)
            for port in o.lines:
                if o.engine.state(port) == "playing":
                    o.engine.stop(port)
            o.run(100)
            for pid in pids:
                o.engine.remove_prompt(pid)
    rate = 100.0 * detected / n
    print(f"\n[{law}] barge-in: {detected}/{n} digits detected ({rate:.2f} %); missed: {missed}")
    print(f"[{law}] barge-in: {len(false)} digits nobody pressed: {false}")
    print(f"[{law}] barge-in: prompt stopped by the digit while the key was down in {len(latency)} cases, "
          f"{max(latency) if latency else 0:.0f} ms after the reported start at most; not so: {late}")
    assert n >= 1000
    problems = []
    if detected < 0.999 * n:
        problems.append(f"{n - detected} of {n} digits missed")
    if false:
        problems.append(f"{len(false)} digits reported that nobody pressed")
    if late:
        problems.append(f"{len(late)} detected digits did not interrupt the prompt")
    assert not problems, "; ".join(problems)


def play_back_to_back(law: str, clips: Dict[str, np.ndarray], leads_ms: List[int]):
    """Line j plays every clip in turn, after leads_ms[j] of silence and with 300 ms
    between clips; returns the digits reported, each placed in its clip, and how many
    lines played to the end."""
    gap_ms = 300
    with answered_office(len(leads_ms), law, line=ECHO_LINE, detect=["dtmf"]) as o:
        ids = {name: o.engine.add_prompt(pcm) for name, pcm in clips.items()}
        start = o.now_ms
        schedule = []
        for port, lead in zip(o.lines, leads_ms):
            items, at, where = [], float(lead), []
            for k, name in enumerate(clips):
                items += [Play.of_silence(lead if k == 0 else gap_ms), Play.of_prompt(ids[name])]
                where.append((at, name))
                at += len(clips[name]) / 8.0 + gap_ms
            o.engine.play(port, items)
            schedule.append(where)
        total_ms = max(w[-1][0] for w in schedule) + max(len(c) for c in clips.values()) / 8.0 + 500
        o.run(total_ms)
        complete = sum(1 for port in o.lines for e in o.of(port, "play-done") if e.reason == "complete")
        false = []
        for port, lead, where in zip(o.lines, leads_ms, schedule):
            for e in o.of(port, "digit"):
                t = e.ms - start
                at, name = [w for w in where if w[0] <= t][-1] if t >= where[0][0] else (0.0, "lead-in")
                false.append(f"{e.digit} at {(t - at) / 1000.0:.3f} s of {name} (lead-in {lead} ms; "
                             f"{e.duration_ms} ms, {e.c} dBm0)")
    return false, complete


@pytest.mark.slow
@pytest.mark.parametrize("law", LAWS)
def test_no_digits_from_echo_of_prompts(law):
    """The box plays all its speech and music; nobody presses anything; the port must
    report no digit. The receiver decides on fixed 102-sample blocks, so whether a piece
    of audio passes for a digit depends on where the block edges fall: the speech is
    played on 17 lines whose lead-ins differ by 1 ms (8 samples), which puts every clip
    at 17 different block alignments; the music at two."""
    clips = prompts()
    speech = {k: v for k, v in clips.items() if k.startswith("speech")}
    music = {k: v for k, v in clips.items() if not k.startswith("speech")}
    speech_leads = [1 + j for j in range(17)]
    music_leads = [1, 8]
    false_speech, done_speech = play_back_to_back(law, speech, speech_leads)
    false_music, done_music = play_back_to_back(law, music, music_leads)
    audio_min = minutes(speech) * len(speech_leads) + minutes(music) * len(music_leads)
    false = false_speech + false_music
    print(f"\n[{law}] echo talk-off: {audio_min:.1f} min of the box's own audio "
          f"({minutes(speech):.1f} min of speech x {len(speech_leads)}, "
          f"{minutes(music):.1f} min of music x {len(music_leads)}): {len(false)} false digits {false}")
    assert done_speech == len(speech_leads) and done_music == len(music_leads), "a play list did not finish"
    assert audio_min >= 10
    assert not false, f"{len(false)} digits made up from the echo of the box's own prompts"
