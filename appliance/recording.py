"""Call recordings: the engine hands tapped frames over in each batch; this writes them.

Rules: a recording is a 2-channel 16-bit 8 kHz WAV file, left what the line brought
in, right what the box sent, so both sides stay intelligible and separable. Frames are
written as they arrive (streaming), so a long call never sits in memory, and a file is
closed with a valid header when the recording stops.
"""
from __future__ import annotations

import wave
from typing import Dict

import numpy as np

from appliance.engine import SAMPLE_RATE, Batch, Engine


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
