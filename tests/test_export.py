"""The call log as Asterisk's queue_log and Master.csv: hand-made calls for every way
through a queue (and agents' log-ins and pauses) to the exact lines Asterisk would
write; hostile caller ID that must not break a line or a field; a simulated day read
back by a small queue_log parser and Python's csv module; and the command's errors."""
from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from appliance import config, export, simulate, traffic, visits
from appliance.calllog import AgentEvent, Call, CallEvent
from appliance.export import Site, cdr_csv, cdr_record, period, queue_log
from appliance.visits import LoggedCall, of_call
from tests.test_simulate import HERE, traffic_file

T0 = 1796108400.0           # 2026-12-01 09:00:00 in Kyiv (UTC+2)
KYIV = Site(timezone="Europe/Kyiv", queues_of={"ann": ("sales", "support"), "bob": ("support",)},
            phone_of={"ann": 4, "bob": 5}, extension_of={"cy": "201"},
            exit_key={"support": "9"}, callback_key={"support": "2"})


def logged(cid, events, outcome="answered", start=0.4, end=None, answer=1.0, caller="0501234567", name="",
           channel=1, callback_of=None, line="line1", menus=("main",)):
    evs = [CallEvent(cid, T0 + at, kind, detail) for at, kind, detail in events]
    end = (events[-1][0] if events else start) if end is None else end
    c = Call(cid, line, channel, caller, name, "", T0 + start, None if answer is None else T0 + answer,
             None if outcome is None else T0 + end, menus, (), outcome, "en")
    return LoggedCall(c, of_call(c, evs), callback_of)


def uid(cid, start=0.4):
    return f"{int(T0 + start)}.{cid}"


def t(s):
    return str(int(T0 + s))


# -- queue_log: hand-made calls -----------------------------------------------------

def test_answered_after_a_missed_ring_and_ended_by_the_agent():
    lc = logged(7, [(10.2, "queued", "support"), (11, "ringing", "ann"), (26, "ring-no-answer", "ann"),
                    (27, "ringing", "bob"), (30.5, "connected", "bob"), (130.9, "agent-hangup", "bob"),
                    (130.9, "wrap-up", "bob 10.0"), (131, "hangup", "normal")], end=131)
    u = uid(7)
    assert queue_log([lc], site=KYIV) == [
        f"{t(10)}|{u}|support|NONE|ENTERQUEUE||0501234567|1",
        f"{t(26)}|{u}|support|Agent/ann|RINGNOANSWER|15000",
        f"{t(30)}|{u}|support|Agent/bob|CONNECT|20|{u}-1|3",
        f"{t(130)}|{u}|support|Agent/bob|COMPLETEAGENT|20|100|1",
    ]


def test_the_caller_hangs_up_on_the_agent():
    lc = logged(8, [(5, "queued", "support"), (5, "ringing", "bob"), (9, "connected", "bob"),
                    (70, "hangup", "normal")])
    assert queue_log([lc])[-1] == f"{t(70)}|{uid(8)}|support|Agent/bob|COMPLETECALLER|4|61|1"


def test_abandons_with_positions_by_arrival():
    """A joins at 10 and is answered at 40; B joins at 20 behind A and hangs up at 50,
    first in line by then; C joins at 30 behind both and hangs up at 70, first too."""
    a = logged(1, [(10, "queued", "q"), (40, "connected", "bob"), (90, "agent-hangup", "bob")])
    b = logged(2, [(20, "queued", "q"), (50, "hangup", "normal")], outcome="abandoned", start=19)
    c = logged(3, [(30, "queued", "q"), (70, "hangup", "normal")], outcome="abandoned", start=29)
    lines = queue_log([a, b, c])
    assert [ln for ln in lines if "ENTERQUEUE" in ln or "ABANDON" in ln] == [
        f"{t(10)}|{uid(1)}|q|NONE|ENTERQUEUE||0501234567|1",
        f"{t(20)}|{uid(2, 19)}|q|NONE|ENTERQUEUE||0501234567|2",
        f"{t(30)}|{uid(3, 29)}|q|NONE|ENTERQUEUE||0501234567|3",
        f"{t(50)}|{uid(2, 19)}|q|NONE|ABANDON|1|2|30",
        f"{t(70)}|{uid(3, 29)}|q|NONE|ABANDON|1|3|40",
    ]


