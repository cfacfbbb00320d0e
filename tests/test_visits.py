"""Queue visits from a call's events: hand-made calls for every way into and out of a
queue, and a simulated day whose visits must agree, caller by caller, with what the
simulation itself recorded of each caller."""
from __future__ import annotations

import json
import sqlite3

import pytest

from appliance import config, simulate, traffic, visits
from appliance.calllog import Call, CallEvent, CallLog, CallLogError
from appliance.visits import Ring, Visit, of_call
from tests.test_simulate import HERE, traffic_file


def call(outcome="answered", end=500.0, cid=7):
    return Call(cid, "line1", 1, "0501234567", "", "", 0.0, 1.0, end, ("main",), (("main", "2"),), outcome, "en")


def ev(*items):
    return [CallEvent(7, at, kind, detail) for at, kind, detail in items]


def test_answered_after_a_missed_ring_with_wrap_up():
    v = of_call(call(), ev((10, "queued", "support"), (11, "ringing", "ann"), (26, "ring-no-answer", "ann"),
                         (27, "ringing", "bob"), (30, "connected", "bob"), (130, "agent-hangup", "bob"),
                         (130, "wrap-up", "bob 15.0"), (131, "hangup", "normal")))
    assert v == (Visit(7, "support", 10, 30, "answered", "", "bob", 130, 15.0,
                       (Ring("ann", 11, 26, "no-answer"), Ring("bob", 27, 30, "answered")), "agent"),)
    assert v[0].wait == 20 and v[0].talk == 100


def test_ringall_rings_stop_when_one_answers_and_the_caller_hangs_up_first():
    v = of_call(call(), ev((10, "queued", "q"), (11, "ringing", "ann"), (11, "ringing", "bob"),
                         (14, "connected", "bob"), (60, "hangup", "normal")))
    assert v[0].rings == (Ring("bob", 11, 14, "answered"), Ring("ann", 11, 14, "stopped"))
    assert v[0].talk_end == 60 and v[0].outcome == "answered" and v[0].ended_by == "caller"


def test_abandoned_while_an_agent_rang():
    v = of_call(call("abandoned", 40), ev((10, "queued", "q"), (30, "ringing", "ann"), (40, "hangup", "normal")))
    assert v == (Visit(7, "q", 10, 40, "abandoned", rings=(Ring("ann", 30, 40, "stopped"),)),)


def test_a_rule_sends_the_caller_on_to_another_queue():
    v = of_call(call(), ev((5, "full", "sales -> queue:support"), (5, "queued", "support"),
                         (65, "timeout", "support -> queue:overflow"), (65, "queued", "overflow"),
                         (70, "connected", "cy"), (90, "agent-hangup", "cy")))
    assert [(x.queue, x.joined, x.left, x.outcome, x.why) for x in v] == [
        ("sales", 5, 5, "sent-on", "full"), ("support", 5, 65, "sent-on", "timeout"),
        ("overflow", 65, 70, "answered", "")]


def test_the_exit_key_and_the_end_of_the_call_in_the_menus_after_it():
    v = of_call(call("completed", 80), ev((5, "queued", "q"), (20, "exit-key", "q -> menu:main")))
    assert v == (Visit(7, "q", 5, 20, "sent-on", "exit-key"),)


def test_callback_interrupted_and_a_call_back_row():
    asked = of_call(call("callback", 90), ev((5, "queued", "q"), (60, "callback-key", "q: 2")))
    assert asked == (Visit(7, "q", 5, 90, "callback"),)
    cut = of_call(call("interrupted", 50), ev((5, "queued", "q"), (6, "ringing", "ann")))
    assert cut[0].outcome == "interrupted" and cut[0].rings == (Ring("ann", 6, 50, "stopped"),)
    back = of_call(call("answered", 900), ev((90, "callback-queued", "q: 0501234567"), (300, "reserved", "ann"),
                                              (301, "dial", "line3 0501234567"), (320, "ringing", "ann"),
                                              (322, "connected", "ann"), (400, "hangup", "normal")))
    assert back == (Visit(7, "q", 90, 322, "answered", "", "ann", 400, 0.0, (Ring("ann", 320, 322, "answered"),),
                          "caller"),)
    gone = of_call(call("expired", 4000), ev((90, "callback-queued", "q: 0501234567")))
    assert gone == (Visit(7, "q", 90, 4000, "expired"),)


