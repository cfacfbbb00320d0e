"""The box as a person runs it: `appliance run` with its console, a bad configuration
refused plainly, and a kill in the middle of a hundred calls losing no finished call."""
from __future__ import annotations

import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.calllog import CallLog

REPO = Path(__file__).resolve().parent.parent


def test_bad_configuration_is_refused_without_a_traceback(tmp_path):
    bad = tmp_path / "office.toml"
    bad.write_text('[office]\nname = "x"\nentry = "main"\n[[line]]\nname = "a"\nchannel = 1\nkind = "fxq"\n')
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "run", "--config", str(bad), "--for", "1",
                        "--log", str(tmp_path / "calls.db")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"{bad}:7: line[0].kind: 'fxq' is not one of fxo, fxs" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_console_session_through_the_demo_office(tmp_path):
    """Typed lines on standard input, the box paced in real time for a few seconds."""
    script = "help\nhours open\ntest call line1 0501234567 PETRENKO\nshow nothing\nshow ?\n"
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "run", "--for", "7", "--log",
                        str(tmp_path / "calls.db")], input=script, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "test call LINE [NUMBER [NAME]]" in out                     # help
    assert "new calls are answered as open" in out
    assert "line1: caller ID 0501234567 (PETRENKO)" in out
    assert "line1: caller hears welcome [en]: Thank you for calling Demo Trading." in out
    assert "% unknown word 'nothing' at position 2" in out
    assert "  queues           each queue, its agents and its waiting callers" in out     # ? at the end
    assert "Traceback" not in r.stderr


def test_show_calls_and_log(tmp_path):
    out = io.StringIO()
    box = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=out)
    try:
        box.command("show log")
        assert "no calls yet" in out.getvalue()
        box.command("hours closed")
        box.command("test call line2 0441112233")
        box.run(30, paced=False)
        box.command("show log")
        box.command("show events")
        box.command("show events 999")
        said = out.getvalue()
        assert "line2      0441112233" in said and "after-hours" in said and "closed" in said
        assert "menu       closed" in said
        assert "999" in said.splitlines()[-1]
    finally:
        box.close()


DRIVER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from appliance import config
    from appliance.box import DEMO_OFFICE, Box

    box = Box(config.load(str(DEMO_OFFICE)), Path(sys.argv[1]), out=open("/dev/null", "w"))
    box.supervisor.hours_override = True
    box.supervisor.on_end = lambda call, outcome: print("ended", call.log_id, outcome, flush=True)
    lines = ["line1", "line2", "line3", "line4"]
    state = {ln: ("idle", 0) for ln in lines}
    placed = [0]

    def tick(b):
        now = b.engine.now
        for i, ln in enumerate(lines):
            what, at = state[ln]
            port = b.ports[ln]
            if what == "idle" and placed[0] < 100 and now >= at:
                b.callers[ln].ring("05012345%02d" % placed[0], "")
                placed[0] += 1
                state[ln] = ("ringing", now)
            elif what == "ringing" and b.engine.state(port) in ("playing", "collecting"):
                b.callers[ln].press("1")
                state[ln] = ("in-menu", now + 8000 * (2 + i))
            elif what == "in-menu" and now >= at:
                b.callers[ln].hangup()
                state[ln] = ("idle", now + 8000)
        if placed[0] >= 100 and all(s[0] == "idle" for s in state.values()):
            b.running = False

    box.run(None, paced=False, tick=tick)
