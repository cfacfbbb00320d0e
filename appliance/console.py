"""The box's console on a terminal: the commands a person types, as a grammar with no I/O.

parse() turns one typed line into a Command or a ConsoleError that says what was wrong;
the runner (appliance.box) carries commands out. Words may be shortened to any prefix
that is unique among the commands (`sh ca` is `show calls`), as on a router's console.

Commands:
  call LINE [NUMBER [NAME...]]   a test caller rings the line, with caller ID if given
  press DIGITS [on LINE]         the test caller presses keys (0-9 * #)
  hangup [LINE]                  the test caller hangs up
  pickup [PHONE]                 a phone is answered (the operator's if none named)
  drop [PHONE]                   a phone is put down
  hours open|closed|auto         answer new calls as in or out of business hours, or
                                 by the office's hours and the clock (auto)
  agent NAME login|logout|pause [REASON]|unpause
                                 an agent's state in the queues
  reload                         read the configuration file again; a file with
                                 problems is refused and the running one kept
  show agents                    each agent's state, and who waits in each queue
  show calls                     the latest calls in the call log
  show log [CALL]                a call's events (the latest call's if none given)
  help                           this list
  quit                           stop the box
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

HELP = __doc__.split("Commands:\n", 1)[1].rstrip()
WORDS = ("call", "press", "hangup", "pickup", "drop", "hours", "agent", "reload", "show", "help", "quit")
AGENT = ("login", "logout", "pause", "unpause")
HOURS = ("open", "closed", "auto")
SHOW = ("agents", "calls", "log")


class ConsoleError(Exception):
    pass


@dataclass(frozen=True)
class Command:
    verb: str
    line: Optional[str] = None
    digits: str = ""
    number: str = ""
    name: str = ""
    what: str = ""
    call: Optional[int] = None
    args: Tuple[str, ...] = field(default_factory=tuple)


def _word(typed: str, words, what: str) -> str:
    hits = [w for w in words if w.startswith(typed.lower())]
    if typed.lower() in words:
        return typed.lower()
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ConsoleError(f"unknown {what} '{typed}'; one of: {', '.join(words)}")
    raise ConsoleError(f"'{typed}' could be {' or '.join(hits)}")


def parse(text: str, lines: List[str]) -> Optional[Command]:
    """One typed line; None for an empty one. lines: the office's line names."""
    parts = text.split()
    if not parts:
        return None
    verb = _word(parts[0], WORDS, "command")
    rest = parts[1:]

    def line_name(name: str) -> str:
        if name in lines:
            return name
        raise ConsoleError(f"no line '{name}'; the lines are {', '.join(lines)}")

    if verb == "call":
        if not rest:
            raise ConsoleError("call which line? call LINE [NUMBER [NAME]]")
        number = rest[1] if len(rest) > 1 else ""
        if number and not re.fullmatch(r"\+?[0-9]{1,20}", number):
            raise ConsoleError(f"'{number}' is not a phone number")
        return Command("call", line=line_name(rest[0]), number=number, name=" ".join(rest[2:]))
    if verb == "press":
        if not rest:
            raise ConsoleError("press which keys? press DIGITS [on LINE]")
        if not re.fullmatch(r"[0-9*#]{1,32}", rest[0]):
            raise ConsoleError(f"'{rest[0]}' holds something that is not a key (0-9, *, #)")
        line = None
        if len(rest) == 3 and rest[1] == "on":
            line = line_name(rest[2])
        elif len(rest) != 1:
            raise ConsoleError("press DIGITS [on LINE]")
        return Command("press", line=line, digits=rest[0])
    if verb == "hangup":
        if len(rest) > 1:
            raise ConsoleError("hangup [LINE]")
        return Command("hangup", line=line_name(rest[0]) if rest else None)
    if verb in ("pickup", "drop"):
        if len(rest) > 1:
            raise ConsoleError(f"{verb} [PHONE]")
        return Command(verb, line=line_name(rest[0]) if rest else None)
    if verb == "agent":
        if len(rest) < 2:
            raise ConsoleError("agent NAME login|logout|pause [REASON]|unpause")
        what = _word(rest[1], AGENT, "agent command")
        if what != "pause" and len(rest) > 2:
            raise ConsoleError(f"agent NAME {what} takes nothing more")
        return Command("agent", name=rest[0], what=what, args=tuple(rest[2:]))
    if verb == "hours":
        if len(rest) != 1:
            raise ConsoleError("hours open|closed|auto")
        return Command("hours", what=_word(rest[0], HOURS, "hours setting"))
    if verb == "show":
        if not rest:
            raise ConsoleError("show what? show agents, show calls, show log [CALL]")
        what = _word(rest[0], SHOW, "thing to show")
        call = None
        if what == "log" and len(rest) > 1:
            if not rest[1].isdigit():
                raise ConsoleError(f"'{rest[1]}' is not a call number")
            call = int(rest[1])
        elif len(rest) > 1:
            raise ConsoleError("show calls takes nothing more")
        return Command("show", what=what, call=call)
    if rest:
        raise ConsoleError(f"{verb} takes nothing more")
    return Command(verb)
