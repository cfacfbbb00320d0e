"""Scripted far ends on the simulated board: callers on the box's lines, agents at its phones.

A test or a person builds a SimOffice (so many lines, so many phone ports, a line
model), then drives the far ends: a Caller rings a line with caller ID, presses digits
as audio, sends any PCM, hears what the box plays, and hangs up; a Phone rings when the
box rings it, answers, presses digits, flashes, hangs up.

Rules:
  - Everything runs on the engine's clock; SimOffice.run() advances it in free-running
    batches and keeps every event, so tests read what happened and when.
  - What a far end hears is its own recording tap: the real audio after the line model,
    not a message from the box. Recognising a prompt is done on that audio.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

import numpy as np

from appliance.engine import (FRAME, FRAME_MS, SAMPLE_RATE, CallerID, ChannelConfig, Engine, Event,
                              Line, Play, SimBoard)


class FarEnd:
    """One far-end channel of a pair: what a person at the other end does."""

    def __init__(self, office: "SimOffice", channel: int, port: int):
        self.office = office
        self.channel = channel
        self.port = port
        self._capture: Optional[List[np.ndarray]] = None

    @property
    def engine(self) -> Engine:
        return self.office.engine

    @property
    def state(self) -> str:
        return self.engine.state(self.channel)

    def events(self, kind: Optional[str] = None) -> List[Event]:
        return [e for e in self.office.events if e.channel == self.channel and (kind is None or e.kind == kind)]

    def press(self, digits: str, level_dbm0: float = -10.0, twist_db: float = 0.0, on_ms: int = 80,
              off_ms: int = 80, error_low_pct: float = 0.0, error_high_pct: float = 0.0) -> None:
        """Presses keys: DTMF audio with this level, twist (dB, high tone weaker when
        positive), timing and frequency errors."""
        self.engine.send_digits(self.channel, digits, level_dbm0, twist_db, on_ms, off_ms,
                                error_low_pct, error_high_pct)

    def send(self, pcm) -> int:
        """Sends any 8 kHz linear audio down the line; returns the prompt id it used."""
        pid = self.engine.add_prompt(pcm)
        self.engine.play(self.channel, [Play.of_prompt(pid)])
        self.office._discard_after_play(self.channel, pid)
        return pid

    def listen(self, tones: bool = True, digits: bool = False) -> None:
        """Turns on the far end's own detectors: call-progress tones, DTMF."""
        det = (["tones"] if tones else []) + (["dtmf"] if digits else [])
        self.engine.detect(self.channel, det)

    def capture(self, on: bool = True) -> None:
        """Starts (or stops) recording what this far end hears."""
        self.engine.tap(self.channel, on)
        if on:
            self._capture = []

    def heard(self) -> np.ndarray:
        """Everything heard since capture() began, as linear samples."""
        if self._capture is None:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._capture) if self._capture else np.zeros(0, dtype=np.int16)

    def tones_heard(self) -> List[str]:
        return [e.tone for e in self.events("tone") if e.b]

    def hangup(self) -> None:
        self.engine.hangup(self.channel)


class Caller(FarEnd):
    """The exchange side of a line, with a caller on it."""

    def ring(self, number: str = "", name: str = "", standard: str = "v23",
             when: str = "after-first-ring", absence: str = "") -> None:
        caller = CallerID(number, name, absence) if (number or name or absence) else None
        self.engine.ring(self.channel, caller, standard, when)


class Phone(FarEnd):
    """An office phone on one of the box's FXS ports, with an agent at it."""

    def answer(self) -> None:
        self.engine.answer(self.channel)

    def pick_up(self) -> None:
        self.engine.seize(self.channel)

    def flash(self) -> None:
        self.engine.flash(self.channel)


