"""A live call on the simulated board, events printed as they happen.

A caller rings the office's line with caller ID; the box answers on the second ring,
plays a chime and dial tone while collecting an extension number; the caller presses
digits over the prompt; the box rings an agent's phone with the caller's number while
the caller hears ringback; the agent answers and the two are bridged; then the caller
hangs up on a line that tells nobody but with busy tone, and the box notices.

The script is a state machine fed by engine events: it never sleeps to make something
happen; only the paced clock (Engine.run_paced style) waits for real time.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from appliance.engine import FRAME_MS, SAMPLE_RATE, CallerID, ChannelConfig, Event, Line, Play
from appliance.sim import SimOffice


def chime() -> np.ndarray:
    """Three falling notes: the demo's stand-in for a recorded greeting."""
    out = []
    for f in (1046.5, 784.0, 523.3):
        t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
        env = np.minimum(1.0, 20 * t) * np.exp(-4 * t)
        out.append(6000 * env * np.sin(2 * np.pi * f * t))
    return np.concatenate(out).astype(np.int16)


class DemoCall:
    """What the box and the two people in the demo do, event by event."""

    def __init__(self, office: SimOffice, say):
        self.o = office
        self.e = office.engine
        self.say = say
        self.line = office.lines[0]
        self.caller = office.callers[0]
        self.port = office.phones[0]
        self.agent = office.agents[0]
        self.greeting = self.e.add_prompt(chime())
        self.done = False
        self.talk_until = None
        self.press_at = None
        self.names = {self.line: "line 1", self.caller.channel: "caller", self.port: "phone port 1",
                      self.agent.channel: "agent's phone"}

    def start(self) -> None:
        self.say("caller dials the office; the exchange rings line 1 with caller ID")
        self.caller.listen(tones=True)
        self.caller.ring("5550142", "IVANOV I", standard="v23")

    def on_event(self, ev: Event) -> None:
        self.say(f"{self.names.get(ev.channel, ev.channel)}: {ev.describe()}", ev.ms)
        e, line = self.e, self.line
        if ev.channel == line:
            if ev.kind == "ring" and ev.a == 2:
                self.say("box answers on the second ring")
                e.answer(line)
                e.play(line, [Play.of_prompt(self.greeting), Play.of_tone("dial", 4000)], interruptible=True)
                e.collect(line, 4, "#", first_timeout_ms=6000, inter_timeout_ms=3000)
            elif ev.kind == "collected" and ev.reason in ("terminator", "max"):
                self.say(f"box routes extension {ev.text} to phone port 1 and rings it")
                e.play(line, [Play.of_tone("ringback")])
                e.ring(self.port, CallerID("5550142", "IVANOV I"), standard="v23")
            elif ev.kind == "hangup":
                self.say("box hangs up the line and releases the agent")
                e.hangup(line)
                e.hangup(self.port)
                self.done = True
        elif ev.channel == self.caller.channel:
            if ev.kind == "offhook":
                self.press_at = ev.sample + SAMPLE_RATE * 6 // 5
        elif ev.channel == self.agent.channel:
            if ev.kind == "ring" and ev.a == 2:
                self.say("agent picks up")
                self.agent.answer()
        elif ev.channel == self.port:
            if ev.kind == "offhook" and ev.a:
                self.say("box bridges caller and agent; they talk")
                e.stop(line)
                e.bridge(line, self.port)
                self.talk_until = ev.sample + 3 * SAMPLE_RATE

    def tick(self) -> None:
        if self.press_at is not None and self.e.now >= self.press_at:
            self.press_at = None
            self.say("caller presses 1 0 2 # over the greeting")
            self.caller.press("102#", level_dbm0=-12, on_ms=90, off_ms=110)
        if self.talk_until is not None and self.e.now >= self.talk_until:
            self.talk_until = None
            self.say("caller hangs up; this line signals it only with busy tone")
            self.caller.hangup()


def run(paced: bool = True, out=sys.stdout, limit_s: float = 60.0) -> None:
    line = Line(loss_db=3, noise_dbm0=-55, echo_delay_ms=8, echo_return_loss_db=18, hangup="busy-tone")
    cfg = ChannelConfig(law="alaw", plan="ru", cid="v23")
    started = time.monotonic()

    def say(text: str, ms: float = None) -> None:
        stamp = f"{(ms if ms is not None else office.now_ms) / 1000:7.2f} s"
        print(f"{stamp}  {text}", file=out, flush=True)

    with SimOffice(lines=1, phones=1, line=line, port_config=cfg) as office:
        call = DemoCall(office, say)
        call.start()
        frames = 0
        while not call.done and office.now_ms < limit_s * 1000:
            office.run(FRAME_MS, on_event=call.on_event)
            call.tick()
            frames += 1
            if paced:
                delay = started + frames * FRAME_MS / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        office.run(500, on_event=call.on_event)
        say("demo over: the engine answered, played, detected digits, rang, bridged and saw the hangup")
