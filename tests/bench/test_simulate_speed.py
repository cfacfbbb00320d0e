"""How long `appliance simulate` takes over an 8-hour day of a 30-line, 10-agent office.

The scene: tests/traffic/office.toml (30 exchange lines, 10 agents with phones on FXS
ports, one queue) and tests/traffic/speed-day.toml (8 hours, about 2,000 calls straight
to the queue, 8 to 10 agents, AHT 120 s, patience 150 s), run as the command runs it:
the real supervisor on the signalling-only board, scripted callers and agents, a call
log on disk.

What is measured, in CPU seconds of this thread (the call log's fsyncs wait on the disk,
not the CPU; wall seconds are printed beside): Simulation.run() from the first ring to
the last call's end. Set-up (loading the office, its prompts) is not timed.
Baseline, in the same run: the bare engine with the same 40 channel pairs, signalling
only, moved through the same 8 hours in the simulation's longest step (MAX_STEP_S) with
no call on it: the least any loop of that shape costs. Ratio = simulation / baseline.
Target (the product's issue): the day in at most 30 s on one core.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from appliance import config, simulate, traffic
from appliance.engine import FRAME, SAMPLE_RATE
from appliance.sim import SimOffice

HERE = Path(__file__).resolve().parent.parent / "traffic"
TARGET_S = 30.0


def bare_engine(seconds: float) -> float:
    with SimOffice(lines=30, phones=10, audio=False) as o:
        step = max(1, math.ceil(simulate.MAX_STEP_S * SAMPLE_RATE / FRAME))
        t0 = time.thread_time()
        while o.engine.now < seconds * SAMPLE_RATE:
            o.engine.run(step, stop_on_event=True)
        return time.thread_time() - t0


def test_an_eight_hour_day_of_thirty_lines(benchmark, report, tmp_path):
    office = config.load(str(HERE / "office.toml"))
    day = traffic.load(str(HERE / "speed-day.toml"))
    result = {}

    def one_round():
        sim = simulate.Simulation(office, day, log_path=tmp_path / f"calls-{len(result)}.db")
        try:
            w0, t0 = time.perf_counter(), time.thread_time()
            records = sim.run()
            result.update(cpu=time.thread_time() - t0, wall=time.perf_counter() - w0, records=records,
                          simulated=sim.engine.now_ms / 1000.0)
        finally:
            sim.close()

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    records = result["records"]
    base = bare_engine(result["simulated"])
    answered = sum(1 for r in records if r["outcome"] == "answered")
    met = result["cpu"] <= TARGET_S
    report(f"8-hour day, 30 lines, 10 agents: {len(records)} calls ({answered} answered) in "
           f"{result['cpu']:.1f} CPU s ({result['wall']:.1f} s wall), "
           f"{result['simulated'] / result['cpu']:.0f} simulated s per CPU s; bare engine over the same "
           f"{result['simulated'] / 3600:.1f} h {base:.2f} s, ratio {result['cpu'] / base:.1f}; "
           f"target {TARGET_S:.0f} s {'met' if met else 'NOT met'}")
    benchmark.extra_info.update(calls=len(records), cpu_s=round(result["cpu"], 2), ratio=round(result["cpu"] / base, 1))
    assert len(records) >= 1800
    assert met
