"""The call log: one durable row per call the box handles, with the call's events.

Rules:
  - One SQLite file in WAL mode and one connection to it, owned by the supervisor
    thread (sqlite3 refuses a connection used from another thread). Another process
    may read the file meanwhile (WAL lets it without holding up a write) but must not
    CallLog.open() it: opening closes the calls in progress as interrupted.
  - Times are what the caller passes in: seconds since the epoch, UTC, as a float, from
    the supervisor's clock (the engine's frames plus a wall-clock offset taken once at
    start). The log never reads the wall clock. A call's times never go backwards:
    answer, each event and the end are at or after everything recorded for it before.
  - A call's row is written and committed when it starts, at the first ring, so every
    call leaves a row: one abandoned while ringing, one the box dies during. Its events
    are held in memory and written twice: at the answer, with the answer time, so after
    a crash the log still shows that the call was answered and what happened before;
    and at the end, with the final row, in one transaction, so an ended call is in the
    log whole or (if the box died during that transaction) not ended at all.
  - Opening the log closes every call left without an end as `interrupted`, ended at
    its last written event or else its start: the box stopped while they were in
    progress. CallLog.interrupted says how many. An agent the agent log still has
    logged in is logged out (source "restart") at the last time the log holds, so
    every session in it has an end.
  - Durability: synchronous=FULL, so a commit has reached the disk when it returns.
    A killed process loses nothing under NORMAL either (what it wrote is in the
    kernel's cache), but NORMAL syncs the WAL only at a checkpoint, and a power cut
    then takes back every call committed since the last one: up to a thousand pages of
    WAL, about a hundred calls, a day of a quiet office. FULL costs one fsync per
    commit, and the log commits at most three times a call (start, answer, end). After
    a power cut the log holds every call as of its last commit, if the storage keeps
    what it has flushed.
  - Schema: PRAGMA user_version counts the MIGRATIONS applied, each in a transaction
    of its own at open. A file from a newer firmware is refused, not misread. The file
    is marked with APPLICATION_ID, and a new log is built under a temporary name and
    renamed into place, so the log's path holds a whole call log or nothing: an empty
    file there, or another SQLite database, is not taken for one.
  - A full disk (SQLite's "database or disk is full", the file or its WAL) never
    stops the box: the write is held in memory (holding.py: in order, bounded, whole
    calls dropped past the bound and counted) and every later write queues behind it.
    What is held is written, oldest first and a chunk per transaction, on later
    writes and tick()s, after a back-off, once there is room. `held` and `trouble`
    say so, for the supervisor's alarm. Call ids do not wait for the disk: the log
    gives them out itself (one above the highest in the file at open) and writes
    them explicitly. Reads (calls, call, events) see what is held as if written. A
    held record is not committed: the box dying loses it (its call, if its row was
    written, is closed as interrupted at the next open); committed ones stay.
  - Every other failure reaches the caller as CallLogError, with a message that names
    the file or the call. A refused request changes nothing in the log. A held record
    the file refuses for another reason stays held, its reason in `trouble`.
  - Retention (housekeeping()): the oldest ended calls go, whole (their events with
    them, links of calls back to them cleared), and agents' events older than the cut:
    those older than keep_days, then the oldest while the pages in use exceed max_mb.
    A few dozen calls a step, one transaction each, so the supervisor's frames stay on
    time; never the newest call (its id is the next one's floor) nor one in progress.
    Free pages: a log made by this firmware has auto_vacuum=INCREMENTAL (it must be
    set before the first table, so it is set at creation) and each step gives a few
    hundred freed pages back to the file system. An older file keeps its size (a
    migration cannot change auto_vacuum without a VACUUM, which rewrites the whole
    file and needs as much space again): SQLite reuses its freed pages for new calls,
    so it grows no more once it is at max_mb.
  - A queue callback: the call that asked for it ends as "callback"; the box's calls
    back to that caller are one row of their own (started when the callback is
    confirmed, on the pseudo-line "callback", its attempts as events naming the line
    each went out on), linked to it by callback_of, ending answered, no-answer,
    expired or abandoned (the called party gone before an agent took the call).
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from appliance.holding import LIMIT, Holding, Record

OUTCOMES = ("completed", "answered", "invalid", "no-input", "abandoned", "after-hours", "blocked", "operator",
            "interrupted", "error", "transferred", "callback", "no-answer", "expired", "outbound")
PRESENTATIONS = ("", "private", "unavailable")     # "" when the number was presented
DTMF = "0123456789*#ABCD"
APPLICATION_ID = 0x43414C4C                        # "CALL" in the file's header

# Menus visited and digits entered are JSON text in the call's row rather than child
# tables: they are small, read with the row every time (show calls, exports), keep
# their order and repeats (a menu visited twice, a wrong choice then the right one),
# and a report still reaches them in SQL through json_each(). Their times are in the
# events. Version n of the schema is MIGRATIONS[:n]; append, never edit.
MIGRATIONS: List[str] = [
    """
    CREATE TABLE calls (
        id           INTEGER PRIMARY KEY,
        line         TEXT    NOT NULL,
        channel      INTEGER NOT NULL,
        caller       TEXT    NOT NULL DEFAULT '',
        caller_name  TEXT    NOT NULL DEFAULT '',
        presentation TEXT    NOT NULL DEFAULT '',
        started      REAL    NOT NULL,
        answered     REAL,
        ended        REAL,
        menus        TEXT    NOT NULL DEFAULT '[]',  -- ["main", "sales"]
        digits       TEXT    NOT NULL DEFAULT '[]',  -- [{"menu": "main", "digits": "2"}]
        outcome      TEXT,
        language     TEXT,
        CHECK ((ended IS NULL) = (outcome IS NULL))
    );
    CREATE INDEX calls_by_start ON calls (started);
    CREATE INDEX calls_in_progress ON calls (id) WHERE ended IS NULL;
    CREATE TABLE events (
        call   INTEGER NOT NULL REFERENCES calls (id),
        seq    INTEGER NOT NULL,
        at     REAL    NOT NULL,
        kind   TEXT    NOT NULL,
        detail TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (call, seq)
    ) WITHOUT ROWID;
    """,
    # What agents do outside calls: log in and out, pause and why, wrong PINs; by
    # feature code at their phone, from the console, or the ACD itself (missed rings).
    """
    CREATE TABLE agent_events (
        id     INTEGER PRIMARY KEY,
        at     REAL    NOT NULL,
        agent  TEXT    NOT NULL,
        kind   TEXT    NOT NULL,
        detail TEXT    NOT NULL DEFAULT '',
        source TEXT    NOT NULL DEFAULT ''     -- a phone's line name, 'console' or 'acd'
    );
    CREATE INDEX agent_events_by_agent ON agent_events (agent, at);
    """,
    """
    ALTER TABLE calls ADD COLUMN callback_of INTEGER REFERENCES calls (id);
    CREATE INDEX calls_by_callback_of ON calls (callback_of) WHERE callback_of IS NOT NULL;
    """,
    # Lines and phone ports going out of service and back: a span's alarm, a card's port.
    """
    CREATE TABLE line_events (
        id     INTEGER PRIMARY KEY,
        at     REAL    NOT NULL,
        line   TEXT    NOT NULL,
        kind   TEXT    NOT NULL,        -- out-of-service | in-service
        detail TEXT    NOT NULL DEFAULT ''
    );
    CREATE INDEX line_events_by_at ON line_events (at);
    """,
]
LINE_EVENT_KINDS = ("out-of-service", "in-service")

_NAMES = ("id", "line", "channel", "caller", "caller_name", "presentation", "started", "answered", "ended",
          "menus", "digits", "outcome", "language")
_COLUMNS = ", ".join(_NAMES)
_STARTED = ("id", "line", "channel", "caller", "caller_name", "presentation", "started")
_UNANSWERED = dict(answered=None, ended=None, menus="[]", digits="[]", outcome=None, language=None)
# Held records written per transaction once there is room: one fsync, a few ms.
CHUNK = 100
# Retention, per step: calls, agents' events, pages given back.
PRUNE_CALLS = 50
PRUNE_AGENT_EVENTS = 500
VACUUM_PAGES = 256
DAY_S = 86400.0


class CallLogError(Exception):
    """The log refused a call or could not use its file; the message says which and why."""


def _full(e: sqlite3.Error) -> bool:
    """SQLite's SQLITE_FULL: the disk (or the page limit) has no room for the file or its WAL."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL
    return "database or disk is full" in str(e)


