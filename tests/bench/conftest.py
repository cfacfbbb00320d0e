"""What the speed proofs share: the audio they use and the table of their results.

Rules:
  - Audio is real speech (espeak-ng) and real music on hold (Debian's package), through
    tests/audio_sources.py, which skips a benchmark whose sources are not installed.
  - Times are CPU seconds of the calling thread: another process on the machine does
    not count against the engine, and neither does NumPy's thread pool.
  - Each benchmark repeats its measurement and keeps the best round, the one least
    disturbed by the machine; the lines it reports are printed after the test session.
"""
from __future__ import annotations

from typing import List

import numpy as np
import pytest

from audio_sources import at_level, music_clips, speech_clips

SAMPLE_RATE = 8000
_REPORT: List[str] = []

# Row and column frequencies of the DTMF keypad.
_KEYPAD = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209),
           "5": (770, 1336), "6": (770, 1477), "7": (852, 1209), "8": (852, 1336),
           "9": (852, 1477), "*": (941, 1209), "0": (941, 1336), "#": (941, 1477)}


def dtmf(digit: str, ms: int = 80, dbm0: float = -10.0) -> np.ndarray:
    """One key press as a keypad sends it: both tones at dbm0 each (full-scale sine is +3.14)."""
    amp = 32767.0 * 10.0 ** ((dbm0 - 3.14) / 20.0)
    t = np.arange(ms * SAMPLE_RATE // 1000) / SAMPLE_RATE
    lo, hi = _KEYPAD[digit]
    return amp * (np.sin(2 * np.pi * lo * t) + np.sin(2 * np.pi * hi * t))


@pytest.fixture(scope="session")
def speech() -> List[np.ndarray]:
    """Every speech clip, at -20 dBm0 while talking."""
    return [at_level(v, -20.0) for _, v in sorted(speech_clips().items())]


@pytest.fixture(scope="session")
def music() -> List[np.ndarray]:
    """Every music-on-hold clip, at -18 dBm0."""
    return [at_level(v, -18.0) for _, v in sorted(music_clips().items())]


@pytest.fixture(scope="session")
def caller_audio(speech) -> np.ndarray:
    """What a box's channel hears from a caller: speech with a key press every 2.5 s."""
    x = np.concatenate(speech[:3]).astype(np.float64)
    keys = "1234567890*#"
    step = int(2.5 * SAMPLE_RATE)
    for n, start in enumerate(range(SAMPLE_RATE, len(x) - SAMPLE_RATE, step)):
        tone = dtmf(keys[n % len(keys)])
        x[start:start + len(tone)] += tone
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.fixture
def report(request):
    """Adds a line to the results printed at the end of the session."""
    def add(line: str) -> None:
        _REPORT.append(f"{request.node.name}: {line}")
    return add


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("speed proofs")
        for line in _REPORT:
            terminalreporter.write_line(line)
