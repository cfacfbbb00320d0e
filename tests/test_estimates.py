"""How right the announced waits are: four traffic scenarios through `appliance simulate`
(the real supervisor on the signalling-only board), scored against what happened.

Scenarios (tests/traffic/estimate-*.toml, all AHT 240 s lognormal with cv 1, patience
exponential with mean 150 s): light (ρ 0.7, 3 agents), heavy (ρ 0.95, 5 agents),
overloaded (ρ 1.1, 4 agents), and a day whose calls (20-150 an hour) and agents (2-10)
change every hour.

Scored: callers who were told a wait figure and were then answered. Each one's error
is the estimate behind their first figure (unrounded) less the wait that was left
after it (their wait in the queue less the time it was said). Beside the box, on the
same callers at the same moments:
  - QL-m with the true parameters (AHT 240 s, patience 150 s) and the callers ahead
    and agents staffed at that moment, as the expected wait of an answered caller;
  - Asterisk's announced hold time: its moving average fed each answered caller's
    wait in order of answer, less what this caller had waited (before app_queue rounds
    it to minutes, as the box's estimate is taken before its bands).
The issue's bar: box RMSE at most 1.1 × QL-m's, at most 0.75 × Asterisk's, mean error
within ±10 s. Measured: 1.00-1.01 × QL-m, 0.63-0.66 × Asterisk, means within ±4 s;
Asterisk's figure runs 40-67 s low, as the notes found.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List

import pytest

from appliance import config, simulate, traffic
from appliance.waits import AsteriskHoldtime, ql_m

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent / "traffic"
SCENARIOS = ("light", "heavy", "overloaded", "day")
AHT_S, PATIENCE_S = 240.0, 150.0


def errors(records: List[dict]) -> Dict[str, List[float]]:
    """Each method's error (estimate less the wait left), caller by caller."""
    queued = [r for r in records if r["queue"]]
    answers = sorted((r["joined_s"] + r["wait_s"], r["wait_s"]) for r in queued if r["outcome"] == "answered")
    told = sorted((r for r in queued if r["outcome"] == "answered" and r["announced_wait_s"] is not None),
                  key=lambda r: r["joined_s"] + r["announced_at_s"])
    asterisk = AsteriskHoldtime()
    fed = 0
    out: Dict[str, List[float]] = {"box": [], "qlm": [], "asterisk": []}
    for r in told:
        at = r["joined_s"] + r["announced_at_s"]
        while fed < len(answers) and answers[fed][0] <= at:
            asterisk.answered(answers[fed][1])
            fed += 1
        left = r["wait_s"] - r["announced_at_s"]
        out["box"].append(r["announced_wait_s"] - left)
        out["qlm"].append(ql_m(r["announced_position"] - 1, r["announced_staffed"], AHT_S, PATIENCE_S,
                               answered=True) - left)
        out["asterisk"].append((asterisk.estimate(r["announced_at_s"]) or 0.0) - left)
    return out


def rmse(e: List[float]) -> float:
    return math.sqrt(sum(x * x for x in e) / len(e))


def mean(e: List[float]) -> float:
    return sum(e) / len(e)


@pytest.fixture(scope="module")
def table():
    office = config.load(str(HERE / "office.toml"))
    rows = {}
    for name in SCENARIOS:
        sim = simulate.Simulation(office, traffic.load(str(HERE / f"estimate-{name}.toml")))
        try:
            records = sim.run()
        finally:
            sim.close()
        rows[name] = (records, errors(records))
    lines = [f"{'scenario':<11} {'calls':>6} {'scored':>6} {'box RMSE':>9} {'mean':>6} {'QL-m RMSE':>9} "
             f"{'mean':>6} {'Asterisk RMSE':>13} {'mean':>6} {'box/QL-m':>8} {'box/Ast.':>8}"]
    for name, (records, e) in rows.items():
        lines.append(f"{name:<11} {len(records):>6} {len(e['box']):>6} {rmse(e['box']):>9.1f} {mean(e['box']):>6.1f} "
                     f"{rmse(e['qlm']):>9.1f} {mean(e['qlm']):>6.1f} {rmse(e['asterisk']):>13.1f} "
                     f"{mean(e['asterisk']):>6.1f} {rmse(e['box']) / rmse(e['qlm']):>8.2f} "
                     f"{rmse(e['box']) / rmse(e['asterisk']):>8.2f}")
    text = "\n".join(lines)
    print("\nestimate accuracy (seconds; error = estimate less the wait left, answered callers told a figure)\n"
          + text)
    return rows, text


def test_the_scoring_follows_the_callers_own_figures():
    """The scoring itself, on two hand-made callers: errors are estimate less wait left,
    and Asterisk's average has only the waits answered before the moment in it."""
    base = {"queue": "support", "outcome": "answered", "announced_position": 2, "announced_staffed": 1}
    records = [dict(base, joined_s=0.0, wait_s=100.0, announced_wait_s=None, announced_at_s=None),
               dict(base, joined_s=50.0, wait_s=80.0, announced_wait_s=90.0, announced_at_s=60.0)]
    e = errors(records)
    assert e["box"] == [90.0 - 20.0]
    assert e["qlm"] == [pytest.approx(ql_m(1, 1, AHT_S, PATIENCE_S, answered=True) - 20.0)]
    # The first caller was answered at 100 s, before the figure at 110 s: 100 // 4 = 25.
    # At 60 s waited app_queue works |25 + 30 - 60| = 5 s, which rounds to no minutes:
    # nothing said, a figure of 0 against 20 s left.
    assert e["asterisk"] == [0.0 - 20.0]


@pytest.mark.parametrize("name", SCENARIOS)
def test_enough_callers_are_scored(table, name):
    rows, text = table
    assert len(rows[name][1]["box"]) >= 200, text


@pytest.mark.parametrize("name", SCENARIOS)
def test_box_is_as_good_as_qlm_with_the_true_parameters(table, name):
    rows, text = table
    e = rows[name][1]
    assert rmse(e["box"]) <= 1.1 * rmse(e["qlm"]), text


@pytest.mark.parametrize("name", SCENARIOS)
def test_box_beats_asterisk(table, name):
    rows, text = table
    e = rows[name][1]
    assert rmse(e["box"]) <= 0.75 * rmse(e["asterisk"]), text


@pytest.mark.parametrize("name", SCENARIOS)
def test_box_is_unbiased(table, name):
    rows, text = table
    assert abs(mean(rows[name][1]["box"])) <= 10.0, text