@dataclass(frozen=True)
class _Write:
    """One record's transaction: statements with their rows, and for reads while it is
    held, what it sets in the call's row and the events it adds."""
    steps: Tuple[Tuple[str, Tuple[tuple, ...]], ...]
    row: Dict[str, Any] = field(default_factory=dict)
    events: Tuple[Tuple[int, float, str, str], ...] = ()


@dataclass(frozen=True)
class Call:
    """One call as the log holds it; end and outcome are None while it is in progress."""

    id: int
    line: str
    channel: int
    caller: str
    name: str
    presentation: str
    start: float
    answer: Optional[float]
    end: Optional[float]
    menus: Tuple[str, ...]
    digits: Tuple[Tuple[str, str], ...]     # (menu, digits) in the order entered
    outcome: Optional[str]
    language: Optional[str]


@dataclass(frozen=True)
class CallEvent:
    call: int
    at: float
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class LineEvent:
    at: float
    line: str
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class AgentEvent:
    at: float
    agent: str
    kind: str
    detail: str = ""
    source: str = ""


@dataclass
class _InProgress:
    """What the log knows of a call in progress, ahead of what it has written."""

    start: float
    last: float
    answer: Optional[float] = None
    menus: List[str] = field(default_factory=list)
    digits: List[Tuple[str, str]] = field(default_factory=list)
    language: Optional[str] = None
    seq: int = 0                                                   # of the next event
    unwritten: List[Tuple[int, float, str, str]] = field(default_factory=list)


