"""What a manager reads: the figures of a report over a range of the call log.

Rules:
  - Figures come from the call log alone (visits.read and the agent events), over the
    calls that started in [start, end); intervals (hour, day, week) are in the office's
    time zone.
  - Service level is given under both definitions, always named: answered within the
    target over answered, and over answered plus abandoned. A caller who hangs up within
    the short-abandon threshold is counted apart (short_abandoned), in neither.
  - Every figure with nothing to count is None, not zero: a queue with no answered call
    has no average speed of answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class QueueRow:
    """One queue over one interval; interval None is the whole range."""
    queue: str
    interval: Optional[str]         # ISO date or date-time of the interval's start, local time
    offered: int                    # visits: joined, or refused at the door by a rule
    answered: int
    abandoned: int                  # hung up after the short-abandon threshold
    short_abandoned: int            # hung up within it
    sent_on: int                    # by a queue rule (full, timeout, empty, overflow, exit key)
    callbacks: int                  # gave up the line for a call back
    answered_in_sl: int             # answered within the service-level time
    sl_over_answered: Optional[float]       # answered_in_sl / answered
    sl_over_handled: Optional[float]        # answered_in_sl / (answered + abandoned)
    asa_s: Optional[float]          # mean wait of the answered
    aht_s: Optional[float]          # mean talk + wrap-up of the answered
    longest_wait_s: Optional[float]  # of any caller, answered or not


@dataclass(frozen=True)
class AgentRow:
    agent: str
    calls: int
    talk_s: float
    wrapup_s: float
    paused_s: Dict[str, float]      # by reason
    logged_in_s: float
    missed: int                     # rings not answered
    occupancy: Optional[float]      # (talk + wrap-up) / (logged in - paused)


@dataclass(frozen=True)
class LineRow:
    line: str
    calls: int
    busy_s: float                   # time with a call on it
    use: float                      # busy_s over the range


@dataclass(frozen=True)
class Unserved:
    """A caller the box did not serve: the list a manager calls back from."""
    call: int
    at: float                       # epoch seconds
    caller: str                     # '' when withheld
    queue: Optional[str]
    reason: str                     # abandoned, expired, no-answer, after-hours, ...
    waited_s: float
    called_again: Optional[float]   # their next call in the range, epoch seconds
    served_later: bool              # a later call of theirs was answered by an agent


@dataclass(frozen=True)
class RepeatCaller:
    caller: str
    calls: int
    served: int


@dataclass(frozen=True)
class Report:
    office: str
    timezone: str
    start: float
    end: float
    by: str                         # hour, day or week
    sl_s: float                     # the service-level time
    short_abandon_s: float
    queues: Tuple[QueueRow, ...]    # each queue's intervals then its total (interval None)
    agents: Tuple[AgentRow, ...]
    by_hour: Tuple[int, ...]        # calls by hour of day, 24
    by_weekday: Tuple[int, ...]     # calls by day of week, Monday first, 7
    all_lines_busy: int             # times every line was in use at once
    all_lines_busy_s: float         # and for how long in all
    lines: Tuple[LineRow, ...]
    unserved: Tuple[Unserved, ...]
    repeat_callers: Tuple[RepeatCaller, ...]
    menu_only: int                  # calls finished in the menus without an agent
