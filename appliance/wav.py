"""Reading telephone-band WAV files: 8 kHz mono, 16-bit linear, A-law or mu-law.

Rules: anything else is refused with a WavError that says what the file is and the sox
command that converts it; a missing, short or corrupt file is a WavError too, never a
traceback. Python's wave module reads only linear PCM, so the RIFF chunks are read here.
"""
from __future__ import annotations

import shlex
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_PCM = 1
FORMAT_ALAW = 6
FORMAT_ULAW = 7
FORMAT_EXTENSIBLE = 0xFFFE
ENCODINGS = {FORMAT_PCM: "linear", FORMAT_ALAW: "alaw", FORMAT_ULAW: "ulaw"}


class WavError(Exception):
    """A file that cannot be used, with the reason in words."""


@dataclass
class Wav:
    encoding: str           # "linear", "alaw" or "ulaw"
    samples: np.ndarray     # int16 linear samples, 8 kHz


def sox_hint(path: str) -> str:
    out = str(Path(path).with_suffix("")) + "-8k.wav"
    return (f"convert it with: sox {shlex.quote(path)} -r 8000 -c 1 -b 16 -e signed-integer "
            f"{shlex.quote(out)}")


def _alaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for i in range(256):
        a = i ^ 0x55
        seg = (a & 0x70) >> 4
        t = (a & 0x0F) << 4
        t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
        out[i] = t if a & 0x80 else -t
    return out


def _ulaw_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.int16)
    for i in range(256):
        u = ~i & 0xFF
        t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        out[i] = (0x84 - t) if u & 0x80 else (t - 0x84)
    return out


ALAW_TO_LINEAR = _alaw_table()
ULAW_TO_LINEAR = _ulaw_table()


def read(path: str) -> Wav:
    p = Path(path)
    if not p.exists():
        raise WavError(f"{path}: no such file")
    if p.is_dir():
        raise WavError(f"{path}: is a directory, not a WAV file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise WavError(f"{path}: cannot be read ({e.strerror})") from None
    if len(data) < 12 or data[0:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{path}: not a WAV file (no RIFF/WAVE header); {sox_hint(path)}")
    fmt = None
    body = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            if len(chunk) < 16:
                raise WavError(f"{path}: corrupt WAV file (format chunk of {len(chunk)} bytes)")
            fmt = struct.unpack_from("<HHIIHH", chunk)
            if fmt[0] == FORMAT_EXTENSIBLE and len(chunk) >= 26:
                fmt = (struct.unpack_from("<H", chunk, 24)[0],) + fmt[1:]
        elif cid == b"data":
            body = chunk
            if len(chunk) < size:
                raise WavError(f"{path}: corrupt WAV file (data chunk says {size} bytes, "
                               f"file holds {len(chunk)})")
            break
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise WavError(f"{path}: corrupt WAV file (no format chunk)")
    if body is None:
        raise WavError(f"{path}: corrupt WAV file (no data chunk)")
    tag, channels, rate, _, _, bits = fmt
    encoding = ENCODINGS.get(tag)
    want = {"linear": 16, "alaw": 8, "ulaw": 8}
    if encoding is None or channels != 1 or rate != 8000 or bits != want[encoding]:
        what = (f"{ENCODINGS.get(tag, f'format {tag}')}, {bits}-bit, {channels} channel(s), {rate} Hz")
        raise WavError(f"{path}: {what}; this needs 8000 Hz mono 16-bit linear, A-law or mu-law; "
                       f"{sox_hint(path)}")
    if encoding == "linear":
        samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.int16)
    else:
        table = ALAW_TO_LINEAR if encoding == "alaw" else ULAW_TO_LINEAR
        samples = table[np.frombuffer(body, dtype=np.uint8)]
    return Wav(encoding, samples)


def write(path: str, samples, encoding: str = "linear") -> None:
    """Writes 8 kHz mono; used by recordings and by tests that make test files."""
    x = np.asarray(samples, dtype=np.int16)
    if encoding == "linear":
        tag, bits, body = FORMAT_PCM, 16, x.astype("<i2").tobytes()
    elif encoding in ("alaw", "ulaw"):
        table = ALAW_TO_LINEAR if encoding == "alaw" else ULAW_TO_LINEAR
        # nearest code by value: exact for samples that came from this law
        order = np.argsort(table)
        idx = np.searchsorted(table[order], x).clip(1, 255)
        lo, hi = order[idx - 1], order[idx]
        pick = np.where(np.abs(table[lo].astype(int) - x) <= np.abs(table[hi].astype(int) - x), lo, hi)
        tag, bits, body = (FORMAT_ALAW if encoding == "alaw" else FORMAT_ULAW), 8, pick.astype(np.uint8).tobytes()
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    with open(path, "wb") as f:
        f.write(header(len(body), tag, bits) + body)


def header(data_bytes: int, tag: int = FORMAT_PCM, bits: int = 16) -> bytes:
    """The RIFF header of an 8 kHz mono file whose samples take data_bytes."""
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000 * block, block, bits)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes))
