"""The channel engine as Python sees it: a board, its channels, commands and event batches.

Rules:
  - One call to Engine.run() moves every channel one or more frames and returns all
    their events in one batch; Python never runs per frame per channel.
  - The engine's sample counter is the clock: Engine.now_ms, event.ms. Pacing to
    real time is the only place wall-clock time is read (Engine.run_paced).
  - Commands raise an EngineError subclass that says what was wrong; the engine
    keeps serving the other channels.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from appliance.binding import ArgumentError, ffi, lib, check

SAMPLE_RATE = lib.SAMPLE_RATE
FRAME = lib.FRAME_SAMPLES
FRAME_MS = FRAME * 1000 // SAMPLE_RATE

LAWS = {"alaw": lib.LAW_ALAW, "ulaw": lib.LAW_ULAW}
KINDS = {lib.KIND_FXO: "fxo", lib.KIND_FXS: "fxs", lib.KIND_CO: "co", lib.KIND_PHONE: "phone"}
STATES = {
    lib.ST_IDLE: "idle", lib.ST_RINGING: "ringing", lib.ST_OFFHOOK: "offhook",
    lib.ST_PLAYING: "playing", lib.ST_COLLECTING: "collecting", lib.ST_BRIDGED: "bridged",
    lib.ST_DIALING: "dialing", lib.ST_HUNGUP: "hungup", lib.ST_OUT_OF_SERVICE: "out-of-service",
}
EVENTS = {
    lib.EV_RING: "ring", lib.EV_RING_TIMEOUT: "ring-timeout", lib.EV_CALLERID: "callerid",
    lib.EV_OFFHOOK: "offhook", lib.EV_HANGUP: "hangup", lib.EV_FLASH: "flash",
    lib.EV_DIGIT: "digit", lib.EV_COLLECTED: "collected", lib.EV_PLAY_DONE: "play-done",
    lib.EV_TONE: "tone", lib.EV_ALARM: "alarm", lib.EV_NOALARM: "noalarm", lib.EV_HEARD: "heard",
    lib.EV_DIGITS_SENT: "digits-sent", lib.EV_POLARITY: "polarity", lib.EV_DIALED: "dialed",
    lib.EV_CALLED: "called", lib.EV_ANSWERED: "answered",
}
CAUSES = {
    lib.CAUSE_ONHOOK: "onhook", lib.CAUSE_LOOP_BREAK: "loop-break", lib.CAUSE_POLARITY: "polarity",
    lib.CAUSE_BUSY_TONE: "busy-tone", lib.CAUSE_CONGESTION_TONE: "congestion-tone",
    lib.CAUSE_CLEARED: "cleared",
}
TONES = {"dial": lib.TONE_DIAL, "busy": lib.TONE_BUSY, "ringback": lib.TONE_RINGBACK,
         "congestion": lib.TONE_CONGESTION, "sit": lib.TONE_SIT}
TONE_NAMES = {v: k for k, v in TONES.items()}
PLAY_ENDS = {lib.PLAY_COMPLETE: "complete", lib.PLAY_INTERRUPTED: "interrupted", lib.PLAY_STOPPED: "stopped"}
COLLECT_ENDS = {lib.COLLECT_MAX: "max", lib.COLLECT_TERMINATOR: "terminator",
                lib.COLLECT_TIMEOUT: "timeout", lib.COLLECT_CANCELLED: "cancelled"}
CID_STANDARDS = {"none": lib.CID_NONE, "bell202": lib.CID_BELL202, "v23": lib.CID_V23, "dtmf": lib.CID_DTMF}
CID_WHEN = {"after-first-ring": lib.CID_AFTER_FIRST_RING, "before-first-ring": lib.CID_BEFORE_FIRST_RING}
HANGUP_SIGNALS = {"loop-break": lib.HANGUP_LOOP_BREAK, "polarity": lib.HANGUP_POLARITY,
                  "busy-tone": lib.HANGUP_BUSY_TONE}
DETECT = {"dtmf": lib.DETECT_DTMF, "tones": lib.DETECT_TONES, "busy-hangup": lib.DETECT_BUSY_HANGUP}
PLAY_KINDS = {lib.PLAY_PROMPT: "prompt", lib.PLAY_TONE: "tone", lib.PLAY_SILENCE: "silence",
              lib.PLAY_DIGITS: "digits"}


def tone_plans() -> list[str]:
    return [ffi.string(lib.tone_plan_at(i).name).decode() for i in range(lib.tone_plan_count())]


def _choice(table: dict, value: str, what: str):
    try:
        return table[value]
    except KeyError:
        raise ArgumentError(f"unknown {what} {value!r}; choose one of: {', '.join(table)}") from None


@dataclass(frozen=True)
class Event:
    """One thing that happened on a channel, stamped with the engine clock."""

    kind: str
    channel: int
    sample: int
    a: int = 0
    b: int = 0
    c: int = 0
    text: str = ""
    text2: str = ""

    @property
    def ms(self) -> float:
        return self.sample * 1000.0 / SAMPLE_RATE

    # Readable views of the numeric fields, by event kind.
    @property
    def digit(self) -> str:
        return chr(self.a) if self.kind == "digit" else ""

    @property
    def duration_ms(self) -> int:
        return self.b if self.kind == "digit" else 0

    @property
    def cause(self) -> str:
        return CAUSES.get(self.a, "") if self.kind == "hangup" else ""

    @property
    def tone(self) -> str:
        if self.kind == "tone" or (self.kind == "heard" and self.a == lib.PLAY_TONE):
            return TONE_NAMES.get(self.b if self.kind == "heard" else self.a, "")
        return ""

    @property
    def reason(self) -> str:
        if self.kind in ("play-done", "dialed"):
            return PLAY_ENDS.get(self.a, "")
        if self.kind == "collected":
            return COLLECT_ENDS.get(self.a, "")
        return ""

    def describe(self) -> str:
        """One human line, as the live demo and the console print it."""
        k = self.kind
        if k == "ring":
            return f"ring {self.a}"
        if k == "callerid":
            who = self.text or {ord("P"): "private", ord("O"): "unavailable"}.get(self.a, "unknown")
            return f"caller ID {who}" + (f" ({self.text2})" if self.text2 else "")
        if k == "digit":
            return f"digit {self.digit} ({self.b} ms, {self.c} dBm0)"
        if k == "hangup":
            return f"hangup by {self.cause}"
        if k == "tone":
            return f"tone {self.tone} {'on' if self.b else 'off'}"
        if k in ("play-done", "collected", "dialed"):
            extra = f" '{self.text}'" if k == "collected" else ""
            return f"{k} ({self.reason}){extra}"
        if k == "offhook":
            return "answered" if self.a else "off-hook"
        if k == "heard":
            kind = PLAY_KINDS.get(self.a)
            if kind is None:
                return "heard silence"
            what = TONE_NAMES.get(self.b, str(self.b)) if kind == "tone" else str(self.b)
            return f"heard {kind} {what}"
        return k


def _event_layout() -> struct.Struct:
    """engine_event_t as struct reads it; checked against the C layout when loaded."""
    t = "engine_event_t"
    names = ["sample", "chan", "type", "a", "b", "c", "text", "text2"]
    text = ffi.offsetof(t, "text2") - ffi.offsetof(t, "text")
    layout = struct.Struct(f"<q5i{text}s{text}s{ffi.sizeof(t) - ffi.offsetof(t, 'text2') - text}x")
    offsets = [0, 8, 12, 16, 20, 24, 28, 28 + text]
    if layout.size != ffi.sizeof(t) or offsets != [ffi.offsetof(t, n) for n in names]:
        raise ImportError("engine_event_t does not have the layout appliance.engine reads")
    return layout


_EVENT_LAYOUT = _event_layout()
_new = object.__new__


def _text(raw: bytes) -> str:
    """A NUL-terminated text field, as ffi.string reads it."""
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _events(ptr, n: int) -> list:
    """A batch's events as Event objects.

    A signalling-only run turns more events into Python than it runs frames, so this is
    its hot path: the structs are unpacked in one pass over their bytes, and each Event
    gets its fields straight into its __dict__ rather than through the frozen
    dataclass's __init__ (one object.__setattr__ a field): the same object, at a third
    of the cost.
    """
    out = []
    raw = ffi.buffer(ptr, n * _EVENT_LAYOUT.size)
    for sample, chan, kind, a, b, c, text, text2 in _EVENT_LAYOUT.iter_unpack(raw):
        ev = _new(Event)
        d = ev.__dict__
        d["kind"], d["channel"], d["sample"], d["a"], d["b"], d["c"] = (EVENTS.get(kind) or str(kind), chan,
                                                                       sample, a, b, c)
        # Most events carry no text: an empty field is not worth a call.
        d["text"] = _text(text) if text[0] else ""
        d["text2"] = _text(text2) if text2[0] else ""
        out.append(ev)
    return out


@dataclass
class Batch:
    """What one Engine.run() call returned."""

    frames: int
    sample: int
    events: list[Event]
    taps: Optional[np.ndarray] = None   # structured: sample, chan, rx[160], tx[160]

    def of(self, channel: int) -> list[Event]:
        return [e for e in self.events if e.channel == channel]


def _tap_dtype():
    t = "tap_frame_t"
    return np.dtype({
        "names": ["sample", "chan", "rx", "tx"],
        "formats": ["<i8", "<i4", ("<i2", FRAME), ("<i2", FRAME)],
        "offsets": [ffi.offsetof(t, "sample"), ffi.offsetof(t, "chan"), ffi.offsetof(t, "rx"),
                    ffi.offsetof(t, "tx")],
        "itemsize": ffi.sizeof(t),
    })


TAP_DTYPE = _tap_dtype()


@dataclass
class Line:
    """The line model between a port and its far end on the simulated board."""

    loss_db: float = 0.0
    noise_dbm0: float = -99.0
    echo_delay_ms: int = 0
    echo_return_loss_db: float = 99.0
    hangup: str = "loop-break"      # how the far end signals its hangup

    def _params(self):
        p = ffi.new("line_params_t *")
        p.loss_db = self.loss_db
        p.noise_dbm0 = self.noise_dbm0
        p.echo_delay_ms = int(self.echo_delay_ms)
        p.echo_return_loss_db = self.echo_return_loss_db
        p.hangup_signal = _choice(HANGUP_SIGNALS, self.hangup, "hangup signal")
        return p


class _Board:
    """A board the engine takes over: freed here only while no engine has it."""
    _ptr = None
    _engine = None

    def _free(self):
        if self._ptr is not None and self._engine is None:
            lib.board_free(self._ptr)
        self._ptr = None

    def __del__(self):
        self._free()


class SimBoard(_Board):
    """The simulated board: channel pairs, a port of the box and its far end.

    Pairs are connected before the engine starts on the board; the engine then owns it.
    """

    def __init__(self, channels: int, audio: bool = True):
        self._ptr = None
        self._engine = None
        if not 2 <= channels <= 4096:
            raise ArgumentError(f"a simulated board has 2 to 4096 channels, not {channels}")
        self._ptr = lib.board_sim_new(channels, 1 if audio else 0)
        if self._ptr == ffi.NULL:
            raise MemoryError("no memory for the simulated board")
        self.channels = channels
        self.audio = audio
        self.pairs: dict[int, int] = {}     # port -> far end

    def connect(self, port: int, far: int, kind: str = "fxo", line: Optional[Line] = None) -> None:
        if self._engine is not None:
            raise ArgumentError("connect channel pairs before the engine starts on the board")
        kinds = {"fxo": lib.KIND_FXO, "fxs": lib.KIND_FXS}
        rc = lib.board_sim_connect(self._ptr, port, far, _choice(kinds, kind, "port kind"),
                                   (line or Line())._params())
        if rc < 0:
            reasons = {lib.ERR_CHANNEL: f"channels {port} and {far} must be two different channels "
                                        f"from 1 to {self.channels}",
                       lib.ERR_STATE: f"channel {port} or {far} is already connected",
                       lib.ERR_ARG: "line parameters out of range (loss 0-60 dB, noise <= 0 dBm0, "
                                    "echo delay 0-100 ms, return loss >= 0 dB)"}
            check(rc, what=reasons.get(rc, "connect"))
        self.pairs[port] = far

    def set_line(self, port: int, line: Line) -> None:
        check(lib.board_sim_set_line(self._ptr, port, line._params()), what=f"line of port {port}")

    def alarm(self, channel: int, on: bool = True) -> None:
        check(lib.board_sim_alarm(self._ptr, channel, 1 if on else 0), what=f"alarm on channel {channel}")


class DahdiError(Exception):
    """DAHDI is missing, or a channel cannot be used as the configuration says."""


@dataclass(frozen=True)
class DahdiChannel:
    """One DAHDI channel the box (or a line simulator) opens, and what it is to it."""
    channo: int
    kind: str                       # fxo | fxs (the box's ports); co | phone (far ends)
    far_hangup: str = "loop-break"  # co: loop-break | busy-tone
    e1_side: str = "user"           # an ISDN bearer: user (CPE) | network


DAHDI_KINDS = {"fxo": lib.KIND_FXO, "fxs": lib.KIND_FXS, "co": lib.KIND_CO, "phone": lib.KIND_PHONE}
FAR_HANGUPS = {"loop-break": lib.FAR_HANGUP_LOOP_BREAK, "busy-tone": lib.FAR_HANGUP_BUSY_TONE}
E1_SIDES = {"user": lib.E1_USER, "network": lib.E1_NETWORK}


class DahdiBoard(_Board):
    """Real channels through DAHDI (native/board_dahdi.c): opened here, kept open until
    the engine on them is closed; DAHDI's timer paces every run of the engine."""

    def __init__(self, channels: Sequence[DahdiChannel], dev: str = "/dev/dahdi"):
        self._ptr = None
        self._engine = None
        if not channels:
            raise ArgumentError("the dahdi board needs at least one channel")
        spec = ffi.new("dahdi_chan_spec_t[]", len(channels))
        for s, c in zip(spec, channels):
            s.channo = c.channo
            s.kind = _choice(DAHDI_KINDS, c.kind, "channel kind")
            s.far_hangup = _choice(FAR_HANGUPS, c.far_hangup, "far end's hangup")
            s.e1_side = _choice(E1_SIDES, c.e1_side, "ISDN side")
        err = ffi.new("char[]", 256)
        ptr = lib.board_dahdi_new(dev.encode(), spec, len(channels), err, 256)
        if ptr == ffi.NULL:
            raise DahdiError(ffi.string(err).decode("utf-8", "replace"))
        self._ptr = ptr
        self.channels = len(channels)
        self.audio = True
        self.spec = list(channels)
        self.number = {c.channo: i for i, c in enumerate(channels, start=1)}  # DAHDI's -> the board's

    def _refused(self, what: str) -> DahdiError:
        return DahdiError(f"{what}: {self.error}")

    def gains(self, channel: int, rx_db: float, tx_db: float) -> None:
        if lib.board_dahdi_gains(self._ptr, channel, rx_db, tx_db) < 0:
            raise self._refused(f"gains of channel {channel}")

    def calling(self, channel: int, number: str) -> None:
        """The number the calls placed on an E1 channel say they come from."""
        if lib.board_dahdi_calling(self._ptr, channel, number.encode()) < 0:
            raise self._refused(f"calling number of channel {channel}")

    @property
    def settled(self) -> bool:
        """Whether DAHDI's 2 s ring debounce since the channels were opened has passed:
        until then a ring on an FXO port is not seen."""
        return bool(lib.board_dahdi_settled(self._ptr))

    @property
    def error(self) -> str:
        """Why the board last refused something, in words ("" if it never did)."""
        return ffi.string(lib.board_dahdi_error(self._ptr)).decode("utf-8", "replace") if self._ptr else ""

    @property
    def slips(self) -> int:
        return int(lib.board_dahdi_slips(self._ptr))


