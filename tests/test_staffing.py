"""`appliance staffing` and `appliance simulate --traffic-from-db`: the measurement by
hour of the week, fed visits by hand; then on a call log that `appliance simulate --db`
wrote for a known traffic file (tests/traffic/office.toml: 30 lines, so nobody is
blocked, 10 agents, no wrap-up), checked against what the traffic file says, within
statistical tolerance, and against an independent count from the simulation's own
CALLS.jsonl; the report as printed; the measured week simulated again with more and
fewer agents; and every bad argument said in one line with exit status 2."""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import subprocess
import sys
import zoneinfo
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from appliance import cli, staffing
from appliance.visits import Ring, Visit

HERE = Path(__file__).resolve().parent / "traffic"
OFFICE = HERE / "office.toml"
KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
UTC = dt.timezone.utc


# -- measuring, by hand ---------------------------------------------------------------

def visit(at: dt.datetime, outcome="answered", wait=10.0, talk=100.0, wrapup=20.0, queue="support", ring=2.0):
    joined = at.timestamp()
    left = joined + wait
    if outcome == "answered":
        return Visit(1, queue, joined, left, "answered", "", "olena", left + talk, wrapup,
                     (Ring("olena", left - ring, left, "answered"),))
    return Visit(1, queue, joined, left, outcome)


def test_target_is_percent_slash_seconds():
    assert staffing.parse_target("80/20") == staffing.Target(0.8, 20.0)
    assert staffing.parse_target("90%/15s") == staffing.Target(0.9, 15.0)
    assert staffing.parse_target(" 95.5 / 30 ") == staffing.Target(0.955, 30.0)
    for bad in ("80/", "/20", "80", "120/20", "100/20", "0/20", "80/20/5", "eighty/20", "", "80/-5", "80/7200"):
        with pytest.raises(staffing.StaffingError, match="--target"):
            staffing.parse_target(bad)


def test_slots_run_from_monday_midnight():
    assert staffing.slot_name(0) == "Mon 00-01"
    assert staffing.slot_name(24 * 2 + 9) == "Wed 09-10"
    assert staffing.slot_name(167) == "Sun 23-24"


def test_hours_are_local_and_rates_are_averaged_over_the_weeks_in_the_range():
    # Monday 2 March 2026, 09:xx in Kyiv is 07:xx UTC: two Mondays, 3 calls then 1.
    mon = dt.datetime(2026, 3, 2, 9, 15, tzinfo=KYIV)
    vs = [visit(mon), visit(mon + dt.timedelta(minutes=20)), visit(mon + dt.timedelta(minutes=40), "abandoned", 30),
          visit(mon + dt.timedelta(days=7), "sent-on", 0.0),
          visit(mon.replace(hour=10) + dt.timedelta(days=2), queue="sales")]
    m = staffing.measure(vs, "support", KYIV, dt.date(2026, 3, 2), dt.date(2026, 3, 15))
    assert [h.slot for h in m.hours] == [9]
    h = m.hours[0]
    assert (h.offered, h.answered, h.abandoned, h.occurrences) == (4, 2, 1, 2)
    assert h.calls_per_h == 2.0
    assert h.aht_s == 120.0 and h.aht_pooled and h.patience_pooled
    # Patience: 1 abandon over 10 + 10 + 30 + 0 s waited.
    assert m.patience_s == 50.0
    assert m.answer_delay_s == 2.0
    # The same calls read in UTC fall in the 07-08 hour.
    assert [h.slot for h in staffing.measure(vs, "support", UTC, dt.date(2026, 3, 2), dt.date(2026, 3, 15)).hours] \
        == [7]


