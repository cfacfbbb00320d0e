"""Reading telephone WAV files, and refusing the rest with a useful message."""
import subprocess

import numpy as np
import pytest

from appliance import wav


def sine(ms=200, f=1000, level=8000):
    t = np.arange(ms * 8) / 8000.0
    return (level * np.sin(2 * np.pi * f * t)).astype(np.int16)


@pytest.mark.parametrize("encoding", ["linear", "alaw", "ulaw"])
def test_round_trip(tmp_path, encoding):
    x = sine()
    p = tmp_path / f"{encoding}.wav"
    wav.write(str(p), x, encoding)
    got = wav.read(str(p))
    assert got.encoding == encoding
    assert len(got.samples) == len(x)
    # G.711 keeps about 12 bits of a loud signal
    assert np.max(np.abs(got.samples.astype(int) - x)) <= (0 if encoding == "linear" else 300)


@pytest.mark.parametrize("encoding,sox_args", [("alaw", ["-e", "a-law"]), ("ulaw", ["-e", "u-law"])])
def test_laws_agree_with_sox(tmp_path, encoding, sox_args):
    x = sine(level=12000)
    src = tmp_path / "lin.wav"
    wav.write(str(src), x)
    dst = tmp_path / f"{encoding}-sox.wav"
    subprocess.run(["sox", str(src), "-b", "8", *sox_args, str(dst)], check=True)
    got = wav.read(str(dst))
    assert got.encoding == encoding
    assert np.max(np.abs(got.samples.astype(int) - x)) <= 300


def test_refuses_other_formats_with_sox_hint(tmp_path):
    x = sine()
    src = tmp_path / "lin.wav"
    wav.write(str(src), x)
    wide = tmp_path / "wide band.wav"
    subprocess.run(["sox", str(src), "-r", "16000", "-c", "2", str(wide)], check=True)
    with pytest.raises(wav.WavError) as e:
        wav.read(str(wide))
    msg = str(e.value)
    assert "16000 Hz" in msg and "2 channel" in msg
    assert "sox 'wide band.wav' -r 8000 -c 1 -b 16 -e signed-integer" in msg.replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize("content,expected", [
    (None, "no such file"),
    (b"", "not a WAV file"),
    (b"RIFF\x10\x00\x00\x00WAVEjunk", "no format chunk"),
    (b"hello, world, this is not audio at all", "not a WAV file"),
])
def test_missing_and_corrupt(tmp_path, content, expected):
    p = tmp_path / "x.wav"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(wav.WavError, match=expected):
        wav.read(str(p))


def test_truncated_data(tmp_path):
    p = tmp_path / "t.wav"
    wav.write(str(p), sine())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(wav.WavError, match="corrupt WAV file"):
        wav.read(str(p))