def _time(at, what: str) -> float:
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        raise CallLogError(f"{what} must be seconds since the epoch as a number, not {at!r}")
    return float(at)


def _text(value, what: str, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise CallLogError(f"{what} must be a{'' if empty else ' non-empty'} string, not {value!r}")
    return value


def _presentation(value) -> str:
    if value not in PRESENTATIONS:
        raise CallLogError(f"unknown caller ID presentation {value!r}; choose one of: "
                           + ", ".join(repr(p) for p in PRESENTATIONS))
    return value


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CallLogError(f"{what} must be an integer, not {value!r}")
    return value


def _create(path: str) -> None:
    """Builds a new log under a temporary name and renames it into place."""
    tmp = path + ".new"
    for leftover in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):    # from a crash here
        with suppress(FileNotFoundError):
            os.unlink(leftover)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")        # only before the first table
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        _migrate(conn, path, 0)
    finally:
        conn.close()
    os.rename(tmp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(fd)                    # the rename itself must outlive a power cut
    finally:
        os.close(fd)


def _migrate(conn: sqlite3.Connection, path: str, have: int) -> None:
    for version in range(have + 1, len(MIGRATIONS) + 1):
        script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[version - 1]}\n;PRAGMA user_version = {version};\nCOMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error as e:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise CallLogError(f"{path}: migrating the call log to version {version} failed "
                               f"(it stays at version {version - 1}): {e}") from e