''')


def test_kill_in_the_middle_of_a_hundred_calls_loses_no_finished_call(tmp_path):
    db = tmp_path / "calls.db"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    p = subprocess.Popen([sys.executable, str(driver), str(db)], stdout=subprocess.PIPE, text=True,
                         cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)})
    ended = {}
    deadline = time.monotonic() + 300
    try:
        for line in p.stdout:
            _, call, outcome = line.split()
            ended[int(call)] = outcome
            if len(ended) >= 50:
                break
            assert time.monotonic() < deadline, "the driver is too slow to reach 50 calls"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    # Ends printed between the last line read and the kill are in the pipe still.
    for line in p.stdout:
        _, call, outcome = line.split()
        ended[int(call)] = outcome
    assert len(ended) >= 50
    with CallLog.open(db) as log:
        rows = {c.id: c for c in log.calls()}
        for call, outcome in ended.items():
            assert rows[call].outcome == outcome and rows[call].end is not None, call
            assert log.events(call), call
        in_progress = [c for c in rows.values() if c.id not in ended and c.outcome == "interrupted"]
        # The kill may fall between a call's end being written and its line printed:
        # that call is whole too, and there can be one such at most.
        whole_unprinted = [c for c in rows.values() if c.id not in ended and c.outcome != "interrupted"]
        assert len(whole_unprinted) <= 1 and all(c.end is not None for c in whole_unprinted)
        assert log.interrupted == len(in_progress)
    print(f"\n{len(ended)} calls ended before the kill, {len(in_progress)} closed as interrupted")


def test_reload_refuses_a_broken_file_and_takes_a_good_one(tmp_path):
    office_file = tmp_path / "office.toml"
    good = DEMO_OFFICE.read_text(encoding="utf-8")
    office_file.write_text(good, encoding="utf-8")
    out = io.StringIO()
    box = Box(config.load(str(office_file)), tmp_path / "calls.db", out=out)
    box.supervisor.hours_override = True
    try:
        office_file.write_text(good.replace('entry = "main"', 'entry = "mian"'), encoding="utf-8")
        box.command("reload")
        said = out.getvalue()
        assert "refused; the running configuration stays" in said
        assert f"{office_file}:10: office.entry: no menu 'mian'" in said
        assert box.supervisor.office.entry == "main"

        office_file.write_text(good.replace('[[line]]\nname = "line4"', '[[line]]\nname = "line9"'),
                               encoding="utf-8")
        assert not box.reload() and "the lines changed" in out.getvalue()

        # A call in progress keeps what it started with; the next call hears the new text.
        box.callers["line1"].ring("0501234567", "")
        box.run(8, paced=False)
        office_file.write_text(good.replace("Thank you for calling Demo Trading.",
                                            "Welcome to Demo Trading, now with a new greeting."), encoding="utf-8")
        sent = []

        def hang_up_signal(b):      # as a daemon is told, while it runs
            if not sent:
                sent.append(os.kill(os.getpid(), signal.SIGHUP))
        box.run(1, paced=False, tick=hang_up_signal)
        assert "reloaded" in out.getvalue()
        box.callers["line1"].press("1")
        box.run(3, paced=False)
        assert "line1: caller hears sales [en]" in out.getvalue()
        box.callers["line2"].ring("0501234568", "")
        box.run(8, paced=False)
        assert "line2: caller hears welcome [en]: Welcome to Demo Trading, now with a new greeting." in out.getvalue()
    finally:
        box.close()


def test_agents_from_the_console(tmp_path):
    out = io.StringIO()
    box = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=out)
    box.supervisor.hours_override = True
    try:
        box.command("agent olena pause lunch")
        box.command("agent ivan logout")
        box.command("agent ivan logout")
        box.command("agent zed login")
        box.command("show agents")
        said = out.getvalue()
        assert "agent olena: paused (lunch)" in said and "agent ivan: logged-out" in said
        assert "agent ivan is not logged in" in said
        assert "no name 'zed' at position 2; one of: olena, ivan" in said
        assert "olena        paused      lunch" in said
        # A caller for sales waits; olena back from lunch is rung for them at once.
        box.callers["line1"].ring("0501234567", "")
        box.run(8, paced=False)
        box.callers["line1"].press("1")
        box.run(2, paced=False)
        box.callers["line1"].press("1")
        box.run(2, paced=False)
        assert box.supervisor.acd.waiting("sales")
        box.command("agent olena unpause")
        box.run(1, paced=False)
        assert box.phones["desk1"].state == "ringing"
    finally:
        box.close()


# --- a full disk under the box ---

def run_until(box: Box, cond, limit_s: float = 60.0) -> None:
    end = box.engine.now_ms + limit_s * 1000
    while box.engine.now_ms < end:
        box.run(0.1, paced=False)
        if cond():
            return
    raise AssertionError(f"not within {limit_s} s; the box said:\n{box.out.getvalue()[-3000:]}")


LINES = ["line1", "line2", "line3", "line4"]


def queue_and_hang_up(box: Box, first: int) -> None:
    """A caller on every line: through the menus (1 sales, 1 the queue) into the sales
    queue, where each hangs up; every step waits for the box to carry the last out."""
    sup = box.supervisor

    def on(ln):
        return sup.calls.get(box.ports[ln])

    for i, ln in enumerate(LINES):
        box.callers[ln].ring(f"05012345{first + i:02d}", "")
    run_until(box, lambda: all(on(ln) and on(ln).flow and on(ln).flow.waiting == "ask" for ln in LINES))
    for ln in LINES:
        box.callers[ln].press("1")
    run_until(box, lambda: all("sales" in on(ln).heard and on(ln).flow.waiting == "ask" for ln in LINES))
    for ln in LINES:
        box.callers[ln].press("1")
    run_until(box, lambda: all(on(ln).queue == "sales" for ln in LINES))
    box.run(2, paced=False)
    for ln in LINES:
        box.callers[ln].hangup()
    run_until(box, lambda: not sup.calls)


@pytest.fixture
def small_disk(tmp_path):
    """A file system of 8 MiB of its own (tmpfs): a real ENOSPC. Needs mount rights."""
    where = tmp_path / "disk"
    where.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True,
                           text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True, timeout=30)


def fill(where: Path) -> Path:
    """Every free block of the file system taken by one file."""
    filler = where / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    return filler


@pytest.mark.parametrize("disk", ["page-limit", "tmpfs"])
def test_the_box_answers_through_a_full_disk_and_logs_every_call_once_there_is_room(tmp_path, request, disk):
    where = request.getfixturevalue("small_disk") if disk == "tmpfs" else tmp_path
    db = where / "calls.db"
    out = io.StringIO()
    box = Box(config.load(str(DEMO_OFFICE)), db, out=out)
    box.supervisor.hours_override = True
    ended, alarms = [], []
    shown = box.supervisor.on_end
    box.supervisor.on_end = lambda call, outcome: (ended.append((call.log_id, outcome)), shown(call, outcome))
    box.supervisor.on_alarm = lambda alarm, up: (alarms.append((alarm.code, up)), box._alarm(alarm, up))
    try:
        queue_and_hang_up(box, 0)
        before = {c.id: c for c in box.log.calls()}
        with closing(sqlite3.connect(db)) as other:
            events_before = other.execute("SELECT * FROM events ORDER BY call, seq").fetchall()
        if disk == "tmpfs":
            filler = fill(where)
        else:
            # SQLite's page limit, and the box's own agent log to fill the last pages.
            conn = box.log._conn
            conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
            while not box.log.held:
                box.log.agent_event("olena", box.supervisor.now(), "status", "", "console")
        queue_and_hang_up(box, 4)
        queue_and_hang_up(box, 8)
        assert box.log.held and box.log.trouble == "disk full"
        [alarm] = box.supervisor.alarms
        assert alarm.code == "calllog-held" and alarm.text.startswith("call log: disk full, ")
        assert "ALARM call log: disk full" in out.getvalue()
        during = [c for c in box.log.calls() if c.id not in before]
        assert len(during) == 8 and all(c.answer is not None and c.outcome == "abandoned" for c in during)
        assert all("queued" in [e.kind for e in box.log.events(c.id)] for c in during)
        with closing(sqlite3.connect(db)) as other:      # nothing of theirs reached the file
            assert other.execute("SELECT COUNT(*) FROM calls").fetchone() == (4,)

        if disk == "tmpfs":
            filler.unlink()
        else:
            box.log._conn.execute("PRAGMA max_page_count = 1073741823")
        run_until(box, lambda: not box.log.held, limit_s=90)
        assert box.supervisor.alarms == [] and alarms == [("calllog-held", True), ("calllog-held", False)]
        assert "alarm cleared: call log: the held records are written" in out.getvalue()
        queue_and_hang_up(box, 12)
    finally:
        box.close()
    with CallLog.open(db) as log:
        assert log.interrupted == 0
        calls = sorted(log.calls(), key=lambda c: c.id)
        assert [c.id for c in calls] == sorted(c for c, _ in ended) and len(calls) == 16
        assert [c.start for c in calls] == sorted(c.start for c in calls)          # in order
        assert all(c.outcome == "abandoned" and c.answer is not None for c in calls)
        assert all([e.kind for e in log.events(c.id)].count("queued") == 1 for c in calls)
        assert {c.id: c for c in calls if c.id in before} == before
    with closing(sqlite3.connect(db)) as other:
        assert other.execute(f"SELECT * FROM events WHERE call IN ({', '.join('?' * len(before))}) "
                             "ORDER BY call, seq", list(before)).fetchall() == events_before


def test_a_span_in_alarm_takes_its_line_out_of_service_and_back(tmp_path):
    """A line's span in alarm mid-call: the call ends as interrupted, an alarm is up on
    the console, the call log notes the line out of service and back, and the line
    answers again once the alarm clears."""
    out = io.StringIO()
    box = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=out)
    try:
        box.supervisor.hours_override = True
        port = box.ports["line1"]
        box.callers["line1"].ring("0441112233")
        box.run(12, paced=False)
        assert box.engine.state(port) in ("playing", "collecting")
        box.sim.board.alarm(port, True)
        box.run(1, paced=False)
        assert box.engine.state(port) == "out-of-service"
        assert [a.code for a in box.supervisor.alarms] == ["line-line1"]
        box.command("show alarms")
        assert "line1 (channel 1): out of service, its span is in alarm" in out.getvalue()
        box.sim.board.alarm(port, False)
        box.run(1, paced=False)
        assert box.supervisor.alarms == []
        assert box.engine.state(port) == "idle"
        box.callers["line1"].ring("0441112244")
        box.run(12, paced=False)
        assert box.engine.state(port) in ("playing", "collecting")
        box.callers["line1"].hangup()
        box.run(3, paced=False)
    finally:
        box.close()
    with closing(CallLog.open(tmp_path / "calls.db")) as log:
        calls = sorted(log.calls(), key=lambda c: c.id)
        assert [(c.caller, c.outcome) for c in calls] == [("0441112233", "interrupted"), ("0441112244", "abandoned")]
        assert [e.detail for e in log.events(calls[0].id) if e.kind == "hangup"] == ["line-out-of-service"]
        assert [(e.line, e.kind) for e in log.line_events()] == [("line1", "out-of-service"), ("line1", "in-service")]


def test_an_agents_phone_out_of_service_is_offered_no_caller(tmp_path):
    """The agent's phone port in alarm: paused (the ACD offers no caller to a phone that
    cannot ring), and available again when it clears; both in the agent log."""
    box = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=io.StringIO())
    try:
        port = box.ports["desk1"]
        box.sim.board.alarm(port, True)
        box.run(1, paced=False)
        olena = box.supervisor.acd.agents["olena"]
        assert (olena.state, olena.reason) == ("paused", "phone out of service")
        assert box.supervisor.acd.agents["ivan"].state == "available"
        box.sim.board.alarm(port, False)
        box.run(1, paced=False)
        assert olena.state == "available"
    finally:
        box.close()
    with closing(CallLog.open(tmp_path / "calls.db")) as log:
        kinds = [(e.kind, e.detail) for e in log.agent_events("olena") if e.source == "desk1"]
        assert kinds == [("pause", "phone out of service"), ("unpause", "")]
