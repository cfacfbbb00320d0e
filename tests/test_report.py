"""The report's figures: a simulated day and a half through the real supervisor, each
figure worked out again here from the simulation's own records and the raw tables
(plain SQL and simple loops, none of visits.py or report.py); hand-made logs for the
edges (short abandons, both service levels, sessions across the range and restarts,
every line in use, callers served later, calls back); and `appliance report` on the
command line."""
from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import subprocess
import sys
import zoneinfo
from collections import defaultdict
from pathlib import Path

import pytest

from appliance import config, report, simulate, traffic
from appliance.calllog import CallLog, CallLogError

HERE = Path(__file__).resolve().parent / "traffic"
SMALL = HERE / "office-small.toml"
KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
SL, SHORT = 20.01, 5.01         # off the 20 ms grid of the simulation's times: no tie to round
NUMBERS = 40                    # callers share numbers: repeat callers, callers served later


class Scripted(simulate.Simulation):
    """The simulation with agents who pause and come back, and callers who call again."""

    def _draw(self):
        out = super()._draw()
        for a in out:
            a.number = f"0700{a.n % NUMBERS:06d}"
        return out

    def _do_pause(self, now, name, reason):
        if self.sup.agent_do(name, "pause", reason, source="test")[1]:
            self._at(now + 30, "pause", (name, reason))     # on a call: after it

    def _do_unpause(self, now, name):
        self.sup.agent_do(name, "unpause", source="test")


HOURS = [(50, 2), (80, 2), (40, 1), (60, 2)] + [(0, 0)] * 20 + [(40, 2), (30, 1)]


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    text = ('seed = 11\nstart = "09:00"\nqueue = "support"\n[handle]\ndistribution = "exponential"\nmean_s = 100\n'
            '[patience]\ndistribution = "exponential"\nmean_s = 60\n'
            '[answer]\ndistribution = "exponential"\nmean_s = 5\n'
            + "".join(f"[[hour]]\ncalls = {c}\nagents = {a}\n" for c, a in HOURS))
    (tmp / "day.toml").write_text(text, encoding="utf-8")
    db = tmp / "log.sqlite"
    sim = Scripted(config.load(str(SMALL)), traffic.load(str(tmp / "day.toml")), log_path=db)
    try:
        # The box logs its agents in as it starts: logged out here, the first hour logs
        # in whom it staffs.
        for name in sim.members:
            sim.sup.agent_do(name, "logout", source="test")
        for at, name, reason in ((0.3, "olena", "coffee"), (1.5, "ivan", "lunch"), (3.2, "olena", "lunch"),
                                 (24.5, "olena", "coffee")):
            sim._at(at * 3600, "pause", (name, reason))
            sim._at(at * 3600 + 900, "unpause", (name,))
        records = {r["id"]: r for r in sim.run() if r["id"] is not None}
    finally:
        sim.close()
    return db, records


def table(db, sql, args=()):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def whole_days(db, tz):
    first, last = table(db, "SELECT MIN(started), MAX(started) FROM calls")[0]
    d0 = dt.datetime.fromtimestamp(first, tz).date()
    d1 = dt.datetime.fromtimestamp(last, tz).date() + dt.timedelta(days=1)
    return (dt.datetime.combine(d0, dt.time(), tz).timestamp(), dt.datetime.combine(d1, dt.time(), tz).timestamp())