def test_a_timeout_sends_the_caller_to_another_queue_under_the_same_callid():
    lc = logged(9, [(5, "queued", "support"), (65, "timeout", "support -> queue:sales"), (65, "queued", "sales"),
                    (80, "connected", "ann"), (100, "agent-hangup", "ann")])
    u = uid(9)
    assert queue_log([lc], site=KYIV) == [
        f"{t(5)}|{u}|support|NONE|ENTERQUEUE||0501234567|1",
        f"{t(65)}|{u}|support|NONE|EXITWITHTIMEOUT|1|1|60",
        f"{t(65)}|{u}|sales|NONE|ENTERQUEUE||0501234567|1",
        f"{t(80)}|{u}|sales|Agent/ann|CONNECT|15|{u}-2|0",
        f"{t(100)}|{u}|sales|Agent/ann|COMPLETEAGENT|15|20|1",
    ]


def test_leaving_by_the_exit_key_or_because_the_queue_emptied():
    key = logged(10, [(5, "queued", "support"), (20, "exit-key", "support -> menu:main")], outcome="completed")
    empty = logged(11, [(5, "queued", "support"), (50, "empty", "support -> hangup")], outcome="completed")
    assert queue_log([key], site=KYIV)[-1] == f"{t(20)}|{uid(10)}|support|NONE|EXITWITHKEY|9|1|1|15"
    assert queue_log([key])[-1] == f"{t(20)}|{uid(10)}|support|NONE|EXITWITHKEY||1|1|15"
    assert queue_log([empty])[-1] == f"{t(50)}|{uid(11)}|support|NONE|EXITEMPTY|1|1|45"


def test_callers_turned_away_at_the_door_get_a_line_asterisk_would_not_write():
    full = logged(12, [(5, "full", "support -> hangup")], outcome="completed")
    empty = logged(13, [(5, "empty", "support -> menu:main")], outcome="completed")
    over = logged(14, [(5, "overflow", "support -> queue:sales"), (5, "queued", "sales"),
                       (6, "hangup", "normal")], outcome="abandoned")
    assert queue_log([full]) == [f"{t(5)}|{uid(12)}|support|NONE|FULL|"]
    assert queue_log([empty]) == [f"{t(5)}|{uid(13)}|support|NONE|JOINEMPTY|"]
    assert queue_log([over]) == [f"{t(5)}|{uid(14)}|support|NONE|DIVERT_HOLDTIME|",
                                 f"{t(5)}|{uid(14)}|sales|NONE|ENTERQUEUE||0501234567|1",
                                 f"{t(6)}|{uid(14)}|sales|NONE|ABANDON|1|1|1"]


def test_a_callback_taken_and_the_call_back_that_reached_the_caller():
    asked = logged(15, [(5, "queued", "support"), (60, "callback-key", "support: 2")], outcome="callback", end=90)
    back = logged(16, [(90, "callback-queued", "support: 0501234567"), (300, "reserved", "bob"),
                       (301, "dial", "line3 0501234567"), (320, "ringing", "bob"), (322, "connected", "bob"),
                       (400, "hangup", "normal")], start=90, answer=320, callback_of=15, line="callback",
                  channel=0, menus=())
    missed = logged(17, [(95, "callback-queued", "support: 0671112233")], outcome="no-answer", start=95,
                    end=700, answer=None, caller="0671112233", callback_of=18, line="callback", channel=0, menus=())
    ub, um = uid(16, 90), uid(17, 95)
    assert queue_log([asked, back, missed], site=KYIV) == [
        f"{t(5)}|{uid(15)}|support|NONE|ENTERQUEUE||0501234567|1",
        f"{t(90)}|{uid(15)}|support|NONE|EXITWITHKEY|2|1|1|85",
        f"{t(90)}|{ub}|support|NONE|ENTERQUEUE||0501234567|1",
        f"{t(95)}|{um}|support|NONE|ENTERQUEUE||0671112233|2",
        f"{t(322)}|{ub}|support|Agent/bob|CONNECT|232|{ub}-1|2",
        f"{t(400)}|{ub}|support|Agent/bob|COMPLETECALLER|232|78|1",
        f"{t(700)}|{um}|support|NONE|EXITWITHTIMEOUT|1|2|605",
    ]


def test_a_transfer_to_the_agents_extension():
    lc = logged(19, [(5, "queued", "support"), (12, "connected", "cy"), (12, "transfer", "cy 201"),
                     (14.5, "transferred", "201")], outcome="transferred")
    assert queue_log([lc], site=KYIV)[-1] == f"{t(14)}|{uid(19)}|support|Agent/cy|TRANSFER|201||7|2|1"


