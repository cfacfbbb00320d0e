"""Call recordings: the engine hands tapped frames over in each batch; this writes them.

Rules: a call recording (Recorder) is a 2-channel 16-bit 8 kHz WAV file, left what the
line brought in, right what the box sent, so both sides stay intelligible and
separable. A take (Take: a script's RECORD FILE) is what the caller says alone: the
line's received audio from a given sample on, mono 16-bit 8 kHz, as Asterisk's wav
format is, so the scripts that play it back elsewhere take it as it is. Frames are
written as they arrive (streaming), so a long call never sits in memory, and a file is
closed with a valid header when the recording stops; a take may be cut shorter then
(the sound of the key that ended it, the silence that ended it).
"""
from __future__ import annotations

import wave
from typing import Dict, Optional

import numpy as np

from appliance import wav
from appliance.engine import SAMPLE_RATE, Batch, Engine

QUIET_DBM0 = -40.0          # a frame of the caller's below this is silence
FULL_SCALE_SINE_DBM0 = 3.14


class Recorder:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._open: Dict[int, wave.Wave_write] = {}

    def start(self, channel: int, path: str) -> None:
        if channel in self._open:
            raise ValueError(f"channel {channel} is already being recorded")
        f = wave.open(path, "wb")
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        self.engine.tap(channel, True)
        self._open[channel] = f

    def feed(self, batch: Batch) -> None:
        """Writes the frames of one batch; call it with every batch the engine returns."""
        if batch.taps is None:
            return
        for chan, f in self._open.items():
            rows = batch.taps[batch.taps["chan"] == chan]
            if len(rows):
                both = np.stack([rows["rx"].reshape(-1), rows["tx"].reshape(-1)], axis=1)
                f.writeframes(both.astype("<i2").tobytes())

    def stop(self, channel: int) -> None:
        f = self._open.pop(channel, None)
        if f is None:
            raise ValueError(f"channel {channel} is not being recorded")
        self.engine.tap(channel, False)
        f.close()

    def close(self) -> None:
        for chan in list(self._open):
            self.stop(chan)


class Take:
    """What a line received from sample `start` on, into a mono WAV file at path.

    Opening the file may raise OSError (the caller tells the script so)."""

    def __init__(self, path: str, channel: int, start: int):
        self.path = path
        self.channel = channel
        self.start = start
        self.samples = 0            # written so far
        self.quiet = 0              # samples of silence at the end of what is written
        self._f = open(path, "wb")
        self._f.write(wav.header(0))

    def feed(self, taps: Optional[np.ndarray]) -> None:
        """The line's frames in one batch's taps (other channels' rows are left alone)."""
        if taps is None or self._f.closed:
            return
        for row in taps[taps["chan"] == self.channel]:
            rx = row["rx"][max(0, self.start - int(row["sample"])):]
            if not len(rx):
                continue
            self._f.write(rx.astype("<i2").tobytes())
            self.samples += len(rx)
            power = float(np.mean(rx.astype(np.float64) ** 2))
            quiet = power <= 0 or 10.0 * np.log10(power / (32767.0 ** 2 / 2)) + FULL_SCALE_SINE_DBM0 < QUIET_DBM0
            self.quiet = self.quiet + len(rx) if quiet else 0

    def close(self, keep: Optional[int] = None) -> int:
        """Ends the file, cut to its first `keep` samples if given; returns its length."""
        if self._f.closed:
            return self.samples
        if keep is not None and 0 <= keep < self.samples:
            self.samples = keep
            self._f.truncate(len(wav.header(0)) + 2 * keep)
        self._f.seek(0)
        self._f.write(wav.header(2 * self.samples))
        self._f.close()
        return self.samples
