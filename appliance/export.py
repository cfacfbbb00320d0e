"""The call log in Asterisk's own formats, so that the tools already reading an Asterisk
box (queue statistics from its queue_log, call-detail analysers from cdr_csv's
Master.csv) read this one.

Rules:
  - Pure: calls (visits.LoggedCall) and agents' events in, lines of text out (without
    their line ends); no I/O. A call still in progress is left out of both: its lines
    are written whole once it has ended.
  - Ids: a call's uniqueid is "<epoch second of its start>.<call id>", the shape of
    Asterisk's "<epoch>.<sequence>"; it is queue_log's callid and the CDR's uniqueid, so
    the two files join. The agent's side of the call, bridged at CONNECT, is
    "<uniqueid>-<n>" for the call's n-th queue visit.
  - Names: an agent is "Agent/<name>" in queue_log (as Asterisk's agent pool logs its
    agents, whatever their phones). A line is the channel "DAHDI/<channel>-1", an agent
    with a phone "DAHDI/<its channel>-1" (else "Agent/<name>"), a call back from the box
    "Local/<number>@callback" (Asterisk places its calls back through Local channels).
  - queue_log times are whole seconds since the epoch, as Asterisk's time(NULL), and a
    duration in a line is the difference of two lines' seconds, as Asterisk computes
    them: a CONNECT's hold time is its second minus its ENTERQUEUE's. Lines come in
    time order across calls and agents; at one instant a call's own lines keep their
    order, and calls' lines come before agents'.
  - queue_log for each queue visit: ENTERQUEUE(url|callerid|position), RINGNOANSWER(ms)
    for each ring not answered, then CONNECT(holdtime|bridged uniqueid|ringtime) and
    COMPLETECALLER or COMPLETEAGENT(holdtime|calltime|origposition) or
    TRANSFER(extension|context|holdtime|calltime|origposition); or ABANDON,
    EXITWITHTIMEOUT, EXITEMPTY(position|origposition|waittime), or
    EXITWITHKEY(key|position|origposition|waittime). What has no Asterisk word: a
    callback the caller took is EXITWITHKEY with the queue's callback key (they left the
    line to be called back); a call back that never reached them (no-answer, expired)
    EXITWITHTIMEOUT; a caller cut off by the box stopping ABANDON. Asterisk writes
    nothing for a caller a rule turns away at the door; the box writes one line for
    them, FULL, JOINEMPTY or DIVERT_HOLDTIME (the names Wazo's Asterisk gives them).
  - Positions are by arrival: the queue's callers who joined before and had not yet
    left, plus one (a VIP caller let ahead is not in the log).
  - Agents: a login is AGENTLOGIN(channel) in queue NONE and ADDMEMBER in each of the
    agent's queues; a logout REMOVEMEMBER in each and AGENTLOGOFF(channel|logintime);
    a pause PAUSE(reason) and an unpause UNPAUSE in each queue. An agent's queues are
    the office's when it is given, else those the log shows them rung for. The time
    logged in is 0 for an agent the log has no login of (older firmware did not log the
    logins the box makes as it starts). No
    QUEUESTART: the log does not record the box starting, and tools take one as every
    agent logged off.
  - cdr_csv: one record per call with Master.csv's columns (COLUMNS) in Asterisk's
    order, uniqueid and userfield included as the sample cdr.conf turns them on; text
    in double quotes with " doubled, numbers bare, an unanswered call's answer time an
    empty field, no header line. Times "YYYY-MM-DD HH:MM:SS" in the office's time zone
    (UTC with no office given); duration and billsec are differences of the printed
    seconds. The userfield holds the box's outcome of the call.
  - Caller ID comes off the phone line and may hold anything: control characters (CR,
    LF, tab, ...) and line separators become spaces in both files, a | in queue_log
    too, and a " in the caller's name becomes ' inside the CDR's clid, so no caller ID
    can break a line or a field.
"""
from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import zoneinfo
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from appliance.calllog import AgentEvent
from appliance.visits import LoggedCall, Visit

FORMATS = ("queue_log", "cdr_csv")
COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
           "start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "uniqueid", "userfield")

