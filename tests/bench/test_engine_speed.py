"""Real-time channels per core: the engine's whole per-channel pipeline against a bare loop
that makes the same DSP calls, measured in one run (native/bench.c does both).

What is timed:
  - The bare loop, per channel and 20 ms frame: G.711 decode of what the channel hears,
    spandsp's dtmf_rx (with a realtime callback), the call-progress tone receiver
    tonerx_rx (the one the engine builds from the tone plan, supervise.c), the playback
    (a copy from a looped prompt, or tone_gen for a tone), G.711 encode. Nothing else: no line state, no
    events, no board.
  - The engine: engine_run() over all channels on a replay board, whose read() copies the
    next frame of the same recording and whose write() keeps the frame. Every channel is
    an FXO port with the default configuration (DTMF, call-progress tones, busy-tone
    hangup), rung, answered and playing, so the timed work is the whole per-channel
    pipeline: board read, decode, DTMF receive in its 102-sample blocks, supervisory tone
    receive, timers and line state, playback, encode, board write, events. No far end,
    no line model and no simulated board is timed; they are not the engine, and
    test_sim_speed.py measures them.
  - Both sides code G.711 the same way, and both hear the same caller (speech with a key
    press every 2.5 s), each channel from its own place in it, and play the same prompt.
    Each checks the other: the same digits detected, the same last frame sent.
  - While the engine plays a tone it does not listen for call-progress tones (it would
    hear its own echo), so in the tone case neither side runs the tone receiver.
  - Speech now and then passes for a call-progress tone (talk-off); the engine then ends
    that call, as busy-tone hangup says, and does less work on the channel from there on
    than the bare loop. Such channels are reported and must stay rare.

Channels per core = seconds of audio x channels / CPU seconds; ratio = engine / bare loop.
Targets (the product's issue): ratio >= 0.85 and >= 5,000 real-time channels per core.
"""
from __future__ import annotations

import numpy as np
import pytest

from appliance.binding import ffi, lib

RATIO_MIN = 0.85
CHANNELS_PER_CORE_MIN = 5000
ROUNDS = 5
# About a quarter of a CPU second per measurement at the target speed.
CHANNEL_SECONDS = 1250.0


def _work(channels: int, heard: np.ndarray, played, keep: list):
    w = ffi.new("bench_work_t *")
    plan = ffi.new("char[]", b"itu")
    heard_buf = ffi.from_buffer("int16_t[]", heard)
    keep += [w, plan, heard_buf]
    w.channels = channels
    w.frames = max(50, int(CHANNEL_SECONDS / channels * 50))
    w.law = lib.LAW_ALAW
    w.plan = plan
    w.heard = heard_buf
    w.heard_len = len(heard)
    if played is None:
        w.played = ffi.NULL
        w.tone = lib.TONE_DIAL
    else:
        played_buf = ffi.from_buffer("int16_t[]", played)
        keep.append(played_buf)
        w.played = played_buf
        w.played_len = len(played)
    return w


def _run(fn, w):
    r = ffi.new("bench_result_t *")
    rc = fn(w, r)
    assert rc == 0, ffi.string(lib.engine_strerror(rc)).decode()
    return r


@pytest.mark.parametrize("play,channels", [("prompt", 60), ("prompt", 240), ("tone", 60)])
def test_channels_per_core(benchmark, report, caller_audio, speech, play, channels):
    keep: list = []
    prompt = speech[4] if play == "prompt" else None
    w = _work(channels, caller_audio, prompt, keep)
    base, eng = [], []

    def one_round():
        base.append(_run(lib.bench_baseline, w))
        eng.append(_run(lib.bench_engine, w))

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)

    audio_s = w.frames * 20 / 1000.0
    base_cpc = audio_s * channels / min(r.cpu_s for r in base)
    eng_cpc = audio_s * channels / min(r.cpu_s for r in eng)
    ratio = eng_cpc / base_cpc
    b, e = base[-1], eng[-1]
    report(f"bare loop {base_cpc:,.0f} ch/core, engine {eng_cpc:,.0f} ch/core, ratio {ratio:.3f} "
           f"({channels} channels x {audio_s:.0f} s, best of {ROUNDS}; digits bare/engine {b.digits}/{e.digits}, "
           f"talk-off hangups {e.hangups})")
    benchmark.extra_info.update(baseline_channels_per_core=round(base_cpc), engine_channels_per_core=round(eng_cpc),
                                ratio=round(ratio, 3))

    # The same work on both sides, or the comparison means nothing.
    assert e.tones + e.hangups == b.tones
    assert e.hangups <= channels // 100
    if e.hangups == 0:
        assert (e.digits, e.checksum) == (b.digits, b.checksum)
    assert e.digits >= channels * audio_s / 2.5 * 0.8
    assert ratio >= RATIO_MIN, f"the engine runs at {ratio:.3f} of the bare loop's speed"
    assert eng_cpc >= CHANNELS_PER_CORE_MIN, f"{eng_cpc:,.0f} real-time channels per core"