def test_every_figure_of_a_simulated_day_agrees_with_the_raw_log(day):
    db, records = day
    office = config.load(str(SMALL))
    r = report.build(str(db), by="hour", sl_s=SL, short_abandon_s=SHORT, office=office)
    start, end = whole_days(db, KYIV)
    assert (r.start, r.end, r.timezone, r.timezone_of) == (start, end, "Europe/Kyiv", "office")
    calls = {c: (line, caller, started, ended, outcome) for c, line, caller, started, ended, outcome in table(
        db, "SELECT id, line, caller, started, ended, outcome FROM calls WHERE callback_of IS NULL")}
    assert set(calls) == set(records)
    wrapup = {c: float(d.split()[-1]) for c, d in table(db, "SELECT call, detail FROM events WHERE kind = 'wrap-up'")}

    def hour_of(call):
        return dt.datetime.fromtimestamp(calls[call][2], KYIV).strftime("%Y-%m-%dT%H:00")

    # Queues, hour by hour and in all, from what the simulation saw of each caller.
    queued = [rec for rec in records.values() if rec["queue"]]
    assert len(queued) > 200
    for interval in sorted({hour_of(rec["id"]) for rec in queued}) + [None]:
        rs = [rec for rec in queued if interval is None or hour_of(rec["id"]) == interval]
        ans = [rec for rec in rs if rec["outcome"] == "answered"]
        ab = [rec for rec in rs if rec["outcome"] == "abandoned"]
        row = next(q for q in r.queues if q.interval == interval)
        in_sl = sum(1 for rec in ans if rec["wait_s"] <= SL)
        handled = len(ans) + sum(1 for rec in ab if rec["wait_s"] > SHORT)
        assert (row.queue, row.offered, row.answered, row.abandoned, row.short_abandoned, row.answered_in_sl) == (
            "support", len(rs), len(ans), handled - len(ans), sum(1 for rec in ab if rec["wait_s"] <= SHORT), in_sl)
        assert row.sent_on == row.callbacks == 0 and row.sl_s == SL
        if ans:
            assert row.sl_over_answered == pytest.approx(in_sl / len(ans))
            assert row.asa_s == pytest.approx(sum(rec["wait_s"] for rec in ans) / len(ans), abs=0.01)
            assert row.aht_s == pytest.approx(
                sum(rec["talk_s"] + wrapup[rec["id"]] for rec in ans) / len(ans), abs=0.05)
        else:
            assert row.sl_over_answered is row.asa_s is row.aht_s is None
        assert row.sl_over_handled == (pytest.approx(in_sl / handled) if handled else None)
        assert row.longest_wait_s == pytest.approx(max(rec["wait_s"] for rec in rs), abs=0.05)
    assert len(r.queues) == len({hour_of(rec["id"]) for rec in queued}) + 1
    total = r.queues[-1]
    assert total.short_abandoned and total.abandoned and total.answered_in_sl < total.answered

    # Agents: calls and talk from the records, wrap-up and missed rings from the events,
    # sessions and pauses from the agent log walked here.
    missed = dict(table(db, "SELECT detail, COUNT(*) FROM events WHERE kind = 'ring-no-answer' GROUP BY detail"))
    agent_log = table(db, "SELECT at, agent, kind, detail FROM agent_events ORDER BY at, id")
    assert {k for _, _, k, _ in agent_log} >= {"login", "logout", "pause", "unpause"}
    rows = {a.agent: a for a in r.agents}
    assert set(rows) == {"olena", "ivan"}
    for name, a in rows.items():
        mine = [rec for rec in queued if rec["agent"] == name and rec["outcome"] == "answered"]
        assert a.calls == len(mine)
        # A call's end and its agent's hang-up may fall a frame apart.
        assert a.talk_s == pytest.approx(sum(rec["talk_s"] for rec in mine), abs=0.05 * len(mine))
        assert a.wrapup_s == pytest.approx(sum(wrapup[rec["id"]] for rec in mine), abs=0.05)
        assert a.missed == missed.get(name, 0)
        logged, paused, since, pause = 0.0, defaultdict(float), None, None
        for at, who, kind, detail in agent_log:
            if who != name or kind not in ("login", "logout", "pause", "unpause"):
                continue
            if pause is not None and kind != "pause" or kind == "pause" and pause is not None:
                paused[pause[0]] += at - pause[1]
                pause = None
            if kind == "login":
                since = at
            elif kind == "logout" and since is not None:
                logged += at - since
                since = None
            elif kind == "pause":
                pause = (detail, at)
        if since is not None:
            logged += end - since
        if pause is not None:
            paused[pause[0]] += end - pause[1]
        assert a.logged_in_s == pytest.approx(logged, abs=0.01)
        assert a.paused_s == pytest.approx(dict(paused), abs=0.01)
        free = logged - sum(paused.values())
        assert a.occupancy == pytest.approx((a.talk_s + a.wrapup_s) / free)
    assert rows["olena"].paused_s.keys() >= {"coffee", "lunch"}
    assert sum(a.missed for a in r.agents) > 0

    # Calls by hour of day and weekday.
    hours, weekdays = [0] * 24, [0] * 7
    for _, _, started, _, _ in calls.values():
        t = dt.datetime.fromtimestamp(started, KYIV)
        hours[t.hour] += 1
        weekdays[t.weekday()] += 1
    assert (r.by_hour, r.by_weekday) == (tuple(hours), tuple(weekdays))
    assert sum(1 for n in weekdays if n) == 2

    # Lines: each one's calls and time in use; every line in use at once, found by
    # counting the calls over each piece of time between two edges.
    for ln in r.lines:
        mine = [c for c in calls.values() if c[0] == ln.line]
        assert ln.calls == len(mine)
        assert ln.busy_s == pytest.approx(sum(c[3] - c[2] for c in mine), abs=0.01)
        assert ln.use == pytest.approx(ln.busy_s / (end - start))
    assert [ln.line for ln in r.lines] == ["line1", "line2", "line3"]
    spans = [(c[2], c[3]) for c in calls.values()]
    points = sorted({p for s in spans for p in s})
    busy_time, episodes, was = 0.0, 0, False
    for a, b in zip(points, points[1:]):
        full = sum(1 for s, e in spans if s <= (a + b) / 2 < e) == 3
        if full:
            busy_time += b - a
            episodes += not was
        was = full
    assert r.all_lines_busy == episodes > 0
    assert r.all_lines_busy_s == pytest.approx(busy_time, abs=0.01)

    # Unserved: every queued caller an agent did not answer, and whether that number
    # called again and was answered in the week after.
    expect = []
    for rec in sorted(queued, key=lambda x: calls[x["id"]][2]):
        if rec["outcome"] == "answered":
            continue
        at, number = calls[rec["id"]][2], calls[rec["id"]][1]
        later = [(calls[c][2], records[c]["outcome"] == "answered") for c in calls
                 if calls[c][1] == number and at < calls[c][2] < at + 7 * 86400]
        expect.append((rec["id"], number, "short-abandon" if rec["wait_s"] <= SHORT else "abandoned",
                       min((t for t, _ in later), default=None), any(s for _, s in later)))
    got = [(u.call, u.caller, u.reason, u.called_again, u.served_later) for u in r.unserved]
    assert got == expect
    for u in r.unserved:
        assert u.queue == "support" and u.waited_s == pytest.approx(records[u.call]["wait_s"], abs=0.05)
    assert any(u.served_later for u in r.unserved) and not all(u.served_later for u in r.unserved)

    # Repeat callers and calls that ended in the menus.
    repeat = table(db, "SELECT caller, COUNT(*), GROUP_CONCAT(id) FROM calls WHERE caller != '' "
                       "GROUP BY caller HAVING COUNT(*) >= 2 ORDER BY COUNT(*) DESC, caller")
    assert [(c.caller, c.calls, c.served) for c in r.repeat_callers] == [
        (caller, n, sum(records[int(i)]["outcome"] == "answered" for i in ids.split(","))) for caller, n, ids in repeat]
    assert r.menu_only == sum(1 for rec in records.values() if rec["outcome"] == "menu_only")


