"""appliance dtmf-scan: digits, their start and length, and clear errors for bad files."""
import subprocess
import sys

import numpy as np
import pytest

from appliance import wav

KEYS = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
        "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
        "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
        "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def dtmf_file(path, plan, encoding="linear", level=6000, noise=0.0):
    """plan: [(digit, start_ms, duration_ms)] -> a WAV file holding those digits."""
    end = max(s + d for _, s, d in plan) + 300
    x = np.zeros(end * 8)
    for digit, start, dur in plan:
        lo, hi = KEYS[digit]
        t = np.arange(dur * 8) / 8000.0
        x[start * 8:(start + dur) * 8] += level * (np.sin(2 * np.pi * lo * t) + np.sin(2 * np.pi * hi * t))
    if noise:
        x += np.random.default_rng(1).normal(0, noise, len(x))
    wav.write(str(path), np.clip(x, -32768, 32767).astype(np.int16), encoding)


def scan(path):
    return subprocess.run([sys.executable, "-m", "appliance.cli", "dtmf-scan", str(path)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("encoding", ["linear", "alaw", "ulaw"])
def test_digits_with_times(tmp_path, encoding):
    plan = [("1", 300, 80), ("2", 600, 120), ("#", 1000, 60), ("0", 1500, 200), ("D", 2000, 50),
            ("*", 2300, 100), ("9", 3000, 400)]
    p = tmp_path / "digits.wav"
    dtmf_file(p, plan, encoding)
    r = scan(p)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")[:-1]
    print("\n".join(lines))
    got = [line.split() for line in lines]
    assert [g[0] for g in got] == [d for d, _, _ in plan]
    for (digit, start, dur), (_, s, d) in zip(plan, got):
        # spandsp decides on 12.75 ms blocks: times are good to about a block
        assert abs(int(s) - start) <= 13, (digit, start, s)
        assert abs(int(d) - dur) <= 16, (digit, dur, d)


def test_no_digits_prints_nothing(tmp_path):
    p = tmp_path / "quiet.wav"
    wav.write(str(p), np.random.default_rng(2).normal(0, 300, 16000).astype(np.int16))
    r = scan(p)
    assert r.returncode == 0 and r.stdout == ""


def test_wrong_format_names_sox_command(tmp_path):
    p = tmp_path / "cd.wav"
    src = tmp_path / "src.wav"
    dtmf_file(src, [("5", 100, 100)])
    subprocess.run(["sox", str(src), "-r", "44100", str(p)], check=True)
    r = scan(p)
    assert r.returncode == 1
    assert "44100 Hz" in r.stderr and "sox " in r.stderr and "-r 8000 -c 1" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.write_bytes(b"RIFF1234WAVEfmt "),
                                  lambda p: p.mkdir()])
def test_missing_or_corrupt_file(tmp_path, make):
    p = tmp_path / "bad.wav"
    make(p)
    r = scan(p)
    assert r.returncode == 1
    assert r.stderr.startswith("appliance dtmf-scan: ")
    assert str(p) in r.stderr
    assert "Traceback" not in r.stderr