@dataclass
class CallerID:
    number: str = ""
    name: str = ""
    absence: str = ""           # "P" private, "O" unavailable, when there is no number

    def _struct(self):
        c = ffi.new("cid_info_t *")
        for what, value in (("number", self.number), ("name", self.name)):
            raw = value.encode("ascii", "replace")
            if len(raw) > lib.CID_MAX:
                raise ArgumentError(f"caller ID {what} {value!r} is longer than {lib.CID_MAX} characters")
            setattr(c, what, raw)
        if self.absence not in ("", "P", "O"):
            raise ArgumentError(f"caller ID absence must be 'P' (private) or 'O' (unavailable), not {self.absence!r}")
        c.absence = self.absence.encode() if self.absence else b"\0"
        return c


@dataclass
class Play:
    """One item of a play list: a prompt id, a tone name, silence, or digits."""

    kind: str
    prompt: int = 0
    tone: str = ""
    ms: int = 0
    digits: str = ""

    @staticmethod
    def of_prompt(pid: int) -> "Play":
        return Play("prompt", prompt=pid)

    @staticmethod
    def of_tone(name: str, ms: int = 0) -> "Play":
        return Play("tone", tone=name, ms=ms)

    @staticmethod
    def of_silence(ms: int) -> "Play":
        return Play("silence", ms=ms)

    @staticmethod
    def of_digits(digits: str) -> "Play":
        return Play("digits", digits=digits)