def test_a_call_still_in_progress_is_left_for_the_next_export():
    lc = logged(20, [(5, "queued", "support"), (6, "ringing", "ann")], outcome=None, answer=1.0)
    assert queue_log([lc]) == [] and cdr_csv([lc]) == []


def test_agents_log_in_pause_and_log_out_in_each_of_their_queues():
    agents = [AgentEvent(T0 + 1, "ann", "login", "", "desk1"),
              AgentEvent(T0 + 50, "ann", "pause", "lunch", "desk1"),
              AgentEvent(T0 + 51, "ann", "wrong-pin", "try 1 of 3", "desk1"),
              AgentEvent(T0 + 90, "ann", "unpause", "", "console"),
              AgentEvent(T0 + 3600, "ann", "logout", "", "desk1")]
    assert queue_log([], agents, KYIV) == [
        f"{t(1)}|NONE|NONE|Agent/ann|AGENTLOGIN|DAHDI/4-1",
        f"{t(1)}|NONE|sales|Agent/ann|ADDMEMBER|",
        f"{t(1)}|NONE|support|Agent/ann|ADDMEMBER|",
        f"{t(50)}|NONE|sales|Agent/ann|PAUSE|lunch",
        f"{t(50)}|NONE|support|Agent/ann|PAUSE|lunch",
        f"{t(90)}|NONE|sales|Agent/ann|UNPAUSE|",
        f"{t(90)}|NONE|support|Agent/ann|UNPAUSE|",
        f"{t(3600)}|NONE|sales|Agent/ann|REMOVEMEMBER|",
        f"{t(3600)}|NONE|support|Agent/ann|REMOVEMEMBER|",
        f"{t(3600)}|NONE|NONE|Agent/ann|AGENTLOGOFF|DAHDI/4-1|3599",
    ]
    # From --from on: the login before it is not written, but its time is still known.
    assert queue_log([], agents, KYIV, start=T0 + 60)[-1] == f"{t(3600)}|NONE|NONE|Agent/ann|AGENTLOGOFF|DAHDI/4-1|3599"
    assert len(queue_log([], agents, KYIV, start=T0 + 60)) == 5


def test_without_the_office_an_agents_queues_are_those_they_were_rung_for():
    lc = logged(21, [(5, "queued", "support"), (6, "ringing", "bob"), (8, "connected", "bob"),
                     (60, "agent-hangup", "bob")])
    agents = [AgentEvent(T0 + 30, "bob", "pause", "break", "acd"), AgentEvent(T0 + 40, "eve", "pause", "", "console")]
    lines = queue_log([lc], agents)
    assert f"{t(30)}|NONE|support|Agent/bob|PAUSE|break" in lines
    assert f"{t(40)}|NONE|NONE|Agent/eve|PAUSE|" in lines


def test_lines_are_in_time_order_across_calls_and_agents():
    a = logged(1, [(10, "queued", "q"), (40, "connected", "bob"), (90, "agent-hangup", "bob")])
    b = logged(2, [(20, "queued", "q"), (50, "hangup", "normal")], outcome="abandoned", start=19)
    agents = [AgentEvent(T0 + 40, "ann", "pause", "x", "acd"), AgentEvent(T0 + 15, "ann", "login", "", "desk1")]
    lines = queue_log([a, b], agents, KYIV)
    seconds = [int(ln.split("|")[0]) for ln in lines]
    assert seconds == sorted(seconds)
    # At one instant a call's line comes before an agent's.
    at40 = [ln.split("|")[4] for ln in lines if ln.startswith(t(40))]
    assert at40 == ["CONNECT", "PAUSE", "PAUSE"]


# -- hostile caller ID ---------------------------------------------------------------

EVIL_NUMBER = '050|123\r\n1700000000|x|q|NONE|ABANDON|1|1|1'
EVIL_NAME = 'Bob "the" |Builder\n\x00\u2028,x'


def test_caller_id_cannot_break_a_queue_log_line():
    lc = logged(30, [(5, "queued", "q"), (9, "hangup", "normal")], outcome="abandoned", caller=EVIL_NUMBER,
                name=EVIL_NAME)
    lines = queue_log([lc])
    text = "".join(ln + "\n" for ln in lines)
    assert text.splitlines() == lines and len(lines) == 2
    enter = lines[0].split("|")
    assert len(enter) == 8 and enter[4] == "ENTERQUEUE"
    assert enter[6] == "050 123  1700000000 x q NONE ABANDON 1 1 1"


