"""Queue callback: the offer to a waiting caller, and the calls back, as two state machines
with no clock, no engine and no I/O. The supervisor feeds them what happened (a key, a
prompt played, the line dialled, busy tone, a hangup, time passing) and carries out the
commands they return, the way it drives a CallFlow.

Rules of the offer (CallbackOffer), while the caller is still on their line:
  - A caller ID that was presented (not private or unavailable) and is a plausible
    number is offered: "we will call you back on" the number digit by digit, "press 1 to
    confirm, 2 to enter another number". Without one the caller goes straight to keying
    in a number, ended by # (or by the most digits a number has, or a pause after a
    plausible number). A plausible number is min_digits to max_digits digits; a leading +
    is dialled as the international prefix 00.
  - 1 confirms: the caller is told "thank you, we will call you back, you keep your
    place" and the box hangs up. The callback is confirmed at the key (Confirmed), so a
    caller who hangs up during the thanks has it too.
  - A key other than 1 or 2, silence, or an implausible number asks again; after
    `tries` of them in a row the offer is given up (Cancelled) and the caller waits on
    with their line, as before the offer.

Rules of a callback (Callback), once the caller has hung up:
  - It waits for its turn in the ACD (reserved agent, free line). Each turn is one
    attempt: seize a free line and dial (Dial), then, since an analog line gives no
    answer signal, play "this is your call back from <office>; press 1 to be
    connected" over and over for answer_s, taking one key. The customer goes first and
    the agent is kept (reserved) meanwhile: nobody waits on a dead line, and the
    reserved agent is held at most answer_s plus the dialling.
  - 1 is the answer (Answered): the box rings the kept agent and the customer hears
    music until they pick up. Other keys are ignored for the rest of answer_s.
  - No key in answer_s (told by tick: the prompt plays over and over, so the line's
    own key timeout never runs), busy tone, or the line dropping before the 1: the attempt
    failed (the line is hung up, the agent freed at once). The next attempt comes
    retry_s later, unless that was the tries-th attempt (outcome "no-answer") or the
    retry would fall after expiry_s from confirmation (outcome "expired").
  - Waiting for its turn it expires expiry_s after confirmation, or when the office
    closes (tick with open_now False): outcome "expired". An attempt under way is let
    finish.
  - Once answered, the callback ends as "answered" when the call with the agent ends,
    or "abandoned" if the customer hangs up before an agent answers.
  - Every attempt and its result is a Note for the call log.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

INTERNATIONAL_PREFIX = "00"


# -- what is said: built-in phrases (prompts.NAME overrides) and numbers ---------------

@dataclass(frozen=True)
class Phrase:
    """A prompt by name: the office's [prompts.NAME] if it has one, else the built-in."""
    name: str


@dataclass(frozen=True)
class Digits:
    """A number said digit by digit."""
    digits: str


Part = Union[Phrase, Digits]


# -- commands ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Ask:
    """Play (a key cuts it short), then take up to max_digits keys; with loop, play over
    and over until a key or the timeout."""
    parts: Tuple[Part, ...]
    max_digits: int = 1
    terminator: str = ""
    timeout_s: float = 6.0
    interdigit_s: float = 4.0
    loop: bool = False


@dataclass(frozen=True)
class Say:
    """Play through; played() follows."""
    parts: Tuple[Part, ...]


@dataclass(frozen=True)
class Confirmed:
    number: str


@dataclass(frozen=True)
class Cancelled:
    why: str


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class Dial:
    number: str


@dataclass(frozen=True)
class Answered:
    pass


@dataclass(frozen=True)
class Retry:
    at: float


@dataclass(frozen=True)
class Finish:
    outcome: str


@dataclass(frozen=True)
class Note:
    kind: str
    detail: str = ""


Command = Union[Ask, Say, Confirmed, Cancelled, HangUp, Dial, Answered, Retry, Finish, Note]
OUTCOMES = ("answered", "no-answer", "expired", "abandoned")


class CallbackError(Exception):
    """An event the machine cannot take in its state: a bug in whoever feeds it."""


def dialable(number: str) -> str:
    """The digits to dial for a caller ID: + as the international prefix, no spaces or dashes."""
    n = "".join(ch for ch in number if ch not in " -()")
    if n.startswith("+"):
        n = INTERNATIONAL_PREFIX + n[1:]
    return n


def plausible(digits: str, min_digits: int, max_digits: int) -> bool:
    return digits.isdigit() and digits.isascii() and min_digits <= len(digits) <= max_digits


# -- the offer --------------------------------------------------------------------------