def test_a_transfer_ends_the_agents_part_and_says_so():
    v = of_call(call("transferred", 40), ev((10, "queued", "q"), (12, "connected", "ann"),
                                             (12, "transfer", "ann 201"), (14, "transferred", "201")))
    assert (v[0].outcome, v[0].talk_end, v[0].ended_by) == ("answered", 14, "transfer")


def test_agent_events_read_back_in_order_up_to_an_end(tmp_path):
    path = tmp_path / "log.sqlite"
    with CallLog.open(str(path)) as log:
        log.agent_event("olena", 100.0, "login", "", "desk1")
        log.agent_event("ivan", 90.0, "login", "", "console")
        log.agent_event("olena", 200.0, "pause", "lunch", "desk1")
    assert [(e.agent, e.kind) for e in visits.agent_events(str(path))] == [
        ("ivan", "login"), ("olena", "login"), ("olena", "pause")]
    assert [e.at for e in visits.agent_events(str(path), end=200.0)] == [90.0, 100.0]
    with pytest.raises(CallLogError, match="no call log there"):
        visits.agent_events(str(tmp_path / "missing.sqlite"))


def test_a_call_that_never_queued_has_no_visit_and_odd_details_do_not_break_it():
    assert of_call(call("completed"), ev((1, "menu", "main"), (3, "hangup", "normal"))) == ()
    v = of_call(call(), ev((1, "queued", "q"), (2, "connected", "a"), (9, "agent-hangup", "a"),
                         (9, "wrap-up", "a soon")))
    assert v[0].wrapup_s == 0.0


def test_read_refuses_what_is_not_a_call_log(tmp_path):
    with pytest.raises(CallLogError, match="no call log there"):
        visits.read(str(tmp_path / "missing.sqlite"))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CallLogError, match="not a call log"):
        visits.read(str(junk))
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(CallLogError, match="junk|not a call log|older"):
        visits.read(str(other))


def test_a_simulated_day_agrees_with_the_simulation_caller_by_caller(tmp_path):
    """Every caller's visit, read back from the call log, has the queue, join time, wait,
    outcome, agent and talk time the simulation recorded as it ran; and reading a range
    gives only the calls started in it."""
    day = traffic_file(tmp_path, [(60, 2), (90, 2), (40, 1)], handle_s=120)
    db = tmp_path / "log.sqlite"
    sim = simulate.Simulation(config.load(str(HERE / "office-small.toml")), traffic.load(str(day)), log_path=db)
    try:
        # Callers who found every line busy never reached the box: no row, no id.
        records = {r["id"]: r for r in sim.run() if r["id"] is not None}
    finally:
        sim.close()
    calls = list(visits.read(str(db)))
    assert len(calls) == len(records) > 150
    t0 = calls[0].call.start - records[calls[0].call.id]["arrival_s"]
    seen = set()
    for lc in calls:
        r = records[lc.call.id]
        seen.add(r["outcome"])
        if r["queue"] is None:
            assert lc.visits == ()
            continue
        (v,) = lc.visits
        assert v.queue == r["queue"]
        assert v.joined - t0 == pytest.approx(r["joined_s"], abs=0.05)
        assert v.wait == pytest.approx(r["wait_s"], abs=0.05)
        assert {"answered": "answered", "abandoned": "abandoned"}[r["outcome"]] == v.outcome
        assert v.agent == r["agent"]
        if v.outcome == "answered":
            assert v.talk == pytest.approx(r["talk_s"], abs=0.05)
            assert v.rings[-1] == Ring(v.agent, v.rings[-1].at, v.left, "answered")
    assert seen >= {"answered", "abandoned"}
    middle = calls[len(calls) // 2].call.start
    later = list(visits.read(str(db), start=middle))
    assert [c.call.id for c in later] == [c.call.id for c in calls if c.call.start >= middle]
    assert list(visits.read(str(db), start=middle, end=middle)) == []