def test_a_day_of_the_range_and_one_queue_by_day_in_this_machines_zone(day):
    db, records = day
    start, end = whole_days(db, None)
    first_day = report.build(str(db), start, start + 86400, queue="support")
    assert first_day.timezone_of == "machine" and first_day.by == "day"
    n = table(db, "SELECT COUNT(*) FROM calls WHERE started >= ? AND started < ?", (start, start + 86400))[0][0]
    assert sum(first_day.by_hour) == n
    (total,) = [q for q in first_day.queues if q.interval is None]
    assert total.offered == sum(1 for rec in records.values() if rec["queue"] and rec["id"] <= max(
        c for (c,) in table(db, "SELECT id FROM calls WHERE started < ?", (start + 86400,))))
    assert report.build(str(db), queue="nowhere").queues == ()


# -- hand-made logs ----------------------------------------------------------------------

T0 = dt.datetime(2025, 3, 3, tzinfo=KYIV).timestamp()     # a Monday, midnight in Kyiv


class Log:
    """Calls written through the call log itself, at times from T0."""

    def __init__(self, path):
        self.path = str(path)
        self.log = CallLog.open(path)

    def call(self, at, events=(), outcome="answered", end=None, caller="0501112233", line="line1", of=None):
        at += T0
        c = self.log.start_callback(of, at, caller) if of else self.log.start(line, 1, at, caller=caller)
        last = at
        for t, kind, detail in events:
            last = T0 + t
            if kind == "answer":
                self.log.answered(c, last)
            else:
                self.log.event(c, last, kind, detail)
        self.log.end(c, T0 + end if end is not None else last, outcome)
        return c

    def queued(self, at, wait, answered=True, talk=60.0, wrap=10.0, agent="ann", **kw):
        ev = [(at, "answer", ""), (at, "queued", "q"), (at, "ringing", agent)]
        if answered:
            ev += [(at + wait, "connected", agent), (at + wait + talk, "agent-hangup", agent),
                   (at + wait + talk, "wrap-up", f"{agent} {wrap}")]
            return self.call(at, ev, "answered", **kw)
        return self.call(at, ev + [(at + wait, "hangup", "normal")], "abandoned", **kw)

    def agent(self, at, name, kind, detail=""):
        self.log.agent_event(name, T0 + at, kind, detail, "test")

    def close(self):
        self.log.close()
        return self.path


