"""Wait estimates: QL-m's sums, what the history learns, Asterisk's yardstick, and the
accuracy of what the box would announce over four simulated days of a queue (light,
heavy, overloaded, and load and staffing changing every hour), scored over the callers
who waited and were answered."""
from __future__ import annotations

import math

import numpy as np
import pytest

import queue_model as qm
from appliance.acd import BusyAgent
from appliance.waits import MIN_HISTORY, AsteriskHoldtime, HandleTimes, WaitHistory, first_free, ql_m

SCENARIOS = [
    qm.Scenario("light (rho 0.7, 3 agents)", [(31.5, 3)]),
    qm.Scenario("heavy (rho 0.95, 5 agents)", [(71.25, 5)]),
    qm.Scenario("overloaded (rho 1.1, 4 agents)", [(66.0, 4)]),
    qm.Scenario("a day: 20-150 calls/h, 2-10 agents", [(20, 2), (60, 4), (120, 8), (150, 10), (100, 7), (80, 6),
                                                        (140, 9), (40, 3)]),
]


def test_ql_m_sums():
    assert ql_m(0, 4, 240, 150) == pytest.approx(60.0)
    assert ql_m(3, 2, 240, None) == pytest.approx(4 * 120.0)             # plain QL
    assert ql_m(2, 2, 240, 120) == pytest.approx(1 / (1 / 120) + 1 / (1 / 120 + 1 / 120) + 1 / (1 / 120 + 2 / 120))
    assert ql_m(2, 2, 240, 120, answered=True) == pytest.approx(60 + 40 + 30)
    assert ql_m(5, 3, 240, 150, answered=True) < ql_m(5, 3, 240, 150)
    with pytest.raises(ValueError):
        ql_m(-1, 2, 240, 150)
    with pytest.raises(ValueError):
        ql_m(0, 0, 240, 150)


def test_history_learns_handle_time_and_patience():
    h = WaitHistory()
    assert h.estimate(2, 3, 3) is None                   # nothing seen yet: position only
    for i in range(MIN_HISTORY):
        h.handled(200.0 + 10 * i)
    assert h.aht == pytest.approx(245.0)
    assert h.patience is None                            # nobody gave up: plain QL
    assert h.estimate(1, 3, 3) == pytest.approx(2 * 245.0 / 3)
    h.answered(30.0)
    h.answered(90.0)
    h.abandoned(60.0)
    assert h.patience == pytest.approx(180.0)            # 180 s waited, one gave up
    assert h.estimate(0, 2, 3) == 0.0                    # an agent is free, none rung yet
    h.rang(4.0)
    h.rang(6.0)
    assert h.answer_delay == 5.0 and h.estimate(0, 2, 3) == 5.0   # rung at once
    assert h.delay_left(5.0) == 1.0 and h.delay_left(9.0) == 0.0
    assert h.estimate(0, 3, 0) is None                   # nobody to answer
    # Without the agents' state, every step at the steady rate of ring + talk + wrap-up.
    assert h.estimate(4, 3, 3, wrapup_s=10.0) == pytest.approx(5.0 + ql_m(4, 3, 260.0, 180.0, answered=True))


def lognormal(rng, n, aht=240.0, cv=1.0):
    sigma2 = math.log(1 + cv * cv)
    return rng.lognormal(math.log(aht) - sigma2 / 2, math.sqrt(sigma2), n)


def test_handle_times_residual_survival():
    h = HandleTimes([100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0])
    assert h.survival(-5.0) == 1.0 and h.survival(0.0) == 1.0
    assert h.survival(200.0) == pytest.approx(10.5 / 12)   # one and a half of twelve shorter
    assert h.survival(250.0) == pytest.approx(10 / 12)     # linear between the samples
    assert h.u == 700.0 and h.tail_p == pytest.approx(5 / 12) and h.tau == pytest.approx(300.0)
    assert h.survival(700.0) == pytest.approx(5 / 12)      # the tail: the five longest
    assert h.residual_survival(200.0, 0.0) == 1.0
    assert h.residual_survival(200.0, 100.0) == pytest.approx(9.5 / 10.5)
    s = h.residual_survival(50.0, np.arange(0.0, 3000.0, 10.0))
    assert np.all(np.diff(s) <= 0) and s[-1] < 0.05
    # Longer than every sample: the tail's residual, memoryless, mean tau.
    assert h.mean_residual(5000.0) == pytest.approx(300.0)
    assert h.residual_survival(5000.0, 300.0) == pytest.approx(math.exp(-1))
    assert h.mean_residual(0.0) == pytest.approx(np.mean([100.0 * i for i in range(1, 13)]), rel=0.01)
    with pytest.raises(ValueError):
        HandleTimes([100.0])