def test_caller_id_cannot_break_a_cdr_record():
    lc = logged(31, [(5, "queued", "q"), (9, "hangup", "normal")], outcome="abandoned", caller=EVIL_NUMBER,
                name=EVIL_NAME)
    line = cdr_record(lc)
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    (row,) = list(csv.reader(io.StringIO(line + "\n")))
    assert len(row) == len(export.COLUMNS)
    rec = dict(zip(export.COLUMNS, row))
    assert rec["src"] == "050|123  1700000000|x|q|NONE|ABANDON|1|1|1"
    assert rec["clid"] == "\"Bob 'the' |Builder   ,x\" <050|123  1700000000|x|q|NONE|ABANDON|1|1|1>"


# -- cdr_csv -------------------------------------------------------------------------

def test_cdr_records_of_an_answered_an_unanswered_a_refused_and_a_call_back():
    answered = logged(7, [(10.2, "queued", "support"), (27, "ringing", "bob"), (30.5, "connected", "bob"),
                          (130.9, "agent-hangup", "bob")], end=131.2, name="PETRENKO")
    rang_out = logged(8, [], outcome="abandoned", start=200.3, end=212.9, answer=None, menus=())
    blocked = logged(9, [], outcome="blocked", start=300, end=300.5, answer=None, caller="", menus=())
    menus = logged(10, [], outcome="completed", start=400, end=430, answer=401, menus=("main", "hours"))
    back = logged(16, [(90, "callback-queued", "support: 0501234567"), (320, "ringing", "bob"),
                       (322, "connected", "bob"), (400, "hangup", "normal")], start=90, answer=320, callback_of=15,
                  line="callback", channel=0, menus=())
    assert cdr_csv([answered, rang_out, blocked, menus, back], KYIV) == [
        '"","0501234567","support","main","""PETRENKO"" <0501234567>","DAHDI/1-1","DAHDI/5-1","Queue","support",'
        f'"2026-12-01 09:00:00","2026-12-01 09:00:01","2026-12-01 09:02:11",131,130,"ANSWERED","DOCUMENTATION",'
        f'"{uid(7)}","answered"',
        '"","0501234567","s","","0501234567","DAHDI/1-1","","","","2026-12-01 09:03:20",,"2026-12-01 09:03:32",'
        f'12,0,"NO ANSWER","DOCUMENTATION","{uid(8, 200.3)}","abandoned"',
        '"","","s","","","DAHDI/1-1","","","","2026-12-01 09:05:00",,"2026-12-01 09:05:00",0,0,"BUSY",'
        f'"DOCUMENTATION","{uid(9, 300)}","blocked"',
        '"","0501234567","s","hours","0501234567","DAHDI/1-1","","BackGround","hours","2026-12-01 09:06:40",'
        f'"2026-12-01 09:06:41","2026-12-01 09:07:10",30,29,"ANSWERED","DOCUMENTATION","{uid(10, 400)}","completed"',
        '"","0501234567","support","callback","0501234567","Local/0501234567@callback","DAHDI/5-1","Queue",'
        f'"support","2026-12-01 09:01:30","2026-12-01 09:05:20","2026-12-01 09:06:40",310,80,"ANSWERED",'
        f'"DOCUMENTATION","{uid(16, 90)}","answered"',
    ]


def test_a_click_to_call_is_a_line_s_cdr_and_no_queue_log_line():
    out = logged(11, [(0, "click-to-call", "ann"), (0, "dial", "line4 0671234567"), (3, "hangup", "far end")],
                 outcome="outbound", start=0, end=63, answer=3, caller="0671234567", channel=4, line="line4",
                 menus=())
    assert queue_log([out], site=KYIV) == []
    assert cdr_csv([out], KYIV) == [
        '"","0671234567","s","","0671234567","DAHDI/4-1","","Answer","","2026-12-01 09:00:00",'
        f'"2026-12-01 09:00:03","2026-12-01 09:01:03",63,60,"ANSWERED","DOCUMENTATION","{uid(11, 0)}","outbound"']