@pytest.fixture
def log(tmp_path):
    return Log(tmp_path / "calls.db")


def test_short_abandons_apart_and_both_service_levels(log):
    for k, wait in enumerate((10, 20, 30)):
        log.queued(3600 + k * 300, wait)
    for k, wait in enumerate((3, 5, 6, 40)):
        log.queued(7200 + k * 300, wait, answered=False)
    path = log.close()
    r = report.build(path, T0, T0 + 86400)
    q = r.queues[-1]
    assert (q.offered, q.answered, q.abandoned, q.short_abandoned, q.answered_in_sl) == (7, 3, 2, 2, 2)
    assert q.sl_over_answered == pytest.approx(2 / 3) and q.sl_over_handled == pytest.approx(2 / 5)
    assert (q.asa_s, q.aht_s, q.longest_wait_s, q.sl_s) == (20, 70, 40, 20)
    q = report.build(path, T0, T0 + 86400, short_abandon_s=2, sl_s=30).queues[-1]
    assert (q.abandoned, q.short_abandoned, q.answered_in_sl, q.sl_s) == (4, 0, 3, 30)
    assert q.sl_over_handled == pytest.approx(3 / 7)
    # A queue's own target in the configuration wins over the report's.
    office = config.load(str(SMALL))
    office = dataclasses.replace(office, queues={"q": dataclasses.replace(office.queues["support"], name="q",
                                                                          service_level_s=10.0)})
    r = report.build(path, T0, T0 + 86400, sl_s=30, office=office)
    assert (r.queues[-1].answered_in_sl, r.queues[-1].sl_s, r.sl_s) == (1, 10.0, 30)
    unserved = [(u.reason, u.waited_s) for u in r.unserved]
    assert unserved == [("short-abandon", 3), ("short-abandon", 5), ("abandoned", 6), ("abandoned", 40)]


def test_intervals_by_hour_and_week_in_the_offices_zone(log):
    log.queued(9 * 3600, 5)
    log.queued(9 * 3600 + 1800, 5)
    log.queued(86400 * 6 + 23 * 3600, 5)       # Sunday 23:00: the same week
    log.queued(86400 * 7 + 3600, 5)            # Monday: the next
    path = log.close()
    r = report.build(path, T0, T0 + 8 * 86400, by="hour", office=config.load(str(SMALL)))
    assert [(q.interval, q.offered) for q in r.queues if q.queue == "q"] == [
        ("2025-03-03T09:00", 2), ("2025-03-09T23:00", 1), ("2025-03-10T01:00", 1), (None, 4)]
    # The configuration's queue with no call has its total, of nothing.
    assert [(q.queue, q.offered, q.asa_s) for q in r.queues if q.queue != "q"] == [("support", 0, None)]
    r = report.build(path, T0, T0 + 8 * 86400, by="week", office=config.load(str(SMALL)))
    assert [(q.interval, q.offered) for q in r.queues if q.queue == "q"] == [
        ("2025-03-03", 3), ("2025-03-10", 1), (None, 4)]
    assert r.by_weekday == (3, 0, 0, 0, 0, 0, 1) and r.by_hour[9] == 2 and r.by_hour[23] == 1


