"""Erlang B, C and A (appliance/erlang.py), each checked against something computed
another way:

  - Erlang B against its textbook sum of A^k/k! in exact fractions.
  - Erlang C against pyworkforce 0.5.1's ErlangC (a test dependency). Its quirks are
    worked around here, not copied: its `asa` argument is the service level's time
    (in its time unit, minutes here), its P(wait) runs past 1 when s < A (so only
    s > A is compared), and its agent search starts at round(A + 1), so it can name
    one agent more than needed (agent counts are compared only where that start is
    not above the fewest that meet the target).
  - Erlang A: no installable package computes it here (those on the index do Erlang
    C, or send the figures to a web service), so it is checked against an independent
    numerical solution with numpy: the birth-death chain of the queue truncated far
    out (its stationary distribution solved as a linear system), and the chain of one
    tagged caller moving up the line (answered within T by uniformisation, answered
    at all and the mean wait of those answered by solving with its generator).
  - Properties: more agents never lower a service level nor raise waits or
    abandonment; service levels are fractions; P(answered) computed from the queue
    agrees with 1 - P(abandon) computed from its length; long patience is Erlang C.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from appliance import erlang

pyworkforce = pytest.importorskip("pyworkforce.queuing")


# -- Erlang B ----------------------------------------------------------------------

def textbook_b(load: Fraction, s: int) -> float:
    terms = [load ** k / math.factorial(k) for k in range(s + 1)]
    return float(terms[-1] / sum(terms))


@pytest.mark.parametrize("load,s", [(Fraction(1, 2), 1), (Fraction(4), 6), (Fraction(37, 3), 15), (Fraction(80), 90),
                                    (Fraction(3), 0)])
def test_erlang_b_is_the_textbook_sum(load, s):
    assert erlang.erlang_b(float(load), s) == pytest.approx(textbook_b(load, s), rel=1e-12)
    assert math.exp(erlang.log_erlang_b(float(load), s)) == pytest.approx(textbook_b(load, s), rel=1e-12)


def test_log_erlang_b_is_finite_where_b_underflows():
    assert erlang.erlang_b(1.0, 250) == 0.0
    # ln(1/250!) less a little: the sum of 1/k! is e.
    assert erlang.log_erlang_b(1.0, 250) == pytest.approx(-math.lgamma(251) - 1.0, rel=1e-9)


# -- Erlang C against pyworkforce ----------------------------------------------------

GRID_C = [(calls, aht_min, s, t_s) for calls, aht_min in [(60, 4), (30, 3), (200, 5), (1000, 4), (12, 10)]
          for t_s in (10, 20, 60) for s in range(1, 120)]


def pwf(calls_per_hour, aht_min, t_s):
    return pyworkforce.ErlangC(transactions=calls_per_hour, aht=aht_min, asa=t_s / 60, interval=60)


@pytest.mark.parametrize("calls,aht_min,t_s", sorted({(c, a, t) for c, a, _, t in GRID_C}))
def test_erlang_c_agrees_with_pyworkforce(calls, aht_min, t_s):
    theirs = pwf(calls, aht_min, t_s)
    load = calls * aht_min / 60
    compared = 0
    for s in range(1, 120):
        if s <= load:
            with pytest.raises(ValueError):
                erlang.erlang_c(load, s)
            continue
        ours = erlang.erlang_c_performance(calls / 3600, aht_min * 60, s, t_s)
        assert ours.p_wait == pytest.approx(theirs.waiting_probability(s), rel=1e-9, abs=1e-15)
        assert ours.sl_offered == pytest.approx(theirs.service_level(s), rel=1e-9, abs=1e-15)
        compared += 1
    assert compared > 20


@pytest.mark.parametrize("calls,aht_min,target", [(60, 4, 0.8), (30, 3, 0.8), (200, 5, 0.9), (1000, 4, 0.8),
                                                  (12, 10, 0.7), (75, 4, 0.95), (500, 3, 0.5)])
def test_erlang_c_staffing_agrees_with_pyworkforce(calls, aht_min, target):
    ours = erlang.agents_needed("erlang-c", calls / 3600, aht_min * 60, math.inf, target, 20)
    theirs = pwf(calls, aht_min, 20).required_positions(target)
    load = calls * aht_min / 60
    # pyworkforce never tries fewer than round(A + 1) agents.
    start = round(load + 1)
    assert theirs["positions"] == max(ours.agents, start)
    assert ours.sl_offered == pytest.approx(pwf(calls, aht_min, 20).service_level(ours.agents), rel=1e-9)
    assert ours.sl_offered >= target
    if ours.agents - 1 > load:
        assert erlang.erlang_c_performance(calls / 3600, aht_min * 60, ours.agents - 1, 20).sl_offered < target


def test_erlang_c_asa_is_c_aht_over_spare_agents():
    p = erlang.erlang_c_performance(60 / 3600, 240, 6, 20)
    assert p.asa_s == pytest.approx(p.p_wait * 240 / 2)


# -- Erlang A against its chains -------------------------------------------------------

def chain(rate, aht_s, patience_s, s, t_s, ahead_max=400):
    """The same figures from the truncated birth-death chain and a tagged caller's chain."""
    mu, theta = 1 / aht_s, 1 / patience_s
    n = s + ahead_max + 1                               # states 0 .. s + ahead_max
    q = np.zeros((n, n))
    for k in range(n):
        if k + 1 < n:
            q[k, k + 1] = rate
        if k > 0:
            q[k, k - 1] = min(k, s) * mu + max(k - s, 0) * theta
        q[k, k] = -q[k].sum()
    # π Q = 0 with its first equation (implied by the others) replaced by Σπ = 1.
    a = q.T.copy()
    a[0] = 1.0
    pi = np.linalg.solve(a, np.eye(n)[0])
    assert pi[-1] < 1e-12, "the truncation cuts off probability that counts"
    waiting = pi[s:]                                    # an arrival finds k = 0.. ahead

    # The tagged caller with k ahead: k -> k-1 at sμ + kθ, served from 0 at sμ, gone at θ.
    m = ahead_max + 1
    g = np.zeros((m, m))
    for k in range(m):
        g[k, k] = -(s * mu + k * theta + theta)
        if k > 0:
            g[k, k - 1] = s * mu + k * theta
    served = np.zeros(m)
    served[0] = s * mu
    p_served = np.linalg.solve(-g, served)
    wait_served = np.linalg.solve(g, np.linalg.solve(g, served))   # ∫ t e^{Gt} dt · a = G^-2 a
    # Served by t_s: uniformise the chain with the absorbing "served" state added.
    lam = -g.diagonal().min()
    p = np.eye(m) + g / lam
    v, by_t = np.zeros(m), np.zeros(m)
    mean = lam * t_s
    weight = math.exp(-mean)
    for step in range(int(mean + 20 * math.sqrt(mean) + 50)):
        v = p @ v + served / lam                        # P(absorbed in served within step+1 jumps)
        weight *= mean / (step + 1)
        by_t += weight * v
    offered_in_queue = waiting[:m]
    p_no_wait = pi[:s].sum()
    p_answered = p_no_wait + offered_in_queue @ p_served
    return {
        "p_wait": waiting.sum(),
        "p_abandon": theta * (np.arange(len(waiting)) @ waiting) / rate,
        "p_answered": p_answered,
        "sl_offered": p_no_wait + offered_in_queue @ by_t,
        "sl_answered": (p_no_wait + offered_in_queue @ by_t) / p_answered,
        "asa_s": (offered_in_queue @ wait_served) / p_answered,
    }


