"""`appliance staffing`: how many agents a queue needs, hour by hour of the week, for a
service-level target, from what its call log shows.

Rules:
  - The week is 168 hours, Mon 00-01 to Sun 23-24, in the office's local time (the log
    keeps UTC epoch seconds): the time zone of --config's office, else the machine's
    own, and the report says which.
  - A range is whole local days, --from to --to, both included (by default the days of
    the queue's first and last call in the log). Each hour of the week is counted once
    for every time it occurs in the range, so a queue seen for two weeks has its calls
    per hour averaged over two.
  - Measured per hour of the week, over the queue's visits that began in it (visits
    of the log's call backs are left out: the call that asked for one is the caller's
    arrival): calls offered (every visit, refused at the door ones too) per hour;
    handle time, talk plus wrap-up, over the answered; patience by the exponential
    maximum-likelihood estimate, abandons over the time every caller of the queue
    spent waiting (waits that ended otherwise than in an abandon count as censored).
  - An hour with fewer than MIN_ANSWERED answered calls takes its handle time, and one
    with fewer than MIN_ABANDONS abandons its patience, from the whole range pooled;
    the report marks them. Nobody hanging up at all makes the patience infinite:
    Erlang A is then Erlang C.
  - The advice per hour is the fewest agents whose service level (erlang.py, under the
    definition named, offered by default) meets the target, with what they give.
    Hours without calls are left out (no agents needed).
  - A target is PERCENT/SECONDS: "80/20" is 80 % answered within 20 s. The percentage
    is above 0 and below 100: with random arrivals no staffing makes sure of 100.
  - measure() and advise() are pure: they take visits and give figures; run() reads
    the log and prints.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import zoneinfo
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, TextIO, Tuple

from appliance import erlang

MIN_ANSWERED = 30
MIN_ABANDONS = 10
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MODELS = ("erlang-a", "erlang-c")


class StaffingError(Exception):
    """A bad argument or a log that cannot answer; the message says which."""


@dataclass(frozen=True)
class Target:
    level: float            # fraction, above 0 and below 1
    within_s: float

    def __str__(self) -> str:
        return f"{self.level * 100:g} % answered within {self.within_s:g} s"


def parse_target(text: str) -> Target:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*", text or "")
    if not m:
        raise StaffingError(f"--target {text!r}: write PERCENT/SECONDS, such as 80/20 (80 % answered within 20 s)")
    level, within = float(m.group(1)), float(m.group(2))
    if not 0 < level < 100:
        raise StaffingError(f"--target {text!r}: {level:g} % must be above 0 and below 100")
    if within > 3600:
        raise StaffingError(f"--target {text!r}: {within:g} s is more than an hour")
    return Target(level / 100, within)


def slot_name(slot: int) -> str:
    """0 -> 'Mon 00-01', 167 -> 'Sun 23-24'."""
    h = slot % 24
    return f"{DAYS[slot // 24]} {h:02d}-{h + 1:02d}"


@dataclass(frozen=True)
class Hour:
    """One hour of the week, as the range shows it."""
    slot: int                   # 0 = Mon 00-01 ... 167 = Sun 23-24
    calls_per_h: float          # offered, averaged over the times this hour occurs
    offered: int
    answered: int
    abandoned: int
    talk_s: float               # mean, answered calls (pooled when few)
    wrapup_s: float
    patience_s: float           # mean; inf: nobody hung up
    aht_pooled: bool
    patience_pooled: bool
    occurrences: int

    @property
    def aht_s(self) -> float:
        return self.talk_s + self.wrapup_s


@dataclass(frozen=True)
class Measured:
    queue: str
    first_day: dt.date
    last_day: dt.date
    hours: Tuple[Hour, ...]     # the hours of the week with calls, in order
    offered: int
    answered: int
    abandoned: int
    talk_s: float               # pooled over the range
    wrapup_s: float
    talk_cv: float              # of the talk times: a simulation draws them so
    patience_s: float
    answer_delay_s: float       # mean ring before the agent's answer; 0 if unknown

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def occurrences(first: dt.date, last: dt.date) -> List[int]:
    """How many times each hour of the week falls in the days first..last."""
    out = [0] * 168
    for d in range((last - first).days + 1):
        day = (first + dt.timedelta(days=d)).weekday()
        for h in range(24):
            out[day * 24 + h] += 1
    return out


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _patience(abandons: int, waited: float) -> float:
    return waited / abandons if abandons else math.inf


def measure(visits: Iterable, queue: str, tz: dt.tzinfo, first: dt.date, last: dt.date) -> Measured:
    """The figures of `queue` from its visits (each with queue, joined, left, outcome,
    agent, talk_end, wrapup_s, rings, as visits.Visit) that joined within the days
    first..last, local time in tz. Raises StaffingError when the queue had no calls."""
    per: List[dict] = [dict(offered=0, talk=[], wrapup=[], abandoned=0, waited=0.0) for _ in range(168)]
    delays: List[float] = []
    for v in visits:
        if v.queue != queue:
            continue
        local = dt.datetime.fromtimestamp(v.joined, tz)
        if not first <= local.date() <= last:
            continue
        p = per[local.weekday() * 24 + local.hour]
        p["offered"] += 1
        p["waited"] += max(v.wait, 0.0)
        if v.outcome == "answered":
            p["talk"].append(max(v.talk_end - v.left, 0.0) if v.talk_end is not None else 0.0)
            p["wrapup"].append(v.wrapup_s)
            delays += [r.end - r.at for r in v.rings if r.how == "answered"]
        elif v.outcome == "abandoned":
            p["abandoned"] += 1
    offered = sum(p["offered"] for p in per)
    if not offered:
        raise StaffingError(f"queue '{queue}' had no calls from {first} to {last}")
    talks = [t for p in per for t in p["talk"]]
    wrapups = [w for p in per for w in p["wrapup"]]
    abandons = sum(p["abandoned"] for p in per)
    pooled_talk, pooled_wrapup = _mean(talks), _mean(wrapups)
    pooled_patience = _patience(abandons, sum(p["waited"] for p in per))
    if len(talks) > 1 and pooled_talk > 0:
        sd = math.sqrt(sum((t - pooled_talk) ** 2 for t in talks) / (len(talks) - 1))
        cv = sd / pooled_talk
    else:
        cv = 1.0
    seen = occurrences(first, last)
    hours = []
    for slot, p in enumerate(per):
        if not p["offered"]:
            continue
        few_answered = len(p["talk"]) < MIN_ANSWERED
        few_abandons = p["abandoned"] < MIN_ABANDONS
        hours.append(Hour(
            slot, p["offered"] / seen[slot], p["offered"], len(p["talk"]), p["abandoned"],
            pooled_talk if few_answered else _mean(p["talk"]),
            pooled_wrapup if few_answered else _mean(p["wrapup"]),
            pooled_patience if few_abandons else _patience(p["abandoned"], p["waited"]),
            few_answered, few_abandons, seen[slot]))
    return Measured(queue, first, last, tuple(hours), offered, len(talks), abandons, pooled_talk, pooled_wrapup,
                    cv, pooled_patience, _mean(delays))


@dataclass(frozen=True)
class Advice:
    hour: Hour
    performance: erlang.Performance


def advise(measured: Measured, target: Target, model: str = "erlang-a", over: str = erlang.OFFERED
           ) -> List[Advice]:
    """For each hour with calls, the fewest agents meeting the target and what they give."""
    if model not in MODELS:
        raise StaffingError(f"--model {model!r}: one of {', '.join(MODELS)}")
    out = []
    for h in measured.hours:
        if h.aht_s <= 0:
            raise StaffingError(f"{slot_name(h.slot)}: no handle time in the log to staff for")
        p = erlang.agents_needed(model, h.calls_per_h / 3600, h.aht_s, h.patience_s, target.level,
                                 target.within_s, over)
        out.append(Advice(h, p))
    return out


# -- a measured week to simulate ----------------------------------------------------------

def span(measured: Measured) -> range:
    """The hours of the week from the first with calls to the last."""
    return range(measured.hours[0].slot, measured.hours[-1].slot + 1)


def plan(measured: Measured, agents: Optional[int] = None, target: Optional[Target] = None,
         model: str = "erlang-a", over: str = erlang.OFFERED, adjust: int = 0) -> List[int]:
    """Agents for each hour of span(measured): `agents` in every one, or the advice for
    `target` (none where there are no calls), each changed by `adjust` (never below 0)."""
    if (agents is None) == (target is None):
        raise StaffingError("staff the week with either --agents N or --target PERCENT/SECONDS")
    if agents is not None:
        if agents < 0:
            raise StaffingError(f"--agents {agents}: a number of agents from 0")
        by_slot = {slot: agents for slot in span(measured)}
    else:
        by_slot = {a.hour.slot: a.performance.agents for a in advise(measured, target, model, over)}
    return [max(by_slot.get(slot, 0) + adjust, 0) for slot in span(measured)]


def to_traffic(measured: Measured, agents: Sequence[int], path: str = "<call log>"):
    """A traffic description (traffic.Traffic) of the measured week: each hour of
    span(measured) with its calls, handle time (talk only: the office adds its own
    wrap-up) and patience, and `agents` hour by hour. Talk times are lognormal with the
    measured cv, patience exponential (what its estimate assumes), the ring before an
    agent answers fixed at its measured mean."""
    from appliance import traffic
    by_slot = {h.slot: h for h in measured.hours}
    slots = span(measured)
    if len(agents) != len(slots):
        raise ValueError(f"{len(agents)} hours of agents for {len(slots)} hours")
    endless = math.isinf(measured.patience_s)
    hours = []
    for slot, n in zip(slots, agents):
        h = by_slot.get(slot)
        hours.append(traffic.Hour(h.calls_per_h if h else 0.0, n, h.talk_s if h and h.talk_s > 0 else None,
                                  None if endless or h is None else h.patience_s))
    cv = min(max(measured.talk_cv, 0.05), 10.0)
    return traffic.Traffic(
        path=path, seed=0, start=dt.time(slots[0] % 24, 0), queue=measured.queue, digits=None, agents_of=None,
        handle=traffic.Distribution("lognormal", max(measured.talk_s, 1.0), cv),
        patience=traffic.Distribution("none") if endless else traffic.Distribution("exponential",
                                                                                   measured.patience_s),
        answer=traffic.Distribution("fixed", measured.answer_delay_s or 2.0),
        hours=tuple(hours))


# -- the report --------------------------------------------------------------------------

def _mmss(s: float) -> str:
    if math.isinf(s):
        return "never"
    s = round(s)
    return f"{s // 60}:{s % 60:02d}"


def render(measured: Measured, advice: Sequence[Advice], target: Target, model: str, over: str,
           zone: str) -> List[str]:
    """The report, each line at most 80 columns."""
    m = measured
    weeks = m.days / 7
    lines = [f"Queue {m.queue}: {m.first_day} to {m.last_day} ({m.days} day{'s' if m.days != 1 else ''}, "
             f"{weeks:.3g} week{'s' if weeks != 1 else ''})",
             f"Times in {zone}.",
             f"{m.offered} calls offered, {m.answered} answered, {m.abandoned} abandoned.",
             f"AHT {_mmss(m.talk_s + m.wrapup_s)} (talk {_mmss(m.talk_s)} + wrap-up {_mmss(m.wrapup_s)}), "
             f"patience {_mmss(m.patience_s)} (over the whole range).",
             f"Target: {target}.",
             "Service level over calls "
             + ("offered (abandons count against it)." if over == erlang.OFFERED else "answered (abandons left out)."),
             "Model: " + ("Erlang A (callers hang up as patient as measured)." if model == "erlang-a"
                          else "Erlang C (nobody hangs up)."),
             "",
             f"{'hour':<9} {'calls/h':>8} {'AHT':>6}  {'patience':>8}  {'agents':>6} {'SL':>7} {'ASA':>8} "
             f"{'abandon':>8}"]
    pooled = False
    for a in advice:
        h, p = a.hour, a.performance
        pooled_patience = h.patience_pooled and model == "erlang-a"
        aht = f"{_mmss(h.aht_s):>6}{'*' if h.aht_pooled else ' '}"
        pat = f"{'-' if model == 'erlang-c' else _mmss(h.patience_s):>8}{'*' if pooled_patience else ' '}"
        pooled = pooled or h.aht_pooled or pooled_patience
        sl = p.service_level(over)
        lines.append(f"{slot_name(h.slot):<9} {h.calls_per_h:>8.1f} {aht} {pat} {p.agents:>6} "
                     f"{sl * 100:>6.1f}% {p.asa_s:>7.1f}s {p.p_abandon * 100:>7.1f}%")
    lines.append("")
    lines.append(f"Agent-hours a week: {sum(a.performance.agents for a in advice)}; hours without calls are left out.")
    if pooled:
        lines.append(f"* pooled over the range: the hour had fewer than {MIN_ANSWERED} answered calls (AHT) "
                     f"or {MIN_ABANDONS}")
        lines.append("  abandons (patience) of its own.")
    if math.isinf(m.patience_s) and model == "erlang-a":
        lines.append("Nobody hung up in the range: patience is taken as endless (Erlang A is Erlang C).")
    lines.append("SL: the service level expected; ASA: mean wait of the answered calls;")
    lines.append("abandon: share of offered calls expected to hang up.")
    return lines


# -- reading the log ---------------------------------------------------------------------------

def local_zone() -> Tuple[dt.tzinfo, str]:
    """The machine's own time zone and its name: $TZ, else what /etc/localtime names."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = os.path.realpath("/etc/localtime")
            if "/zoneinfo/" in target:
                name = target.split("/zoneinfo/", 1)[1]
        except OSError:
            name = ""
    if name:
        try:
            return zoneinfo.ZoneInfo(name), f"{name} (this machine's time zone)"
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    tz = dt.datetime.now().astimezone().tzinfo
    return tz, f"{dt.datetime.now(tz).tzname()} (this machine's time zone)"


def parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise StaffingError(f"{option} {text!r}: not a date such as 2026-03-02") from None


def day_range(tz: dt.tzinfo, first: dt.date, last: dt.date) -> Tuple[float, float]:
    """Epoch seconds from the local start of `first` to the local end of `last`."""
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz).timestamp()
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz).timestamp()
    return start, end


def from_log(db: str, queue: Optional[str], tz: dt.tzinfo, first: Optional[dt.date],
             last: Optional[dt.date]) -> Measured:
    """The queue's figures from the call log file (see the rules for the defaults)."""
    from appliance import visits as visits_
    if first is not None and last is not None and last < first:
        raise StaffingError(f"--to {last} is before --from {first}")
    start = day_range(tz, first, first)[0] if first else None
    end = day_range(tz, last, last)[1] if last else None
    own = [v for c in visits_.read(db, start, end) if c.callback_of is None for v in c.visits]
    queues = sorted({v.queue for v in own})
    if queue is None:
        if not queues:
            raise StaffingError(f"{db}: no calls reached a queue" + (" in the range" if first or last else ""))
        if len(queues) > 1:
            raise StaffingError(f"{db}: calls to several queues ({', '.join(queues)}): name one with --queue")
        queue = queues[0]
    elif queue not in queues:
        raise StaffingError(f"{db}: no calls to queue '{queue}'" + (" in the range" if first or last else "")
                            + (f" (the log has {', '.join(queues)})" if queues else ""))
    mine = [v for v in own if v.queue == queue]
    days = [dt.datetime.fromtimestamp(v.joined, tz).date() for v in mine]
    return measure(mine, queue, tz, first or min(days), last or max(days))


def run(db: str, target: str, model: str = "erlang-a", queue: Optional[str] = None, first: Optional[str] = None,
        last: Optional[str] = None, config_path: Optional[str] = None, over: str = erlang.OFFERED,
        out: Optional[TextIO] = None) -> int:
    import sys
    out = out or sys.stdout
    goal = parse_target(target)
    if model not in MODELS:
        raise StaffingError(f"--model {model!r}: one of {', '.join(MODELS)}")
    tz, zone = zone_of(config_path)
    measured = from_log(db, queue, tz, parse_day(first, "--from") if first else None,
                        parse_day(last, "--to") if last else None)
    for line in render(measured, advise(measured, goal, model, over), goal, model, over, zone):
        print(line, file=out)
    return 0


def zone_of(config_path: Optional[str]) -> Tuple[dt.tzinfo, str]:
    """The office's time zone from its configuration file, else the machine's."""
    if config_path is None:
        return local_zone()
    from appliance import config
    office = config.load(config_path)
    return (zoneinfo.ZoneInfo(office.hours.timezone),
            f"{office.hours.timezone} (the office's, from {os.path.basename(config_path)})")
