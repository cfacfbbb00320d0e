"""The ACD fed events alone: agent states, every strategy, tiers that widen, priority
with ageing, ring-no-answer with the caller keeping their place, wrap-up, and random
interleavings of everything that never leave an agent or a caller in a wrong state."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from appliance.acd import (ACD, ACDError, AgentSpec, BusyAgent, Connect, Paused, QueueSpec, Reserve, Ring,
                           StopRing, Unreserve,
                           Withdraw)

AGENTS = [AgentSpec("ann"), AgentSpec("bob"), AgentSpec("cat", wrapup_s=0.0), AgentSpec("dan", weight=3.0)]


def acd(strategy="longest-idle", levels=(1, 1, 1, 1), support=None, **q):
    members = tuple((a.name, lvl) for a, lvl in zip(AGENTS, levels))
    return ACD([QueueSpec("sales", strategy, members, **q), QueueSpec("support", "linear", members[:2],
                                                                      **(support or {}))],
               AGENTS, seed=3)


def rings(cmds):
    return [c.agent for c in cmds if isinstance(c, Ring)]


def test_nobody_logged_in_the_caller_waits_then_the_first_agent_rings():
    a = acd()
    assert a.join("c1", "sales", 0) == []
    assert a.position("c1", 0) == 1
    assert rings(a.login("bob", 5)) == ["bob"]
    assert a.agents["bob"].state == "ringing"
    assert a.answered("bob", 7)[-1] == Connect("bob", "c1")
    a.check()


def test_positions_of_everyone_are_each_caller_s_position():
    a = acd(ageing_s=30)
    a.join("c1", "sales", 0)
    a.join("c2", "support", 1)
    a.join("c3", "sales", 2, priority=1)
    a.join("c4", "sales", 3)
    a.login("ann", 4)                            # ann rings for c3: still in line
    for at in (5, 40, 100):
        assert a.positions(at) == {c: a.position(c, at) for c in ("c1", "c2", "c3", "c4")}
    a.answered("ann", 6)                         # c3 connected: out of the line
    assert a.positions(7) == {"c1": 1, "c2": 1, "c4": 2}

def test_answer_talk_wrapup_then_available():
    a = acd(wrapup_s=10)
    a.login("ann", 0)
    a.join("c1", "sales", 1)
    a.answered("ann", 2)
    a.join("c2", "sales", 3)                     # ann is busy: c2 waits
    assert a.waiting("sales") == ["c2"]
    assert a.ended("c1", 62) == []               # wrap-up: not rung yet
    assert a.agents["ann"].state == "wrap-up" and a.agents["ann"].talk_s == 60
    assert rings(a.tick(71)) == []
    assert rings(a.tick(72)) == ["ann"]
    a.check()


def test_calling_out_the_agent_is_offered_nobody_then_wraps_up():
    a = acd(wrapup_s=10, support={"wrapup_s": 25})
    a.login("ann", 0)
    assert a.dialling_out("ann", 1) == []
    assert rings(a.join("c1", "sales", 2)) == []         # ann is on her own call: c1 waits
    assert a.staffing("sales") == (1, 1)
    for refused in (lambda: a.pause("ann", "lunch", 3), lambda: a.logout("ann", 3),
                    lambda: a.dialling_out("ann", 3)):
        with pytest.raises(ACDError):
            refused()
    a.check()
    assert rings(a.dialled_out("ann", 61, connected=True)) == []
    assert a.agents["ann"].state == "wrap-up" and a.agents["ann"].talk_s == 60
    assert rings(a.tick(85)) == [] and rings(a.tick(86)) == ["ann"]    # the longest of her queues' wrap-ups
    a.check()


def test_a_call_out_that_reached_nobody_frees_the_agent_at_once():
    a = acd()
    a.login("bob", 0)
    a.dialling_out("bob", 1)
    a.join("c1", "sales", 2)
    assert rings(a.dialled_out("bob", 5, connected=False)) == ["bob"]
    with pytest.raises(ACDError):
        a.dialled_out("bob", 6, connected=False)
    a.check()


def test_agent_wrapup_of_their_own():
    a = acd(wrapup_s=10)
    a.login("cat", 0)
    a.join("c1", "sales", 0)
    a.answered("cat", 1)
    a.join("c2", "sales", 2)
    assert rings(a.ended("c1", 30)) == ["cat"]   # cat's own wrap-up is none


@pytest.mark.parametrize("strategy,expect", [
    ("linear", ["ann", "ann", "ann"]),
    ("round-robin", ["ann", "bob", "cat"]),
    ("longest-idle", ["dan", "cat", "bob"]),
    ("fewest-calls", ["ann", "bob", "cat"]),
])
def test_strategies(strategy, expect):
    a = acd(strategy, wrapup_s=0)
    for t, name in enumerate(["dan", "cat", "bob", "ann"]):      # dan idle longest
        a.login(name, t)
    got = []
    for i in range(3):
        cmds = a.join(f"c{i}", "sales", 10 + i)
        (who,) = rings(cmds)
        got.append(who)
        a.answered(who, 11 + i)
        a.ended(f"c{i}", 12 + i)
    assert got == expect


def test_ringall_first_answer_wins():
    a = acd("ringall")
    for n in ("ann", "bob", "cat"):
        a.login(n, 0)
    assert sorted(rings(a.join("c1", "sales", 1))) == ["ann", "bob", "cat"]
    cmds = a.answered("bob", 3)
    assert sorted(c.agent for c in cmds if isinstance(c, StopRing)) == ["ann", "cat"]
    assert Connect("bob", "c1") in cmds
    assert a.agents["ann"].state == "available"
    with pytest.raises(ACDError):
        a.answered("ann", 4)
    a.check()


def test_random_strategies_use_every_agent_and_the_weights():
    for strategy in ("random", "weighted-random"):
        a = acd(strategy, wrapup_s=0)
        for n in ("ann", "bob", "dan"):
            a.login(n, 0)
        seen = Counter()
        for i in range(600):
            (who,) = rings(a.join(f"c{i}", "sales", i))
            seen[who] += 1
            a.answered(who, i)
            a.ended(f"c{i}", i)
        assert set(seen) == {"ann", "bob", "dan"}
        if strategy == "weighted-random":
            assert seen["dan"] > 2 * seen["ann"]


def test_least_talk():
    a = acd("least-talk", wrapup_s=0)
    a.login("ann", 0)
    a.login("bob", 0)
    a.join("c1", "sales", 0)
    a.answered("ann", 0)
    a.join("c2", "sales", 0)
    a.answered("bob", 0)
    a.ended("c1", 100)          # ann talked 100 s
    a.ended("c2", 10)           # bob 10 s (ended first in time order does not matter here)
    assert rings(a.join("c3", "sales", 200)) == ["bob"]


def test_tiers_widen_with_the_wait():
    a = acd("linear", levels=(1, 2, 3, 3), widen_s=30)
    a.login("bob", 0)                            # level 2 only
    assert rings(a.join("c1", "sales", 0)) == []
    assert rings(a.tick(29)) == []
    assert rings(a.tick(30)) == ["bob"]


def test_priority_with_ageing():
    """A point of priority is worth ageing_s of waiting: a VIP goes ahead of those who
    came less than a minute before, not of those who have waited longer."""
    a = acd("linear", ageing_s=60)
    a.join("old", "sales", 0)
    a.join("vip", "sales", 50, priority=1)
    a.join("late-vip", "sales", 70, priority=1)
    assert [a.position(c, 70) for c in ("vip", "old", "late-vip")] == [1, 2, 3]
    assert [a.position(c, 500) for c in ("vip", "old", "late-vip")] == [1, 2, 3]
    assert rings(a.login("ann", 500)) == ["ann"] and a.agents["ann"].call == "vip"


def test_ring_no_answer_keeps_the_place_and_pauses_after_misses():
    a = acd("linear", ring_s=15, misses_to_pause=2)
    a.login("ann", 0)
    a.join("c1", "sales", 0)
    a.join("c2", "sales", 1)
    cmds = a.tick(15)                            # ann misses c1, is offered it again
    assert StopRing("ann", "c1", missed=True) in cmds and Ring("ann", "c1") in cmds
    assert a.position("c1", 15) == 1
    cmds = a.tick(30)
    assert Paused("ann", "no answer") in cmds and a.agents["ann"].state == "paused"
    assert a.waiting("sales") == ["c1", "c2"]
    assert rings(a.login("bob", 31)) == ["bob"] and a.agents["bob"].call == "c1"
    a.check()


def test_pause_logout_and_the_caller_leaving_while_rung():
    a = acd("linear")
    a.login("ann", 0)
    a.join("c1", "sales", 0)
    cmds = a.pause("ann", "lunch", 1)
    assert StopRing("ann", "c1", missed=False) in cmds and a.agents["ann"].reason == "lunch"
    a.unpause("ann", 2)
    assert a.agents["ann"].call == "c1"
    assert StopRing("ann", "c1") in a.leave("c1", 3)
    assert a.agents["ann"].state == "available" and not a.callers
    with pytest.raises(ACDError):
        a.unpause("ann", 4)
    a.logout("ann", 5)
    assert a.agents["ann"].state == "logged-out"


def test_staffing():
    a = acd("linear")
    assert a.staffing("sales") == (0, 0)
    for n in ("ann", "bob", "cat"):
        a.login(n, 0)
    a.pause("cat", "lunch", 0)
    a.join("c1", "sales", 1)                    # ann rings
    assert a.staffing("sales") == (2, 1)
    assert a.staffing("support") == (2, 1)      # ann and bob are members of both


def test_busy_agents_as_a_wait_estimate_sees_them():
    a = acd("linear", wrapup_s=10, ring_s=15)
    for n in ("ann", "bob", "cat", "dan"):
        a.login(n, 0)
    a.pause("dan", "lunch", 0)
    a.join("c1", "sales", 1)                    # ann rings, answers at 4
    a.answered("ann", 4)
    a.join("c2", "support", 5)                  # bob rings for the other queue
    a.join("c3", "sales", 6)                    # cat (no wrap-up of her own) rings
    a.answered("cat", 8)
    a.ended("c3", 15)                           # ... talks 7 s: wrap-up of 0 s, free again
    assert a.busy("sales", 18) == [BusyAgent("ann", "on-call", 14.0, 10.0, "c1", "sales"),
                                   BusyAgent("bob", "ringing", 13.0, 10.0, "c2", "support")]
    a.ended("c1", 34)
    assert a.busy("sales", 40)[0] == BusyAgent("ann", "wrap-up", 0.0, 4.0)
    assert a.staffing("sales") == (3, 2)        # the same agents staffing() counts busy
    a.check()


def test_mistakes_change_nothing():
    a = acd()
    for bad in (lambda: a.join("c1", "nowhere", 0), lambda: a.login("zed", 0), lambda: a.leave("c9", 0),
                lambda: a.answered("ann", 0), lambda: a.pause("ann", "x", 0)):
        with pytest.raises(ACDError):
            bad()
    a.join("c1", "sales", 0)
    with pytest.raises(ACDError):
        a.join("c1", "sales", 1)
    with pytest.raises(ACDError, match="unknown strategy"):
        QueueSpec("q", "fastest")
    a.check()


def test_max_wait_withdraws_the_caller_but_not_while_an_agent_rings():
    a = acd(max_wait_s=60, ring_s=15)
    a.join("c1", "sales", 0)
    a.join("c2", "sales", 10)
    assert a.tick(59.9) == []
    assert a.tick(60) == [Withdraw("c1", "timeout")]
    assert "c1" not in a.callers and a.position("c2", 60) == 1
    # c2's agent starts ringing just before c2's time is up: the ring runs its course.
    assert rings(a.login("ann", 65)) == ["ann"]
    assert a.tick(75) == []
    out = a.tick(80)                # no answer: the ring stops, and c2's time is long up
    assert StopRing("ann", "c2", missed=True) in out and Withdraw("c2", "timeout") in out
    assert not a.callers and a.agents["ann"].state == "available"
    a.check()


def test_leave_empty_withdraws_everyone_waiting_when_the_last_agent_goes():
    a = acd(support=dict(leave_empty=True))
    a.login("ann", 0)
    a.login("bob", 0)
    a.join("c1", "support", 1)          # rings ann
    a.answered("ann", 2)
    a.join("c2", "support", 3)          # rings bob
    a.logout("bob", 4)
    a.join("c3", "support", 5)
    assert a.empty("support") is False  # ann is on a call: logged in
    assert a.tick(6) == []
    a.ended("c1", 100)
    assert a.logout("ann", 101) == [Withdraw("c2", "empty"), Withdraw("c3", "empty")]
    assert a.empty("support") and not a.callers
    a.check()


def test_empty_can_count_paused_members_as_absent():
    a = ACD([QueueSpec("q", members=(("ann", 1),), empty="paused", leave_empty=True)], [AgentSpec("ann")])
    a.login("ann", 0)
    a.pause("ann", "lunch", 1)
    assert a.empty("q")
    b = ACD([QueueSpec("q", members=(("ann", 1),))], [AgentSpec("ann")])
    b.login("ann", 0)
    b.pause("ann", "lunch", 1)
    assert not b.empty("q")


# -- callers without a line: callback ---------------------------------------------------

def reserves(cmds):
    return [c.agent for c in cmds if isinstance(c, Reserve)]


def test_a_callback_keeps_its_place_and_reserves_an_agent_only_with_a_line_free():
    a = acd("linear")
    a.join("c1", "sales", 0)
    a.join("c2", "sales", 5)
    a.to_callback("c1", 10)
    assert a.position("c2", 10) == 2 and a.callers["c1"].lineless
    # No line free: the callback waits at the head, c2 behind it is served.
    assert rings(a.login("ann", 20)) == ["ann"] and a.agents["ann"].call == "c2"
    a.answered("ann", 21)
    assert reserves(a.login("bob", 22)) == [] and a.agents["bob"].state == "available"
    # A line frees: bob is kept for c1, the line counted taken.
    cmds = a.lines_free(1, 23)
    assert cmds == [Reserve("bob", "c1")] and a.agents["bob"].state == "reserved"
    assert a.free_lines == 0 and a.staffing("sales") == (2, 2)
    a.check()
    # The called party takes the call: bob rings for them, then talks.
    assert a.callback_answered("c1", 40) == [Ring("bob", "c1")]
    assert a.answered("bob", 42)[-1] == Connect("bob", "c1")
    a.ended("c1", 100)
    assert a.agents["bob"].state == "wrap-up"
    a.check()


def test_a_call_to_make_joins_without_a_line_and_is_never_rung_before_it_has_one():
    a = acd("linear")
    a.login("ann", 0)
    # An agent is free, but the caller has no line yet: ann is kept, not rung.
    assert a.join_to_call("o1", "sales", 1) == [] and a.callers["o1"].lineless
    assert a.lines_free(1, 2) == [Reserve("ann", "o1")]
    assert a.callback_answered("o1", 10) == [Ring("ann", "o1")]
    assert a.answered("ann", 12)[-1] == Connect("ann", "o1")
    a.check()
    with pytest.raises(ACDError, match="no queue 'nosuch'"):
        a.join_to_call("o2", "nosuch", 13)
    with pytest.raises(ACDError, match="already queued"):
        a.join_to_call("o1", "sales", 13)


def test_a_failed_attempt_frees_the_agent_at_once_and_waits_for_the_retry():
    a = acd("linear")
    a.login("ann", 0)
    a.join("c1", "sales", 0)
    a.answered("ann", 1)                         # ann busy
    a.join("cb", "sales", 2)
    a.to_callback("cb", 3, not_before=float("inf"))
    a.callback_after("cb", 5, 5)
    a.login("bob", 6)
    assert reserves(a.lines_free(2, 7)) == ["bob"]
    cmds = a.callback_failed("cb", 30, retry_at=90)
    assert Unreserve("bob", "cb") in cmds and a.agents["bob"].state == "available"
    a.join("c3", "sales", 31)                    # behind cb, but cb waits for its retry
    assert a.agents["bob"].call == "c3"
    a.answered("bob", 32)
    a.ended("c3", 40)
    a.lines_free(1, 41)
    assert reserves(a.tick(89)) == []
    assert reserves(a.tick(90)) == ["bob"]
    assert a.position("cb", 90) == 1
    a.check()


def test_a_reserved_agent_who_pauses_loses_the_reservation_not_the_caller():
    a = acd("linear")
    a.lines_free(1, 0)
    a.join("cb", "sales", 0)
    a.to_callback("cb", 0)
    assert reserves(a.login("ann", 1)) == ["ann"]
    cmds = a.pause("ann", "lunch", 2)
    assert cmds == [Unreserve("ann", "cb")] and a.agents["ann"].state == "paused"
    # The call going out is not given up: the next agent free is kept for it, no new line.
    assert reserves(a.login("bob", 3)) == ["bob"] and a.free_lines == 0
    a.logout("bob", 4)
    assert a.callback_answered("cb", 5) == []     # nobody kept: waits with a line, first in line
    assert a.position("cb", 5) == 1 and not a.callers["cb"].lineless
    assert rings(a.unpause("ann", 6)) == ["ann"]
    a.check()


def test_a_callback_that_expires_leaves_and_frees_its_agent():
    a = acd("linear")
    a.lines_free(1, 0)
    a.login("ann", 0)
    a.join("c1", "sales", 0)
    a.answered("ann", 0)
    a.join("cb", "sales", 1)
    a.to_callback("cb", 1)
    a.login("bob", 2)
    assert a.agents["bob"].state == "reserved"
    a.leave("cb", 3)
    assert a.agents["bob"].state == "available" and "cb" not in a.callers
    a.check()


def test_callback_mistakes_change_nothing():
    a = acd("linear")
    a.join("c1", "sales", 0)
    for bad in (lambda: a.callback_answered("c1", 1), lambda: a.callback_failed("c1", 1, 2),
                lambda: a.callback_after("c1", 1, 1), lambda: a.to_callback("nobody", 1),
                lambda: a.rejoin("c2", "sales", 1, joined=5), lambda: a.rejoin("c1", "sales", 1, joined=0)):
        with pytest.raises(ACDError):
            bad()
    a.to_callback("c1", 1)
    with pytest.raises(ACDError):
        a.to_callback("c1", 2)
    a.check()


def test_callbacks_are_never_withdrawn_for_the_queues_limits():
    a = acd("linear", max_wait_s=60, support=dict(leave_empty=True))
    a.lines_free(1, 0)
    a.join("cb", "sales", 0)
    a.to_callback("cb", 1)
    assert a.tick(500) == [] and a.callers["cb"].lineless
    assert reserves(a.login("ann", 600)) == ["ann"]
    assert a.callback_answered("cb", 620) == [Ring("ann", "cb")]
    assert not [c for c in a.tick(640) if isinstance(c, Withdraw)]      # rung again, then waits on
    assert "cb" in a.callers
    a.check()


def test_rejoin_takes_the_first_join_time():
    a = acd("linear")
    a.join("c1", "sales", 0)
    a.join("c2", "sales", 10)
    a.rejoin("c3", "sales", 20, joined=5)        # c3 first came at 5, hung up, called again
    assert [a.position(c, 20) for c in ("c1", "c3", "c2")] == [1, 2, 3]


# -- random interleavings -------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["join", "leave", "answer", "end", "login", "logout", "pause",
                                          "unpause", "tick", "callback", "lines", "cb-answer", "cb-fail",
                                          "rejoin"]),
                         st.integers(0, 5), st.integers(0, 3), st.floats(0, 40)),
               min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(ops=OPS, strategy=st.sampled_from(["ringall", "longest-idle", "round-robin", "linear", "random"]))
def test_random_interleavings_keep_every_invariant(ops, strategy):
    a = acd(strategy, levels=(1, 1, 2, 2), ring_s=10, wrapup_s=5, widen_s=20, max_wait_s=90,
            support=dict(leave_empty=True, empty="paused"))
    names = [x.name for x in AGENTS]
    now, joined, gone = 0.0, set(), set()
    for op, i, j, dt in ops:
        now += dt
        call, agent = f"c{i}", names[j]
        if op == "join" and call in gone:
            gone.discard(call)
        ok, out = True, []
        try:
            if op == "join":
                out = a.join(call, "sales" if i % 2 else "support", now, priority=i % 3)
                joined.add(call)
            elif op == "leave":
                out = a.leave(call, now)
                gone.add(call)
            elif op == "answer":
                out = a.answered(agent, now)
            elif op == "end":
                out = a.ended(call, now)
                gone.add(call)
            elif op == "login":
                out = a.login(agent, now)
            elif op == "logout":
                out = a.logout(agent, now)
            elif op == "pause":
                out = a.pause(agent, "break", now)
            elif op == "unpause":
                out = a.unpause(agent, now)
            elif op == "callback":
                out = a.to_callback(call, now, not_before=now + dt)
            elif op == "lines":
                out = a.lines_free(j, now)
            elif op == "cb-answer":
                out = a.callback_answered(call, now)
            elif op == "cb-fail":
                out = a.callback_failed(call, now, retry_at=now + dt)
            elif op == "rejoin":
                out = a.rejoin(call, "sales" if i % 2 else "support", now, joined=max(0.0, now - dt))
                joined.add(call)
                gone.discard(call)
            else:
                out = a.tick(now)
        except ACDError:
            ok = False
        # A caller withdrawn (waited too long, queue empty) is out, and said so.
        gone |= {c.call for c in out if isinstance(c, Withdraw)}
        a.check()
        # No caller is lost: everyone who joined is queued, ringing, connected, or left.
        assert {c for c in joined if c not in gone} == set(a.callers) - gone
        # Nobody is left waiting while an eligible agent sits available (every event
        # that went through offered the callers again at its time).
        for c in a.callers.values() if ok else ():
            if c.lineless and (c.reserved is not None or (not c.dialling and (now < c.not_before
                                                                              or a.free_lines <= 0))):
                continue            # kept an agent, or waits for a line or its retry
            if c.agent is None and not c.ringing:
                assert not a._eligible(c, now), (c.call, a._eligible(c, now))