def test_an_hour_with_enough_calls_has_its_own_figures_and_the_others_the_pool():
    mon = dt.datetime(2026, 3, 2, 9, 0, tzinfo=KYIV)
    busy = [visit(mon + dt.timedelta(seconds=60 * i), talk=200.0, wait=5.0) for i in range(staffing.MIN_ANSWERED)]
    busy += [visit(mon + dt.timedelta(seconds=30 + 60 * i), "abandoned", wait=45.0)
             for i in range(staffing.MIN_ABANDONS)]
    quiet = [visit(mon.replace(hour=13), talk=50.0, wait=60.0)]
    m = staffing.measure(busy + quiet, "support", KYIV, dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    nine, one = m.hours
    assert not nine.aht_pooled and nine.talk_s == 200.0
    assert not nine.patience_pooled
    assert nine.patience_s == pytest.approx((30 * 5.0 + 10 * 45.0) / 10)
    assert one.aht_pooled and one.talk_s == pytest.approx(m.talk_s)
    assert one.patience_pooled and one.patience_s == m.patience_s
    assert m.talk_s == pytest.approx((30 * 200 + 50) / 31)


def test_nobody_hanging_up_means_endless_patience_and_erlang_c():
    mon = dt.datetime(2026, 3, 2, 9, 0, tzinfo=KYIV)
    m = staffing.measure([visit(mon + dt.timedelta(minutes=i)) for i in range(40)], "support", KYIV,
                         dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    assert math.isinf(m.patience_s)
    a = staffing.advise(m, staffing.parse_target("80/20"), "erlang-a")[0].performance
    c = staffing.advise(m, staffing.parse_target("80/20"), "erlang-c")[0].performance
    assert a == c


def test_a_queue_with_no_calls_in_the_range_is_said():
    with pytest.raises(staffing.StaffingError, match="no calls"):
        staffing.measure([], "support", KYIV, dt.date(2026, 3, 2), dt.date(2026, 3, 2))


# -- on a simulated call log ---------------------------------------------------------------

HOURS = [(150, 6), (60, 3), (100, 5)]          # calls, agents
HANDLE_S, PATIENCE_S = 180.0, 120.0


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A call log and CALLS.jsonl of three hours from 10:00 in Kyiv."""
    tmp = tmp_path_factory.mktemp("staffing")
    text = (f'seed = 11\nstart = "10:00"\nqueue = "support"\n'
            f'[handle]\ndistribution = "exponential"\nmean_s = {HANDLE_S}\n'
            f'[patience]\ndistribution = "exponential"\nmean_s = {PATIENCE_S}\n'
            + "".join(f"[[hour]]\ncalls = {c}\nagents = {a}\n" for c, a in HOURS))
    (tmp / "day.toml").write_text(text, encoding="utf-8")
    r = run_cli("simulate", "--config", OFFICE, "--traffic", tmp / "day.toml", "--out", tmp / "calls.jsonl",
                "--db", tmp / "calls.db")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in (tmp / "calls.jsonl").read_text().splitlines()]
    return tmp, records


def test_measured_from_the_log_is_what_the_traffic_file_says(day):
    tmp, _ = day
    m = staffing.from_log(str(tmp / "calls.db"), None, KYIV, None, None)
    assert m.queue == "support" and m.days == 1
    first = m.hours[0].slot
    assert first % 24 == 10
    assert [h.slot for h in m.hours] == [first, first + 1, first + 2]
    for h, (calls, _) in zip(m.hours, HOURS):
        assert abs(h.calls_per_h - calls) < 4 * math.sqrt(calls), h
    # Exponential talk times: the mean of n is within 4 standard errors.
    assert m.talk_s == pytest.approx(HANDLE_S, abs=4 * HANDLE_S / math.sqrt(m.answered))
    assert m.wrapup_s == 0.0
    assert m.abandoned >= 30
    assert m.patience_s == pytest.approx(PATIENCE_S, abs=4 * PATIENCE_S / math.sqrt(m.abandoned))
    assert 0 < m.answer_delay_s < 5


def test_measured_from_the_log_is_what_the_simulation_counted(day):
    tmp, records = day
    m = staffing.from_log(str(tmp / "calls.db"), "support", KYIV, None, None)
    queued = [r for r in records if r["queue"] == "support"]
    assert m.offered == len(queued)
    for k, h in enumerate(m.hours):
        mine = [r for r in queued if k * 3600 <= r["joined_s"] < (k + 1) * 3600]
        assert h.offered == len(mine)
        assert h.answered == sum(1 for r in mine if r["outcome"] == "answered")
        assert h.abandoned == sum(1 for r in mine if r["outcome"] == "abandoned")
    answered = [r for r in queued if r["outcome"] == "answered"]
    abandoned = [r for r in queued if r["outcome"] == "abandoned"]
    assert m.talk_s == pytest.approx(sum(r["talk_s"] for r in answered) / len(answered), abs=0.05)
    assert m.patience_s == pytest.approx(sum(r["wait_s"] for r in queued) / len(abandoned), rel=1e-3)
    busiest = m.hours[0]
    assert not busiest.aht_pooled
    assert busiest.talk_s == pytest.approx(
        sum(r["talk_s"] for r in answered if r["joined_s"] < 3600) / busiest.answered, abs=0.05)


def test_the_report(day):
    tmp, _ = day
    r = run_cli("staffing", "--db", tmp / "calls.db", "--target", "80/20", "--config", OFFICE)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    text = r.stdout
    assert "Times in Europe/Kyiv (the office's, from office.toml)" in text
    assert "80 % answered within 20 s" in text and "over calls offered" in text and "Erlang A" in text
    rows = [line for line in lines if line[:3] in staffing.DAYS and line[3] == " " and line[4:6].isdigit()]
    assert [row[4:9] for row in rows] == ["10-11", "11-12", "12-13"]
    m = staffing.from_log(str(tmp / "calls.db"), None, KYIV, None, None)
    advice = staffing.advise(m, staffing.parse_target("80/20"))
    for row, a in zip(rows, advice):
        cells = row.split()
        assert float(cells[2]) == pytest.approx(a.hour.calls_per_h, abs=0.05)
        assert int(cells[5].rstrip("*")) == a.performance.agents
        assert a.performance.sl_offered >= 0.8
    assert f"Agent-hours a week: {sum(a.performance.agents for a in advice)}" in text

    c = run_cli("staffing", "--db", tmp / "calls.db", "--target", "80/20", "--model", "erlang-c", "--over",
                "answered", "--from", m.first_day, "--to", m.first_day)
    assert c.returncode == 0, c.stderr
    assert "Erlang C" in c.stdout and "over calls answered" in c.stdout
    assert "this machine's time zone" in c.stdout


def test_the_report_in_process_says_the_range(day):
    tmp, _ = day
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["staffing", "--db", str(tmp / "calls.db"), "--target", "90/30", "--config", str(OFFICE)]) == 0
    assert "(1 day," in out.getvalue()


def test_to_traffic_carries_the_measured_hours(day):
    tmp, _ = day
    m = staffing.from_log(str(tmp / "calls.db"), None, KYIV, None, None)
    agents = staffing.plan(m, target=staffing.parse_target("80/20"), adjust=-1)
    advised = [a.performance.agents for a in staffing.advise(m, staffing.parse_target("80/20"))]
    assert agents == [n - 1 for n in advised]
    t = staffing.to_traffic(m, agents)
    assert t.queue == "support" and t.start == dt.time(10, 0)
    assert [h.calls for h in t.hours] == [h.calls_per_h for h in m.hours]
    assert [h.agents for h in t.hours] == agents
    assert t.handle.kind == "lognormal" and t.handle.mean_s == pytest.approx(m.talk_s)
    assert t.patience.kind == "exponential" and t.patience.mean_s == m.patience_s
    assert [t.handle_in(h).mean_s for h in t.hours][0] == m.hours[0].talk_s
    assert staffing.plan(m, agents=3) == [3, 3, 3]


def summary_row(stdout: str):
    row = next(line for line in stdout.splitlines() if line.startswith("support "))
    offered, answered, abandoned, _, sl = row.split()[1:6]
    return int(offered), int(answered), int(abandoned), float(sl.rstrip("%"))


def test_simulating_the_measured_week_compares_staffings(day):
    tmp, records = day
    runs = {}
    for agents in (3, 6):
        r = run_cli("simulate", "--config", OFFICE, "--traffic-from-db", tmp / "calls.db", "--agents", agents,
                    "--seed", 4, "--out", tmp / f"week-{agents}.jsonl")
        assert r.returncode == 0, r.stderr
        assert f"{agents} agents every hour" in r.stdout
        runs[agents] = summary_row(r.stdout)
    offered = sum(1 for r in records if r["queue"] == "support")
    for n in runs.values():
        assert abs(n[0] - offered) < 4 * math.sqrt(offered)
    assert runs[6][3] > runs[3][3] + 20         # service level
    assert runs[6][2] < runs[3][2]              # abandoned

    advised = run_cli("simulate", "--config", OFFICE, "--traffic-from-db", tmp / "calls.db", "--target", "80/20",
                      "--seed", 4, "--out", tmp / "week-advised.jsonl")
    assert advised.returncode == 0, advised.stderr
    assert "agents by the hour:" in advised.stdout
    # The advice is for the mean; a three-hour run of it lands near the target.
    assert summary_row(advised.stdout)[3] > 70


# -- bad arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--target", "80/"], "--target '80/': write PERCENT/SECONDS"),
    (["--target", "120/20"], "120 % must be above 0 and below 100"),
    (["--target", "80/20", "--queue", "sales"], "no calls to queue 'sales' (the log has support)"),
    (["--target", "80/20", "--from", "2026-02-30"], "--from '2026-02-30': not a date"),
    (["--target", "80/20", "--from", "2026-03-05", "--to", "2026-03-01"], "--to 2026-03-01 is before --from"),
    (["--target", "80/20", "--from", "2020-01-01", "--to", "2020-01-02"], "no calls reached a queue in the range"),
])
def test_bad_staffing_arguments(day, args, message):
    tmp, _ = day
    r = run_cli("staffing", "--db", tmp / "calls.db", *args)
    assert r.returncode == 2
    assert r.stderr.strip() == f"appliance staffing: {message}" or message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_file_that_is_not_a_call_log(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not a database", encoding="utf-8")
    for db in (bad, tmp_path / "missing.db"):
        r = run_cli("staffing", "--db", db, "--target", "80/20")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert r.stderr.startswith(f"appliance staffing: {db}")


@pytest.mark.parametrize("args,message", [
    (["--agents", "11"], "11 agents, but queue 'support' has 10 members"),
    (["--target", "101/20"], "101 % must be above 0"),
    ([], "either --agents N or --target"),
    (["--agents", "-1"], "--agents -1: a number of agents from 0"),
])
def test_bad_traffic_from_db_arguments(day, args, message):
    tmp, _ = day
    r = run_cli("simulate", "--config", OFFICE, "--traffic-from-db", tmp / "calls.db", "--out", tmp / "x.jsonl",
                *args)
    assert r.returncode == 2, r.stdout
    assert message in r.stderr and "Traceback" not in r.stderr


def test_week_options_need_traffic_from_db(tmp_path):
    r = run_cli("simulate", "--config", OFFICE, "--traffic", HERE / "speed-day.toml", "--agents", "3",
                "--out", tmp_path / "x.jsonl")
    assert r.returncode == 2
    assert r.stderr.strip() == "appliance simulate: --agents goes with --traffic-from-db"