CASES_A = [
    (60, 240, 150, 6, 20), (60, 240, 150, 4, 20), (60, 240, 150, 2, 20), (30, 180, 60, 3, 30),
    (120, 300, 400, 9, 20), (600, 240, 150, 3, 20), (40, 200, 90, 8, 0), (200, 240, 150, 15, 60),
    (20, 120, 30, 1, 10), (100, 240, 150, 12, 120),
]


@pytest.mark.parametrize("calls,aht,patience,s,t", CASES_A)
def test_erlang_a_agrees_with_the_chains(calls, aht, patience, s, t):
    ours = erlang.erlang_a(calls / 3600, aht, patience, s, t)
    theirs = chain(calls / 3600, aht, patience, s, t)
    for key in ("p_wait", "p_abandon", "sl_offered", "sl_answered", "asa_s"):
        assert getattr(ours, key) == pytest.approx(theirs[key], rel=1e-7, abs=1e-10), key
    assert 1 - ours.p_abandon == pytest.approx(theirs["p_answered"], rel=1e-9)


def test_erlang_a_holds_at_hundreds_of_agents():
    # 250 agents: Γ(x+j+1) and 1/B alone are far beyond a double; the answer is not.
    rate, aht, patience, t = 3600 / 3600, 240, 150, 20
    for s in (200, 229, 250):
        ours = erlang.erlang_a(rate, aht, patience, s, t)
        theirs = chain(rate, aht, patience, s, t, ahead_max=400)
        for key in ("p_wait", "p_abandon", "sl_offered", "sl_answered", "asa_s"):
            assert getattr(ours, key) == pytest.approx(theirs[key], rel=1e-6, abs=1e-10), (s, key)