# A rule that turned the caller away before they joined, and one that sent them on after.
AT_THE_DOOR = {"full": "FULL", "empty": "JOINEMPTY", "overflow": "DIVERT_HOLDTIME"}
SENT_ON = {"timeout": "EXITWITHTIMEOUT", "empty": "EXITEMPTY", "exit-key": "EXITWITHKEY"}
UNANSWERED = {"abandoned": "ABANDON", "interrupted": "ABANDON", "no-answer": "EXITWITHTIMEOUT",
              "expired": "EXITWITHTIMEOUT", "callback": "EXITWITHKEY"}
COMPLETE = {"agent": "COMPLETEAGENT", "caller": "COMPLETECALLER", "": "COMPLETEAGENT"}

_BREAKS = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


class ExportError(Exception):
    """An export the arguments do not allow; the message says which and why."""


@dataclass(frozen=True)
class Site:
    """What the office's configuration adds to the log: its time zone, the agents'
    queues, phones and extensions, and the queues' keys."""
    timezone: str = "UTC"
    queues_of: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    phone_of: Mapping[str, int] = field(default_factory=dict)       # agent -> the phone's channel
    extension_of: Mapping[str, str] = field(default_factory=dict)   # agent -> their PBX extension
    exit_key: Mapping[str, str] = field(default_factory=dict)       # queue -> key
    callback_key: Mapping[str, str] = field(default_factory=dict)


def site_of(office) -> Site:
    """The Site of a config.Office."""
    channel = {ln.name: ln.channel for ln in office.lines}
    return Site(
        timezone=office.hours.timezone,
        queues_of={a.name: tuple(sorted(a.queues)) for a in office.agents},
        phone_of={a.name: channel[a.phone] for a in office.agents if a.phone in channel},
        extension_of={a.name: a.extension for a in office.agents if a.extension},
        exit_key={q.name: q.exit_key for q in office.queues.values() if q.exit_key},
        callback_key={q.name: q.callback_key for q in office.queues.values() if q.callback_key})


def period(start: Optional[str], end: Optional[str], timezone: str = "UTC") -> Tuple[Optional[float], Optional[float]]:
    """--from and --to as epoch seconds: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" (or with
    a T) in the time zone given. A date alone as the end takes in that whole day."""
    zone = zoneinfo.ZoneInfo(timezone)

    def when(text: Optional[str], option: str, whole_day: bool) -> Optional[float]:
        if text is None:
            return None
        try:
            if len(text.strip()) == 10:
                day = dt.date.fromisoformat(text.strip())
                at = dt.datetime.combine(day + dt.timedelta(days=1 if whole_day else 0), dt.time())
            else:
                at = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise ExportError(f"{option}: {text!r} is not a date (YYYY-MM-DD) or a date and time "
                              "(YYYY-MM-DD HH:MM)") from None
        if at.tzinfo is not None:
            raise ExportError(f"{option}: {text!r}: give the time without a zone; it is read in {timezone}")
        return at.replace(tzinfo=zone).timestamp()

    a, b = when(start, "--from", False), when(end, "--to", True)
    if a is not None and b is not None and a >= b:
        raise ExportError(f"--from {start} is not before --to {end}: no time between them")
    return a, b


# -- shared ----------------------------------------------------------------------------

def uniqueid(lc: LoggedCall) -> str:
    return f"{math.floor(lc.call.start)}.{lc.call.id}"


def _clean(text: str) -> str:
    return text.translate(_BREAKS)


def _agent_channel(site: Site, agent: str) -> str:
    phone = site.phone_of.get(agent)
    return f"DAHDI/{phone}-1" if phone is not None else f"Agent/{_clean(agent)}"


def _s(at: float) -> int:
    return math.floor(at)


def _ended(calls: Iterable[LoggedCall]) -> List[LoggedCall]:
    return [lc for lc in calls if lc.call.end is not None]


# -- queue_log -------------------------------------------------------------------------

def _field(text: str) -> str:
    return _clean(text).replace("|", " ")


def _line(at: float, callid: str, queue: str, agent: str, event: str, *data) -> str:
    # Asterisk writes the data field even when it is empty: "...|QUEUESTART|".
    return "|".join([str(_s(at)), callid, _field(queue), agent, event] + [_field(str(d)) for d in data or ("",)])


def _at_the_door(v: Visit) -> bool:
    return v.outcome == "sent-on" and v.why in AT_THE_DOOR and v.joined == v.left and not v.rings


