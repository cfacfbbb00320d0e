"""The call log: calls in and out whole, schema versions, a real kill, refused arguments."""
import json
import os
import queue
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import pytest

from appliance import calllog
from appliance.calllog import CallLog, CallLogError

T0 = 1_700_000_000.0
REPO = Path(__file__).resolve().parent.parent


def full_call(log, t, channel=1, caller="0441234567", name="ACME LTD"):
    call = log.start(f"line {channel}", channel, t, caller=caller, name=name)
    log.event(call, t + 0.0, "ring", "1")
    log.event(call, t + 4.0, "ring", "2")
    log.answered(call, t + 4.5)
    log.menu(call, t + 5.0, "language")
    log.digits(call, t + 8.0, "language", "2")
    log.language(call, t + 8.0, "fr")
    log.menu(call, t + 8.5, "main")
    log.digits(call, t + 12.0, "main", "9")
    log.digits(call, t + 15.0, "main", "3")
    log.menu(call, t + 15.5, "sales")
    log.end(call, t + 60.0, "operator")
    return call


def test_full_call_round_trip(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        call = full_call(log, T0)
    with CallLog.open(tmp_path / "calls.db") as log:
        assert log.interrupted == 0
        assert log.call(call) == calllog.Call(
            id=call, line="line 1", channel=1, caller="0441234567", name="ACME LTD", presentation="",
            start=T0, answer=T0 + 4.5, end=T0 + 60.0, menus=("language", "main", "sales"),
            digits=(("language", "2"), ("main", "9"), ("main", "3")), outcome="operator", language="fr")
        assert [(e.at - T0, e.kind, e.detail) for e in log.events(call)] == [
            (0.0, "ring", "1"), (4.0, "ring", "2"), (4.5, "answer", ""), (5.0, "menu", "language"),
            (8.0, "digits", "language: 2"), (8.0, "language", "fr"), (8.5, "menu", "main"),
            (12.0, "digits", "main: 9"), (15.0, "digits", "main: 3"), (15.5, "menu", "sales")]
    # a report reaches the digits in plain SQL
    with closing(sqlite3.connect(tmp_path / "calls.db")) as db:
        assert db.execute("SELECT json_extract(d.value, '$.menu'), json_extract(d.value, '$.digits') "
                          "FROM calls, json_each(calls.digits) AS d ORDER BY d.key").fetchall() == [
            ("language", "2"), ("main", "9"), ("main", "3")]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_call_abandoned_while_ringing(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        call = log.start("line 2", 2, T0, presentation="private")
        assert log.call(call).end is None           # the row is there from the first ring
        log.event(call, T0 + 0.0, "ring", "1")
        log.end(call, T0 + 3.0, "abandoned")
    with CallLog.open(tmp_path / "calls.db") as log:
        assert log.call(call) == calllog.Call(
            id=call, line="line 2", channel=2, caller="", name="", presentation="private", start=T0,
            answer=None, end=T0 + 3.0, menus=(), digits=(), outcome="abandoned", language=None)
        assert log.events(call) == [calllog.CallEvent(call, T0, "ring", "1")]


def test_caller_id_after_the_first_ring_reaches_the_row_at_once(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        call = log.start("line 1", 1, T0)
        log.caller(call, T0 + 0.7, "0501234567", "PETRENKO O")
        # written now: a crash before the call ends still leaves who called
        with closing(sqlite3.connect(tmp_path / "calls.db")) as db:
            assert db.execute("SELECT caller, caller_name FROM calls WHERE id = ?", (call,)).fetchone() == (
                "0501234567", "PETRENKO O")
        log.end(call, T0 + 3.0, "abandoned")
        assert log.call(call).caller == "0501234567"
        assert [e.kind for e in log.events(call)] == ["callerid"]
        with pytest.raises(CallLogError, match="presentation"):
            log.caller(log.start("line 1", 1, T0 + 4), T0 + 5, presentation="hidden")


def test_calls_newest_first_with_limit_and_since(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        ids = [full_call(log, T0 + 100 * i, channel=1 + i % 2) for i in range(5)]
        ringing = log.start("line 3", 3, T0 + 1000)
        log.menu(ringing, T0 + 1001, "main")
        got = log.calls()
        assert [c.id for c in got] == [ringing] + ids[::-1]
        assert got[0].end is None and got[0].outcome is None and got[0].menus == ("main",)
        assert [c.id for c in log.calls(limit=2)] == [ringing, ids[4]]
        assert [c.id for c in log.calls(since=T0 + 200)] == [ringing, ids[4], ids[3], ids[2]]
        assert [c.id for c in log.calls(limit=2, since=T0 + 250)] == [ringing, ids[4]]
        assert log.calls(since=T0 + 2000) == []
        # after a restart on a clock set back, a later call can start earlier: newest is by start
        early = log.start("line 4", 4, T0 + 150)
        assert [c.id for c in log.calls(limit=4)] == [ringing, ids[4], ids[3], ids[2]]
        assert [c.id for c in log.calls()][-3:] == [early, ids[1], ids[0]]
        # synchronous=FULL: a power cut takes no committed call back
        assert log._conn.execute("PRAGMA synchronous").fetchone() == (2,)


def test_open_creates_the_folder_and_a_whole_file(tmp_path):
    path = tmp_path / "var" / "lib" / "appliance" / "calls.db"
    with CallLog.open(path) as log:
        assert log.calls() == []
    assert sorted(os.listdir(path.parent)) == ["calls.db"]


def test_calls_left_in_progress_are_closed_as_interrupted(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        done = full_call(log, T0)
        silent = log.start("line 2", 2, T0 + 1)
        talking = log.start("line 3", 3, T0 + 2)
        log.event(talking, T0 + 2, "ring", "1")
        log.answered(talking, T0 + 5)
        log.menu(talking, T0 + 9, "main")
    with CallLog.open(tmp_path / "calls.db") as log:
        assert log.interrupted == 2
        assert (log.call(silent).outcome, log.call(silent).end) == ("interrupted", T0 + 1)
        c = log.call(talking)
        assert (c.outcome, c.answer, c.end, c.menus) == ("interrupted", T0 + 5, T0 + 9, ("main",))
        assert log.call(done).outcome == "operator"
    with CallLog.open(tmp_path / "calls.db") as log:
        assert log.interrupted == 0


def test_an_end_that_cannot_be_written_leaves_the_call_in_progress(tmp_path):
    path = tmp_path / "calls.db"
    with CallLog.open(path) as log:
        call = log.start("line 1", 1, T0)
        log.answered(call, T0 + 1)
        log.event(call, T0 + 2, "queue", "sales")
        log.event(call, T0 + 3, "poison")
        with closing(sqlite3.connect(path)) as db:      # the disk fails on the last event
            db.execute("CREATE TRIGGER fail BEFORE INSERT ON events WHEN NEW.kind = 'poison' "
                       "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
        with pytest.raises(CallLogError, match=re.escape(f"{path}: writing call {call}: disk trouble")):
            log.end(call, T0 + 4, "completed")
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT ended, outcome FROM calls").fetchall() == [(None, None)]
            assert [k for k, in db.execute("SELECT kind FROM events ORDER BY seq")] == ["answer"]
            db.execute("DROP TRIGGER fail")
        log.end(call, T0 + 4, "completed")
        assert [e.kind for e in log.events(call)] == ["answer", "queue", "poison"]
        assert log.call(call).outcome == "completed"


# --- schema versions and files that are not a call log ---

def test_log_from_the_first_schema_is_migrated(tmp_path, monkeypatch):
    path = tmp_path / "calls.db"
    first = calllog.MIGRATIONS[:1]
    monkeypatch.setattr(calllog, "MIGRATIONS", first)
    with CallLog.open(path) as log:
        call = full_call(log, T0)
        before = log.call(call), log.events(call)
    later = first + ["ALTER TABLE calls ADD COLUMN queue TEXT NOT NULL DEFAULT '';\n"
                     "CREATE INDEX calls_by_queue ON calls (queue);"]
    monkeypatch.setattr(calllog, "MIGRATIONS", later)
    with CallLog.open(path) as log:
        assert (log.call(call), log.events(call)) == before
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
        assert db.execute("SELECT queue FROM calls").fetchall() == [("",)]


def test_failed_migration_leaves_the_log_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "calls.db"
    first = calllog.MIGRATIONS[:1]
    monkeypatch.setattr(calllog, "MIGRATIONS", first)
    with CallLog.open(path) as log:
        call = full_call(log, T0)
    monkeypatch.setattr(calllog, "MIGRATIONS", first + ["ALTER TABLE calls ADD COLUMN queue TEXT;\n"
                                                        "CREATE TABLE calls (x);"])
    with pytest.raises(CallLogError) as e:
        CallLog.open(path)
    assert str(path) in str(e.value) and "version 2" in str(e.value) and "stays at version 1" in str(e.value)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
        assert "queue" not in [r[1] for r in db.execute("PRAGMA table_info(calls)")]
    monkeypatch.setattr(calllog, "MIGRATIONS", first)
    with CallLog.open(path) as log:
        assert log.call(call).outcome == "operator"


def test_log_from_a_newer_firmware_is_refused(tmp_path):
    path = tmp_path / "calls.db"
    CallLog.open(path).close()
    newer = len(calllog.MIGRATIONS) + 5
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(CallLogError) as e:
        CallLog.open(path)
    msg = str(e.value)
    assert str(path) in msg and f"version {newer}" in msg and f"version {len(calllog.MIGRATIONS)}" in msg


def _junk(p):
    p.write_bytes(random.Random(1).randbytes(10000))


def _text(p):
    p.write_text("[line]\nname = 'line 1'\n" * 50)


def _directory(p):
    p.mkdir()


def _damaged(p):
    CallLog.open(p).close()
    with open(p, "r+b") as f:
        f.write(b"\xff" * 16)


def _someone_elses(p):
    with closing(sqlite3.connect(p)) as db:
        db.execute("CREATE TABLE agents (name TEXT)")


@pytest.mark.parametrize("make,says", [
    (_junk, "not a SQLite database"),
    (lambda p: p.write_bytes(b""), "empty file"),
    (_text, "not a SQLite database"),
    (_directory, "is a directory"),
    (_damaged, "not a SQLite database, or a damaged one"),
    (_someone_elses, "a SQLite database of something else"),
], ids=["junk", "empty", "text", "directory", "damaged", "other-database"])
def test_what_is_not_a_call_log_is_refused_by_name(tmp_path, make, says):
    path = tmp_path / "calls.db"
    make(path)
    with pytest.raises(CallLogError) as e:
        CallLog.open(path)
    assert str(e.value).startswith(f"{path}: ") and says in str(e.value)


# --- a real kill in the middle of traffic ---

def call_script(rng):
    """What one caller does, as log calls without the call and the time."""
    kind = rng.random()
    if kind < 0.25:
        return [("event", "ring", "1"), ("event", "ring", "2"), ("end", "abandoned")]
    if kind < 0.4:
        return [("event", "ring", "1"), ("answered",), ("menu", "closed"), ("end", "after-hours")]
    steps = [("event", "ring", "1"), ("answered",), ("menu", "main")]
    if rng.random() < 0.3:
        steps += [("digits", "main", "9"), ("language", "fr")]
    return steps + [("digits", "main", rng.choice("123")), ("menu", "sales"), ("event", "queue", "sales"),
                    ("end", rng.choice(["completed", "abandoned", "operator"]))]


def traffic(calls=100, lines=4, overlap=3, seed=7):
    """A day's calls as a list of log steps, `overlap` in progress at once on different
    lines, every step at its own time: [op, call number, time or start arguments...]."""
    rng = random.Random(seed)
    t = T0
    steps, live, begun = [], {}, 0
    while begun < calls or live:
        t = round(t + rng.randint(1, 40) * 0.02, 2)
        if begun < calls and len(live) < overlap:
            ch = min(set(range(1, lines + 1)) - {c for c, _ in live.values()})
            who = rng.choice([(f"0441234{begun:04d}", "ACME LTD", ""), ("", "", "private"), ("", "", "unavailable")])
            steps.append(["start", begun, f"line {ch}", ch, t, *who])
            live[begun] = (ch, call_script(rng))
            begun += 1
        else:
            n = rng.choice(sorted(live))
            op, *args = live[n][1].pop(0)
            steps.append([op, n, t, *args])
            if op == "end":
                del live[n]
    return steps


def replay(steps):
    """What each call should leave in the log, as (row without id, events): 'final' once
    ended; 'start' and 'answered' for what a kill before its end may leave."""
    want, live, events = {}, {}, {}
    for op, n, *a in steps:
        if op == "start":
            line, channel, at, caller, name, presentation = a
            live[n] = dict(line=line, channel=channel, caller=caller, name=name, presentation=presentation,
                           start=at, answer=None, end=None, menus=(), digits=(), outcome=None, language=None)
            events[n] = []
            want[n] = {"start": (dict(live[n], end=at, outcome="interrupted"), [])}
            continue
        c, ev, (at, *rest) = live[n], events[n], a
        if op == "answered":
            c["answer"] = at
            ev.append((at, "answer", ""))
            want[n]["answered"] = (dict(c, end=at, outcome="interrupted"), list(ev))
        elif op == "event":
            ev.append((at, *rest))
        elif op == "menu":
            c["menus"] += (rest[0],)
            ev.append((at, "menu", rest[0]))
        elif op == "digits":
            c["digits"] += (tuple(rest),)
            ev.append((at, "digits", f"{rest[0]}: {rest[1]}"))
        elif op == "language":
            c["language"] = rest[0]
            ev.append((at, "language", rest[0]))
        elif op == "end":
            want[n]["final"] = (dict(c, end=at, outcome=rest[0]), list(ev))
    return want


CALLER = """
import json, sys
from appliance.calllog import CallLog

db, schedule, hold = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids, ended = {}, 0
log = CallLog.open(db)
for op, n, *args in json.load(open(schedule)):
    if op == "start":
        ids[n] = log.start(*args)
        print("start", n, ids[n], flush=True)
    elif op == "end":
        log.end(ids[n], *args)
        print("end", n, ids[n], flush=True)
        ended += 1
        if ended == hold:
            sys.stdin.read()        # calls are in progress: wait here for the kill
            sys.exit(0)
    else:
        getattr(log, op)(ids[n], *args)
        if op == "answered":
            print("answered", n, ids[n], flush=True)
"""


@pytest.mark.parametrize("kill_after", [50, 53, 57])
def test_kill_during_traffic_loses_no_ended_call(tmp_path, kill_after):
    """A process logs 100 overlapping calls and is killed after `kill_after` have ended:
    every call it reported ended is whole, the rest it began are interrupted (with their
    answer and what came before it, once it reported them answered), and nothing else is
    in the log. It stops by itself at the 90th end, calls still in progress, so however
    late the kill comes it finds some."""
    steps = traffic()
    want = replay(steps)
    (tmp_path / "traffic.json").write_text(json.dumps(steps))
    (tmp_path / "caller.py").write_text(CALLER)
    db = tmp_path / "log" / "calls.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    stderr = open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen([sys.executable, str(tmp_path / "caller.py"), str(db), str(tmp_path / "traffic.json"),
                             "90"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    lines = queue.Queue()

    def read():
        for line in proc.stdout:
            # A line the kill cut short says nothing for sure: only whole lines count.
            if line.endswith("\n"):
                lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    said, ends, deadline = [], 0, time.monotonic() + 60
    try:
        while ends < kill_after:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"only {ends} calls ended in 60 s")
            if line is None:
                stderr.seek(0)
                pytest.fail(f"the logging process stopped after {ends} calls ended:\n{stderr.read()}")
            said.append(line.split())
            ends += said[-1][0] == "end"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        reader.join(timeout=60)
        proc.stdin.close()
        proc.stdout.close()
        stderr.close()
    assert proc.returncode == -signal.SIGKILL
    while (line := lines.get(timeout=5)) is not None:      # what it printed before the kill
        said.append(line.split())
    started, answered, ended = ({int(i): int(n) for what, n, i in said if what == step}
                                for step in ("start", "answered", "end"))
    by_start = {s[4]: s[1] for s in steps if s[0] == "start"}

    with CallLog.open(db) as log:
        rows = log.calls()
        interrupted, unsaid = 0, 0
        for row in rows:
            n = by_start[row.start]
            got = ({k: v for k, v in asdict(row).items() if k != "id"},
                   [(e.at, e.kind, e.detail) for e in log.events(row.id)])
            if row.id in ended:
                assert ended[row.id] == n and got == want[n]["final"], f"call {n}"
            elif row.outcome == "interrupted":
                interrupted += 1
                if row.id in answered:
                    assert got == want[n]["answered"], f"call {n}"
                else:
                    assert got == want[n]["start"] or got == want[n].get("answered"), f"call {n}"
                    unsaid += got != want[n]["start"]       # answered, killed before it said so
            else:
                unsaid += 1                                 # ended, killed before it said so
                assert got == want[n]["final"], f"call {n}"
        ids = {r.id: by_start[r.start] for r in rows}
        assert len(ids) == len(rows) == len(set(ids.values()))
        assert all(ids.get(i) == n for i, n in {**started, **answered, **ended}.items())
        # the kill lands on at most one step: committed, not yet printed
        assert unsaid + len(set(ids) - set(started)) <= 1
        assert log.interrupted == interrupted >= 1
        assert len(ended) >= kill_after


# --- refused arguments ---

BAD = {
    "unknown call": (lambda log, done, call: log.end(999, T0 + 20, "completed"), "no call 999 in "),
    "end twice": (lambda log, done, call: log.end(done, T0 + 20, "completed"), "has already ended (abandoned)"),
    "unknown outcome": (lambda log, done, call: log.end(call, T0 + 20, "hung-up"), "unknown outcome 'hung-up'"),
    "end before start": (lambda log, done, call: log.end(call, T0 + 5, "completed"), "before the call's start"),
    "time backwards": (lambda log, done, call: log.event(call, T0 + 10.5, "ring"), "before the call's last entry"),
    "answered twice": (lambda log, done, call: log.answered(call, T0 + 12), "already answered at"),
    "presentation": (lambda log, done, call: log.start("line 3", 3, T0, presentation="withheld"),
                     "unknown caller ID presentation 'withheld'"),
    "no line": (lambda log, done, call: log.start("", 3, T0), "line must be a non-empty string"),
    "channel": (lambda log, done, call: log.start("line 3", "3", T0), "channel must be an integer"),
    "time": (lambda log, done, call: log.start("line 3", 3, float("nan")), "start time must be seconds"),
    "digits": (lambda log, done, call: log.digits(call, T0 + 12, "main", "12x"), "'x', which are not DTMF"),
    "call id": (lambda log, done, call: log.menu(str(call), T0 + 12, "main"), "call id must be an integer"),
    "limit": (lambda log, done, call: log.calls(limit=0), "limit must be at least 1"),
    "events of nothing": (lambda log, done, call: log.events(12345), "no call 12345 in "),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_arguments_are_refused_and_change_nothing(tmp_path, case):
    do, says = BAD[case]
    with CallLog.open(tmp_path / "calls.db") as log:
        done = log.start("line 1", 1, T0)
        log.end(done, T0 + 5, "abandoned")
        call = log.start("line 2", 2, T0 + 10)
        log.answered(call, T0 + 11)
        before = log.calls(), log.events(call)
        with pytest.raises(CallLogError, match=re.escape(says)):
            do(log, done, call)
        assert (log.calls(), log.events(call)) == before
        log.end(call, T0 + 20, "completed")
    with CallLog.open(tmp_path / "calls.db") as log:
        assert [(c.id, c.outcome) for c in log.calls()] == [(call, "completed"), (done, "abandoned")]
        assert log.interrupted == 0


def test_a_closed_log_says_so(tmp_path):
    log = CallLog.open(tmp_path / "calls.db")
    log.close()
    with pytest.raises(CallLogError, match="the call log is closed"):
        log.start("line 1", 1, T0)


# --- agents ---

def test_agent_events_are_kept_in_order_and_outlive_the_process(tmp_path):
    path = tmp_path / "calls.db"
    with CallLog.open(path) as log:
        log.agent_event("olena", T0, "login", source="desk1")
        log.agent_event("ivan", T0 + 1, "wrong-pin", "try 1 of 3", source="desk2")
        log.agent_event("olena", T0 + 2, "pause", "lunch", source="desk1")
        log.agent_event("olena", T0 + 3, "pause", "no answer", source="acd")
    with CallLog.open(path) as log:
        olena = log.agent_events("olena")
        # She was still logged in when the log was closed without a logout: the
        # reopening ends her session at the last thing the log holds.
        assert [(e.kind, e.detail, e.source) for e in olena] == [("login", "", "desk1"), ("pause", "lunch", "desk1"),
                                                                  ("pause", "no answer", "acd"),
                                                                  ("logout", "", "restart")]
        assert [e.agent for e in log.agent_events()] == ["olena", "ivan", "olena", "olena", "olena"]
        assert [e.at for e in log.agent_events(limit=2)] == [T0 + 3, T0 + 3]
        assert log.agent_events("nobody") == []
        for bad in (dict(agent=""), dict(kind=""), dict(at="noon")):
            args = {**dict(agent="olena", at=T0, kind="login"), **bad}
            with pytest.raises(CallLogError):
                log.agent_event(**args)
        assert len(log.agent_events()) == 5


def test_sessions_a_crash_left_open_end_at_the_last_thing_the_log_holds(tmp_path):
    path = tmp_path / "calls.db"
    with CallLog.open(path) as log:
        log.agent_event("olena", T0, "login", source="start")
        log.agent_event("ivan", T0, "login", source="start")
        log.agent_event("ivan", T0 + 5, "logout", source="desk2")
        call = log.start("line1", 1, T0 + 10)
        log.answered(call, T0 + 11)
        log.event(call, T0 + 40, "queued", "sales")
    with CallLog.open(path) as log:               # the call was in progress: a crash
        assert log.call(call).outcome == "interrupted"
        closed = [(e.agent, e.at) for e in log.agent_events() if e.source == "restart"]
        assert closed == [("olena", T0 + 40)]
    with CallLog.open(path) as log:               # nothing left open: nothing added
        assert len([e for e in log.agent_events() if e.source == "restart"]) == 1


def test_a_first_schema_log_gains_the_agent_events(tmp_path, monkeypatch):
    path = tmp_path / "calls.db"
    monkeypatch.setattr(calllog, "MIGRATIONS", calllog.MIGRATIONS[:1])
    with CallLog.open(path) as log:
        call = full_call(log, T0)
    monkeypatch.undo()
    with CallLog.open(path) as log:
        assert log.call(call).outcome == "operator"
        log.agent_event("olena", T0 + 100, "logout", source="console")
        assert [e.kind for e in log.agent_events()] == ["logout"]


def test_a_transferred_call_is_an_outcome(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        call = log.start("line1", 1, T0)
        log.answered(call, T0 + 1)
        log.event(call, T0 + 30, "transferred", "204")
        log.end(call, T0 + 32, "transferred")
        assert log.call(call).outcome == "transferred"


def test_a_callback_is_a_row_of_its_own_linked_to_the_call_that_asked(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        asked = log.start("line1", 1, T0, caller="0501234567")
        log.answered(asked, T0 + 1)
        log.end(asked, T0 + 60, "callback")
        back = log.start_callback(asked, T0 + 61, "0501234567")
        log.event(back, T0 + 300, "callback-attempt", "1 of 3: 0501234567 on line2")
        log.end(back, T0 + 340, "no-answer")
        assert log.callback_of(back) == asked and log.callback_of(asked) is None
        assert log.callbacks(asked) == [back]
        row = log.call(back)
        assert (row.line, row.caller, row.outcome) == ("callback", "0501234567", "no-answer")
        assert log.call(asked).outcome == "callback"
        with pytest.raises(CallLogError):
            log.start_callback(asked + 99, T0, "1")
        # A call asked for from outside (the manager interface's Originate) links to none.
        made = log.start_callback(None, T0 + 400, "0671234567")
        assert log.callback_of(made) is None and log.call(made).line == "callback"


# --- a full disk ---

def disk_full(log):
    """SQLite's own page limit: a write that needs a page past it fails with SQLITE_FULL,
    "database or disk is full", as on a full disk (the WAL included)."""
    pages = log._conn.execute("PRAGMA page_count").fetchone()[0]
    log._conn.execute(f"PRAGMA max_page_count = {pages}")


def room(log):
    log._conn.execute("PRAGMA max_page_count = 1073741823")


def in_file(path):
    """Every row and event the file holds, read by another connection."""
    with closing(sqlite3.connect(path)) as db:
        return (db.execute(f"SELECT {calllog._COLUMNS} FROM calls ORDER BY id").fetchall(),
                db.execute("SELECT call, seq, at, kind, detail FROM events ORDER BY call, seq").fetchall(),
                db.execute("SELECT at, agent, kind FROM agent_events ORDER BY id").fetchall())


def test_a_full_disk_holds_calls_in_order_and_writes_them_once_there_is_room(tmp_path):
    path = tmp_path / "calls.db"
    log = CallLog.open(path)
    before = [full_call(log, T0 + 100 * i) for i in range(3)]
    committed = in_file(path)
    early = log.start("line 2", 2, T0 + 300)            # its row is in the file before the disk fills
    log.answered(early, T0 + 301)
    disk_full(log)
    t, calls = T0 + 400, []
    while not log.held:                                 # the log's own calls fill the last pages
        calls.append(full_call(log, t))
        t += 100
        assert len(calls) < 200, "the page limit never bit"
    assert log.trouble == "disk full"
    log.agent_event("olena", t, "pause", "lunch", source="desk1")
    log.event(early, t + 1, "queued", "sales")
    log.end(early, t + 2, "abandoned")
    for i in range(30):                                 # a day goes on: ids keep coming, one apart
        calls.append(full_call(log, t + 10 + 100 * i, channel=1 + i % 4))
    assert calls == list(range(calls[0], calls[0] + len(calls))) and calls[0] == early + 1
    shown = log.calls()
    assert [c.id for c in shown] == (before + [early] + calls)[::-1]
    assert log.call(early).outcome == "abandoned" and [e.kind for e in log.events(early)] == [
        "answer", "queued"]
    assert [e.kind for e in log.events(calls[-1])] == [e.kind for e in log.events(before[0])]
    rows, events, agents = in_file(path)
    # What the file has is what was committed, whole: no row without its events.
    assert rows[:3] == committed[0] and [e for e in events if e[0] in before] == committed[1]
    for row in rows:
        if row[8] is not None:
            assert sum(e[0] == row[0] for e in events) == len(log.events(row[0])), row
    assert len(rows) < len(before) + 1 + len(calls)
    held = log.held

    room(log)
    log.tick(t + 3000 - 30)                             # inside the back-off: no try yet
    assert log.held == held
    at = t + 4000
    while log.held:
        log.tick(at)
        at += 0.02
    assert log.trouble == "" and at < t + 4000 + 1
    assert log.calls() == shown
    log.close()
    with CallLog.open(path) as log:
        assert log.interrupted == 0
        assert log.calls() == shown
        assert [e.kind for e in log.events(calls[-1])] == [e.kind for e in log.events(before[0])]
        assert [(e.agent, e.kind) for e in log.agent_events()] == [("olena", "pause")]


def test_past_the_bound_the_oldest_calls_held_are_dropped_whole_and_counted(tmp_path):
    path = tmp_path / "calls.db"
    log = CallLog.open(path, hold=12)
    kept = full_call(log, T0)
    cut_short = log.start("line 2", 2, T0 + 50)          # written; what comes after is dropped
    disk_full(log)
    t = T0 + 100
    while not log.held:
        filled = full_call(log, t)          # its row may be written, its end held (and then dropped)
        t += 100
    log.answered(cut_short, t)
    later = [full_call(log, t + 100 * i) for i in range(1, 11)]
    log.end(cut_short, t + 2000, "completed")
    calls, agent_events = log.dropped
    assert calls >= 3 and agent_events == 0 and log.held <= 12
    room(log)
    at = t + 5000
    while log.held:
        log.tick(at)
        at += 1
    shown = {c.id: c for c in log.calls()}
    assert later[-3] in shown and kept in shown
    log.close()
    with CallLog.open(path) as log:
        rows = {c.id: c for c in log.calls()}
        interrupted = {c.id for c in rows.values() if c.outcome == "interrupted"}
        assert cut_short in interrupted and interrupted <= {cut_short, filled}
        assert log.interrupted == len(interrupted)
        assert rows.keys() == shown.keys() | interrupted
        for c in rows.values():         # every call kept is whole
            if c.id not in interrupted:
                assert c.outcome == "operator" and len(log.events(c.id)) == 10, c


def test_a_held_record_the_file_refuses_for_another_reason_waits_with_the_reason(tmp_path):
    path = tmp_path / "calls.db"
    with CallLog.open(path) as log:
        disk_full(log)
        t = T0
        while not log.held:
            full_call(log, t)
            t += 100
        with closing(sqlite3.connect(path)) as db:      # another connection: no page limit
            db.execute("CREATE TRIGGER fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
        room(log)
        log.tick(t + 1000)
        assert log.held and log.trouble == "disk trouble"
        with closing(sqlite3.connect(path)) as db:
            db.execute("DROP TRIGGER fail")
        at = t + 2000
        while log.held:
            log.tick(at)
            at += 1
        assert log.trouble == ""
        shown = log.calls()
    with CallLog.open(path) as log:
        assert log.calls() == shown and all(c.outcome == "operator" for c in shown)


HOLDER = """
import sys
from appliance.calllog import CallLog

T0 = 1_700_000_000.0
log = CallLog.open(sys.argv[1])
def call(t):
    c = log.start("line 1", 1, t, caller="0441234567")
    log.answered(c, t + 1)
    log.menu(c, t + 2, "main")
    log.end(c, t + 3, "completed")
    return c
done = [call(T0 + 10 * i) for i in range(5)]
open_call = log.start("line 2", 2, T0 + 60)
log.answered(open_call, T0 + 61)
pages = log._conn.execute("PRAGMA page_count").fetchone()[0]
log._conn.execute(f"PRAGMA max_page_count = {pages}")
t = T0 + 100
while not log.held:
    done.append(call(t))
    t += 10
held = [call(t + 10 * i) for i in range(1, 6)]
log.end(open_call, t + 100, "completed")
print(" ".join(map(str, done)), "|", " ".join(map(str, held)), "|", open_call, log.held, flush=True)
sys.stdin.read()
"""


def test_a_kill_while_records_are_held_loses_only_those(tmp_path):
    db = tmp_path / "calls.db"
    (tmp_path / "holder.py").write_text(HOLDER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(tmp_path / "holder.py"), str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait(timeout=60)
        proc.stdin.close()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and line.endswith("\n")
    done, held, rest = (part.split() for part in line.split("|"))
    open_call, n_held = int(rest[0]), int(rest[1])
    assert n_held >= len(held) * 3
    with CallLog.open(db) as log:
        with closing(sqlite3.connect(db)) as other:
            assert other.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = {c.id: c for c in log.calls()}
        # Every call written before the disk filled is whole; the call whose end was held
        # is closed as interrupted; the held ones never reached the file.
        last_done = [int(c) for c in done][-1]
        for c in map(int, done[:-1]):
            assert rows[c].outcome == "completed" and len(log.events(c)) == 2, c
        assert last_done not in rows or rows[last_done].outcome in ("completed", "interrupted")
        assert rows[open_call].outcome == "interrupted" and rows[open_call].answer == T0 + 61
        assert not set(map(int, held)) & rows.keys()
        assert log.interrupted == 1 + (last_done in rows and rows[last_done].outcome == "interrupted")
        # and it takes calls again, above every id it gave out before
        assert log.start("line 1", 1, T0 + 9000) > open_call


# --- retention ---

def test_housekeeping_prunes_by_age_whole_calls_and_old_agent_events(tmp_path):
    day = 86400.0
    with CallLog.open(tmp_path / "calls.db") as log:
        ids = [full_call(log, T0 + i * day) for i in range(10)]          # one call a day
        for i in range(10):
            log.agent_event("olena", T0 + i * day + 1, "login")
        back = log.start_callback(ids[3], T0 + 6 * day, "0441234567")  # linked to a call that goes
        log.end(back, T0 + 6 * day + 60, "no-answer")
        live = log.start("line 2", 2, T0 - day)                         # in progress: never pruned
        now = T0 + 10 * day
        while log.housekeeping(now, keep_days=4.5, max_mb=500):
            pass
        left = sorted(c.id for c in log.calls())
        assert left == sorted(ids[6:] + [back, live])
        assert log.callback_of(back) is None
        assert [e.at for e in log.agent_events()] == [T0 + i * day + 1 for i in range(6, 10)]
        with closing(sqlite3.connect(tmp_path / "calls.db")) as db:
            assert db.execute("SELECT COUNT(*) FROM events WHERE call NOT IN (SELECT id FROM calls)").fetchone() == (0,)
        assert not log.housekeeping(now, keep_days=4.5, max_mb=500)
        # never the newest call, however old: the next id stands on it
        log.end(live, T0 - day + 5, "abandoned")
        newest = full_call(log, T0 + 11 * day)
        while log.housekeeping(T0 + 5000 * day, keep_days=1, max_mb=500):
            pass
        assert [c.id for c in log.calls()] == [newest]


def size(path):
    return os.path.getsize(path)


def test_housekeeping_prunes_by_size_and_a_new_log_gives_the_pages_back(tmp_path):
    path = tmp_path / "calls.db"
    with CallLog.open(path) as log:
        assert log._conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)          # incremental
        ids = [full_call(log, T0 + 60 * i, caller=f"04412{i:05d}", name="X" * 200) for i in range(3000)]
        log._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = size(path)
        assert grown > 2 << 20
        steps = 0
        while log.housekeeping(T0 + 60 * 3000, keep_days=400, max_mb=1):
            steps += 1
        log._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        left = sorted(c.id for c in log.calls())
        assert left == ids[-len(left):] and 100 < len(left) < 3000         # the newest kept
        assert log._used_bytes() <= 1 << 20 and size(path) <= (1 << 20) + 64 * 1024 and steps > 10
        print(f"\n{len(ids) - len(left)} calls pruned in {steps} steps; file {grown} -> {size(path)} bytes")


def test_an_older_log_without_auto_vacuum_reuses_its_freed_pages(tmp_path):
    path = tmp_path / "calls.db"
    CallLog.open(path).close()
    with closing(sqlite3.connect(path)) as db:          # as logs were made before incremental auto-vacuum
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA auto_vacuum = NONE")
        db.execute("VACUUM")
    with CallLog.open(path) as log:
        assert log._conn.execute("PRAGMA auto_vacuum").fetchone() == (0,)
        t = T0
        for _ in range(2000):
            full_call(log, t, name="X" * 200)
            t += 60
        while log.housekeeping(t, keep_days=400, max_mb=1):
            pass
        log._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        kept = size(path)
        assert log._conn.execute("PRAGMA freelist_count").fetchone()[0] > 0     # not given back
        for _ in range(500):                             # new calls go into the freed pages
            full_call(log, t, name="X" * 200)
            t += 60
            while log.housekeeping(t, keep_days=400, max_mb=1):
                pass
        log._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert size(path) <= kept + 64 * 1024


def test_housekeeping_waits_while_records_are_held(tmp_path):
    with CallLog.open(tmp_path / "calls.db") as log:
        old = full_call(log, T0)
        disk_full(log)
        t = T0 + 100
        while not log.held:
            full_call(log, t)
            t += 100
        assert log.housekeeping(T0 + 1000 * 86400, keep_days=1, max_mb=500)     # more to do: later
        assert log.call(old).outcome == "operator"


def test_lines_out_of_service_and_back(tmp_path, monkeypatch):
    """A log made before lines' events existed gains them; they keep their order, and a
    kind the log does not know is refused by name."""
    path = tmp_path / "calls.db"
    monkeypatch.setattr(calllog, "MIGRATIONS", calllog.MIGRATIONS[:3])
    with CallLog.open(path) as log:
        call = full_call(log, T0)
    monkeypatch.undo()
    with CallLog.open(path) as log:
        log.line_event("line1", T0 + 60, "out-of-service", "span alarm")
        log.line_event("line2", T0 + 61, "out-of-service", "span alarm")
        log.line_event("line1", T0 + 90, "in-service", "span alarm cleared")
        with pytest.raises(CallLogError) as e:
            log.line_event("line1", T0 + 91, "melted")
        assert "line line1: unknown line event 'melted'" in str(e.value) and "in-service" in str(e.value)
        assert [(x.line, x.kind) for x in log.line_events()] == [
            ("line1", "out-of-service"), ("line2", "out-of-service"), ("line1", "in-service")]
        assert [x.at for x in log.line_events(limit=1)] == [T0 + 90]
        assert log.call(call).outcome == "operator"