def test_erlang_a_light_load_on_many_agents():
    p = erlang.erlang_a(1 / 3600, 240, 150, 250, 20)
    assert p.p_wait == 0.0 and p.sl_offered == 1.0 and p.asa_s == 0.0


def test_erlang_a_overloaded_still_answers():
    # Ten times the load the agents can carry: callers who give up keep the line finite.
    p = erlang.erlang_a(600 / 3600, 240, 150, 4, 20)
    assert p.p_wait == pytest.approx(1.0, abs=1e-6)
    assert p.p_abandon == pytest.approx(1 - 4 / 40, rel=0.02)      # nearly all the agents can take
    assert 0 <= p.sl_offered < 0.01


# -- properties ----------------------------------------------------------------------

traffic = st.tuples(st.floats(1, 2000), st.floats(30, 900), st.floats(10, 1200), st.integers(1, 150),
                    st.floats(0, 300))


@settings(max_examples=150, deadline=None)
@given(traffic)
def test_more_agents_never_make_it_worse(t):
    calls, aht, patience, s, sl_t = t
    now = erlang.erlang_a(calls / 3600, aht, patience, s, sl_t)
    more = erlang.erlang_a(calls / 3600, aht, patience, s + 1, sl_t)
    eps = 1e-12
    for p in (now, more):
        assert -eps <= p.sl_offered <= p.sl_answered + eps <= 1 + 2 * eps
        assert 0 <= p.p_abandon <= p.p_wait <= 1 + eps
        assert p.asa_s >= 0
    assert more.sl_offered >= now.sl_offered - eps
    assert more.sl_answered >= now.sl_answered - eps
    assert more.p_wait <= now.p_wait + eps
    assert more.p_abandon <= now.p_abandon + eps
    assert more.asa_s <= now.asa_s * (1 + 1e-9) + eps


@settings(max_examples=100, deadline=None)
@given(st.floats(1, 2000), st.floats(30, 900), st.integers(1, 150), st.floats(0, 300))
def test_erlang_c_more_agents_never_make_it_worse(calls, aht, s, sl_t):
    load = calls / 3600 * aht
    if s <= load:
        return
    now = erlang.erlang_c_performance(calls / 3600, aht, s, sl_t)
    more = erlang.erlang_c_performance(calls / 3600, aht, s + 1, sl_t)
    assert 0 <= now.sl_offered <= more.sl_offered <= 1
    assert more.p_wait <= now.p_wait <= 1
    assert more.asa_s <= now.asa_s


