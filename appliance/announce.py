"""What a queued caller is told, and when: a policy with no clock, no engine and no I/O.

The ACD makes one CallerAnnouncements per caller as they join a queue (Announcer.join)
and asks it whenever it likes (each tick, or when the queue changes) what is due:
due(at, position, estimate, staffed, agent_ringing) returns an Announcement or None.
An Announcement returned counts as said; the ACD plays its items(lang), then its
periodic prompt if it has one. Times are seconds on any clock that never goes back.

Rules:
  When
  - The first announcement falls due first_after_s after joining (0: at once), then
    every every_s after the last one. A caller who has moved up since the last one
    hears it sooner, min_interval_s after it (announce_moves). app_queue does so on any
    change of place; here moving back (a priority caller put ahead) waits for the
    regular time: bad news sooner helps nobody.
  - Nothing at all is said within min_interval_s of the last thing said, the periodic
    message included (app_queue's min-announce-frequency, 15 s).
  - Nothing is said while an agent is being rung for the caller: they are about to be
    connected, and a prompt would delay the answer. What was due stays due, and is said
    if the agent does not answer.
  - An announcement due with nothing to say in it (position not said and no figure) is
    not made and stays due.
  What
  - The position is said unless announce_position is "no"; with "limit", places
    above position_limit are not said (app_queue's announce-position=limit). Its "more"
    ("more than N callers") is not offered: no language here has that phrase.
  - The wait is said in bands, rounded up, because a caller who waits past the figure
    is the one who hangs up; a figure is the band's ceiling (wait_band):
        up to 60 s        "less than a minute"
        to 5 minutes      whole minutes, rounded up: 2, 3, 4 or 5 minutes
        to an hour        the next of 10, 15, 20, 30, 45 and 60 minutes
        beyond            the next multiple of 30 minutes
  - At the head of the line (position 1) with an estimate within next_within_s (60 s)
    the caller hears "you are next" (the first-in-line sentence) and no figure. Said to
    the head of the line without a figure, the position is that same sentence: kind
    "next" either way. It is not a figure, so it binds no later figure.
  - A caller's figure never rises from one announcement to the next: a higher estimate
    is said as the figure said before. Only when fewer agents are staffed than when that
    figure was said may the next figure be higher, once: it is then the figure, and its
    staffing the staffing, later ones are held to.
  - No figure, the position only, when figures are off (announce_wait), when there is
    no estimate (None: too little history, no agent logged in) or when it is unreliable:
    its wait per place in line (estimate over position, which takes out the caller's
    own moving up) is more than jump_factor (2) times, or less than a jump_factor-th
    of, that at the last announcement made with an estimate, with as many agents
    staffed. Such a jump without a staffing change is a glitch or a history that just
    changed; if it lasts it is said at the next announcement, which compares with this
    one. The caller's first estimate has nothing to compare with and is believed.
  - A periodic message (periodic_prompt, e.g. a recording offering a call back) falls
    due periodic_every_s after joining, then periodic_every_s after it was last said. It
    rides on the announcement due at the same time, or goes alone (kind "periodic");
    the quiet interval and the ringing rule hold for it too.
  - Inputs are checked: a position is a whole number from 1, an estimate None or a
    finite number of seconds from 0, staffing a whole number from 0, and time never
    goes back; otherwise a ValueError says what was wrong. So is a policy that
    contradicts itself (every_s below min_interval_s, an unknown announce_position).
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from numbers import Real
from typing import List, Optional

from appliance.numbers import Item, say_position, say_wait, say_wait_under_a_minute

ANNOUNCE_POSITION = ("yes", "no", "limit")
KINDS = ("next", "position", "wait", "position+wait", "periodic")

# Band ceilings in seconds up to an hour; beyond it, multiples of BEYOND_STEP_S.
BANDS_S = (60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600)
BEYOND_STEP_S = 1800


def wait_band(estimate_s: float) -> int:
    """The figure said for an estimate: its band's ceiling in seconds (60: under a minute)."""
    for ceiling in BANDS_S:
        if estimate_s <= ceiling:
            return ceiling
    return math.ceil(estimate_s / BEYOND_STEP_S) * BEYOND_STEP_S