def _positions(calls: Sequence[LoggedCall]) -> Dict[Tuple[int, int], Tuple[int, int]]:
    """(call id, visit index) -> (position when joining, position when leaving), by
    arrival order within each queue."""
    by_queue: Dict[str, List[Tuple[float, int, int, float]]] = {}
    for lc in calls:
        for i, v in enumerate(lc.visits):
            if not _at_the_door(v):
                by_queue.setdefault(v.queue, []).append((v.joined, lc.call.id, i, v.left))
    out: Dict[Tuple[int, int], Tuple[int, int]] = {}
    for visits in by_queue.values():
        visits.sort()
        waiting: List[float] = []       # a heap of the leaving times of those ahead still there
        ahead: List[float] = []         # the leaving times of all who joined before, sorted
        for joined, call, i, left in visits:
            while waiting and waiting[0] <= joined:
                heapq.heappop(waiting)
            still = len(ahead) - bisect.bisect_right(ahead, left)
            out[(call, i)] = (len(waiting) + 1, still + 1)
            heapq.heappush(waiting, left)
            bisect.insort(ahead, left)
    return out


def _visit_lines(lc: LoggedCall, n: int, v: Visit, pos: Tuple[int, int], site: Site) -> List[Tuple[float, str]]:
    uid, q = uniqueid(lc), v.queue
    if _at_the_door(v):
        return [(v.joined, _line(v.joined, uid, q, "NONE", AT_THE_DOOR[v.why]))]
    orig, now = pos
    out = [(v.joined, _line(v.joined, uid, q, "NONE", "ENTERQUEUE", "", lc.call.caller, orig))]
    for r in v.rings:
        if r.how == "no-answer":
            out.append((r.end, _line(r.end, uid, q, f"Agent/{_field(r.agent)}", "RINGNOANSWER",
                                     round((r.end - r.at) * 1000))))
    hold = _s(v.left) - _s(v.joined)
    if v.outcome == "answered":
        agent = f"Agent/{_field(v.agent or '')}"
        ring = next((r for r in v.rings if r.how == "answered" and r.agent == v.agent), None)
        out.append((v.left, _line(v.left, uid, q, agent, "CONNECT", hold, f"{uid}-{n}",
                                  int(ring.end - ring.at) if ring else 0)))
        end = v.talk_end if v.talk_end is not None else v.left
        talk = _s(end) - _s(v.left)
        if v.ended_by == "transfer":
            out.append((end, _line(end, uid, q, agent, "TRANSFER", site.extension_of.get(v.agent or "", ""), "",
                                   hold, talk, orig)))
        else:
            out.append((end, _line(end, uid, q, agent, COMPLETE[v.ended_by], hold, talk, orig)))
        return out
    event = SENT_ON.get(v.why, "EXITWITHTIMEOUT") if v.outcome == "sent-on" else UNANSWERED[v.outcome]
    if event == "EXITWITHKEY":
        key = site.exit_key.get(q, "") if v.outcome == "sent-on" \
            else site.callback_key.get(q, site.exit_key.get(q, ""))
        out.append((v.left, _line(v.left, uid, q, "NONE", event, key, now, orig, hold)))
    else:
        out.append((v.left, _line(v.left, uid, q, "NONE", event, now, orig, hold)))
    return out


def _agent_lines(agents: Sequence[AgentEvent], start: Optional[float], site: Site,
                 rung_in: Mapping[str, Tuple[str, ...]]) -> List[Tuple[float, str]]:
    out: List[Tuple[float, str]] = []
    since: Dict[str, float] = {}
    for e in sorted(agents, key=lambda e: e.at):
        queues = site.queues_of.get(e.agent) or rung_in.get(e.agent) or ("NONE",)
        name, channel = f"Agent/{_field(e.agent)}", _agent_channel(site, e.agent)
        lines: List[str] = []
        if e.kind == "login":
            since[e.agent] = e.at
            lines = [_line(e.at, "NONE", "NONE", name, "AGENTLOGIN", channel)]
            lines += [_line(e.at, "NONE", q, name, "ADDMEMBER", "") for q in queues]
        elif e.kind == "logout":
            was = since.pop(e.agent, None)
            lines = [_line(e.at, "NONE", q, name, "REMOVEMEMBER", "") for q in queues]
            lines.append(_line(e.at, "NONE", "NONE", name, "AGENTLOGOFF", channel,
                               _s(e.at) - _s(was) if was is not None else 0))
        elif e.kind in ("pause", "unpause"):
            lines = [_line(e.at, "NONE", q, name, e.kind.upper(), e.detail if e.kind == "pause" else "")
                     for q in queues]
        if start is None or e.at >= start:
            out += [(e.at, line) for line in lines]
    return out


