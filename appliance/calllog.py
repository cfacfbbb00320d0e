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
    progress. CallLog.interrupted says how many.
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
  - Every failure reaches the caller as CallLogError, with a message that names the
    file or the call. A refused request changes nothing in the log.
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
from typing import Dict, Iterator, List, Optional, Tuple

OUTCOMES = ("completed", "answered", "invalid", "no-input", "abandoned", "after-hours", "blocked", "operator",
            "interrupted", "error", "transferred", "callback", "no-answer", "expired")
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
]

_COLUMNS = ("id, line, channel, caller, caller_name, presentation, started, answered, ended, "
            "menus, digits, outcome, language")


class CallLogError(Exception):
    """The log refused a call or could not use its file; the message says which and why."""


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

    def __init__(self, path: str, conn: sqlite3.Connection):
        self.path = path
        self.interrupted = 0                # calls closed as interrupted at open
        self._conn: Optional[sqlite3.Connection] = conn
        self._calls: Dict[int, _InProgress] = {}

    @classmethod
    def open(cls, path) -> "CallLog":
        """Opens the log, creating it and its folder if missing, and brings it to the
        current schema; closes the calls a crash left in progress (see .interrupted)."""
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
        log = cls(path, conn)
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

    def __enter__(self) -> "CallLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Writes what is held for calls still in progress and closes the file; those
        calls are closed as interrupted when the log is next opened."""
        if self._conn is None:
            return
        try:
            for call, c in self._calls.items():
                if c.unwritten:
                    self._flush(call, c)
        finally:
            self._conn.close()
            self._conn = None
            self._calls.clear()

    # --- a call's life ---

    def start(self, line: str, channel: int, at: float, caller: str = "", name: str = "",
              presentation: str = "") -> int:
        """A call arrives (its first ring); returns its id. The row is committed now."""
        _text(line, "line", empty=False)
        _int(channel, "channel")
        if channel < 0:
            raise CallLogError(f"channel must not be negative, not {channel}")
        at = _time(at, "start time")
        _text(caller, "caller ID number")
        _text(name, "caller ID name")
        _presentation(presentation)
        with self._write("starting a call") as conn:
            call = conn.execute(
                "INSERT INTO calls (line, channel, caller, caller_name, presentation, started) "
                "VALUES (?, ?, ?, ?, ?, ?)", (line, channel, caller, name, presentation, at)).lastrowid
        self._calls[call] = _InProgress(start=at, last=at)
        return call

    def start_callback(self, of: int, at: float, number: str) -> int:
        """The calls back to the caller of call `of` (a row of their own, linked to it);
        returns its id. The row is committed now."""
        _int(of, "call id")
        self.call(of)
        call = self.start("callback", 0, at, caller=number)
        with self._write("linking a callback"):
            self._conn.execute("UPDATE calls SET callback_of = ? WHERE id = ?", (of, call))
        return call

    def callback_of(self, call: int) -> Optional[int]:
        """The call that asked for this callback, or None."""
        _int(call, "call id")
        rows = self._read(f"reading call {call}", "SELECT callback_of FROM calls WHERE id = ?", (call,))
        if not rows:
            raise CallLogError(f"no call {call} in {self.path}")
        return rows[0][0]

    def callbacks(self, call: int) -> List[int]:
        """The rows of the calls back that call `call` asked for."""
        _int(call, "call id")
        return [r[0] for r in self._read(f"reading the callbacks of call {call}",
                                         "SELECT id FROM calls WHERE callback_of = ? ORDER BY id", (call,))]

    def caller(self, call: int, at: float, number: str = "", name: str = "", presentation: str = "") -> None:
        """Caller ID came in after the call started (it comes after the first ring on
        most lines); the row has it now."""
        c = self._in_progress(call)
        _text(number, "caller ID number")
        _text(name, "caller ID name")
        _presentation(presentation)
        at = self._when(call, c, at, "caller ID")
        with self._write("noting caller ID") as conn:
            conn.execute("UPDATE calls SET caller = ?, caller_name = ?, presentation = ? WHERE id = ?",
                         (number, name, presentation, call))
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
        self._flush(call, c)

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
        self._flush(call, c, at, outcome)
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
        with self._write(f"noting agent {agent}'s {kind}") as conn:
            conn.execute("INSERT INTO agent_events (at, agent, kind, detail, source) VALUES (?, ?, ?, ?, ?)",
                         (at, agent, kind, detail, source))

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

    # --- reading ---

    def calls(self, limit: Optional[int] = None, since: Optional[float] = None) -> List[Call]:
        """Calls newest first: those started at or after `since`, at most `limit` of them."""
        if limit is not None and (_int(limit, "limit") < 1):
            raise CallLogError(f"limit must be at least 1, not {limit}")
        where, args = "", []
        if since is not None:
            where, args = "WHERE started >= ?", [_time(since, "since")]
        rows = self._read("listing calls",
                          f"SELECT {_COLUMNS} FROM calls {where} ORDER BY started DESC, id DESC LIMIT ?",
                          args + [-1 if limit is None else limit])
        return [self._call(r) for r in rows]

    def call(self, call: int) -> Call:
        _int(call, "call id")
        rows = self._read(f"reading call {call}", f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call,))
        if not rows:
            raise CallLogError(f"no call {call} in {self.path}")
        return self._call(rows[0])

    def events(self, call: int) -> List[CallEvent]:
        """The call's events in the order they happened, including those not yet written."""
        self.call(call)
        rows = self._read(f"reading the events of call {call}",
                          "SELECT at, kind, detail FROM events WHERE call = ? ORDER BY seq", (call,))
        held = self._calls[call].unwritten if call in self._calls else []
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

    def _flush(self, call: int, c: _InProgress, end: Optional[float] = None, outcome: Optional[str] = None) -> None:
        digits = json.dumps([{"menu": m, "digits": d} for m, d in c.digits])
        with self._write(f"writing call {call}") as conn:
            conn.execute("UPDATE calls SET answered = ?, ended = ?, outcome = ?, menus = ?, digits = ?, "
                         "language = ? WHERE id = ?",
                         (c.answer, end, outcome, json.dumps(c.menus), digits, c.language, call))
            conn.executemany("INSERT INTO events (call, seq, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
                             [(call, *e) for e in c.unwritten])
        c.unwritten.clear()

    def _call(self, row) -> Call:
        (call, line, channel, caller, name, presentation, start, answer, end, menus, digits,
         outcome, language) = row
        c = self._calls.get(call)
        if c is None:
            return call_of_row(row)
        # In progress here: what is held is newer than the row.
        return Call(call, line, channel, caller, name, presentation, start, c.answer, end, tuple(c.menus),
                    tuple(c.digits), outcome, c.language)


def call_of_row(row) -> Call:
    """A Call from a row of the calls table's _COLUMNS, as written."""
    (call, line, channel, caller, name, presentation, start, answer, end, menus, digits, outcome, language) = row
    return Call(call, line, channel, caller, name, presentation, start, answer, end, tuple(json.loads(menus)),
                tuple((d["menu"], d["digits"]) for d in json.loads(digits)), outcome, language)