class CallbackOffer:
    def __init__(self, caller: str = "", presentation: str = "", min_digits: int = 5, max_digits: int = 15,
                 tries: int = 3, timeout_s: float = 6.0):
        if not 1 <= min_digits <= max_digits <= 20:
            raise ValueError(f"a number has min_digits {min_digits} to max_digits {max_digits}: "
                             "1 <= min <= max <= 20")
        self.min_digits, self.max_digits, self.tries, self.timeout_s = min_digits, max_digits, tries, timeout_s
        cid = dialable(caller) if caller and not presentation else ""
        self.number = cid if plausible(cid, min_digits, max_digits) else ""
        self.state = "new"          # confirm, enter, thanks, done
        self.misses = 0

    def start(self) -> List[Command]:
        if self.state != "new":
            raise CallbackError(f"the offer has started already ({self.state})")
        if self.number:
            return [Note("callback-offer", self.number)] + self._confirm()
        return [Note("callback-offer", "no caller ID: keyed in")] + self._enter()

    def entered(self, digits: str, how: str) -> List[Command]:
        """The caller's keys at an Ask, and how the entry ended (max, terminator, timeout)."""
        if self.state == "confirm":
            if digits == "1":
                self.state = "thanks"
                return [Note("callback-confirmed", self.number), Confirmed(self.number),
                        Say((Phrase("callback_thanks"),))]
            if digits == "2":
                self.misses = 0
                return [Note("callback-other-number")] + self._enter()
            return self._miss(digits, self._confirm)
        if self.state == "enter":
            if plausible(digits, self.min_digits, self.max_digits):
                self.number, self.misses = digits, 0
                return [Note("callback-number", digits)] + self._confirm()
            return self._miss(digits, lambda: self._enter((Phrase("callback_bad_number"),) if digits else ()))
        raise CallbackError(f"the offer takes no keys now ({self.state})")

    def played(self) -> List[Command]:
        if self.state != "thanks":
            raise CallbackError(f"the offer plays nothing through now ({self.state})")
        self.state = "done"
        return [HangUp()]

    def _confirm(self) -> List[Command]:
        self.state = "confirm"
        return [Ask((Phrase("callback_offer"), Digits(self.number), Phrase("callback_offer_keys")), 1, "",
                    self.timeout_s)]

    def _enter(self, before: Tuple[Part, ...] = ()) -> List[Command]:
        self.state = "enter"
        return [Ask(before + (Phrase("callback_enter"),), self.max_digits, "#", self.timeout_s * 2, 4.0)]

    def _miss(self, digits: str, again) -> List[Command]:
        self.misses += 1
        note = Note("callback-invalid" if digits else "callback-no-input", digits)
        if self.misses >= self.tries:
            self.state = "done"
            return [note, Note("callback-declined", "too many tries"), Cancelled("too many tries")]
        return [note] + again()


# -- a callback -------------------------------------------------------------------------

