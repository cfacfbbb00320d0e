"""A traffic file: the day of calls `appliance simulate` puts through an office.

Rules:
  - One TOML file, checked like the office's configuration: every problem is found,
    each as `file:line: key: message` (positions from tomlpos), and none reaches a user
    as a traceback. check(traffic, office) adds what only the office can tell: a queue
    it does not have, more agents in an hour than the queue has members.
  - The day is a list of hours, in order from `start`: in each, `calls` Poisson
    arrivals (their number drawn, then their times spread evenly at random over the
    hour) and the first `agents` members of the staffed queue logged in.
  - Callers go straight to `queue` (the simulation sets the line key `queue` on every
    line of a copy of the office) or press `digits` at the first prompt and walk the
    menus; with digits, `agents_of` names the queue whose members `agents` counts
    (not needed when the office has one queue).
  - Three times drawn per call, each from its own distribution table:
    [handle] the agent's talk time, [patience] how long a caller waits in a queue
    before hanging up ("none": they never do), [answer] how long an agent's phone
    rings before they pick it up. A distribution is "fixed", "exponential" or
    "lognormal" (with its coefficient of variation `cv`), given by its mean `mean_s`.
  - An hour may set its own means, `handle_s` and `patience_s`, for the file's
    distributions of the same kind (its cv kept): a measured week has both vary by
    hour. An hour's patience_s needs a patience distribution other than "none".
  - `seed` makes a run reproducible; the command line's --seed wins over it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from appliance.config import MAX_BYTES, ConfigError, Office, _Validator, _hint, read_file, read_toml  # noqa: F401
from appliance.tomlpos import Path, Positions

DISTRIBUTIONS = ("fixed", "exponential", "lognormal")
DTMF = set("0123456789*#ABCD")
MAX_HOURS = 24 * 7
MAX_CALLS_PER_HOUR = 100_000


class TrafficError(ConfigError):
    """Every problem of a traffic file, each with its file, line and key."""


@dataclass(frozen=True)
class Distribution:
    """A time drawn per call: its kind and mean in seconds (cv for lognormal)."""
    kind: str               # fixed, exponential, lognormal; "none" for patience that never ends
    mean_s: float = 0.0
    cv: float = 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "none":
            return np.full(n, np.inf)
        if self.kind == "fixed":
            return np.full(n, self.mean_s)
        if self.kind == "exponential":
            return rng.exponential(self.mean_s, n)
        # The lognormal with this mean and coefficient of variation.
        sigma2 = np.log1p(self.cv ** 2)
        return rng.lognormal(np.log(self.mean_s) - sigma2 / 2, np.sqrt(sigma2), n)


@dataclass(frozen=True)
class Hour:
    calls: float            # the mean of the hour's Poisson number of arrivals
    agents: int
    handle_s: Optional[float] = None        # this hour's mean handle time, else the file's
    patience_s: Optional[float] = None      # this hour's mean patience, else the file's


@dataclass(frozen=True)
class Traffic:
    path: str
    seed: int
    start: dt.time
    queue: Optional[str]            # callers go straight to it
    digits: Optional[str]           # or press these at the first prompt
    agents_of: Optional[str]        # the queue whose members `agents` counts
    handle: Distribution
    patience: Distribution
    answer: Distribution
    hours: Tuple[Hour, ...]
    service_level_s: float = 20.0
    caller_ids: bool = True         # each caller presents a number of their own
    positions: Optional[Positions] = None

    def handle_in(self, hour: Hour) -> Distribution:
        return self.handle if hour.handle_s is None else dataclasses.replace(self.handle, mean_s=hour.handle_s)

    def patience_in(self, hour: Hour) -> Distribution:
        if hour.patience_s is None or self.patience.kind == "none":
            return self.patience
        return dataclasses.replace(self.patience, mean_s=hour.patience_s)

    def staffed_queue(self, office: Office) -> Optional[str]:
        if self.queue or self.agents_of:
            return self.queue or self.agents_of
        return next(iter(office.queues)) if len(office.queues) == 1 else None


def load(path: str) -> Traffic:
    return parse(read_file(path, TrafficError), path)


def parse(data: bytes, path: str = "<traffic>") -> Traffic:
    doc, text = read_toml(data, path, TrafficError, "a traffic file")
    v = _TrafficValidator(path, Positions(text))
    traffic = v.traffic(doc)
    if v.problems:
        raise TrafficError(v.problems)
    return traffic


def check(traffic: Traffic, office: Office) -> None:
    """What the office says of the traffic: its queues, their members. Raises TrafficError."""
    v = _TrafficValidator(traffic.path, traffic.positions or Positions(""))
    for key in ("queue", "agents_of"):
        name = getattr(traffic, key)
        if name is not None and name not in office.queues:
            v.bad((key,), f"the office has no queue '{name}'{_hint(name, list(office.queues))}")
    staffed = traffic.staffed_queue(office)
    if staffed is None and not any(p.key in ("queue", "agents_of") for p in v.problems):
        if office.queues:
            v.bad(("agents_of",), "the office has several queues: name the one whose members `agents` counts "
                                  f"(one of: {', '.join(office.queues)})")
        else:
            v.bad(("hour",), "the office has no queue: there is nobody to staff")
    if staffed in office.queues:
        members = [a.name for a in office.agents if staffed in a.queues]
        phones = {ln.name for ln in office.lines if ln.kind == "fxs"}
        for i, h in enumerate(traffic.hours):
            if h.agents > len(members):
                v.bad(("hour", i, "agents"), f"{h.agents} agents, but queue '{staffed}' has "
                                             f"{len(members)} member{'s' if len(members) != 1 else ''}")
        for a in office.agents:
            if staffed in a.queues and a.phone not in phones:
                v.bad(("hour",), f"agent {a.name} of queue '{staffed}' is not at a phone port of the box: "
                                 "a simulation answers agents' phones only")
    if not [ln for ln in office.lines if ln.kind == "fxo"]:
        v.bad((), f"{office.path}: the office has no exchange line (fxo) for callers to ring")
    if v.problems:
        raise TrafficError(v.problems)


class _TrafficValidator(_Validator):
    def number(self, doc, path, key, kind: type, default, lo, hi):
        v = self.get(doc, path, key, kind, default)
        if v is not None and not lo <= v <= hi:
            self.bad(path + (key,), f"{v:g} is out of range ({lo:g} to {hi:g})")
            return default
        return v

    def traffic(self, doc: Dict[str, Any]) -> Traffic:
        top = self.table(doc, (), ["seed", "start", "queue", "digits", "agents_of", "service_level_s", "caller_ids",
                                   "handle", "patience", "answer", "hour"], ["handle", "hour"])
        seed = self.number(top, (), "seed", int, 0, 0, 2 ** 63 - 1)
        start = self.start(top)
        queue = self.get(top, (), "queue", str, None)
        digits = self.get(top, (), "digits", str, None)
        if queue is not None and digits is not None:
            self.bad(("digits",), "callers either go straight to `queue` or press `digits`: not both")
        elif queue is None and digits is None:
            self.bad((), "missing key 'queue' (callers go straight to it) or 'digits' (keys pressed at the "
                         "first prompt)")
        if digits is not None and (not digits or set(digits) - DTMF):
            self.bad(("digits",), f"{digits!r} is not keys of a telephone keypad (0-9, *, #, A-D)")
        agents_of = self.get(top, (), "agents_of", str, None)
        service = self.number(top, (), "service_level_s", float, 20.0, 0.0, 3600.0)
        caller_ids = self.get(top, (), "caller_ids", bool, True)
        handle = self.distribution(top, "handle", none_ok=False)
        patience = self.distribution(top, "patience", none_ok=True, default=Distribution("none"))
        answer = self.distribution(top, "answer", none_ok=False, default=Distribution("fixed", 2.0))
        hours = self.hours(top["hour"]) if "hour" in top else ()
        if patience.kind == "none":
            for i, h in enumerate(hours):
                if h.patience_s is not None:
                    self.bad(("hour", i, "patience_s"), "the callers' patience is 'none': an hour cannot set its mean")
        return Traffic(self.file, seed, start, queue, digits, agents_of, handle, patience, answer, hours,
                       service, caller_ids, self.pos)

    def start(self, top) -> dt.time:
        v = self.get(top, (), "start", str, "09:00")
        m = re.fullmatch(r"(\d\d):(\d\d)", v)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            self.bad(("start",), f"'{v}' is not a time of day such as '09:00'")
            return dt.time(9, 0)
        return dt.time(int(m.group(1)), int(m.group(2)))

    def distribution(self, top, key: str, none_ok: bool, default: Optional[Distribution] = None) -> Distribution:
        fallback = default or Distribution("fixed", 1.0)
        if key not in top:
            return fallback
        p: Path = (key,)
        t = self.table(top[key], p, ["distribution", "mean_s", "cv"])
        if not t:
            return fallback
        kinds = DISTRIBUTIONS + (("none",) if none_ok else ())
        kind = self.choice(t, p, "distribution", kinds, "exponential")
        if kind == "none":
            for k in ("mean_s", "cv"):
                if k in t:
                    self.bad(p + (k,), "means nothing with distribution 'none'")
            return Distribution("none")
        if "mean_s" not in t:
            self.bad(p, "missing key 'mean_s'")
            return fallback
        mean = self.number(t, p, "mean_s", float, 1.0, 0.0, 86400.0)
        if mean <= 0:
            self.bad(p + ("mean_s",), "must be above 0")
            mean = 1.0
        cv = self.number(t, p, "cv", float, 1.0, 0.0, 10.0)
        if kind == "lognormal" and cv <= 0:
            self.bad(p + ("cv",), "must be above 0 for a lognormal (a cv of 0 is distribution 'fixed')")
            cv = 1.0
        elif kind != "lognormal" and "cv" in t:
            self.bad(p + ("cv",), f"only a lognormal takes a cv, not an {kind} distribution"
                     if kind == "exponential" else f"only a lognormal takes a cv, not a {kind} distribution")
        return Distribution(kind, mean, cv)

    def hours(self, doc: Any) -> Tuple[Hour, ...]:
        if not isinstance(doc, list):
            self.bad(("hour",), "must be [[hour]] tables, one per hour")
            return ()
        out: List[Hour] = []
        for i, t in enumerate(doc):
            p: Path = ("hour", i)
            t = self.table(t, p, ["calls", "agents", "handle_s", "patience_s"], ["calls", "agents"])
            means = []
            for key in ("handle_s", "patience_s"):
                v = self.number(t, p, key, float, None, 0.0, 86400.0)
                if v is not None and v <= 0:
                    self.bad(p + (key,), "must be above 0")
                    v = None
                means.append(v)
            out.append(Hour(self.number(t, p, "calls", float, 0.0, 0.0, MAX_CALLS_PER_HOUR),
                            self.number(t, p, "agents", int, 0, 0, 10_000), *means))
        if not doc:
            self.bad(("hour",), "needs at least one [[hour]]")
        elif len(doc) > MAX_HOURS:
            self.bad(("hour",), f"{len(doc)} hours: at most {MAX_HOURS} (a week)")
        return tuple(out)