def test_cdr_times_are_utc_without_the_office():
    lc = logged(7, [], outcome="completed", start=0, end=5, answer=1)
    assert '"2026-12-01 07:00:00","2026-12-01 07:00:01","2026-12-01 07:00:05",5,4' in cdr_record(lc)


def test_dispositions():
    def disp(outcome, answer):
        return export.disposition(logged(1, [], outcome=outcome, end=3, answer=answer))
    assert [disp("answered", 1), disp("abandoned", None), disp("blocked", None), disp("error", None),
            disp("interrupted", None), disp("error", 1)] == ["ANSWERED", "NO ANSWER", "BUSY", "FAILED", "FAILED",
                                                            "ANSWERED"]


# -- the period ----------------------------------------------------------------------

def test_period_reads_dates_in_the_offices_zone():
    assert period(None, None) == (None, None)
    assert period("2026-12-01", "2026-12-01", "Europe/Kyiv") == (T0 - 9 * 3600, T0 + 15 * 3600)
    assert period("2026-12-01 09:00", "2026-12-01T10:30:00", "Europe/Kyiv") == (T0, T0 + 5400)
    assert period("2026-12-01", None) == (T0 - 7 * 3600, None)


@pytest.mark.parametrize("start, end, message", [
    ("2026-13-01", None, "--from: '2026-13-01' is not a date"),
    (None, "yesterday", "--to: 'yesterday' is not a date"),
    ("2026-12-02", "2026-12-01 12:00", "--from 2026-12-02 is not before --to 2026-12-01 12:00"),
    ("2026-12-01 09:00+02:00", None, "without a zone"),
])
def test_period_refuses_what_is_not_a_range(start, end, message):
    with pytest.raises(export.ExportError, match=message):
        period(start, end, "Europe/Kyiv")


# -- a simulated day -----------------------------------------------------------------

def parse_queue_log(text):
    """A queue statistics program's view: each callid's events in order, and the agents'."""
    calls, agents = defaultdict(list), []
    for line in text.splitlines():
        epoch, callid, queue, agent, event, *data = line.split("|")
        row = (int(epoch), queue, agent, event, data)
        (agents if callid == "NONE" else calls[callid]).append(row)
    return calls, agents


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    path = traffic_file(tmp, [(60, 2), (90, 2), (40, 1)], handle_s=120)
    db = tmp / "log.sqlite"
    office = config.load(str(HERE / "office-small.toml"))
    sim = simulate.Simulation(office, traffic.load(str(path)), log_path=db)
    try:
        records = {r["id"]: r for r in sim.run() if r["id"] is not None}
    finally:
        sim.close()
    return db, office, records


def test_a_simulated_days_queue_log_read_back(day):
    db, office, records = day
    site = export.site_of(office)
    calls = list(visits.read(str(db)))
    text = "".join(ln + "\n" for ln in queue_log(calls, visits.agent_events(str(db)), site))
    by_call, agents = parse_queue_log(text)
    seconds = [int(ln.split("|")[0]) for ln in text.splitlines()]
    assert seconds == sorted(seconds)
    by_uid = {export.uniqueid(lc): lc for lc in calls}
    outcomes = Counter()
    for callid, rows in by_call.items():
        lc = by_uid[callid]
        (v,) = lc.visits
        events = [r[3] for r in rows if r[3] != "RINGNOANSWER"]
        outcomes[events[-1]] += 1
        enter = rows[0]
        assert enter[3] == "ENTERQUEUE" and enter[1] == "support" and enter[4][1] == lc.call.caller
        assert int(enter[4][2]) >= 1
        if v.outcome == "answered":
            assert events[:2] == ["ENTERQUEUE", "CONNECT"] and events[2] in ("COMPLETEAGENT", "COMPLETECALLER")
            connect, complete = rows[[r[3] for r in rows].index("CONNECT")], rows[-1]
            hold = int(connect[4][0])
            assert hold == connect[0] - enter[0] and abs(hold - v.wait) < 1
            assert abs(hold - records[lc.call.id]["wait_s"]) < 1
            assert connect[2] == complete[2] == f"Agent/{v.agent}"
            assert int(complete[4][0]) == hold and int(complete[4][1]) == complete[0] - connect[0]
            assert abs(int(complete[4][1]) - v.talk) < 1
        else:
            assert events == ["ENTERQUEUE", "ABANDON"] and v.outcome == "abandoned"
            assert int(rows[-1][4][2]) == rows[-1][0] - enter[0]
    answered = sum(1 for r in records.values() if r["outcome"] == "answered")
    abandoned = sum(1 for r in records.values() if r["outcome"] == "abandoned")
    assert answered > 100 and abandoned > 5
    assert outcomes["COMPLETEAGENT"] + outcomes["COMPLETECALLER"] == answered
    assert outcomes["ABANDON"] == abandoned
    assert len(by_call) == sum(1 for r in records.values() if r["queue"] is not None)
    # The third hour has one agent: one logs out, in the queue and as an agent.
    kinds = Counter(r[3] for r in agents)
    assert kinds["REMOVEMEMBER"] == kinds["AGENTLOGOFF"] >= 1
    logoff = next(r for r in agents if r[3] == "AGENTLOGOFF")
    assert logoff[4][0] in ("DAHDI/4-1", "DAHDI/5-1")