@dataclass(frozen=True)
class AnnouncePolicy:
    """How often and what a queue tells its callers; the module docstring has the rules."""

    first_after_s: float = 5.0          # 0: as the caller joins
    every_s: float = 45.0               # app_queue's announce-frequency
    min_interval_s: float = 15.0        # app_queue's min-announce-frequency
    announce_moves: bool = True         # moving up brings the next one forward
    announce_position: str = "yes"      # "yes", "no" or "limit"
    position_limit: int = 0             # with "limit": positions above it are not said
    announce_wait: bool = True
    next_within_s: float = 60.0         # head of the line and an agent this soon: "you are next"
    jump_factor: float = 2.0            # wait per place moving more than this: unreliable
    periodic_prompt: Optional[str] = None
    periodic_every_s: float = 60.0

    def __post_init__(self):
        for name in ("first_after_s", "every_s", "min_interval_s", "next_within_s", "periodic_every_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < math.inf:
                raise ValueError(f"{name} {value!r} is not a number of seconds from 0")
        if self.every_s < self.min_interval_s or self.every_s <= 0:
            raise ValueError(f"every_s {self.every_s} is below min_interval_s {self.min_interval_s} "
                             "or 0; announcements cannot come that often")
        if self.announce_position not in ANNOUNCE_POSITION:
            raise ValueError(f"unknown announce_position {self.announce_position!r}; "
                             f"choose one of: {', '.join(ANNOUNCE_POSITION)}")
        if self.announce_position == "limit" and (isinstance(self.position_limit, bool) or
                                                  not isinstance(self.position_limit, int) or
                                                  self.position_limit < 1):
            raise ValueError(f"position_limit {self.position_limit!r} must be a whole number from 1 "
                             "with announce_position 'limit'")
        if not self.jump_factor > 1:
            raise ValueError(f"jump_factor {self.jump_factor!r} must be above 1")
        if self.periodic_prompt is not None and self.periodic_every_s <= 0:
            raise ValueError("periodic_every_s must be above 0 with a periodic_prompt")

    def says_position(self, position: int) -> bool:
        if self.announce_position == "no":
            return False
        return self.announce_position == "yes" or position <= self.position_limit


@dataclass(frozen=True)
class Announcement:
    """What to tell a caller now: their position and a figure, "you are next", or only
    the periodic message."""

    kind: str                           # one of KINDS
    position: Optional[int]             # said, or None
    wait: Optional[int]                 # a band ceiling in seconds (wait_band), or None
    periodic: Optional[str] = None      # a prompt to play after the items

    def items(self, lang: str) -> List[Item]:
        """What the caller hears in the language, the periodic prompt aside."""
        items: List[Item] = []
        if self.position is not None:
            items += say_position(lang, self.position)
        if self.wait is not None:
            items += say_wait_under_a_minute(lang) if self.wait <= 60 else say_wait(lang, self.wait)
        return items


def _seconds(value, what: str, none_ok: bool = False) -> Optional[float]:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{what} {value!r} is not a number of seconds")
    return float(value)


def _whole(value, what: str, least: int) -> int:
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise ValueError(f"{what} {value!r} is not a whole number")
    value = operator.index(value)
    if value < least:
        raise ValueError(f"{what} {value} is below {least}")
    return value


class CallerAnnouncements:
    """One queued caller: what they were told and when, and so what is due next."""

    def __init__(self, policy: AnnouncePolicy, joined_at: float):
        self.policy = policy
        self.joined_at = _seconds(joined_at, "join time")
        self._now = self.joined_at
        self._last_said_at: Optional[float] = None       # anything, the periodic message too
        self._last_update_at: Optional[float] = None     # the last position/wait announcement
        self._position_then: Optional[int] = None         # the caller's place at it
        self._per_place_then: Optional[float] = None      # estimate / position at it
        self._staffed_then: Optional[int] = None
        self._figure: Optional[int] = None                # the last figure said
        self._figure_staffed: Optional[int] = None        # agents staffed when it was said
        self._next_periodic_at = (self.joined_at + policy.periodic_every_s
                                  if policy.periodic_prompt is not None else math.inf)

    @property
    def figure(self) -> Optional[int]:
        """The last wait figure said to the caller (seconds, a band ceiling), or None."""
        return self._figure

    def _quiet_until(self) -> float:
        if self._last_said_at is None:
            return -math.inf
        return self._last_said_at + self.policy.min_interval_s

    def _update_due_at(self, position: int) -> float:
        p = self.policy
        if self._last_update_at is None:
            return self.joined_at + p.first_after_s
        if p.announce_moves and position < self._position_then:
            return self._last_update_at + p.min_interval_s
        return self._last_update_at + p.every_s

    def next_due(self, position: int) -> float:
        """When the next announcement falls due for a caller still at `position`: the
        time to call due() next, unless the queue changes first."""
        return max(self._quiet_until(), min(self._update_due_at(position), self._next_periodic_at))

    def _reliable(self, per_place: float, staffed: int) -> bool:
        then = self._per_place_then
        if then is None or staffed != self._staffed_then or then <= 0 or per_place <= 0:
            return True
        return 1 / self.policy.jump_factor <= per_place / then <= self.policy.jump_factor

    def due(self, at: float, position: int, estimate: Optional[float], staffed: int,
            agent_ringing: bool = False) -> Optional[Announcement]:
        """What to tell the caller at `at`, or None. estimate is their expected wait in
        seconds (None when it cannot be told); staffed is how many agents are logged in."""
        at = _seconds(at, "time")
        if at < self._now:
            raise ValueError(f"time {at} is before {self._now}; time does not go back")
        position = _whole(position, "position", 1)
        estimate = _seconds(estimate, "estimate", none_ok=True)
        if estimate is not None and estimate < 0:
            raise ValueError(f"estimate {estimate} is negative")
        staffed = _whole(staffed, "staffed", 0)
        self._now = at

        if agent_ringing or at < self._quiet_until():
            return None
        update = self._update(position, estimate, staffed) if at >= self._update_due_at(position) else None
        periodic = self.policy.periodic_prompt if at >= self._next_periodic_at else None
        if periodic is not None:
            self._next_periodic_at = at + self.policy.periodic_every_s
        if update is None and periodic is None:
            return None
        self._last_said_at = at
        if update is None:
            return Announcement("periodic", None, None, periodic)
        self._last_update_at = at
        self._position_then = position
        return Announcement(update.kind, update.position, update.wait, periodic)

    def _update(self, position: int, estimate: Optional[float], staffed: int) -> Optional[Announcement]:
        """The position/wait announcement due now, noting what it says; None if it says nothing."""
        p = self.policy
        said_position = position if p.says_position(position) else None
        figure = None
        reliable = False
        if estimate is not None:
            per_place = estimate / position
            reliable = self._reliable(per_place, staffed)
        if said_position == 1 and estimate is not None and estimate <= p.next_within_s:
            pass                            # "you are next" says more than any figure
        elif p.announce_wait and estimate is not None and reliable:
            figure = wait_band(estimate)
            if (self._figure is not None and figure > self._figure
                    and staffed >= self._figure_staffed):
                figure = self._figure       # never rises while staffing holds
        if said_position is None and figure is None:
            return None
        # Noted only when something is said, so the next one compares with what was heard.
        if estimate is not None:
            self._per_place_then, self._staffed_then = per_place, staffed
        if figure is not None:
            self._figure, self._figure_staffed = figure, staffed
        if figure is None:
            kind = "next" if said_position == 1 else "position"
        else:
            kind = "wait" if said_position is None else "position+wait"
        return Announcement(kind, said_position, figure)


class Announcer:
    """A queue's announcement policy; join() starts one caller's announcements."""

    def __init__(self, policy: AnnouncePolicy = AnnouncePolicy()):
        self.policy = policy

    def join(self, at: float) -> CallerAnnouncements:
        return CallerAnnouncements(self.policy, at)
