"""How long Erlang A takes where staffing asks it most: a queue of 250 agents.

What is measured, in CPU seconds of this thread: erlang.erlang_a for 250 agents
answering 3,600 calls an hour (AHT 240 s, patience 150 s, 20 s service level), and the
staffing search for that hour (agents_needed, which evaluates it a dozen times).
Baseline, in the same run: Erlang C for the same queue, a closed form on Erlang B's
recursion, the least a staffing figure costs. Ratio = Erlang A / Erlang C.
Target: one evaluation in milliseconds (at most 5 ms), so a week's 168 hours of advice
takes well under a second.
"""
from __future__ import annotations

import time

from appliance import erlang

TARGET_S = 0.005
RATE, AHT, PATIENCE, AGENTS, T = 1.0, 240.0, 150.0, 250, 20.0


def best_of(f, rounds: int = 50) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        f()
        best = min(best, time.thread_time() - t0)
    return best


def test_erlang_a_at_250_agents(benchmark, report):
    benchmark.pedantic(lambda: erlang.erlang_a(RATE, AHT, PATIENCE, AGENTS, T), rounds=20, iterations=1)
    a = best_of(lambda: erlang.erlang_a(RATE, AHT, PATIENCE, AGENTS, T))
    c = best_of(lambda: erlang.erlang_c_performance(RATE, AHT, AGENTS, T))
    search = best_of(lambda: erlang.agents_needed("erlang-a", RATE, AHT, PATIENCE, 0.8, T), rounds=10)
    report(f"Erlang A at 250 agents: {a * 1e3:.2f} ms (Erlang C {c * 1e3:.3f} ms, ratio {a / c:.1f}); "
           f"staffing search {search * 1e3:.1f} ms; target {TARGET_S * 1e3:.0f} ms: "
           f"{'met' if a <= TARGET_S else 'NOT met'}")
