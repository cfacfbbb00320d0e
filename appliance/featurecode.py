"""Feature codes at an agent's own phone: keys in, what to do out.

Rules:
  - The agent lifts the handset while it is not ringing: dial tone, and the box
    collects keys. Each key is fed here as it comes (digit()); the engine's collection
    gives the timeouts (collected()). A code that takes nothing more (logout, unpause,
    status) acts on its last key, so the agent may hang up at once; login takes the
    PIN and # (or the PIN and a pause); pause takes a reason's key, or # for none.
  - A failed try: keys that can no longer start any code, a wrong PIN, an unknown
    reason, or nothing keyed before the dial tone times out. The agent hears the error
    tone and a short prompt, then dial tone again; the third failed try ends it: the
    box says so, says goodbye and hangs up the phone. Tries count per lift of the
    handset (each one is in the agent log, so a run of them shows).
  - The PIN proves the person at the phone is its agent; the phone says which agent.
    There is no hot-desking: an agent is rung at the phone the configuration gives,
    so logging in from another phone would only take calls away from that one. An
    agent with no PIN logs in with the login code and #.
  - A PIN is checked here and goes no further: a note says a PIN was wrong, never what
    was keyed.
  - What the ACD makes of a request comes back through acted(): the agent then hears
    their state after it (logged in, logged out, paused and why, available, busy), with
    the error tone first when the ACD refused it (a pause while logged out). After
    that nothing more happens until the agent hangs up.
  - Sans-IO: no engine, no ACD, no clock. prompt() turns what to say into prompts of
    the office's language; the supervisor plays them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Union

from appliance.config import Features
from appliance.numbers import Item, Recorded, Spoken

TRIES = 3
MAX_PIN = 12
FIRST_TIMEOUT_S = 10.0      # dial tone before the first key
INTERDIGIT_S = 5.0          # between keys: a PIN is keyed slower than a menu choice
# Codes that act on their last key.
AT_ONCE = ("logout", "unpause", "status")


# -- what to do -------------------------------------------------------------------------

@dataclass(frozen=True)
class DialTone:
    """Dial tone, stopped by the first key, and collect keys with # as terminator."""
    max_digits: int
    first_timeout_s: float = FIRST_TIMEOUT_S
    interdigit_s: float = INTERDIGIT_S


@dataclass(frozen=True)
class StopCollecting:
    pass


@dataclass(frozen=True)
class Request:
    """Ask the ACD: op is login, logout, pause (with its reason), unpause or status."""
    op: str
    reason: str = ""


@dataclass(frozen=True)
class Tell:
    """Say the agent's state in the ACD (after a refusal too, with the error tone first)."""
    state: str
    reason: str = ""
    refused: bool = False


@dataclass(frozen=True)
class Refuse:
    """Error tone and why: wrong-code, wrong-pin, wrong-reason, no-input; last: the
    third try, so goodbye, and the box hangs up when it has been said."""
    why: str
    last: bool = False


@dataclass(frozen=True)
class Disconnect:
    pass


@dataclass(frozen=True)
class Note:
    """For the agent log."""
    kind: str
    detail: str = ""


Command = Union[DialTone, StopCollecting, Request, Tell, Refuse, Disconnect, Note]