class CallLog:
    """The durable call log; CallLog.open(path) makes one."""

    def __init__(self, path: str, conn: sqlite3.Connection, hold: int = LIMIT):
        self.path = path
        self.interrupted = 0                # calls closed as interrupted at open
        self._conn: Optional[sqlite3.Connection] = conn
        self._calls: Dict[int, _InProgress] = {}
        self._holding = Holding(hold)
        self._pending: Dict[int, Dict[str, Any]] = {}      # what held records set in a call's row
        self._next_id = 1

    @classmethod
    def open(cls, path, hold: int = LIMIT) -> "CallLog":
        """Opens the log, creating it and its folder if missing, and brings it to the
        current schema; closes the calls a crash left in progress (see .interrupted).
        hold: how many records it holds in memory while the disk is full."""
        path = os.path.abspath(os.fspath(path))
        if os.path.isdir(path):
            raise CallLogError(f"{path}: is a directory, not a call log")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                _create(path)
            if os.path.getsize(path) == 0:
                raise CallLogError(f"{path}: is an empty file, not a call log")
        except OSError as e:
            raise CallLogError(f"{path}: cannot create the call log: {e.strerror or e}") from e
        except sqlite3.Error as e:
            raise CallLogError(f"{path}: cannot create the call log: {e}") from e
        try:
            conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as e:
            raise CallLogError(f"{path}: cannot open the call log: {e}") from e
        log = cls(path, conn, hold)
        try:
            log._prepare()
        except BaseException:
            conn.close()
            raise
        return log

    def _prepare(self) -> None:
        conn, path = self._conn, self.path
        try:
            app, version = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version"))
        except sqlite3.DatabaseError as e:
            raise CallLogError(f"{path}: not a call log: not a SQLite database, or a damaged one ({e})") from e
        if app != APPLICATION_ID:
            raise CallLogError(f"{path}: not a call log: a SQLite database of something else "
                               f"(application id {app:#x})")
        if version > len(MIGRATIONS):
            raise CallLogError(f"{path}: call log is at schema version {version}, newer than this "
                               f"firmware's version {len(MIGRATIONS)}; refusing to open it")
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise CallLogError(f"{path}: cannot put the call log in WAL mode (it is in {mode} mode)")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as e:
            raise CallLogError(f"{path}: cannot open the call log: {e}") from e
        _migrate(conn, path, version)
        with self._write("closing the calls left in progress"):
            self.interrupted = conn.execute(
                "UPDATE calls SET outcome = 'interrupted', "
                "ended = COALESCE((SELECT MAX(at) FROM events WHERE events.call = calls.id), started) "
                "WHERE ended IS NULL").rowcount
            self._close_sessions(conn)
        self._next_id = self._read("reading the last call id", "SELECT COALESCE(MAX(id), 0) + 1 FROM calls", ())[0][0]

    @staticmethod
    def _close_sessions(conn: sqlite3.Connection) -> None:
        """Agents still logged in by the log when the box stopped without logging them
        out (a crash, a power cut): logged out at the last thing the log holds, as the
        box's restart logs them in afresh."""
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'agent_events'").fetchone():
            return                      # a schema before the agent log (only in tests)
        open_ = conn.execute(
            "SELECT agent FROM agent_events WHERE id IN (SELECT MAX(id) FROM agent_events "
            "WHERE kind IN ('login', 'logout') GROUP BY agent) AND kind = 'login'").fetchall()
        if not open_:
            return
        last = conn.execute(
            "SELECT MAX(t) FROM (SELECT MAX(at) AS t FROM agent_events "
            "UNION ALL SELECT MAX(COALESCE(ended, started)) FROM (SELECT ended, started FROM calls "
            "ORDER BY id DESC LIMIT 50) "
            "UNION ALL SELECT MAX(at) FROM events WHERE call >= (SELECT COALESCE(MAX(id), 0) - 50 FROM calls))"
        ).fetchone()[0]
        conn.executemany("INSERT INTO agent_events (at, agent, kind, detail, source) "
                         "VALUES (?, ?, 'logout', '', 'restart')", [(last, a) for (a,) in open_])

    def __enter__(self) -> "CallLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Writes what is held for calls still in progress and closes the file; those
        calls are closed as interrupted when the log is next opened. Records the disk
        still has no room for are lost; `held` says how many."""
        if self._conn is None:
            return
        try:
            for call, c in self._calls.items():
                if c.unwritten:
                    self._flush(call, c, at=c.last)
            while len(self._holding) and self._drain(math.inf):
                pass
        finally:
            self._conn.close()
            self._conn = None
            self._calls.clear()

    # --- a full disk ---

    @property
    def held(self) -> int:
        """Records waiting in memory for room on the disk."""
        return len(self._holding)

    @property
    def trouble(self) -> str:
        """Why records are held ("disk full", or what else the file said); "" if none are."""
        return self._holding.why if len(self._holding) else ""

    @property
    def dropped(self) -> Tuple[int, int]:
        """Calls and agents' events whose held records were dropped past the bound."""
        return self._holding.dropped_calls, self._holding.dropped_agent_events

    def tick(self, at: float) -> None:
        """Writes a chunk of what is held, if a try is due (the supervisor calls this
        on every tick; it costs nothing while nothing is held)."""
        if self._conn is not None and self._holding.due(at):
            self._drain(at)

    # --- a call's life ---

    def start(self, line: str, channel: int, at: float, caller: str = "", name: str = "",
              presentation: str = "") -> int:
        """A call arrives (its first ring); returns its id. The row is committed now (held,
        on a full disk)."""
        _text(line, "line", empty=False)
        _int(channel, "channel")
        if channel < 0:
            raise CallLogError(f"channel must not be negative, not {channel}")
        at = _time(at, "start time")
        _text(caller, "caller ID number")
        _text(name, "caller ID name")
        _presentation(presentation)
        return self._start(line, channel, at, caller, name, presentation, None)

    def start_callback(self, of: Optional[int], at: float, number: str) -> int:
        """The calls back to the caller of call `of` (a row of their own, linked to it;
        None: a call asked for from outside, the manager interface's Originate); returns
        its id. The row is committed now (held, on a full disk)."""
        if of is not None:
            _int(of, "call id")
            self.call(of)
        at = _time(at, "start time")
        _text(number, "caller ID number")
        return self._start("callback", 0, at, number, "", "", of)

    def _start(self, line: str, channel: int, at: float, caller: str, name: str, presentation: str,
               of: Optional[int]) -> int:
        call = self._next_id
        row = dict(zip(_STARTED, (call, line, channel, caller, name, presentation, at)))
        if of is not None:
            row["callback_of"] = of
        insert = f"INSERT INTO calls ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        self._put("starting a call", Record(call, _Write(((insert, (tuple(row.values()),)),),
                                                         {**_UNANSWERED, "callback_of": of, **row})), at)
        self._next_id += 1
        self._calls[call] = _InProgress(start=at, last=at)
        return call

    def callback_of(self, call: int) -> Optional[int]:
        """The call that asked for this callback, or None."""
        _int(call, "call id")
        held = self._pending.get(call, {})
        if "callback_of" in held:
            return held["callback_of"]
        rows = self._read(f"reading call {call}", "SELECT callback_of FROM calls WHERE id = ?", (call,))
        if not rows:
            raise CallLogError(f"no call {call} in {self.path}")
        return rows[0][0]

    def callbacks(self, call: int) -> List[int]:
        """The rows of the calls back that call `call` asked for."""
        _int(call, "call id")
        ids = {r[0] for r in self._read(f"reading the callbacks of call {call}",
                                        "SELECT id FROM calls WHERE callback_of = ?", (call,))}
        ids.update(i for i, row in self._pending.items() if row.get("callback_of") == call)
        return sorted(ids)

    def caller(self, call: int, at: float, number: str = "", name: str = "", presentation: str = "") -> None:
        """Caller ID came in after the call started (it comes after the first ring on
        most lines); the row has it now."""
        c = self._in_progress(call)
        _text(number, "caller ID number")
        _text(name, "caller ID name")
        _presentation(presentation)
        at = self._when(call, c, at, "caller ID")
        update = "UPDATE calls SET caller = ?, caller_name = ?, presentation = ? WHERE id = ?"
        self._put("noting caller ID", Record(call, _Write(
            ((update, ((number, name, presentation, call),)),),
            dict(caller=number, caller_name=name, presentation=presentation))), at)
        self._note(c, at, "callerid", number or presentation)

    def answered(self, call: int, at: float) -> None:
        """The box answered; the answer and the events so far are committed now."""
        c = self._in_progress(call)
        if c.answer is not None:
            raise CallLogError(f"call {call} was already answered at {c.answer}")
        at = self._when(call, c, at, "answer")
        c.answer = at
        self._note(c, at, "answer", "")
        # Should the write fail, the answer stays held and goes with the call's end.
        self._flush(call, c, at=at)

    def event(self, call: int, at: float, kind: str, detail: str = "") -> None:
        c = self._in_progress(call)
        _text(kind, "event kind", empty=False)
        _text(detail, "event detail")
        self._note(c, self._when(call, c, at, "event"), kind, detail)

    def menu(self, call: int, at: float, name: str) -> None:
        """The caller entered a menu: it joins the call's menu path."""
        c = self._in_progress(call)
        _text(name, "menu name", empty=False)
        at = self._when(call, c, at, "menu")
        c.menus.append(name)
        self._note(c, at, "menu", name)

    def digits(self, call: int, at: float, menu: str, digits: str) -> None:
        """The caller keyed digits at a menu ("" when the menu timed out on nothing)."""
        c = self._in_progress(call)
        _text(menu, "menu name", empty=False)
        _text(digits, "digits")
        bad = sorted(set(digits) - set(DTMF))
        if bad:
            raise CallLogError(f"call {call}: digits {digits!r} hold {''.join(bad)!r}, which are not DTMF keys")
        at = self._when(call, c, at, "digits")
        c.digits.append((menu, digits))
        self._note(c, at, "digits", f"{menu}: {digits}")

    def language(self, call: int, at: float, lang: str) -> None:
        """The call's language from now on; the row keeps the last one chosen."""
        c = self._in_progress(call)
        _text(lang, "language", empty=False)
        at = self._when(call, c, at, "language")
        c.language = lang
        self._note(c, at, "language", lang)

    def end(self, call: int, at: float, outcome: str) -> None:
        """The call is over: its row and all its events are committed together."""
        c = self._in_progress(call)
        if outcome not in OUTCOMES:
            raise CallLogError(f"call {call}: unknown outcome {outcome!r}; choose one of: {', '.join(OUTCOMES)}")
        at = self._when(call, c, at, "end")
        self._flush(call, c, at, outcome, at=at)
        del self._calls[call]

    # --- agents ---

    def agent_event(self, agent: str, at: float, kind: str, detail: str = "", source: str = "") -> None:
        """Something an agent did, or had done to them, outside a call; committed now
        (a few a day per agent: one fsync each is nothing)."""
        _text(agent, "agent", empty=False)
        _text(kind, "agent event kind", empty=False)
        _text(detail, "detail")
        _text(source, "source")
        at = _time(at, "agent event time")
        insert = "INSERT INTO agent_events (at, agent, kind, detail, source) VALUES (?, ?, ?, ?, ?)"
        self._put(f"noting agent {agent}'s {kind}",
                  Record(None, _Write(((insert, ((at, agent, kind, detail, source),)),))), at)

    def agent_events(self, agent: Optional[str] = None, limit: Optional[int] = None) -> List[AgentEvent]:
        """Agents' events in the order they happened: the latest `limit` of them, of one
        agent or of all."""
        if limit is not None and _int(limit, "limit") < 1:
            raise CallLogError(f"limit must be at least 1, not {limit}")
        where, args = ("WHERE agent = ?", [_text(agent, "agent")]) if agent is not None else ("", [])
        rows = self._read("listing agents' events",
                          f"SELECT at, agent, kind, detail, source FROM agent_events {where} "
                          "ORDER BY id DESC LIMIT ?", args + [-1 if limit is None else limit])
        return [AgentEvent(*r) for r in reversed(rows)]

    # --- lines ---

    def line_event(self, line: str, at: float, kind: str, detail: str = "") -> None:
        """A line or phone port going out of service or back; committed now."""
        _text(line, "line", empty=False)
        if kind not in LINE_EVENT_KINDS:
            raise CallLogError(f"line {line}: unknown line event {kind!r}; choose one of: {', '.join(LINE_EVENT_KINDS)}")
        _text(detail, "detail")
        at = _time(at, "line event time")
        insert = "INSERT INTO line_events (at, line, kind, detail) VALUES (?, ?, ?, ?)"
        self._put(f"noting line {line} {kind}", Record(None, _Write(((insert, ((at, line, kind, detail),)),))), at)

    def line_events(self, limit: Optional[int] = None) -> List[LineEvent]:
        """Lines' events in the order they happened: the latest `limit` of them."""
        if limit is not None and _int(limit, "limit") < 1:
            raise CallLogError(f"limit must be at least 1, not {limit}")
        rows = self._read("listing lines' events", "SELECT at, line, kind, detail FROM line_events "
                          "ORDER BY id DESC LIMIT ?", [-1 if limit is None else limit])
        return [LineEvent(*r) for r in reversed(rows)]

    # --- retention ---

    def housekeeping(self, at: float, keep_days: float, max_mb: float) -> bool:
        """One step of retention (see the rules): a batch of calls or agents' events
        pruned, or freed pages given back. Returns whether there is more to do; while
        records are held it does nothing and says there is (pruning waits for room)."""
        if len(self._holding):
            return True
        at = _time(at, "housekeeping time")
        cut = at - keep_days * DAY_S
        with self._write("pruning old calls") as conn:
            doomed = [r[0] for r in conn.execute(
                "SELECT id FROM calls WHERE ended IS NOT NULL AND started < ? "
                "AND id < (SELECT MAX(id) FROM calls) ORDER BY started, id LIMIT ?", (cut, PRUNE_CALLS))]
            if not doomed and self._used_bytes() > max_mb * (1 << 20):
                doomed = [r[0] for r in conn.execute(
                    "SELECT id FROM calls WHERE ended IS NOT NULL AND id < (SELECT MAX(id) FROM calls) "
                    "ORDER BY started, id LIMIT ?", (PRUNE_CALLS,))]
                if doomed:
                    # The agents' events of the calls' time go with them.
                    cut = max(cut, conn.execute(f"SELECT MAX(started) FROM calls WHERE id IN "
                                                f"({', '.join('?' * len(doomed))})", doomed).fetchone()[0])
            if doomed:
                marks = ", ".join("?" * len(doomed))
                conn.execute(f"UPDATE calls SET callback_of = NULL WHERE callback_of IN ({marks})", doomed)
                conn.execute(f"DELETE FROM events WHERE call IN ({marks})", doomed)
                conn.execute(f"DELETE FROM calls WHERE id IN ({marks})", doomed)
            conn.execute("DELETE FROM line_events WHERE id IN (SELECT id FROM line_events WHERE at < ? "
                         "ORDER BY id LIMIT ?)", (cut, PRUNE_AGENT_EVENTS))
            gone = conn.execute("DELETE FROM agent_events WHERE id IN (SELECT id FROM agent_events WHERE at < ? "
                                "ORDER BY id LIMIT ?)", (cut, PRUNE_AGENT_EVENTS)).rowcount
        if doomed or gone:
            return True
        return self._give_back()

    def _used_bytes(self) -> int:
        page, count, free = (self._conn.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_size", "page_count", "freelist_count"))
        return (count - free) * page

    def _give_back(self) -> bool:
        """Freed pages back to the file system, a few hundred at a time, on a log made
        with incremental auto-vacuum; whether some are left."""
        try:
            conn = self._live()
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:      # 2: INCREMENTAL
                return False
            conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")     # steps it to the end
            return conn.execute("PRAGMA freelist_count").fetchone()[0] > 0
        except sqlite3.Error as e:
            raise CallLogError(f"{self.path}: giving freed pages back: {e}") from e

    # --- reading ---

    def calls(self, limit: Optional[int] = None, since: Optional[float] = None) -> List[Call]:
        """Calls newest first: those started at or after `since`, at most `limit` of them."""
        if limit is not None and (_int(limit, "limit") < 1):
            raise CallLogError(f"limit must be at least 1, not {limit}")
        where, args = "", []
        if since is not None:
            where, args = "WHERE started >= ?", [_time(since, "since")]
        rows = {r[0]: dict(zip(_NAMES, r)) for r in self._read(
            "listing calls", f"SELECT {_COLUMNS} FROM calls {where} ORDER BY started DESC, id DESC LIMIT ?",
            args + [-1 if limit is None else limit])}
        # Rows still held: a limit on the file's rows cannot cut off one that belongs in
        # the answer, since a held row's start never changes.
        for call, row in self._pending.items():
            if call not in rows and "started" in row and (since is None or row["started"] >= since):
                rows[call] = dict(row)
        out = sorted((self._call(self._overlaid(r)) for r in rows.values()), key=lambda c: (-c.start, -c.id))
        return out if limit is None else out[:limit]

    def call(self, call: int) -> Call:
        _int(call, "call id")
        row = self._row(call)
        if row is None:
            raise CallLogError(f"no call {call} in {self.path}")
        return self._call(row)

    def events(self, call: int) -> List[CallEvent]:
        """The call's events in the order they happened, including those not yet written."""
        self.call(call)
        rows = self._read(f"reading the events of call {call}",
                          "SELECT at, kind, detail FROM events WHERE call = ? ORDER BY seq", (call,))
        held = [e for r in self._holding if r.call == call for e in r.payload.events]
        held += self._calls[call].unwritten if call in self._calls else []
        return ([CallEvent(call, at, kind, detail) for at, kind, detail in rows]
                + [CallEvent(call, at, kind, detail) for _, at, kind, detail in held])

    # --- inside ---

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CallLogError(f"{self.path}: the call log is closed")
        return self._conn

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._live()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise CallLogError(f"{self.path}: {what}: {e}") from e
            raise

    def _read(self, what: str, sql: str, args) -> list:
        try:
            return self._live().execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise CallLogError(f"{self.path}: {what}: {e}") from e

    def _in_progress(self, call) -> _InProgress:
        self._live()
        _int(call, "call id")
        c = self._calls.get(call)
        if c is None:
            rows = self._read(f"looking up call {call}", "SELECT outcome FROM calls WHERE id = ?", (call,))
            if rows:
                raise CallLogError(f"call {call} has already ended ({rows[0][0]})")
            raise CallLogError(f"no call {call} in {self.path}")
        return c

    @staticmethod
    def _when(call: int, c: _InProgress, at, what: str) -> float:
        at = _time(at, f"call {call}: {what} time")
        if at < c.start:
            raise CallLogError(f"call {call}: {what} at {at} is before the call's start at {c.start}")
        if at < c.last:
            raise CallLogError(f"call {call}: {what} at {at} is before the call's last entry at {c.last}; "
                               "a call's times never go backwards")
        return at

    @staticmethod
    def _note(c: _InProgress, at: float, kind: str, detail: str) -> None:
        c.unwritten.append((c.seq, at, kind, detail))
        c.seq += 1
        c.last = at

    def _flush(self, call: int, c: _InProgress, end: Optional[float] = None, outcome: Optional[str] = None,
               *, at: float) -> None:
        row = dict(answered=c.answer, ended=end, outcome=outcome, menus=json.dumps(c.menus),
                   digits=json.dumps([{"menu": m, "digits": d} for m, d in c.digits]), language=c.language)
        update = ("UPDATE calls SET answered = ?, ended = ?, outcome = ?, menus = ?, digits = ?, language = ? "
                  "WHERE id = ?")
        events = tuple(c.unwritten)
        steps = ((update, ((*row.values(), call),)),
                 ("INSERT INTO events (call, seq, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
                  tuple((call, *e) for e in events)))
        self._put(f"writing call {call}", Record(call, _Write(steps, row, events), last=end is not None), at)
        c.unwritten.clear()

    def _put(self, what: str, record: Record, at: float) -> None:
        """One record: committed now, or held, if the disk is full or others are held
        already (behind them, and a chunk of them written if a try is due). Any other
        failure of a write made now raises, and nothing is held."""
        self._live()
        if len(self._holding):
            self._hold(record, at, "")
            self.tick(at)
            return
        try:
            self._commit([record])
        except sqlite3.Error as e:
            if not _full(e):
                raise CallLogError(f"{self.path}: {what}: {e}") from e
            self._hold(record, at, "disk full")
            self._holding.failed(at, "disk full")

    def _hold(self, record: Record, at: float, why: str) -> None:
        for call in self._holding.put(record, at, why):
            self._pending.pop(call, None)
        if record.call is not None and self._holding.held(record.call):
            self._pending.setdefault(record.call, {}).update(record.payload.row)

    def _drain(self, at: float) -> bool:
        """The oldest held records in one transaction; whether they were written."""
        batch = self._holding.head(CHUNK)
        try:
            self._commit(batch)
        except sqlite3.Error as e:
            self._holding.failed(at, "disk full" if _full(e) else str(e))
            return False
        for r in self._holding.written(len(batch)):
            if r.call is not None and not self._holding.held(r.call):
                self._pending.pop(r.call, None)
        return True

    def _commit(self, records: Sequence[Record]) -> None:
        conn = self._live()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for r in records:
                for sql, rows in r.payload.steps:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _row(self, call: int) -> Optional[Dict[str, Any]]:
        """The call's row as the file has it with what is held over it; None if neither has it."""
        rows = self._read(f"reading call {call}", f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call,))
        if rows:
            return self._overlaid(dict(zip(_NAMES, rows[0])))
        row = self._pending.get(call)
        return dict(row) if row is not None and "started" in row else None

    def _overlaid(self, row: Dict[str, Any]) -> Dict[str, Any]:
        return {**row, **self._pending.get(row["id"], {})}

    def _call(self, row: Dict[str, Any]) -> Call:
        (call, line, channel, caller, name, presentation, start, answer, end, menus, digits,
         outcome, language) = (row[n] for n in _NAMES)
        c = self._calls.get(call)
        if c is None:
            return call_of_row(tuple(row[n] for n in _NAMES))
        # In progress here: what is held is newer than the row.
        return Call(call, line, channel, caller, name, presentation, start, c.answer, end, tuple(c.menus),
                    tuple(c.digits), outcome, c.language)


def call_of_row(row) -> Call:
    """A Call from a row of the calls table's _COLUMNS, as written."""
    (call, line, channel, caller, name, presentation, start, answer, end, menus, digits, outcome, language) = row
    return Call(call, line, channel, caller, name, presentation, start, answer, end, tuple(json.loads(menus)),
                tuple((d["menu"], d["digits"]) for d in json.loads(digits)), outcome, language)
