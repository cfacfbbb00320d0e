"""What a manager reads: the figures of a report over a range of the call log.

Rules:
  - Figures come from the call log alone (visits.read and the agent events), over the
    calls that started in [start, end); intervals (hour, day, week from Monday) are in
    the office's time zone (the configuration's, else this machine's), and a call
    counts in the interval it started in. Intervals with no call are left out.
  - Service level is given under both definitions, always named: answered within the
    target over answered, and over answered plus abandoned. A caller who hangs up within
    the short-abandon threshold is counted apart (short_abandoned), in neither.
    "Within" includes the limit: a wait of exactly 20 s is within 20 s. A queue's
    target is its service_level_s in the configuration, else the report's (--sl, 20 s).
  - Every figure with nothing to count is None, not zero: a queue with no answered call
    has no average speed of answer.
  - A call back (the box calling a caller back, a row of its own) is not offered to the
    queue again: the caller was counted when they asked for it (callbacks). An agent's
    calls, talk and wrap-up include the calls back they took.
  - Agents' sessions: logged in from a login event to a logout. The box logs every agent
    in as it starts and out at a clean stop; after a crash the next start's login finds
    the session still open: it ends at the agent's last sign (a ring, an answer, an agent
    event) before that login. Logs from firmware that wrote no login at the start show
    an agent logged out who rings, pauses or logs out: they are taken as logged in from
    that first sign. A session open at the range's start counts from the start, one
    still open at its end is cut at the end. Paused time is inside sessions, by the
    reason given; a logout or the session's end ends a pause.
  - Lines: the exchange (fxo) lines of the configuration, else every line the log has
    seen but the pseudo-line "callback". A line is in use from a call's first ring to
    its end, for calls started in the range (cut at the range's end); lines taken to
    call back or to reach an agent at an outside number are not counted, as the log does
    not say when they were let go.
  - Unserved callers, the list to call back from: queue visits that ended without an
    agent (abandoned, short-abandon, a rule's sent-on kind with no agent after it,
    interrupted), calls back that did not reach the caller (no-answer, expired,
    abandoned), and calls that never reached a queue because the office was closed
    (after-hours), the number is blocklisted (blocked), or the box failed (error,
    interrupted). Calls that ended in the menus otherwise (completed, invalid, no-input,
    hung up there) are menu_only, not unserved: they never asked for an agent. Whether
    such a caller called again and was served later is looked for in the
    SERVED_LATER_DAYS after their call, past the range's end too; a call back to them
    answered by an agent counts as served.
  - Repeat callers: numbers (not withheld) with two or more calls in the range.
  - A queue chosen (queue=) narrows the queue rows, the agents' calls, the calls by hour
    and weekday, the unserved and the repeat callers to calls that visited it, and the
    agents to its members (the configuration's, else those it rang); logged-in and paused
    time, lines and menu_only stay the office's.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import zoneinfo
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from appliance import visits as visits_
from appliance.calllog import CallLogError

BY = ("hour", "day", "week")
SL_S = 20.0
SHORT_ABANDON_S = 5.0
SERVED_LATER_DAYS = 7
CALLBACK_LINE = "callback"
AGENT_STATE = ("login", "logout", "pause", "unpause")
# Calls with no queue visit that still wanted one: the rest ended in the menus.
NOT_MENUS = ("after-hours", "blocked", "error", "interrupted")


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
    sl_s: Optional[float] = None    # this queue's service-level time; None: the report's


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
    called_again: Optional[float]   # their next call within SERVED_LATER_DAYS, epoch seconds
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
    timezone_of: str = "office"     # whose time zone: "office" (the configuration's) or "machine"


# -- local time ------------------------------------------------------------------------

def zone_of(office=None) -> Optional[zoneinfo.ZoneInfo]:
    """The office's time zone, or None for this machine's."""
    return zoneinfo.ZoneInfo(office.hours.timezone) if office is not None else None


def zone_name(office=None) -> str:
    """The zone's IANA name where it is known (this machine's may only have an abbreviation)."""
    if office is not None:
        return office.hours.timezone
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        link = os.path.realpath("/etc/localtime")
        name = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
    return name or time.tzname[0]


def zone_of_report(r: "Report") -> Optional[zoneinfo.ZoneInfo]:
    """The zone to show a report's times in: its office's, else this machine's (None)."""
    if r.timezone_of == "office":
        try:
            return zoneinfo.ZoneInfo(r.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
    return None


def local(t: float, tz: Optional[zoneinfo.ZoneInfo]) -> dt.datetime:
    """Epoch seconds as the wall clock there shows them (naive)."""
    if tz is None:
        return dt.datetime.fromtimestamp(t)
    return dt.datetime.fromtimestamp(t, tz).replace(tzinfo=None)


def epoch(when: dt.datetime, tz: Optional[zoneinfo.ZoneInfo]) -> float:
    """A wall-clock time there (naive) as epoch seconds."""
    return when.timestamp() if tz is None else when.replace(tzinfo=tz).timestamp()


def day_start(day: dt.date, tz: Optional[zoneinfo.ZoneInfo]) -> float:
    return epoch(dt.datetime.combine(day, dt.time()), tz)


def interval_of(when: dt.datetime, by: str) -> str:
    if by == "hour":
        return when.strftime("%Y-%m-%dT%H:00")
    if by == "week":
        return (when.date() - dt.timedelta(days=when.weekday())).isoformat()
    return when.date().isoformat()


# -- building --------------------------------------------------------------------------

class _Queue:
    __slots__ = ("offered", "answered", "abandoned", "short", "sent_on", "callbacks", "in_sl", "waits",
                 "handles", "longest")

    def __init__(self):
        self.offered = self.answered = self.abandoned = self.short = self.sent_on = self.callbacks = 0
        self.in_sl = 0
        self.waits = self.handles = 0.0
        self.longest: Optional[float] = None

    def add(self, v: visits_.Visit, sl_s: float, short_s: float) -> None:
        self.offered += 1
        w = v.left - v.joined
        if self.longest is None or w > self.longest:
            self.longest = w
        o = v.outcome
        if o == "answered":
            self.answered += 1
            self.waits += w
            self.handles += v.talk + v.wrapup_s
            if w <= sl_s:
                self.in_sl += 1
        elif o == "abandoned":
            if w <= short_s:
                self.short += 1
            else:
                self.abandoned += 1
        elif o == "sent-on":
            self.sent_on += 1
        elif o == "callback":
            self.callbacks += 1

    def row(self, queue: str, interval: Optional[str], sl_s: float) -> QueueRow:
        a, h = self.answered, self.answered + self.abandoned
        return QueueRow(queue, interval, self.offered, a, self.abandoned, self.short, self.sent_on, self.callbacks,
                        self.in_sl, self.in_sl / a if a else None, self.in_sl / h if h else None,
                        self.waits / a if a else None, self.handles / a if a else None, self.longest, sl_s)


class _Agent:
    __slots__ = ("calls", "talk", "wrapup", "missed", "signs", "queues")

    def __init__(self):
        self.calls = self.missed = 0
        self.talk = self.wrapup = 0.0
        self.signs: List[float] = []         # rings and answers: they show the agent logged in
        self.queues = set()


def _range(conn: sqlite3.Connection, tz, start: Optional[float], end: Optional[float]) -> Tuple[float, float]:
    """Whole local days around the log's calls where the range is left open."""
    if start is None or end is None:
        first, last = conn.execute("SELECT MIN(started), MAX(started) FROM calls").fetchone()
        today = dt.date.today()
        if start is None:
            start = day_start(local(first, tz).date() if first is not None else today, tz)
        if end is None:
            last_day = local(last, tz).date() if last is not None else today
            end = max(day_start(last_day + dt.timedelta(days=1), tz), start)
    return float(start), float(end)


def build(path: str, start: Optional[float] = None, end: Optional[float] = None, queue: Optional[str] = None,
          by: str = "day", sl_s: Optional[float] = None, short_abandon_s: Optional[float] = None,
          office=None) -> Report:
    """The report over the calls started in [start, end) (epoch seconds; open ends take
    the log's first and last days whole); CallLogError when the file is not a call log."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    tz = zone_of(office)
    default_sl = SL_S if sl_s is None else float(sl_s)
    short_s = SHORT_ABANDON_S if short_abandon_s is None else float(short_abandon_s)
    conn = visits_.connect(path)
    try:
        start, end = _range(conn, tz, start, end)
        calls = list(visits_.read(path, start, end))
        try:
            return _build(conn, path, calls, tz, start, end, queue, by, default_sl, short_s, office)
        except sqlite3.Error as e:
            raise CallLogError(f"{path}: cannot read the call log ({e})") from None
    finally:
        conn.close()


def _queue_sl(office, q: str, default: float) -> float:
    spec = office.queues.get(q) if office is not None else None
    return spec.service_level_s if spec is not None and spec.service_level_s is not None else default


def _build(conn, path, calls: List[visits_.LoggedCall], tz, start: float, end: float, queue: Optional[str],
           by: str, default_sl: float, short_s: float, office) -> Report:
    qacc: Dict[Tuple[str, Optional[str]], _Queue] = {}
    sl_of: Dict[str, float] = {}
    agents: Dict[str, _Agent] = {}
    by_hour, by_weekday = [0] * 24, [0] * 7
    line_spans: List[Tuple[str, float, float]] = []
    menu_only = 0
    unserved: List[Tuple[float, int, str, Optional[str], str, float]] = []
    seen_by_caller: Dict[str, List[Tuple[float, bool, bool]]] = {}     # (start, served, own call)
    hour_cache: Dict[int, dt.datetime] = {}
    for lc in calls:
        c, vs = lc.call, lc.visits
        if c.line != CALLBACK_LINE:
            line_spans.append((c.line, c.start, min(c.end if c.end is not None else end, end)))
        if c.outcome == "outbound":
            continue        # a click-to-call: it took a line, but no caller was offered to the office
        in_queue = queue is None or any(v.queue == queue for v in vs)
        served = any(v.outcome == "answered" for v in vs)
        for v in vs:
            if queue is not None and v.queue != queue:
                continue
            if v.outcome == "answered" and v.agent is not None:
                a = agents.get(v.agent) or agents.setdefault(v.agent, _Agent())
                a.calls += 1
                a.talk += v.talk
                a.wrapup += v.wrapup_s
                a.signs.append(v.left)
            for r in v.rings:
                a = agents.get(r.agent) or agents.setdefault(r.agent, _Agent())
                a.signs.append(r.at)
                a.queues.add(v.queue)
                if r.how == "no-answer":
                    a.missed += 1
        own = lc.callback_of is None
        if c.caller:
            seen_by_caller.setdefault(c.caller, []).append((c.start, served, own))
        if not own:
            # A call back: not offered again; unserved when it never reached the caller.
            if in_queue and vs and not served and c.outcome in ("no-answer", "expired", "abandoned"):
                unserved.append((c.start, c.id, c.caller, vs[-1].queue, c.outcome, vs[-1].wait))
            continue
        if not vs and c.outcome not in NOT_MENUS:
            menu_only += 1
        if not in_queue:
            continue
        # Local time by the hour: every zone's offsets are whole quarter hours.
        key = int(c.start // 900)
        base = hour_cache.get(key)
        if base is None:
            base = hour_cache[key] = local(key * 900.0, tz)
        when = base + dt.timedelta(seconds=c.start - key * 900.0)
        by_hour[when.hour] += 1
        by_weekday[when.weekday()] += 1
        interval = interval_of(when, by)
        for v in vs:
            if queue is not None and v.queue != queue:
                continue
            sl = sl_of.get(v.queue)
            if sl is None:
                sl = sl_of[v.queue] = _queue_sl(office, v.queue, default_sl)
            for k in ((v.queue, interval), (v.queue, None)):
                acc = qacc.get(k)
                if acc is None:
                    acc = qacc[k] = _Queue()
                acc.add(v, sl, short_s)
        if served or c.outcome == "callback":
            continue
        if vs:
            last = vs[-1]
            reason = (last.why or "sent-on") if last.outcome == "sent-on" else last.outcome
            if last.outcome == "abandoned" and last.wait <= short_s:
                reason = "short-abandon"
            unserved.append((c.start, c.id, c.caller, last.queue, reason, sum(v.wait for v in vs)))
        elif c.outcome in NOT_MENUS and queue is None:
            unserved.append((c.start, c.id, c.caller, None, c.outcome, 0.0))

    if office is not None:
        for q in office.queues:
            if queue is None or q == queue:
                qacc.setdefault((q, None), _Queue())
                sl_of.setdefault(q, _queue_sl(office, q, default_sl))
    queues = []
    for q in sorted({k[0] for k in qacc}):
        intervals = sorted(i for qq, i in qacc if qq == q and i is not None)
        queues += [qacc[(q, i)].row(q, i, sl_of[q]) for i in intervals]
        queues.append(qacc[(q, None)].row(q, None, sl_of[q]))

    lines = _lines(conn, office, line_spans, start, end)
    return Report(
        office=office.name if office is not None else os.path.basename(path),
        timezone=zone_name(office), timezone_of="office" if office is not None else "machine", start=start,
        end=end, by=by, sl_s=default_sl, short_abandon_s=short_s,
        queues=tuple(queues), agents=_agents(conn, office, agents, queue, start, end),
        by_hour=tuple(by_hour), by_weekday=tuple(by_weekday), all_lines_busy=lines[0], all_lines_busy_s=lines[1],
        lines=lines[2], unserved=_unserved(conn, unserved, seen_by_caller, end),
        repeat_callers=_repeats(calls, queue), menu_only=menu_only)


def _lines(conn, office, spans, start: float, end: float) -> Tuple[int, float, Tuple[LineRow, ...]]:
    if office is not None:
        names = [ln.name for ln in office.lines if ln.kind == "fxo"]
    else:
        names = sorted(r[0] for r in conn.execute("SELECT DISTINCT line FROM calls") if r[0] != CALLBACK_LINE)
    known = set(names)
    calls = dict.fromkeys(names, 0)
    busy = dict.fromkeys(names, 0.0)
    edges = []
    for line, a, b in spans:
        if line not in known:
            continue
        calls[line] += 1
        b = max(a, b)
        busy[line] += b - a
        edges.append((a, 1))
        edges.append((b, -1))
    # Ends before starts at the same moment: a line let go and taken again was not
    # in use by two calls at once.
    edges.sort(key=lambda e: (e[0], e[1]))
    n, in_use, times, total, since = len(names), 0, 0, 0.0, 0.0
    for at, d in edges:
        in_use += d
        if d > 0 and in_use == n:
            times += 1
            since = at
        elif d < 0 and in_use == n - 1:
            total += at - since
    span = end - start
    rows = tuple(LineRow(ln, calls[ln], busy[ln], busy[ln] / span if span > 0 else 0.0) for ln in names)
    return (times if n else 0), (total if n else 0.0), rows


def _agents(conn, office, acc: Dict[str, _Agent], queue: Optional[str], start: float, end: float
            ) -> Tuple[AgentRow, ...]:
    events: Dict[str, List[Tuple[float, str, str]]] = {}
    for at, agent, kind, detail in conn.execute(
            "SELECT at, agent, kind, detail FROM agent_events WHERE at >= ? AND at < ? AND kind IN "
            "('login', 'logout', 'pause', 'unpause') ORDER BY at, id", (start, end)):
        events.setdefault(agent, []).append((at, kind, detail))
    if queue is not None and office is not None:
        names = {a.name for a in office.agents if queue in a.queues}
    elif queue is not None:
        names = {n for n, a in acc.items() if queue in a.queues}
    else:
        names = set(acc) | set(events) | {r[0] for r in conn.execute("SELECT DISTINCT agent FROM agent_events")}
        if office is not None:
            names |= {a.name for a in office.agents}
    rows = []
    for name in sorted(names):
        a = acc.get(name) or _Agent()
        before = conn.execute("SELECT kind, detail FROM agent_events WHERE agent = ? AND at < ? AND kind IN "
                              "('login', 'logout', 'pause', 'unpause') ORDER BY at DESC, id DESC LIMIT 1",
                              (name, start)).fetchone()
        logged_in, paused = _sessions(before, events.get(name, []), sorted(t for t in a.signs if start <= t < end),
                                      start, end)
        if not (logged_in or a.calls or a.missed or a.signs) and name not in events:
            continue
        free = logged_in - sum(paused.values())
        busy = a.talk + a.wrapup
        rows.append(AgentRow(name, a.calls, a.talk, a.wrapup, paused, logged_in, a.missed,
                             busy / free if free > 0 else None))
    return tuple(rows)


def _sessions(before, events: List[Tuple[float, str, str]], signs: List[float], start: float, end: float
              ) -> Tuple[float, Dict[str, float]]:
    """Logged-in seconds and paused seconds by reason of one agent over [start, end),
    from their state before the start, their agent events and the signs of them in calls."""
    logged = before is not None and before[0] != "logout"
    reason = (before[1] or "paused") if before is not None and before[0] == "pause" else None
    since = pause_since = last = start
    total, paused = 0.0, {}

    def end_pause(at):
        nonlocal reason
        if reason is not None:
            paused[reason] = paused.get(reason, 0.0) + max(0.0, at - pause_since)
            reason = None

    # Signs first at a moment shared with an event; events in the order written.
    timeline = sorted([(t, 0, 0, "sign", "") for t in signs] + [(t, 1, i, k, d) for i, (t, k, d) in enumerate(events)])
    for at, _, _, kind, detail in timeline:
        if kind == "login":
            if logged:
                end_pause(last)
                total += max(0.0, last - since)
            logged, since = True, at
        elif not logged:
            logged, since = True, at        # logged in by the box's start, unlogged
        if kind == "pause":
            end_pause(at)
            reason, pause_since = detail or "paused", at
        elif kind == "unpause":
            end_pause(at)
        elif kind == "logout":
            end_pause(at)
            total += at - since
            logged = False
        last = at
    if logged:
        end_pause(end)
        total += end - since
    return total, paused


def _unserved(conn, found, seen_by_caller, end: float) -> Tuple[Unserved, ...]:
    window = SERVED_LATER_DAYS * 86400.0
    later: Dict[str, List[Tuple[float, bool, bool]]] = {}
    numbers = {u[2] for u in found if u[2]}
    if numbers:
        last = max(u[0] for u in found if u[2]) + window
        if last > end:
            for caller, started, own, served in conn.execute(
                    "SELECT caller, started, callback_of IS NULL, EXISTS (SELECT 1 FROM events e WHERE "
                    "e.call = calls.id AND e.kind = 'connected') FROM calls WHERE started >= ? AND started < ? "
                    "AND caller != ''", (end, last)):
                if caller in numbers:
                    later.setdefault(caller, []).append((started, bool(served), bool(own)))
    out = []
    for at, call, caller, queue, reason, waited in sorted(found):
        again, served = None, False
        if caller:
            for started, was_served, own in seen_by_caller.get(caller, []) + later.get(caller, []):
                if at < started < at + window:
                    if own and (again is None or started < again):
                        again = started
                    served = served or was_served
        out.append(Unserved(call, at, caller, queue, reason, waited, again, served))
    return tuple(out)


def _repeats(calls: Iterable[visits_.LoggedCall], queue: Optional[str]) -> Tuple[RepeatCaller, ...]:
    n: Dict[str, List[int]] = {}
    for lc in calls:
        if lc.callback_of is not None or not lc.call.caller or lc.call.outcome == "outbound":
            continue
        if queue is not None and not any(v.queue == queue for v in lc.visits):
            continue
        c = n.setdefault(lc.call.caller, [0, 0])
        c[0] += 1
        c[1] += any(v.outcome == "answered" for v in lc.visits)
    again = [(-k, caller, s) for caller, (k, s) in n.items() if k >= 2]
    return tuple(RepeatCaller(caller, -k, s) for k, caller, s in sorted(again))