def test_a_simulated_days_cdr_read_back_with_the_csv_module(day):
    db, office, records = day
    site = export.site_of(office)
    calls = {export.uniqueid(lc): lc.call for lc in visits.read(str(db))}
    text = "".join(ln + "\n" for ln in cdr_csv(visits.read(str(db)), site))
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == len(records)
    kyiv = dt.timezone(dt.timedelta(hours=2))        # a December day

    def epoch(s):
        return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=kyiv).timestamp()

    dispositions = Counter()
    for row in rows:
        assert len(row) == len(export.COLUMNS)
        rec = dict(zip(export.COLUMNS, row))
        call = calls[rec["uniqueid"]]
        r = records[call.id]
        assert epoch(rec["start"]) == int(call.start) and epoch(rec["end"]) == int(call.end)
        assert rec["src"] == call.caller and rec["channel"] == f"DAHDI/{call.channel}-1"
        assert int(rec["duration"]) == epoch(rec["end"]) - epoch(rec["start"])
        if rec["answer"]:
            assert int(rec["billsec"]) == epoch(rec["end"]) - epoch(rec["answer"])
        else:
            assert rec["billsec"] == "0"
        assert rec["amaflags"] == "DOCUMENTATION" and rec["userfield"] == call.outcome
        if r["outcome"] == "answered":
            assert rec["dstchannel"] in ("DAHDI/4-1", "DAHDI/5-1") and rec["lastapp"] == "Queue"
        dispositions[rec["disposition"]] += 1
    assert dispositions["ANSWERED"] > 100


# -- the command ---------------------------------------------------------------------

def export_cli(*args):
    return subprocess.run([sys.executable, "-m", "appliance.cli", "export", *map(str, args)],
                          capture_output=True, text=True)


def test_the_command_writes_both_formats(day, tmp_path):
    db, _, records = day
    out = tmp_path / "queue_log"
    r = export_cli("--db", db, "--format", "queue_log", "--config", HERE / "office-small.toml", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "ENTERQUEUE" in out.read_text(encoding="utf-8") and r.stdout == ""
    r = export_cli("--db", db, "--format", "cdr_csv", "--from", "2000-01-01", "--to", "2100-01-01")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(records)
    r = export_cli("--db", db, "--format", "cdr_csv", "--to", "2000-01-01")
    assert (r.returncode, r.stdout) == (0, "")


@pytest.mark.parametrize("args, message", [
    (["--format", "queue_log"], "the following arguments are required: --db"),
    (["--db", "{db}", "--format", "csv"], "invalid choice: 'csv'"),
    (["--db", "{tmp}/none.sqlite", "--format", "cdr_csv"], "none.sqlite: no call log there"),
    (["--db", "{db}", "--format", "cdr_csv", "--from", "2026-02-30"], "--from: '2026-02-30' is not a date"),
    (["--db", "{db}", "--format", "cdr_csv", "--from", "2026-12-02", "--to", "2026-12-01"], "is not before --to"),
    (["--db", "{db}", "--format", "cdr_csv", "--config", "{tmp}/none.toml"], "none.toml"),
    (["--db", "{db}", "--format", "cdr_csv", "--out", "{tmp}/no/such/dir/x.csv"], "--out"),
])
def test_bad_arguments_are_refused_in_one_line_with_status_2(day, tmp_path, args, message):
    db, _, _ = day
    r = export_cli(*[a.format(db=db, tmp=tmp_path) for a in args])
    assert r.returncode == 2 and r.stdout == ""
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(("appliance export: ", "usage:", "appliance: error"))