@pytest.mark.parametrize("calls,aht,s,t", [(60, 240, 5, 20), (60, 240, 7, 20), (300, 180, 18, 30), (1000, 240, 75, 20)])
def test_erlang_a_becomes_erlang_c_as_patience_grows(calls, aht, s, t):
    c = erlang.erlang_c_performance(calls / 3600, aht, s, t)
    previous = None
    for patience in (1e3, 1e5, 1e7, 1e9):
        a = erlang.erlang_a(calls / 3600, aht, patience, s, t)
        gap = abs(a.sl_offered - c.sl_offered) + abs(a.p_wait - c.p_wait) + abs(a.asa_s - c.asa_s) / aht
        assert previous is None or gap < previous
        previous = gap
    assert a.sl_offered == pytest.approx(c.sl_offered, rel=1e-6)
    assert a.sl_answered == pytest.approx(c.sl_answered, rel=1e-6)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-5)
    assert a.p_abandon < 1e-6
    assert erlang.erlang_a(calls / 3600, aht, math.inf, s, t) == c


# -- staffing --------------------------------------------------------------------------

def test_erlang_a_needs_one_agent_fewer_than_erlang_c_from_about_60_calls_an_hour():
    # 80 % within 20 s, AHT 4 min, patience 2.5 min: at 60 calls/h 6 agents against 7.
    a = erlang.agents_needed("erlang-a", 60 / 3600, 240, 150, 0.8, 20)
    c = erlang.agents_needed("erlang-c", 60 / 3600, 240, 150, 0.8, 20)
    assert (a.agents, c.agents) == (6, 7)

    def fewer(calls):
        return (erlang.agents_needed("erlang-c", calls / 3600, 240, 150, 0.8, 20).agents
                - erlang.agents_needed("erlang-a", calls / 3600, 240, 150, 0.8, 20).agents)

    assert [fewer(calls) for calls in range(10, 41, 10)] == [0, 0, 0, 0]
    # "About": at 80 calls/h Erlang C's 8 agents just make it (82 %), and both need 8.
    assert [fewer(calls) for calls in range(50, 81, 10)] == [1, 1, 1, 0]
    assert all(fewer(calls) >= 1 for calls in range(90, 401, 10))


@pytest.mark.parametrize("model", ["erlang-a", "erlang-c"])
@pytest.mark.parametrize("over", erlang.DEFINITIONS)
@pytest.mark.parametrize("calls,target,t", [(5, 0.8, 20), (60, 0.8, 20), (450, 0.9, 15), (3000, 0.8, 20),
                                            (120, 0.5, 0), (40, 0.99, 60)])
def test_agents_needed_is_the_fewest_that_meet_the_target(model, over, calls, target, t):
    p = erlang.agents_needed(model, calls / 3600, 240, 150, target, t, over)
    assert p.service_level(over) >= target
    assert p == erlang.performance(model, calls / 3600, 240, 150, p.agents, t)
    fewer = p.agents - 1
    if fewer >= 1 and (model == "erlang-a" or fewer > calls / 3600 * 240):
        assert erlang.performance(model, calls / 3600, 240, 150, fewer, t).service_level(over) < target


def test_no_calls_need_no_agents():
    assert erlang.agents_needed("erlang-a", 0.0, 240, 150, 0.8, 20).agents == 0


@pytest.mark.parametrize("call,message", [
    (lambda: erlang.erlang_c(4.0, 4), "more agents than the load"),
    (lambda: erlang.agents_needed("erlang-a", 1 / 60, 240, 150, 1.0, 20), "target"),
    (lambda: erlang.agents_needed("erlang-a", 1 / 60, 240, 150, 0.8, 20, "both"), "over"),
    (lambda: erlang.erlang_a(1 / 60, 0, 150, 3, 20), "handle time"),
    (lambda: erlang.erlang_a(1 / 60, 240, 0, 3, 20), "patience"),
    (lambda: erlang.erlang_a(1 / 60, 240, 150, 0, 20), "at least one agent"),
    (lambda: erlang.performance("erlang-x", 1 / 60, 240, 150, 3, 20), "unknown model"),
])
def test_what_has_no_answer_says_so(call, message):
    with pytest.raises(ValueError, match=message):
        call()