def test_lognormal_calls_last_longer_the_longer_they_have_gone():
    """Why the agents' elapsed talk is worth asking for: with cv 1 a call 10 minutes in
    has a fifth more to go than one just begun (an exponential call would not)."""
    h = HandleTimes(lognormal(np.random.default_rng(3), 5000))
    assert h.mean_residual(0.0) == pytest.approx(240.0, rel=0.05)
    assert h.mean_residual(600.0) > 1.2 * h.mean_residual(0.0)


@pytest.mark.parametrize("agents, ahead", [
    ([(30.0, 10.0), (200.0, 10.0), (600.0, 10.0)], 0),  # three calls in progress, wrap-up after
    ([(30.0, 10.0), (200.0, 10.0), (600.0, 10.0)], 2),  # ... and two callers ahead who may give up
    ([(90.0, 0.0)], 0),                                 # one agent
    ([(5000.0, 10.0)], 0),                              # talking longer than every sample
    ([(0.0, 15.0), (120.0, 10.0)], 1),                  # one just rung: a whole call to come
])
def test_first_free_against_monte_carlo(agents, ahead):
    """The first step of the line, integrated from the residual survivals, against drawing
    the residuals, the callers ahead giving up and the caller's own patience."""
    rng = np.random.default_rng(7)
    h = HandleTimes(lognormal(rng, 300))
    theta, n = 1 / 150, 200000
    # Draw from h's own distribution (inverse of its survival, by interpolation).
    grid = np.concatenate((np.linspace(0, h.u, 4000), h.u + np.linspace(0, 40 * h.tau, 4000)[1:]))
    surv = h.survival(grid)

    def residual(e):
        u = rng.uniform(0, 1, n) * h.survival(e)
        return np.interp(-u, -surv, grid) - e

    free = np.min([s + residual(e) for e, s in agents], axis=0)
    gone = rng.exponential(1 / (ahead * theta), n) if ahead else np.full(n, np.inf)
    step = np.minimum(free, gone)
    kept = rng.exponential(1 / theta, n) > step          # the caller is still there: answered
    want = step[kept].mean()
    got = first_free(h, [(e, s, 0.0) for e, s in agents], theta, ahead)
    assert got == pytest.approx(want, rel=0.02, abs=0.5)


def test_first_free_edge_cases():
    h = HandleTimes(lognormal(np.random.default_rng(1), 200))
    assert first_free(h, [(None, 0.0, 7.0)], 0.0, 0) == pytest.approx(7.0)     # in wrap-up: free at its end
    assert first_free(h, [(None, 0.0, 0.0)], 1 / 150, 3) == 0.0
    # A wrap-up ending in 7 s bounds the first step whatever else is busy.
    assert first_free(h, [(None, 0.0, 7.0), (10.0, 10.0, 0.0)], 0.0, 0) == pytest.approx(7.0, abs=0.1)
    # Past every sample: the tail's mean, plus the wrap-up.
    assert first_free(h, [(1e5, 10.0, 0.0)], 0.0, 0) == pytest.approx(10.0 + h.tau, rel=0.01)


