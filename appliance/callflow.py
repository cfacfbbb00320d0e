"""One caller's way through the voice menus: a state machine with no I/O of its own.

The supervisor feeds a CallFlow what happened on the line (the caller's entry, a
prompt that finished, a hangup) and carries out the commands it returns: ask (play
prompts the caller may cut short with a key, then take digits), announce (play
prompts through), hand the call to the operator, hang up. Notes say what the call log
records. Nothing here reads a clock or touches the engine, so tests drive it with
events alone (the h11 way).

Rules:
  - On first entry a menu plays its greeting; coming back to it (repeat, back, top,
    after an invalid entry or silence) plays its short greeting.
  - An entry the menu does not know plays the invalid prompt and asks again; after
    invalid_tries of them in a row the menu's invalid_then happens. Silence is counted
    the same way with no_input, no_input_tries and no_input_then. A valid entry resets
    both counts; so does entering another menu.
  - The repeat key plays the menu again; the operator key (when the office has an
    operator) hands the call over. They are not counted as invalid.
  - A menu that collects takes up to `max` digits, ending at the terminator, at the
    maximum, or at the pause between digits; an entry too short, too long or off the
    pattern is invalid.
  - back returns to the menu the caller came from (the entry menu if none), top to
    the entry menu; language:LANG switches the language for the rest of the call and
    starts the menus again.
  - Before any menu: a blocked caller hears the blocked prompt and is hung up on; out
    of business hours the office's after_hours action happens instead of the entry
    menu; a caller-ID rule's action replaces the entry menu.
  - queue:NAME hands the caller to a queue (ToQueue): the menus are done with them,
    unless the queue sends them on (full, waited too long, nobody to answer): resume()
    then takes them on from the queue's action, as a new step of the same call.
  - after-hours does what the office does out of hours (hours.after_hours).
    callback:QUEUE (or callback, for the queue the caller is in) hands them to the
    queue's callback offer (ToCallback) the same way. A caller who leaves a queue by
    its exit key goes on with resume() too.
  - A call on a line with a queue of its own (the line key `queue`) joins it at once,
    where the entry menu would start; blocking, after-hours and caller-ID rules come
    first as for any call.
  - A menu with agi hands the call to its FastAGI script (RunScript) and waits for it
    to end: closed with the call up (done), the menu's then (hang up if none); the
    script hanging up, completed; EXEC Queue, that queue; down, slow or nonsense
    (failed), the menu's agi_fallback.
  - Variables: the call's own, in `variables`. A script sets them (SET VARIABLE) and
    reads them (GET VARIABLE), in this and later agi menus of the call; a collect
    menu's entry is the variable named as the menu (an `order` menu's digits are
    ${order}), so a script can look up what the caller keyed before it.
  - Once ended (hung up on, handed over, or the caller gone) the flow takes no more
    events and returns no commands.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

from appliance.config import Action, Menu, Office


# -- commands the supervisor carries out ------------------------------------------------

@dataclass(frozen=True)
class Ask:
    """Play prompts (a key cuts them short), then take up to max_digits digits."""
    prompts: Tuple[str, ...]
    language: str
    max_digits: int = 1
    terminator: str = ""
    first_timeout_s: float = 5.0
    interdigit_s: float = 3.0


@dataclass(frozen=True)
class Announce:
    """Play prompts through; the flow goes on when they have been played."""
    prompts: Tuple[str, ...]
    language: str


@dataclass(frozen=True)
class ToOperator:
    pass


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class ToQueue:
    """The caller waits in this queue for an agent; the menus are done with them."""
    queue: str


@dataclass(frozen=True)
class ToCallback:
    """The caller is offered a callback that keeps their place in this queue ("": the
    queue they wait in)."""
    queue: str = ""


@dataclass(frozen=True)
class RunScript:
    """Hand the call to the menu's FastAGI script (agi.py); the flow waits for
    script_ended()."""
    url: str
    timeout_s: float
    menu: str
    language: str


@dataclass(frozen=True)
class Note:
    """A line for the call log: kind is menu, digits, language, invalid, no-input,
    blocked, after-hours, vip or end (detail: the outcome)."""
    kind: str
    detail: str = ""


Command = Union[Ask, Announce, ToOperator, ToQueue, HangUp, Note, ToCallback, RunScript]

# How a call that leaves the menus ends, for the call log: hung up on by a menu's
# design (completed) or after too many invalid entries or silences, handed to the
# operator, the caller gone first (abandoned), blocked, or any of these after hours
# (after-hours).
# (queued: handed to a queue, where the call's end is the ACD's to tell.)
OUTCOMES = ("completed", "invalid", "no-input", "operator", "queued", "abandoned", "blocked", "after-hours")


# -- the machine -----------------------------------------------------------------------

class CallFlowError(Exception):
    """An event the flow cannot take in the state it is in: a bug in the caller of it."""


class CallFlow:
    def __init__(self, office: Office, caller: str = "", open_now: bool = True, queue: Optional[str] = None):
        self.office = office
        self.line_queue = queue
        self.caller = caller
        self.open_now = open_now
        self.language = office.language
        self.menu: Optional[Menu] = None
        self.history: List[str] = []
        self.seen: set = set()
        self.invalid = 0
        self.silent = 0
        self.waiting: Optional[str] = None      # "ask" or "announce": what the flow waits for
        self.outcome: Optional[str] = None
        self.after_hours = False
        self.variables: dict = {}

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def start(self) -> List[Command]:
        """The call has been answered: the first commands."""
        office = self.office
        out: List[Command] = []
        cid = office.callerid
        if cid.blocked(self.caller):
            out.append(Note("blocked", self.caller))
            if cid.blocked_prompt:
                self.waiting = "announce-then-hangup"
                return out + [Announce((cid.blocked_prompt,), self.language)]
            return out + self._end("blocked", HangUp())
        if cid.is_vip(self.caller):
            out.append(Note("vip", self.caller))
        if not self.open_now and office.hours.after_hours is not None:
            self.after_hours = True
            out.append(Note("after-hours"))
            return out + self._do(office.hours.after_hours)
        rule = cid.route(self.caller)
        if rule is not None:
            return out + self._do(rule)
        if self.line_queue is not None:
            return out + self._do(Action("queue", self.line_queue))
        return out + self._enter(office.entry)

    # Events.

    def entered(self, digits: str, how: str) -> List[Command]:
        """The caller's entry at an Ask: digits, and how it ended (max, terminator,
        timeout)."""
        self._expect("ask")
        self.waiting = None
        m = self.menu
        if digits == "" and how in ("timeout", "terminator"):
            return self._silence()
        if m.collect:
            if m.collect.accepts(digits):
                self.invalid = self.silent = 0
                self.variables[m.name] = digits
                return [Note("digits", f"{m.name}:{digits}")] + self._do(m.collect.then)
            return self._invalid(digits)
        key = digits[:1]
        if key == m.repeat_key:
            return self._ask(short=True)
        if m.operator_key and key == m.operator_key and self.office.operator:
            return [Note("digits", f"{m.name}:{key}")] + self._do(Action("operator"))
        if key in m.keys:
            self.invalid = self.silent = 0
            return [Note("digits", f"{m.name}:{key}")] + self._do(m.keys[key])
        return self._invalid(key)

    def played(self) -> List[Command]:
        """An Announce has been played to the end."""
        if self.waiting == "announce-then-hangup":
            self.waiting = None
            return self._end("blocked", HangUp())
        self._expect("announce")
        self.waiting = None
        if self.menu is not None and self.menu.then is not None:
            return self._do(self.menu.then)
        return self._end("completed", HangUp())

    def script_ended(self, how: str, detail: str = "") -> List[Command]:
        """The agi menu's script is over: how is done, hangup, queue (detail: the
        queue) or failed (detail: why)."""
        self._expect("agi")
        self.waiting = None
        m = self.menu
        if how == "done":
            return [Note("agi", "done")] + self._do(m.then or Action("hangup"))
        if how == "hangup":
            return [Note("agi", "hung up by the script")] + self._end("completed", HangUp())
        if how == "queue":
            return [Note("agi", f"to queue {detail}")] + self._do(Action("queue", detail))
        if how == "failed":
            return [Note("agi-fallback", f"{detail}: {m.agi_fallback}")] + self._do(m.agi_fallback or Action("hangup"))
        raise CallFlowError(f"a script ends done, hangup, queue or failed, not {how!r}")

    def hung_up(self) -> List[Command]:
        """The caller hung up; at any point."""
        if self.ended:
            return []
        self.waiting = None
        self.outcome = "after-hours" if self.after_hours else "abandoned"
        return [Note("end", self.outcome)]

    def resume(self, action: Action, why: str) -> List[Command]:
        """The caller has left a queue without an agent, and goes on to `action`; `why`
        (full, timeout, empty, overflow...) is noted for the call log."""
        if self.outcome not in ("queued", "operator"):
            raise CallFlowError(f"the call flow cannot resume from a queue: it is "
                                f"{'waiting for ' + self.waiting if self.waiting else self.outcome or 'in the menus'}")
        self.outcome = None
        self.waiting = None
        return [Note("left-queue", f"{why}: {action}")] + self._do(action)

    # Steps.

    def _expect(self, what: str) -> None:
        if self.ended or self.waiting != what:
            raise CallFlowError(f"the call flow is not waiting for {what} (it waits for "
                                f"{self.waiting or ('nothing: the call has ended' if self.ended else 'nothing')})")

    def _end(self, outcome: str, command: Command) -> List[Command]:
        self.outcome = "after-hours" if self.after_hours else outcome
        self.waiting = None
        return [Note("end", self.outcome), command]

    def _do(self, action: Action, why: str = "completed") -> List[Command]:
        kind = action.kind
        if kind == "menu":
            if self.menu is not None:
                self.history.append(self.menu.name)
            return self._enter(action.arg)
        if kind == "back":
            target = self.history.pop() if self.history else self.office.entry
            return self._enter(target, short=True)
        if kind == "top":
            self.history.clear()
            return self._enter(self.office.entry, short=True)
        if kind == "repeat":
            return self._enter(self.menu.name if self.menu else self.office.entry, short=True)
        if kind == "language":
            self.language = action.arg
            self.history.clear()
            return [Note("language", action.arg)] + self._enter(self.office.entry, short=True)
        if kind == "after-hours":
            self.after_hours = True
            return [Note("after-hours")] + self._do(self.office.hours.after_hours or Action("hangup"))
        if kind == "operator":
            return self._end("operator", ToOperator())
        if kind == "queue":
            return self._end("queued", ToQueue(action.arg))
        if kind == "callback":
            return self._end("queued", ToCallback(action.arg))
        return self._end(why, HangUp())

    def _enter(self, name: str, short: bool = False) -> List[Command]:
        m = self.office.menus[name]
        if self.menu is None or m.name != self.menu.name:
            self.invalid = self.silent = 0
        self.menu = m
        first = name not in self.seen
        self.seen.add(name)
        note = [Note("menu", name)]
        if m.agi is not None:
            self.waiting = "agi"
            return note + [RunScript(m.agi, m.agi_timeout_s, m.name, self.language)]
        if not m.keys and not m.collect:
            self.waiting = "announce"
            return note + [Announce(m.greeting if first or not m.short_greeting else m.short_greeting,
                                    self.language)]
        return note + self._ask(short=short or not first)

    def _ask(self, short: bool, before: Tuple[str, ...] = ()) -> List[Command]:
        m = self.menu
        prompts = m.short_greeting if (short and m.short_greeting) else m.greeting
        self.waiting = "ask"
        if m.collect:
            c = m.collect
            return [Ask(before + prompts, self.language, c.max, c.terminator, m.timeout_s, c.interdigit_s)]
        return [Ask(before + prompts, self.language, 1, "", m.timeout_s, m.timeout_s)]

    def _invalid(self, entry: str) -> List[Command]:
        m = self.menu
        self.invalid += 1
        out: List[Command] = [Note("invalid", f"{m.name}:{entry}")]
        if self.invalid >= m.invalid_tries:
            return out + self._do(m.invalid_then, "invalid")
        return out + self._ask(short=True, before=(m.invalid,) if m.invalid else ())

    def _silence(self) -> List[Command]:
        m = self.menu
        self.silent += 1
        out: List[Command] = [Note("no-input", m.name)]
        if self.silent >= m.no_input_tries:
            return out + self._do(m.no_input_then, "no-input")
        return out + self._ask(short=True, before=(m.no_input,) if m.no_input else ())
