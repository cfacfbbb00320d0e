"""A caller's time in a queue, as the call log tells it: what reports, exports and the
staffing advice are computed from.

Rules:
  - A visit is one caller in one queue: from joining to leaving it, by an agent's
    answer, by hanging up, by a queue's rule sending them on, or by taking a callback.
    A call has as many visits as queues it was in, in order; a caller a rule refused at
    the door (a full queue, one with nobody logged in, one that could not meet its
    service level) has a visit that joins and leaves at once, sent on: the box answered
    them, so the reports count them as offered.
  - A visit is worked out from the call's events alone (of_call), with no I/O: queued,
    callback-queued, ringing, ring-no-answer, connected, agent-hangup, hangup,
    transferred, wrap-up, and the rules' sent-on kinds (SENT_ON). What the events leave
    open is closed by the call's end: the outcome "callback" (the caller gave up the line
    for a call back), "interrupted" (the box stopped), or an abandon. An answered visit
    says who ended the agent's part: the agent, the caller, or a transfer (ended_by).
  - A call back is a row of its own (callback_of names the call that asked): its visit
    runs from the callback being queued to the agent's answer; when the called party
    is not reached it ends "no-answer" or "expired", the row's outcome.
  - Times are the log's: seconds since the epoch, UTC.
  - read() and agent_events() open the file read-only: they never write, so they may
    run beside the box.
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from appliance.calllog import AgentEvent, Call, CallEvent, CallLogError, call_of_row

OUTCOMES = ("answered", "abandoned", "sent-on", "callback", "no-answer", "expired", "interrupted")
SENT_ON = ("timeout", "empty", "full", "overflow", "exit-key")     # a queue rule's event kinds
RING_ENDS = ("answered", "no-answer", "stopped")
ENDED_BY = {"agent-hangup": "agent", "hangup": "caller", "transferred": "transfer"}
# The event kinds of_call reads; read() asks the log for no others.
QUEUE_KINDS = ("queued", "callback-queued", "ringing", "ring-no-answer", "connected", "wrap-up") + tuple(ENDED_BY) \
    + SENT_ON


@dataclass(frozen=True)
class Ring:
    """An agent's phone ringing for the caller, and how it stopped."""
    agent: str
    at: float
    end: float
    how: str                    # one of RING_ENDS


@dataclass(frozen=True)
class Visit:
    call: int
    queue: str
    joined: float
    left: float                 # the agent's answer, the hang-up, the rule, the callback
    outcome: str                # one of OUTCOMES
    why: str = ""               # sent-on: the rule's kind (SENT_ON)
    agent: Optional[str] = None
    talk_end: Optional[float] = None    # answered: when the agent's part of the call ended
    wrapup_s: float = 0.0
    rings: Tuple[Ring, ...] = ()
    ended_by: str = ""          # answered: who ended the agent's part (ENDED_BY), "" if the call's end did

    @property
    def wait(self) -> float:
        return self.left - self.joined

    @property
    def talk(self) -> float:
        return (self.talk_end - self.left) if self.talk_end is not None else 0.0


@dataclass(frozen=True)
class LoggedCall:
    call: Call
    visits: Tuple[Visit, ...]
    callback_of: Optional[int] = None


@dataclass
class _Open:
    queue: str
    joined: float
    rings: List[Ring] = field(default_factory=list)
    ringing: Dict[str, float] = field(default_factory=dict)
    agent: Optional[str] = None
    answered: Optional[float] = None
    talk_end: Optional[float] = None
    ended_by: str = ""
    wrapup_s: float = 0.0

    def stop_rings(self, at: float, how: str, only: Optional[str] = None) -> None:
        if not self.ringing:
            return
        for agent in [only] if only is not None else list(self.ringing):
            since = self.ringing.pop(agent, None)
            if since is not None:
                self.rings.append(Ring(agent, since, at, how))

    def close(self, call: int, at: float, outcome: str, why: str = "") -> Visit:
        self.stop_rings(at, "stopped")
        if self.answered is not None:
            return Visit(call, self.queue, self.joined, self.answered, "answered", "", self.agent,
                         self.talk_end if self.talk_end is not None else at, self.wrapup_s, tuple(self.rings),
                         self.ended_by)
        return Visit(call, self.queue, self.joined, at, outcome, why, rings=tuple(self.rings))


def of_call(call: Call, events: Sequence[CallEvent]) -> Tuple[Visit, ...]:
    """The call's visits to queues, from its events in the order they were written."""
    return _of_rows(call, [(e.at, e.kind, e.detail) for e in events])