def test_estimate_from_the_busy_agents():
    h = WaitHistory()
    busy = [BusyAgent("a", "on-call", 20.0, 10.0, "c1", "q"), BusyAgent("b", "on-call", 400.0, 10.0, "c2", "q")]
    assert h.estimate(0, 2, 2, busy, "q", "me", 10.0) is None        # no history: position only
    rng = np.random.default_rng(2)
    for x in lognormal(rng, 200):
        h.handled(float(x))
    for _ in range(20):
        h.rang(5.0)
        h.answered(40.0)
    h.abandoned(100.0)
    one = h.estimate(0, 2, 2, busy, "q", "me", 10.0)
    assert one == pytest.approx(5.0 + first_free(h.distribution, [(20.0, 10.0, 0.0), (400.0, 10.0, 0.0)],
                                                 1 / h.patience, 0))
    # Two ahead: then the steady steps, each at 2 agents / (ring + AHT + wrap-up).
    rate, theta = 2 / (5.0 + h.aht + 10.0), 1 / h.patience
    assert h.estimate(2, 2, 2, busy, "q", "me", 10.0) == pytest.approx(
        5.0 + first_free(h.distribution, [(20.0, 10.0, 0.0), (400.0, 10.0, 0.0)], theta, 2)
        + 1 / (rate + theta) + 1 / (rate + 2 * theta))
    # An agent wrapping up for 3 s more: the first step is those 3 s.
    wrap = [BusyAgent("a", "wrap-up", 0.0, 3.0), busy[1]]
    assert h.estimate(0, 2, 2, wrap, "q", "me", 10.0) == pytest.approx(8.0, abs=0.1)
    # The caller ahead being rung has their agent: this caller waits as if first.
    rung = [BusyAgent("a", "ringing", 1.0, 10.0, "c0", "q"), busy[1]]
    first = h.estimate(0, 2, 2, [BusyAgent("a", "ringing", 1.0, 10.0, "x", "other"), busy[1]], "q", "me", 10.0)
    assert h.estimate(1, 2, 2, rung, "q", "me", 10.0) == pytest.approx(first)
    # Rung for this caller: only the answer is to come.
    assert h.estimate(0, 2, 2, [BusyAgent("a", "ringing", 1.0, 10.0, "me", "q"), busy[1]], "q", "me", 10.0) == 4.0
    # Ringall: the second phone ringing for c0 is free when the first answers.
    both = [BusyAgent("a", "ringing", 1.0, 10.0, "c0", "q"), BusyAgent("b", "ringing", 1.0, 10.0, "c0", "q")]
    assert h.estimate(1, 2, 2, both, "q", "me", 10.0) == pytest.approx(5.0 + 4.0, abs=0.1)
    # A call long past every sample still gives a finite figure.
    assert math.isfinite(h.estimate(0, 1, 1, [BusyAgent("a", "on-call", 1e5, 10.0, "c1", "q")], "q", "me", 10.0))


def test_asterisk_holdtime_as_app_queue_keeps_it():
    a = AsteriskHoldtime()
    assert a.estimate() is None
    for w in (100, 100, 100):
        a.answered(w)
    assert a.holdtime == 57                              # (0+100)//4=25, (75+100)//4=43, (129+100)//4=57
    # The 30 s in app_queue's |holdtime + 30 - waited| / 60 rounds to the nearest minute;
    # it is not said. Counting it in biased Asterisk's figure 30 s high.
    assert a.estimate(0) == 57 and a.spoken_minutes(0) == 1
    assert a.estimate(40) == 17 and a.spoken_minutes(40) == 0   # 17 s: nothing said
    assert a.estimate(120) == 3                          # |57 + 30 - 120| = 33 rounds to 0
    assert a.estimate(200) == 83 and a.spoken_minutes(200) == 1  # past the average it grows again
    for waited in range(0, 400, 7):                      # the figure rounds to what is said
        assert round(a.estimate(waited) / 60 + 1e-9) == a.spoken_minutes(waited) or \
            (a.estimate(waited) / 60) % 1 == 0.5


def test_estimate_accuracy_over_four_scenarios():
    rows = []
    for sc in SCENARIOS:
        waiters = qm.run(sc, seed=1)
        box_rmse, box_mean, n = qm.errors(waiters, "box")
        ql_rmse, ql_mean, _ = qm.errors(waiters, "ql-m true")
        ast_rmse, ast_mean, _ = qm.errors(waiters, "asterisk")
        rows.append((sc.name, n, box_rmse, box_mean, ql_rmse, ql_mean, ast_rmse, ast_mean))
    lines = [f"{'scenario':<38} {'callers':>7} {'box rmse':>9} {'mean':>6} {'QL-m true':>10} {'mean':>6} "
             f"{'Asterisk':>9} {'mean':>6} {'/QL-m':>6} {'/Ast':>5}"]
    for name, n, br, bm, qr, qmean, ar, am in rows:
        lines.append(f"{name:<38} {n:>7} {br:>9.1f} {bm:>+6.1f} {qr:>10.1f} {qmean:>+6.1f} {ar:>9.1f} {am:>+6.1f} "
                     f"{br / qr:>6.2f} {br / ar:>5.2f}")
    print("\n" + "\n".join(lines))
    for name, n, br, bm, qr, qmean, ar, am in rows:
        assert n > 3000
        assert br <= 1.1 * qr, name
        assert abs(bm) <= 10.0, name
        assert br / ar <= ASTERISK_RATIO[name[:5]], name


# The bar: at most 0.75 of Asterisk's error, its figure taken as app_queue says it (the
# moving average less the wait so far, before rounding to minutes). Measured 0.63-0.65.
ASTERISK_RATIO = {"light": 0.75, "heavy": 0.75, "overl": 0.75, "a day": 0.75}