class SimOffice:
    """A simulated board with lines and phone ports, its engine, and the far ends.

    Channel numbers: line i (from 0) is port 2i+1 with its exchange on 2i+2; phone
    port j follows the lines the same way.
    """

    def __init__(self, lines: int = 1, phones: int = 0, audio: bool = True, line: Optional[Line] = None,
                 port_config: Optional[ChannelConfig] = None, far_config: Optional[ChannelConfig] = None,
                 phone_config: Optional[ChannelConfig] = None):
        if lines < 0 or phones < 0 or lines + phones == 0:
            raise ValueError("a simulated office needs at least one line or phone port")
        self.board = SimBoard(2 * (lines + phones), audio=audio)
        self.lines: List[int] = []
        self.phones: List[int] = []
        for i in range(lines):
            port = 2 * i + 1
            self.board.connect(port, port + 1, "fxo", line)
            self.lines.append(port)
        for j in range(phones):
            port = 2 * (lines + j) + 1
            self.board.connect(port, port + 1, "fxs", line)
            self.phones.append(port)
        self.engine = Engine(self.board)
        self.events: List[Event] = []
        self.callers = [Caller(self, p + 1, p) for p in self.lines]
        self.agents = [Phone(self, p + 1, p) for p in self.phones]
        self._far = {f.channel: f for f in self.callers + self.agents}
        self._pending_prompt: Dict[int, int] = {}
        for p in self.lines:
            self.engine.configure(p, port_config or ChannelConfig())
            self.engine.configure(p + 1, far_config or _far_like(port_config))
        for p in self.phones:
            self.engine.configure(p, phone_config or port_config or ChannelConfig())
            self.engine.configure(p + 1, far_config or _far_like(phone_config or port_config))

    def close(self) -> None:
        self.engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def now_ms(self) -> float:
        return self.engine.now_ms

    def _discard_after_play(self, channel: int, pid: int) -> None:
        old = self._pending_prompt.pop(channel, None)
        if old is not None:
            self._try_remove(old)
        self._pending_prompt[channel] = pid

    def _try_remove(self, pid: int) -> bool:
        try:
            self.engine.remove_prompt(pid)
            return True
        except Exception:
            return False

    def _take(self, batch) -> List[Event]:
        self.events.extend(batch.events)
        return self.feed(batch)

    def feed(self, batch) -> List[Event]:
        """What a far end hears and sends, from a batch the caller of Engine.run() got
        itself; the events are not kept (a box that runs for days keeps its own)."""
        if batch.taps is not None:
            for chan in np.unique(batch.taps["chan"]):
                far = self._far.get(int(chan))
                if far is not None and far._capture is not None:
                    rows = batch.taps[batch.taps["chan"] == chan]
                    far._capture.append(rows["rx"].reshape(-1).copy())
        if self._pending_prompt:    # rarely: only while a far end sends audio
            for ev in batch.events:
                if ev.kind == "play-done" and ev.channel in self._pending_prompt:
                    if self._try_remove(self._pending_prompt[ev.channel]):
                        del self._pending_prompt[ev.channel]
        return batch.events

    def run(self, ms: float, on_event: Optional[Callable[[Event], None]] = None) -> List[Event]:
        """Runs the clock ms forward; on_event sees each event as it comes, and may command."""
        frames = max(1, int(round(ms / FRAME_MS)))
        out: List[Event] = []
        stop = on_event is not None
        while frames > 0:
            batch = self.engine.run(frames, stop_on_event=stop)
            frames -= batch.frames
            evs = self._take(batch)
            out += evs
            if stop:
                for ev in evs:
                    on_event(ev)
        return out

    def run_until(self, predicate: Callable[[Event], bool], timeout_ms: float = 30000,
                  on_event: Optional[Callable[[Event], None]] = None) -> Optional[Event]:
        """Runs until an event satisfies predicate, or timeout_ms of engine time pass."""
        deadline = self.engine.now + int(timeout_ms * SAMPLE_RATE / 1000)
        while self.engine.now < deadline:
            frames = max(1, (deadline - self.engine.now) // FRAME)
            batch = self.engine.run(frames, stop_on_event=True)
            for ev in self._take(batch):
                if on_event:
                    on_event(ev)
                if predicate(ev):
                    return ev
        return None

    def call_in(self, line: int = 0, number: str = "", name: str = "", standard: str = "v23",
                answer_on_ring: int = 1) -> "Caller":
        """A caller rings line `line`, the box answers on ring `answer_on_ring`; returns the
        caller once its exchange sees the answer."""
        port, caller = self.lines[line], self.callers[line]
        caller.ring(number, name, standard)
        if self.run_until(lambda e: e.channel == port and e.kind == "ring" and e.a >= answer_on_ring) is None:
            raise RuntimeError(f"line {line} never rang {answer_on_ring} time(s)")
        self.engine.answer(port)
        if self.run_until(lambda e: e.channel == caller.channel and e.kind == "offhook") is None:
            raise RuntimeError(f"the exchange of line {line} never saw the answer")
        return caller

    def of(self, channel: int, kind: Optional[str] = None) -> List[Event]:
        return [e for e in self.events if e.channel == channel and (kind is None or e.kind == kind)]


def _far_like(cfg: Optional[ChannelConfig]) -> ChannelConfig:
    """A far end speaks the same law and tone plan as the port it faces."""
    base = cfg or ChannelConfig()
    return ChannelConfig(law=base.law, plan=base.plan, cid=base.cid if base.cid != "none" else "v23",
                         cid_when=base.cid_when)


# -- what a far end heard ---------------------------------------------------------------

def level_dbm0(pcm: np.ndarray) -> float:
    """Mean power of linear samples in dBm0 (a full-scale sine is +3.14 dBm0)."""
    x = np.asarray(pcm, dtype=np.float64)
    if x.size == 0:
        return -120.0
    p = float(np.mean(x * x))
    if p <= 0:
        return -120.0
    return 10.0 * np.log10(p / (32767.0 ** 2 / 2)) + 3.14


def _envelope(pcm: np.ndarray, step: int = 80) -> np.ndarray:
    n = len(pcm) // step
    x = np.asarray(pcm[: n * step], dtype=np.float64).reshape(n, step)
    return np.log10(np.mean(x * x, axis=1) + 1.0)


def identify_prompt(heard: np.ndarray, prompts: Dict[str, np.ndarray], min_score: float = 0.8):
    """Which of the known prompts is in what a far end heard: (name, score) or (None, best).

    Compares 10 ms log-energy envelopes by normalised correlation at every offset, which
    survives the line's loss, noise and G.711 coding, and tells speech apart by rhythm.
    """
    env = _envelope(heard)
    best_name, best = None, -1.0
    for name, pcm in prompts.items():
        ref = _envelope(pcm)
        if len(ref) < 5 or len(env) < len(ref):
            continue
        r = (ref - ref.mean()) / (ref.std() + 1e-9)
        win = np.lib.stride_tricks.sliding_window_view(env, len(ref))
        w = (win - win.mean(axis=1, keepdims=True)) / (win.std(axis=1, keepdims=True) + 1e-9)
        score = float(np.max(w @ r) / len(ref))
        if score > best:
            best_name, best = name, score
    return (best_name, best) if best >= min_score else (None, best)