class FeatureSession:
    """One lift of the handset at an agent's phone, until it is put down."""

    def __init__(self, features: Features, pin: str, tries: int = TRIES):
        self.features = features
        self.pin = pin
        self.tries = tries
        self.codes = features.codes()
        self.reasons = dict(features.pause_reasons)
        self.state = "idle"     # dialling, acting, telling, refusing, done, ended, closed
        self.keyed = ""
        self.failures = 0
        self._last = False
        longest = max((len(c) for c in self.codes.values()), default=1)
        self._max = min(32, longest + max(MAX_PIN + 1, 3))

    # -- events ------------------------------------------------------------------------

    def start(self) -> List[Command]:
        self.state, self.keyed = "dialling", ""
        return [DialTone(self._max)]

    def digit(self, d: str) -> List[Command]:
        if self.state != "dialling":
            return []
        if d == "#":
            return self._complete()
        self.keyed += d
        return self._match()

    def collected(self, text: str, reason: str) -> List[Command]:
        """The engine's collection ended; its keys came one by one through digit()."""
        if self.state != "dialling" or reason == "cancelled":
            return []
        if reason == "timeout" and not self.keyed:
            return self._fail("no-input")
        return self._complete()

    def acted(self, state: str, reason: str = "", refused: bool = False) -> List[Command]:
        """What the ACD made of the request: the agent's state after it."""
        if self.state != "acting":
            return []
        self.state = "telling"
        return [Tell(state, reason, refused)]

    def played(self) -> List[Command]:
        """What the box was saying has been said."""
        if self.state == "telling":
            self.state = "done"
        elif self.state == "refusing":
            if self._last:
                self.state = "ended"
                return [Disconnect()]
            return self.start()
        return []

    def hung_up(self) -> List[Command]:
        self.state = "closed"
        return []

    # -- inside ------------------------------------------------------------------------

    def _match(self) -> List[Command]:
        k = self.keyed
        for op, code in self.codes.items():
            if op in AT_ONCE and k == code:
                return self._act(op)
            if op == "pause" and k.startswith(code):
                arg = k[len(code):]
                if not self.reasons:
                    return self._act("pause", "paused")
                if arg in self.reasons:
                    return self._act("pause", self.reasons[arg])
                if any(r.startswith(arg) for r in self.reasons):
                    return []
                return self._fail("wrong-reason")
            if op == "login" and k.startswith(code):
                return self._fail("wrong-pin") if len(k) - len(code) > MAX_PIN else []
        if any(code.startswith(k) for code in self.codes.values()):
            return []
        return self._fail("wrong-code")

    def _complete(self) -> List[Command]:
        """The keys are all in (# or a pause): what they ask for, or a failed try."""
        k = self.keyed
        for op, code in self.codes.items():
            if op == "login" and k.startswith(code):
                return self._act("login") if k[len(code):] == self.pin else self._fail("wrong-pin")
            if op == "pause" and k.startswith(code):
                arg = k[len(code):]
                if not arg:
                    return self._act("pause", "paused")
                return self._act("pause", self.reasons[arg]) if arg in self.reasons else self._fail("wrong-reason")
            if k == code:
                return self._act(op)
        return self._fail("wrong-code")

    def _act(self, op: str, reason: str = "") -> List[Command]:
        self.state = "acting"
        return [StopCollecting(), Request(op, reason)]

    def _fail(self, why: str) -> List[Command]:
        self.failures += 1
        self._last = self.failures >= self.tries
        self.state = "refusing"
        return [StopCollecting(), Note(why, f"try {self.failures} of {self.tries}"), Refuse(why, self._last)]


# -- what the agent hears ---------------------------------------------------------------

# The recorded packs' own words where they have them (Asterisk's agent prompts);
# Ukrainian has no pack, so it is all spoken.
_SAID = {
    "logged-in": {"en": Recorded("en", "agent-loginok", "Agent logged in."),
                  "ru": Recorded("ru", "agent-loginok", "Агент зарегистрирован."),
                  "uk": Spoken("uk", "Ви увійшли.")},
    "logged-out": {"en": Recorded("en", "agent-loggedoff", "Agent logged off."),
                   "ru": Recorded("ru", "agent-loggedoff", "Агент вышел из системы."),
                   "uk": Spoken("uk", "Ви вийшли.")},
    "wrong-pin": {"en": Recorded("en", "agent-incorrect", "Login incorrect."),
                  "ru": Recorded("ru", "agent-incorrect", "Неверный пароль."),
                  "uk": Spoken("uk", "Невірний пін-код.")},
    "wrong": {"en": Recorded("en", "pm-invalid-option", "That is not a valid option."),
              "ru": Recorded("ru", "pm-invalid-option", "Неверный выбор."),
              "uk": Spoken("uk", "Невірний код.")},
    "goodbye": {"en": Recorded("en", "goodbye", "Goodbye."),
                "ru": Recorded("ru", "goodbye", "До свидания."),
                "uk": Spoken("uk", "До побачення.")},
}
_PAUSED = {"en": "Paused: {}.", "ru": "Пауза: {}.", "uk": "Пауза: {}."}
_STATE = {
    "available": {"en": "You are available.", "ru": "Вы доступны.", "uk": "Ви доступні."},
    "busy": {"en": "You are logged in, with a call.", "ru": "Вы на линии, с вызовом.",
             "uk": "Ви на лінії, з викликом."},
}
_OFFER = {"en": "A call from the queue {}. To take it, press {}.",
          "ru": "Звонок из очереди {}. Чтобы ответить, нажмите {}.",
          "uk": "Дзвінок з черги {}. Щоб відповісти, натисніть {}."}


def prompt(what: Union[Tell, Refuse], lang: str) -> List[Item]:
    """What the agent hears for a Tell or a Refuse, in the office's language (the
    error tone before it is the supervisor's)."""
    if isinstance(what, Refuse):
        out = [_SAID["wrong-pin" if what.why == "wrong-pin" else "wrong"][lang]]
        return out + [_SAID["goodbye"][lang]] if what.last else out
    st = what.state
    if st == "logged-out":
        return [_SAID["logged-out"][lang]]
    if st == "paused":
        return [Spoken(lang, _PAUSED[lang].format(what.reason or "paused"))]
    if st == "available":
        # Logging in is what most agents do: the pack says it in its own voice.
        return [_SAID["logged-in"][lang], Spoken(lang, _STATE["available"][lang])]
    return [_SAID["logged-in"][lang], Spoken(lang, _STATE["busy"][lang])]


def offer(queue: str, key: str, lang: str) -> List[Item]:
    """What an agent at an outside number hears when the box calls them for a caller."""
    return [Spoken(lang, _OFFER[lang].format(queue, key))]
