"""dtmf-scan: which DTMF digits a recording holds, as the box's receive path hears them.

The file is played by a simulated caller down a simulated line into a port of the
engine, in the file's own law (linear files go over an A-law line), so the answer is
exactly what the box would detect on a call. Times are from the start of the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

from appliance.engine import FRAME, SAMPLE_RATE, ChannelConfig, Line, Play
from appliance.sim import SimOffice
from appliance.wav import Wav

CHUNK = SAMPLE_RATE * 600           # prompts of 10 minutes, well inside the engine's limit
MAX_ITEMS = 32


@dataclass(frozen=True)
class Detected:
    digit: str
    start_ms: int
    duration_ms: int

    def __str__(self) -> str:
        return f"{self.digit} {self.start_ms} {self.duration_ms}"


def scan(wav: Wav, plan: str = "itu") -> List[Detected]:
    samples = wav.samples
    if len(samples) > CHUNK * MAX_ITEMS:
        raise ValueError(f"the recording lasts {len(samples) // SAMPLE_RATE} s; dtmf-scan takes up to "
                         f"{CHUNK * MAX_ITEMS // SAMPLE_RATE} s")
    law = "ulaw" if wav.encoding == "ulaw" else "alaw"
    cfg = ChannelConfig(law=law, plan=plan, detect=["dtmf"])
    with SimOffice(lines=1, line=Line(), port_config=cfg) as office:
        port, caller = office.lines[0], office.callers[0]
        caller.ring()
        office.run_until(lambda e: e.channel == port and e.kind == "ring")
        office.engine.answer(port)
        office.run_until(lambda e: e.channel == caller.channel and e.kind == "offhook")
        ids = [office.engine.add_prompt(samples[i:i + CHUNK]) for i in range(0, max(len(samples), 1), CHUNK)]
        office.engine.play(caller.channel, [Play.of_prompt(i) for i in ids])
        # The port hears a block one frame after the far end sends it.
        origin = office.engine.now + FRAME
        office.run_until(lambda e: e.channel == caller.channel and e.kind == "play-done",
                         timeout_ms=len(samples) * 1000 / SAMPLE_RATE + 1000)
        office.run(200)     # let a digit that ends with the file end be reported
        found = [Detected(e.digit, max(0, int(round((e.sample - origin) * 1000 / SAMPLE_RATE))), e.duration_ms)
                 for e in office.of(port, "digit")]
        for i in ids:
            office.engine.remove_prompt(i)
    return found
