"""The box's alarms: conditions a person must know of, raised while they last.

Rules:
  - An alarm is a code (what is wrong, one alarm per code), a text for a person and
    the time it was raised (seconds since the epoch, the supervisor's clock).
  - Raising a code that is up already only updates its text (a count going up), so
    its time stays the time it began; clearing a code that is not up does nothing.
  - raise_ and clear say whether the alarm came up or went down, so the caller logs
    the change once and not every update. No I/O here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional


@dataclass(frozen=True)
class Alarm:
    since: float
    code: str
    text: str


class Alarms:
    def __init__(self) -> None:
        self._up: Dict[str, Alarm] = {}

    def raise_(self, code: str, text: str, at: float) -> Optional[Alarm]:
        """Up with this text; the alarm if it has just come up, else None."""
        was = self._up.get(code)
        self._up[code] = Alarm(was.since if was else at, code, text)
        return None if was else self._up[code]

    def clear(self, code: str) -> Optional[Alarm]:
        """Down; the alarm as it was if it was up, else None."""
        return self._up.pop(code, None)

    def current(self) -> List[Alarm]:
        """The alarms up, the oldest first."""
        return sorted(self._up.values(), key=lambda a: (a.since, a.code))