def test_sessions_across_the_range_restarts_and_the_boxs_silent_login(log):
    day = 86400
    log.agent(-2 * 3600, "ann", "login")                # the evening before
    log.agent(-3600, "ann", "pause", "lunch")           # a pause across midnight
    log.agent(1800, "ann", "unpause")
    log.agent(2 * 3600, "ann", "logout")
    log.agent(8 * 3600, "bob", "login")
    log.agent(9 * 3600, "bob", "pause", "")             # no reason given: "paused"
    log.agent(9 * 3600 + 600, "bob", "pause", "meeting")  # another reason: the first ends
    log.agent(10 * 3600, "bob", "unpause")
    log.queued(11 * 3600, 5, agent="bob")               # his last sign: 11:00:05
    log.agent(14 * 3600, "bob", "login")                # the box restarted meanwhile
    log.agent(15 * 3600, "bob", "logout")
    # Cy is never logged in by the log (a firmware that logged the box's own logins
    # nowhere): his first ring starts his session; he is logged in at the range's end.
    log.queued(12 * 3600, 5, agent="cy")
    log.agent(13 * 3600, "cy", "pause", "break")
    log.agent(day + 3600, "cy", "logout")
    path = log.close()
    r = {a.agent: a for a in report.build(path, T0, T0 + day).agents}
    assert r["ann"].logged_in_s == 2 * 3600 and r["ann"].paused_s == {"lunch": 1800}
    assert r["bob"].logged_in_s == pytest.approx((3 * 3600 + 5) + 3600)
    assert r["bob"].paused_s == {"paused": 600, "meeting": 3000}
    assert r["cy"].logged_in_s == 12 * 3600 and r["cy"].paused_s == {"break": 11 * 3600}
    assert r["cy"].occupancy == pytest.approx(70 / 3600)
    assert r["bob"].calls == 1 and r["bob"].talk_s == 60 and r["bob"].wrapup_s == 10
    # The day before sees Ann's session from 22:00 to midnight, and her pause.
    before = {a.agent: a for a in report.build(path, T0 - day, T0).agents}
    assert before["ann"].logged_in_s == 2 * 3600 and before["ann"].paused_s == {"lunch": 3600}
    # The next day: Cy logged in and paused from its start, out at 01:00.
    after = {a.agent: a for a in report.build(path, T0 + day, T0 + 2 * day).agents}
    assert after["cy"].logged_in_s == 3600 and after["cy"].paused_s == {"break": 3600}
    assert "ann" not in after      # nothing of her that day


def test_missed_rings_count_against_the_agent_who_did_not_answer(log):
    log.call(100, [(100, "answer", ""), (100, "queued", "q"), (100, "ringing", "ann"), (115, "ring-no-answer", "ann"),
                   (116, "ringing", "bob"), (120, "connected", "bob"), (200, "agent-hangup", "bob")])
    path = log.close()
    r = {a.agent: a for a in report.build(path, T0, T0 + 86400).agents}
    assert (r["ann"].missed, r["ann"].calls, r["bob"].missed, r["bob"].calls) == (1, 0, 0, 1)


def test_every_line_in_use_at_once(log):
    log.call(0, [(100, "hangup", "")], "completed", line="line1")
    log.call(50, [(150, "hangup", "")], "completed", line="line2")
    log.call(120, [(200, "hangup", "")], "completed", line="line1")
    log.call(300, [(400, "hangup", "")], "completed", line="line2")
    path = log.close()
    r = report.build(path, T0, T0 + 1000)
    assert (r.all_lines_busy, r.all_lines_busy_s) == (2, 80)
    assert [(ln.line, ln.calls, ln.busy_s, ln.use) for ln in r.lines] == [
        ("line1", 2, 180, 0.18), ("line2", 2, 200, 0.2)]
    assert r.menu_only == 4
    # With a configuration, its three exchange lines: never all in use.
    r = report.build(path, T0, T0 + 1000, office=config.load(str(SMALL)))
    assert (r.all_lines_busy, [ln.line for ln in r.lines]) == (0, ["line1", "line2", "line3"])


def test_a_click_to_call_takes_a_line_but_is_no_callers_call(log):
    log.call(0, [(100, "hangup", "")], "completed", line="line1", caller="0671")
    for at in (200, 400):               # the same number called out twice: no repeat caller
        log.call(at, [(at, "click-to-call", "ann"), (at, "dial", "line2 0671"), (at + 5, "answer", ""),
                      (at + 60, "hangup", "far end")], "outbound", line="line2", caller="0671")
    path = log.close()
    r = report.build(path, T0, T0 + 1000)
    assert [(ln.line, ln.calls, ln.busy_s) for ln in r.lines] == [("line1", 1, 100), ("line2", 2, 120)]
    assert r.menu_only == 1 and r.repeat_callers == () and sum(r.by_hour) == 1 and r.queues == ()