def _of_rows(call: Call, events: Sequence[Tuple[float, str, str]], last: Optional[float] = None
             ) -> Tuple[Visit, ...]:
    """of_call on the events as (at, kind, detail), as the log's rows give them: a month
    of calls is read without an object per event. `last`: the time of the call's last
    event when `events` are only those that tell its visits (QUEUE_KINDS)."""
    visits: List[Visit] = []
    now: Optional[_Open] = None
    for at, k, detail in events:
        if k == "queued" or k == "callback-queued":
            if now is not None:
                visits.append(now.close(call.id, at, "sent-on"))
            now = _Open(detail.split(":")[0] if k == "callback-queued" else detail, at)
        elif k in SENT_ON:
            if now is not None and now.answered is None:
                visits.append(now.close(call.id, at, "sent-on", k))
                now = None
            elif now is None:           # refused at the door: "QUEUE -> action"
                visits.append(Visit(call.id, detail.split(" -> ")[0], at, at, "sent-on", k))
        elif now is None:
            continue
        elif k == "ringing":
            now.ringing.setdefault(detail, at)
        elif k == "ring-no-answer":
            now.stop_rings(at, "no-answer", detail)
        elif k == "connected" and now.answered is None:
            now.stop_rings(at, "answered", detail)
            now.stop_rings(at, "stopped")
            now.agent, now.answered = detail, at
        elif k in ENDED_BY:
            if now.answered is not None:
                if now.talk_end is None:
                    now.talk_end, now.ended_by = at, ENDED_BY[k]
            else:
                visits.append(now.close(call.id, at, "abandoned"))
                now = None
        elif k == "wrap-up":
            agent, _, secs = detail.rpartition(" ")
            try:
                now.wrapup_s = max(float(secs), 0.0)
            except ValueError:
                pass                    # a row from another firmware: no wrap-up counted
    if now is not None:
        end = call.end if call.end is not None else (
            last if last is not None else events[-1][0] if events else call.start)
        outcome = call.outcome if call.outcome in ("callback", "no-answer", "expired", "interrupted") \
            else "abandoned"
        visits.append(now.close(call.id, end, outcome))
    return tuple(visits)


# -- reading a log file ------------------------------------------------------------------

_COLUMNS = ("id, line, channel, caller, caller_name, presentation, started, answered, ended, "
            "menus, digits, outcome, language, callback_of")


@lru_cache(maxsize=4096)
def _menus(text: str) -> Tuple[str, ...]:
    return call_of_row((0, "", 0, "", "", "", 0.0, None, None, text, "[]", None, None)).menus


@lru_cache(maxsize=4096)
def _digits(text: str) -> Tuple[Tuple[str, str], ...]:
    return call_of_row((0, "", 0, "", "", "", 0.0, None, None, "[]", text, None, None)).digits


def _call_of_row(r) -> Call:
    """call_of_row, with the menus and digits read once per distinct text: a month's
    calls share a few dozen of them."""
    return Call(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], _menus(r[9]), _digits(r[10]), r[11], r[12])


def connect(path: str) -> sqlite3.Connection:
    """The call log, read-only, or CallLogError naming the file and what is wrong."""
    if not os.path.isfile(path):
        raise CallLogError(f"{path}: no call log there")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT id FROM calls LIMIT 1").fetchall()
    except sqlite3.Error as e:
        raise CallLogError(f"{path}: not a call log the box can read ({e})") from None
    if version < 3:
        conn.close()
        raise CallLogError(f"{path}: a call log from older firmware (schema {version}); "
                           "open it with the box once to bring it up to date")
    return conn


def read(path: str, start: Optional[float] = None, end: Optional[float] = None) -> Iterator[LoggedCall]:
    """The calls started in [start, end) in the order they started, with their visits.
    A file that is not a call log is refused here, before the first call."""
    return _calls(connect(path), path, start, end)


def _calls(conn: sqlite3.Connection, path: str, start: Optional[float], end: Optional[float]
           ) -> Iterator[LoggedCall]:
    try:
        where, args = [], []
        if start is not None:
            where.append("started >= ?")
            args.append(start)
        if end is not None:
            where.append("started < ?")
            args.append(end)
        sql = f"SELECT {_COLUMNS} FROM calls" + (" WHERE " + " AND ".join(where) if where else "") \
            + " ORDER BY started, id"
        try:
            rows = conn.execute(sql, args).fetchall()
            if not rows:
                return
            ids = [r[0] for r in rows]
            by_call: Dict[int, List[Tuple[float, str, str]]] = {}
            # One range scan of the events' primary key rather than a query per call,
            # and only the kinds that tell a visit: half the rows of a month.
            for call, at, kind, detail in conn.execute(
                    "SELECT call, at, kind, detail FROM events WHERE call BETWEEN ? AND ? AND kind IN "
                    f"({', '.join('?' * len(QUEUE_KINDS))}) ORDER BY call, seq", (min(ids), max(ids), *QUEUE_KINDS)):
                got = by_call.get(call)
                if got is None:
                    got = by_call[call] = []
                got.append((at, kind, detail))
            # A call still in progress ends, for now, at its last event of any kind.
            open_ids = [r[0] for r in rows if r[8] is None]
            last: Dict[int, float] = {}
            for k in range(0, len(open_ids), 500):
                part = open_ids[k:k + 500]
                marks = ", ".join("?" * len(part))
                last.update(conn.execute(f"SELECT call, MAX(at) FROM events WHERE call IN ({marks}) GROUP BY call",
                                         part).fetchall())
        except sqlite3.Error as e:
            raise CallLogError(f"{path}: cannot read the calls ({e})") from None
        for r in rows:
            call = _call_of_row(r)
            yield LoggedCall(call, _of_rows(call, by_call.get(call.id, ()), last.get(call.id)), r[13])
    finally:
        conn.close()



def agent_events(path: str, end: Optional[float] = None) -> List[AgentEvent]:
    """What agents did before `end` (all of it if None), in the order it happened."""
    conn = connect(path)
    try:
        sql = "SELECT at, agent, kind, detail, source FROM agent_events"
        args: Tuple = ()
        if end is not None:
            sql, args = sql + " WHERE at < ?", (end,)
        return [AgentEvent(*r) for r in conn.execute(sql + " ORDER BY at, id", args)]
    except sqlite3.Error as e:
        raise CallLogError(f"{path}: cannot read the agents' events ({e})") from None
    finally:
        conn.close()