def queue_log(calls: Iterable[LoggedCall], agents: Sequence[AgentEvent] = (), site: Site = Site(),
              start: Optional[float] = None) -> List[str]:
    """The queue_log lines of the calls' queue visits and of the agents' events, in time
    order. Agents' events before `start` are read for their state (when they logged
    in), not written."""
    calls = _ended(calls)
    pos = _positions(calls)
    rung: Dict[str, set] = {}
    timed: List[Tuple[float, int, int, str]] = []
    for lc in calls:
        for i, v in enumerate(lc.visits):
            for r in v.rings:
                rung.setdefault(r.agent, set()).add(v.queue)
            for at, line in _visit_lines(lc, i + 1, v, pos.get((lc.call.id, i), (1, 1)), site):
                timed.append((at, 0, len(timed), line))
    rung_in = {a: tuple(sorted(qs)) for a, qs in rung.items()}
    for at, line in _agent_lines(agents, start, site, rung_in):
        timed.append((at, 1, len(timed), line))
    timed.sort()
    return [line for *_, line in timed]


# -- cdr_csv ---------------------------------------------------------------------------

def _quoted(text: str) -> str:
    return '"' + _clean(text).replace('"', '""') + '"'


def clid(name: str, number: str) -> str:
    """Caller ID as Asterisk's CDR gives it: "name" <number>, or the one there is."""
    name, number = _clean(name).replace('"', "'"), _clean(number)
    if name and number:
        return f'"{name}" <{number}>'
    return name or number


def disposition(lc: LoggedCall) -> str:
    c = lc.call
    if c.answer is not None:
        return "ANSWERED"
    if c.outcome == "blocked":
        return "BUSY"
    if c.outcome in ("error", "interrupted"):
        return "FAILED"
    return "NO ANSWER"


def cdr_record(lc: LoggedCall, site: Site = Site()) -> str:
    """One Master.csv line for an ended call."""
    c, zone = lc.call, zoneinfo.ZoneInfo(site.timezone)

    def when(at: Optional[float]) -> str:
        if at is None:
            return ""       # Asterisk writes no quotes for a time that never came
        return _quoted(dt.datetime.fromtimestamp(_s(at), zone).strftime("%Y-%m-%d %H:%M:%S"))

    last = lc.visits[-1] if lc.visits else None
    agent = next((v.agent for v in reversed(lc.visits) if v.outcome == "answered" and v.agent), None)
    callback = lc.callback_of is not None
    if last is not None:
        app, data = "Queue", last.queue
    elif c.answer is not None and c.menus:
        app, data = "BackGround", c.menus[-1]
    elif c.answer is not None:
        app, data = "Answer", ""
    else:
        app, data = "", ""
    end = c.end if c.end is not None else c.start
    fields = [
        _quoted(""),
        _quoted(c.caller),
        _quoted(last.queue if last is not None else "s"),
        _quoted("callback" if callback else (c.menus[-1] if c.menus else "")),
        _quoted(clid(c.name, c.caller)),
        _quoted(f"Local/{c.caller}@callback" if callback else f"DAHDI/{c.channel}-1"),
        _quoted(_agent_channel(site, agent) if agent else ""),
        _quoted(app),
        _quoted(data),
        when(c.start),
        when(c.answer),
        when(end),
        str(_s(end) - _s(c.start)),
        str(_s(end) - _s(c.answer) if c.answer is not None else 0),
        _quoted(disposition(lc)),
        _quoted("DOCUMENTATION"),
        _quoted(uniqueid(lc)),
        _quoted(c.outcome or ""),
    ]
    return ",".join(fields)


def cdr_csv(calls: Iterable[LoggedCall], site: Site = Site()) -> List[str]:
    """Master.csv lines, one for each ended call, in the order the calls started."""
    return [cdr_record(lc, site) for lc in _ended(calls)]