def test_unserved_callers_and_who_was_served_later(log):
    day = 86400
    a = log.queued(3600, 30, answered=False, caller="0501")        # calls again in the range, unanswered,
    log.queued(7200, 10, answered=False, caller="0501")            # then answered after the range's end
    log.queued(2 * day + 3600, 10, caller="0501")
    b = log.call(4000, [(4000, "after-hours", "")], "after-hours", caller="0502")
    log.queued(9 * day, 10, caller="0502")                          # past the week: not counted
    c = log.call(4100, [(4100, "answer", ""), (4100, "queued", "q"), (4160, "callback-key", "q: 2")],
                 "callback", caller="0503")
    back = log.call(4160, [(4160, "callback-queued", "q: 0503"), (4500, "dial", "line2 0503")], "expired",
                    end=8000, caller="0503", of=c)
    d = log.call(4200, [(4200, "answer", ""), (4200, "queued", "q"), (4210, "callback-key", "q: 2")],
                 "callback", caller="0504")
    log.call(4210, [(4210, "callback-queued", "q: 0504"), (4400, "ringing", "ann"), (4401, "connected", "ann"),
                    (4500, "hangup", "normal")], "answered", caller="0504", of=d)
    e = log.call(5000, [(5000, "answer", ""), (5000, "full", "q -> hangup")], "completed", caller="0505")
    f = log.call(5100, [(5100, "blocked", "")], "blocked", caller="0506")
    log.call(5200, [(5200, "answer", ""), (5200, "menu", "main"), (5210, "hangup", "normal")], "abandoned",
             caller="")
    log.call(5300, [(5300, "answer", ""), (5300, "menu", "main"), (5310, "hangup", "normal")], "completed",
             caller="")
    path = log.close()
    r = report.build(path, T0, T0 + day)
    got = {u.call: (u.caller, u.reason, u.queue, u.waited_s, u.called_again, u.served_later) for u in r.unserved}
    second = T0 + 7200
    assert got == {
        a: ("0501", "abandoned", "q", 30, second, True),
        a + 1: ("0501", "abandoned", "q", 10, T0 + 2 * day + 3600, True),
        b: ("0502", "after-hours", None, 0, None, False),
        back: ("0503", "expired", "q", 8000 - 4160, None, False),
        e: ("0505", "full", "q", 0, None, False),
        f: ("0506", "blocked", None, 0, None, False)}
    assert [u.at for u in r.unserved] == sorted(u.at for u in r.unserved)
    assert r.menu_only == 2
    assert [(c.caller, c.calls, c.served) for c in r.repeat_callers] == [("0501", 2, 0)]
    q = r.queues[-1]
    assert (q.offered, q.callbacks, q.sent_on, q.answered) == (5, 2, 1, 0)
    assert {a.agent: a.calls for a in r.agents} == {"ann": 1}


def test_a_file_that_is_not_a_call_log(tmp_path):
    with pytest.raises(CallLogError, match="no call log there"):
        report.build(str(tmp_path / "missing.db"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"junk" * 1000)
    with pytest.raises(CallLogError, match="not a call log"):
        report.build(str(junk))


# -- the command -------------------------------------------------------------------------

def run(*args):
    return subprocess.run([sys.executable, "-m", "appliance.cli", "report", *map(str, args)],
                          capture_output=True, text=True)


def test_the_command_and_its_errors(log, tmp_path):
    log.queued(3600, 10)
    log.queued(86400 + 3600, 30, answered=False)
    path = log.close()
    r = run("--db", path, "--config", SMALL, "--from", "2025-03-03", "--to", "2025-03-03")
    assert r.returncode == 0, r.stderr
    assert "Europe/Kyiv (the office's)" in r.stdout and "2025-03-03 00:00 to 2025-03-04 00:00" in r.stdout
    assert next(line for line in r.stdout.splitlines() if line.startswith("total")).split()[1:3] == ["1", "1"]
    out = tmp_path / "r.csv"
    r = run("--db", path, "--format", "csv", "--out", out, "--by", "week", "--sl", "15", "--short-abandon", "2")
    assert r.returncode == 0 and r.stdout == "" and out.read_bytes().startswith(b"\xef\xbb\xbfsection,")
    for args, said in [(("--from", "2025-02-30"), "--from '2025-02-30': not a date"),
                       (("--to", "3.3.2025"), "--to '3.3.2025': not a date"),
                       (("--from", "2025-03-04", "--to", "2025-03-03"), "--to 2025-03-03 is before --from"),
                       (("--sl", "-1"), "--sl -1: seconds"),
                       (("--config", SMALL, "--queue", "sales"), "--queue 'sales': "),
                       (("--config", tmp_path / "none.toml"), "none.toml")]:
        r = run("--db", path, *args)
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    for db, said in [(tmp_path / "missing.db", "no call log there"), (SMALL, "not a call log")]:
        r = run("--db", db)
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