@dataclass
class ChannelConfig:
    law: str = "alaw"
    plan: str = "itu"
    detect: Optional[Sequence[str]] = None      # None: the kind's default
    cid: str = "none"
    cid_when: str = "after-first-ring"
    ring_timeout_ms: int = 8000
    busy_cycles: int = 2
    dtmf_twist: int = 10            # dB the high tone may be weaker; -1: spandsp's own 8
    dtmf_reverse_twist: int = 6     # dB the low tone may be weaker; -1: spandsp's own 4
    dtmf_threshold: int = 0
    dtmf_filter_dialtone: bool = False
    # The board's line echo canceller on a port, in taps (samples; a multiple of 8 from
    # 16 to 1024, as chan_dahdi's echocancel=), 0 for none; None: 128 on ports.
    echocan_taps: Optional[int] = None


class Engine:
    """The engine on one board. Close it (or use it as a context manager) to free it."""

    def __init__(self, board: Union[SimBoard, DahdiBoard]):
        self._ptr = None
        if board._engine is not None:
            raise ArgumentError("this board already has an engine")
        self._ptr = lib.engine_new(board._ptr)
        if self._ptr == ffi.NULL:
            raise MemoryError("no memory for the engine")
        board._engine = self
        self.board = board
        self._keep: list = []
        self.kinds = {ch: KINDS[k] for ch in range(1, board.channels + 1)
                      if (k := lib.engine_channel_kind(self._ptr, ch)) in KINDS}

    # -- life cycle ------------------------------------------------------------------
    def close(self) -> None:
        if self._ptr is not None:
            lib.engine_free(self._ptr)
            self._ptr = None
            self.board._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _check(self, rc: int) -> int:
        return check(rc, self._ptr)

    # -- configuration ---------------------------------------------------------------
    def configure(self, channel: int, config: Optional[ChannelConfig] = None, **overrides) -> None:
        cfg = config or ChannelConfig()
        if overrides:
            cfg = ChannelConfig(**{**cfg.__dict__, **overrides})
        kind = lib.engine_channel_kind(self._ptr, channel) if 1 <= channel <= self.board.channels else 0
        c = ffi.new("channel_config_t *")
        lib.engine_default_config(kind, c)
        c.law = _choice(LAWS, cfg.law, "law")
        plan = ffi.new("char[]", cfg.plan.encode("utf-8", "replace")[:32])
        c.plan = plan
        if cfg.detect is not None:
            c.detect = sum(_choice(DETECT, d, "detector") for d in set(cfg.detect))
        c.cid_standard = _choice(CID_STANDARDS, cfg.cid, "caller ID standard")
        c.cid_when = _choice(CID_WHEN, cfg.cid_when, "caller ID timing")
        c.ring_timeout_ms = cfg.ring_timeout_ms
        c.busy_cycles = cfg.busy_cycles
        c.dtmf_twist = cfg.dtmf_twist
        c.dtmf_reverse_twist = cfg.dtmf_reverse_twist
        c.dtmf_threshold = cfg.dtmf_threshold
        c.dtmf_filter_dialtone = 1 if cfg.dtmf_filter_dialtone else 0
        if cfg.echocan_taps is not None:
            c.echocan_taps = cfg.echocan_taps
        self._check(lib.engine_configure(self._ptr, channel, c))

    def detect(self, channel: int, detectors: Iterable[str]) -> None:
        self._check(lib.engine_detect(self._ptr, channel, sum(_choice(DETECT, d, "detector") for d in set(detectors))))

    # -- prompts ---------------------------------------------------------------------
    def add_prompt(self, pcm) -> int:
        a = np.ascontiguousarray(pcm, dtype=np.int16)
        if a.ndim != 1:
            raise ArgumentError("a prompt is one channel of 16-bit samples")
        return self._check(lib.engine_prompt_add(self._ptr, ffi.from_buffer("int16_t[]", a), len(a)))

    def remove_prompt(self, pid: int) -> None:
        self._check(lib.engine_prompt_remove(self._ptr, pid))

    def prompt_samples(self, pid: int) -> int:
        return self._check(lib.engine_prompt_samples(self._ptr, pid))

    # -- the clock -------------------------------------------------------------------
    @property
    def now(self) -> int:
        return lib.engine_now(self._ptr)

    @property
    def now_ms(self) -> float:
        return self.now * 1000.0 / SAMPLE_RATE

    def run(self, frames: int = 1, stop_on_event: bool = False) -> Batch:
        if frames < 1:
            raise ArgumentError(f"run at least one frame, not {frames}")
        b = lib.engine_run(self._ptr, frames, lib.RUN_STOP_ON_EVENT if stop_on_event else 0)
        n = b.nevents
        events = _events(b.events, n) if n else []
        taps = None
        if b.ntaps:
            raw = ffi.buffer(b.taps, b.ntaps * TAP_DTYPE.itemsize)
            taps = np.frombuffer(raw, dtype=TAP_DTYPE).copy()
        return Batch(b.frames, b.sample, events, taps)

    def run_paced(self, seconds: float, on_batch=None) -> None:
        """Runs in real time, a frame every 20 ms, for people watching the demo."""
        start = time.monotonic()
        frames = int(seconds * 1000 / FRAME_MS)
        for n in range(frames):
            batch = self.run(1)
            if on_batch:
                on_batch(batch)
            delay = start + (n + 1) * FRAME_MS / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    # -- commands --------------------------------------------------------------------
    def state(self, channel: int) -> str:
        rc = lib.engine_state(self._ptr, channel)
        if rc < 0:
            check(rc, what=f"channel {channel}")
        return STATES[rc]

    def answer(self, channel: int) -> None:
        self._check(lib.engine_answer(self._ptr, channel))

    def seize(self, channel: int) -> None:
        self._check(lib.engine_seize(self._ptr, channel))

    def dial(self, channel: int, digits: str) -> None:
        self._check(lib.engine_dial(self._ptr, channel, digits.encode("ascii", "replace")))

    def flash(self, channel: int) -> None:
        self._check(lib.engine_flash(self._ptr, channel))

    def ring(self, channel: int, caller: Optional[CallerID] = None, standard: str = "v23",
             when: str = "after-first-ring") -> None:
        std = _choice(CID_STANDARDS, standard, "caller ID standard") if caller else lib.CID_NONE
        cid = caller._struct() if caller else ffi.NULL
        self._check(lib.engine_ring(self._ptr, channel, std, _choice(CID_WHEN, when, "caller ID timing"), cid))

    def hangup(self, channel: int) -> None:
        self._check(lib.engine_hangup(self._ptr, channel))

    def play(self, channel: int, items: Sequence[Play], loop: bool = False, interruptible: bool = False) -> None:
        if not 1 <= len(items) <= lib.PLAY_MAX_ITEMS:
            raise ArgumentError(f"a play list has 1 to {lib.PLAY_MAX_ITEMS} items, not {len(items)}")
        arr = ffi.new("play_item_t[]", len(items))
        kinds = {"prompt": lib.PLAY_PROMPT, "tone": lib.PLAY_TONE, "silence": lib.PLAY_SILENCE,
                 "digits": lib.PLAY_DIGITS}
        for i, it in enumerate(items):
            arr[i].type = _choice(kinds, it.kind, "play item kind")
            arr[i].ms = int(it.ms)
            if it.kind == "prompt":
                arr[i].id = int(it.prompt)
            elif it.kind == "tone":
                arr[i].id = _choice(TONES, it.tone, "tone")
            elif it.kind == "digits":
                raw = it.digits.encode("ascii", "replace")
                if len(raw) >= lib.PLAY_MAX_DIGITS:
                    raise ArgumentError(f"play item {i + 1}: at most {lib.PLAY_MAX_DIGITS - 1} digits")
                arr[i].digits = raw
        self._check(lib.engine_play(self._ptr, channel, arr, len(items), int(loop), int(interruptible)))

    def stop(self, channel: int) -> None:
        self._check(lib.engine_stop(self._ptr, channel))

    def collect(self, channel: int, max_digits: int, terminators: str = "#", first_timeout_ms: int = 5000,
                inter_timeout_ms: int = 3000) -> None:
        self._check(lib.engine_collect(self._ptr, channel, max_digits, terminators.encode("ascii", "replace"),
                                       first_timeout_ms, inter_timeout_ms))

    def cancel_collect(self, channel: int) -> None:
        self._check(lib.engine_collect_cancel(self._ptr, channel))

    def bridge(self, a: int, b: int) -> None:
        self._check(lib.engine_bridge(self._ptr, a, b))

    def unbridge(self, channel: int) -> None:
        self._check(lib.engine_unbridge(self._ptr, channel))

    def tap(self, channel: int, on: bool = True) -> None:
        self._check(lib.engine_tap(self._ptr, channel, 1 if on else 0))

    def send_digits(self, channel: int, digits: str, level_dbm0: float = -10.0, twist_db: float = 0.0,
                    on_ms: int = 80, off_ms: int = 80, error_low_pct: float = 0.0,
                    error_high_pct: float = 0.0, level_high_dbm0: Optional[float] = None) -> None:
        """Digits from a simulated keypad. twist_db > 0 makes the high tone weaker."""
        # Filled in one go: a simulated caller presses keys all through a free run.
        p = ffi.new("dtmf_send_params_t *", (level_dbm0, level_dbm0 - twist_db if level_high_dbm0 is None
                                               else level_high_dbm0, error_low_pct, error_high_pct, on_ms, off_ms))
        self._check(lib.engine_send_digits(self._ptr, channel, digits.encode("ascii", "replace"), p))