class Callback:
    """One confirmed callback, from confirmation to its outcome."""

    def __init__(self, number: str, confirmed_at: float, tries: int = 3, retry_s: float = 300.0,
                 expiry_s: float = 3600.0, answer_s: float = 40.0):
        if not number.isdigit():
            raise ValueError(f"a callback number is digits, not {number!r}")
        if tries < 1 or retry_s < 0 or expiry_s <= 0 or answer_s <= 0:
            raise ValueError("tries from 1, retry_s from 0, expiry_s and answer_s above 0")
        self.number = number
        self.tries, self.retry_s, self.answer_s = tries, retry_s, answer_s
        self.expires_at = confirmed_at + expiry_s
        self.state = "waiting"       # dialling, offering, connecting, connected, done
        self.attempts = 0
        self.retry_at = confirmed_at
        self.answer_by = math.inf
        self.outcome: Optional[str] = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def _expect(self, *states: str) -> None:
        if self.state not in states:
            raise CallbackError(f"the callback is {self.state}, not {' or '.join(states)}")

    def turn(self, at: float) -> List[Command]:
        """Its turn: an agent is kept and a line free. One attempt begins."""
        self._expect("waiting")
        self.state = "dialling"
        self.attempts += 1
        return [Note("callback-attempt", f"{self.attempts} of {self.tries}: {self.number}"), Dial(self.number)]

    def dialled(self, at: float) -> List[Command]:
        """The number has gone out: whoever answers hears the callback's prompt."""
        self._expect("dialling")
        self.state = "offering"
        self.answer_by = at + self.answer_s
        return [self._ask(self.answer_s)]

    def key(self, digits: str, how: str, at: float) -> List[Command]:
        """Keys (or none: how == "timeout") taken while the prompt plays."""
        self._expect("offering")
        if digits == "1":
            self.state = "connecting"
            return [Note("callback-answered", f"attempt {self.attempts}"), Answered()]
        left = self.answer_by - at
        if digits == "" and how == "timeout" or left < 0.1:
            return self._failed("no answer" if digits == "" else "no key 1", at)
        return [self._ask(left)]

    def busy(self, at: float) -> List[Command]:
        self._expect("dialling", "offering")
        return self._failed("busy", at)

    def hung_up(self, at: float) -> List[Command]:
        """The line dropped (the far end hung up, or the line failed)."""
        if self.state in ("dialling", "offering"):
            return self._failed("hung up", at)
        if self.state == "connecting":
            return self._finish("abandoned")
        if self.state == "connected":
            return self._finish("answered")
        raise CallbackError(f"the callback has no line now ({self.state})")

    def connected(self, at: float) -> List[Command]:
        self._expect("connecting")
        self.state = "connected"
        return [Note("callback-connected")]

    def ended(self, at: float) -> List[Command]:
        """The call with the agent is over."""
        self._expect("connected")
        return self._finish("answered")

    def tick(self, at: float, open_now: bool = True) -> List[Command]:
        """Time passes: the answer time of an attempt runs out (the prompt loops, so the
        line's own key timeout never comes), a waiting callback expires."""
        if self.state == "offering" and at >= self.answer_by:
            return self._failed("no answer", at)
        if self.state != "waiting":
            return []
        if at >= self.expires_at:
            return [Note("callback-expired", "expiry time")] + self._finish("expired")
        if not open_now:
            return [Note("callback-expired", "out of hours")] + self._finish("expired")
        return []

    def _ask(self, seconds: float) -> Ask:
        return Ask((Phrase("callback_intro"), Phrase("callback_press_1")), 1, "", max(0.1, seconds), loop=True)

    def _failed(self, why: str, at: float) -> List[Command]:
        out: List[Command] = [Note("callback-failed", f"attempt {self.attempts}: {why}"), HangUp()]
        if self.attempts >= self.tries:
            return out + self._finish("no-answer")
        retry = at + self.retry_s
        if retry >= self.expires_at:
            return out + [Note("callback-expired", "no time for another try")] + self._finish("expired")
        self.state, self.retry_at, self.answer_by = "waiting", retry, math.inf
        return out + [Retry(retry)]

    def _finish(self, outcome: str) -> List[Command]:
        self.state, self.outcome = "done", outcome
        return [Finish(outcome)]


# -- what is said, built in -------------------------------------------------------------
# An office may record its own under [prompts.NAME]; these are spoken until it does.
# {office} is the office's name.
PHRASES = {
    "callback_offer": {
        "en": "We will call you back on",
        "ru": "Мы перезвоним вам по номеру",
        "uk": "Ми передзвонимо вам за номером",
    },
    "callback_offer_keys": {
        "en": "To confirm, press 1. To enter another number, press 2.",
        "ru": "Для подтверждения нажмите 1. Чтобы ввести другой номер, нажмите 2.",
        "uk": "Щоб підтвердити, натисніть 1. Щоб ввести інший номер, натисніть 2.",
    },
    "callback_enter": {
        "en": "Please enter the number we should call you back on, then press the hash key.",
        "ru": "Введите номер, по которому вам перезвонить, и нажмите решётку.",
        "uk": "Введіть номер, за яким вам передзвонити, і натисніть решітку.",
    },
    "callback_bad_number": {
        "en": "That does not look like a telephone number.",
        "ru": "Это не похоже на номер телефона.",
        "uk": "Це не схоже на номер телефону.",
    },
    "callback_thanks": {
        "en": "Thank you. We will call you back, and you keep your place in the queue. Goodbye.",
        "ru": "Спасибо. Мы вам перезвоним, ваше место в очереди сохранено. До свидания.",
        "uk": "Дякуємо. Ми вам передзвонимо, ваше місце в черзі збережено. До побачення.",
    },
    "callback_intro": {
        "en": "Hello, this is your call back from {office}.",
        "ru": "Здравствуйте, это обратный звонок от компании {office}.",
        "uk": "Добрий день, це зворотний дзвінок від компанії {office}.",
    },
    "callback_press_1": {
        "en": "To be connected, press 1.",
        "ru": "Чтобы соединиться, нажмите 1.",
        "uk": "Щоб з'єднатися, натисніть 1.",
    },
    "queue_welcome_back": {
        "en": "Welcome back. You keep your place in the queue.",
        "ru": "С возвращением. Ваше место в очереди сохранено.",
        "uk": "З поверненням. Ваше місце в черзі збережено.",
    },
}
