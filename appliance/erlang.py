"""Erlang B, C and A: how many agents a queue needs for its traffic.

Rules:
  - Pure functions of the traffic: arrival rate λ (calls a second), mean handle time
    AHT (seconds, μ = 1/AHT), agents s, and for Erlang A the callers' mean patience
    (seconds, θ = 1/patience). Offered load A = λ·AHT, in erlangs. Arrivals are
    Poisson, handle times and patience exponential, service first come first served.
  - Erlang B by its recursion B_0 = 1, B_k = A·B_{k-1} / (k + A·B_{k-1}), which never
    overflows; in log space where B itself would underflow (a few agents' load on
    hundreds of agents).
  - Erlang C (M/M/s, nobody hangs up): P(wait) C = B / (1 - (A/s)(1 - B)); service
    level SL(T) = 1 - C·e^{-(s-A)T/AHT}; average speed of answer ASA = C·AHT/(s - A).
    Only for s > A: below that the line grows without end, and the functions say so
    (ValueError) instead of answering.
  - Erlang A (M/M/s+M, callers hang up after an exponential patience): with
    x = sμ/θ and y = λ/θ, the queue's states relative to "every agent busy, nobody
    waiting" are r_j = y^j Γ(x+1) / Γ(x+j+1), summed in log space until they no longer
    count; P(wait) = Σr_j / (1/B - 1 + Σr_j). A caller who finds j others waiting is
    reached after -ln(U)/θ, U ~ Beta(x, j+1), and is answered if that comes before
    their own patience: with probability x/(x+j+1), within T with x/(x+j+1)·(1 -
    I_z(x+1, j+1)), z = e^{-θT}, where the regularised incomplete beta of an integer
    second argument is a negative binomial's distribution function; the mean wait of
    those answered is x/(x+j+1)·Σ_{i=0..j} 1/(θ(x+1+i)). P(abandon) = θ·E[queue]/λ.
    Any load works (callers who give up keep the line finite), any s from 1.
  - Service level comes in two definitions and a report must say which it uses:
    answered within T over all calls offered (abandoned ones count against it), and
    answered within T over calls answered. Without abandonment they are the same. A
    caller answered at exactly T counts as within T.
  - ASA is the mean wait of the answered callers, those answered at once counting
    with a wait of 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OFFERED = "offered"         # service level over calls offered
ANSWERED = "answered"       # ... over calls answered
DEFINITIONS = (OFFERED, ANSWERED)
# A term of the queue's sum this far below the largest no longer changes a double.
NEGLIGIBLE_LOG = math.log(1e-18)
CHUNK = 512                 # the queue's terms are summed this many at a time
MAX_AGENTS = 100_000


@dataclass(frozen=True)
class Performance:
    """What a queue gives its callers with a given number of agents."""
    agents: int
    p_wait: float               # a caller finds every agent busy
    p_abandon: float            # a caller hangs up before an agent answers
    sl_offered: float           # answered within T, over calls offered
    sl_answered: float          # answered within T, over calls answered
    asa_s: float                # mean wait of the answered callers

    def service_level(self, over: str) -> float:
        return self.sl_offered if over == OFFERED else self.sl_answered


def _check(rate: float, aht_s: float, agents: int) -> None:
    if not (rate >= 0 and math.isfinite(rate)):
        raise ValueError(f"arrival rate {rate} is not a rate")
    if not (aht_s > 0 and math.isfinite(aht_s)):
        raise ValueError(f"handle time {aht_s} s is not a positive time")
    if isinstance(agents, bool) or not isinstance(agents, (int, np.integer)) or agents < 0:
        raise ValueError(f"{agents!r} agents is not a whole number of agents")


def erlang_b(load: float, agents: int) -> float:
    """P(blocked) of `load` erlangs offered to `agents` servers with no queue."""
    if not (load >= 0 and math.isfinite(load)):
        raise ValueError(f"offered load {load} is not a load")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def log_erlang_b(load: float, agents: int) -> float:
    """ln B(load, agents), finite where B underflows: 1/B_k = 1 + (k/A)/B_{k-1}."""
    if load == 0:
        return 0.0 if agents == 0 else -math.inf
    inv = 0.0                   # ln(1/B_0)
    log_a = math.log(load)
    for k in range(1, agents + 1):
        v = math.log(k) - log_a + inv           # ln(1 + e^v), without overflow
        inv = v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))
    return -inv


def erlang_c(load: float, agents: int) -> float:
    """P(wait) of an M/M/s queue; only for agents > load."""
    if not agents > load:
        raise ValueError(f"Erlang C needs more agents than the load: {agents} agents, {load:.3g} erlangs")
    b = erlang_b(load, agents)
    return b / (1.0 - load / agents * (1.0 - b))


def erlang_c_performance(rate: float, aht_s: float, agents: int, t_s: float) -> Performance:
    """Erlang C's figures for `agents` (more than the load) answering `rate` calls a second."""
    _check(rate, aht_s, agents)
    load = rate * aht_s
    c = erlang_c(load, agents)
    sl = 1.0 - c * math.exp(-(agents - load) * t_s / aht_s)
    return Performance(agents, c, 0.0, sl, sl, c * aht_s / (agents - load))


def _log_queue_terms(x: float, y: float) -> np.ndarray:
    """ln r_j for j = 0, 1, ... until they no longer count: r_j = r_{j-1}·y/(x+j)."""
    log_y = math.log(y)
    chunks, last, top, start = [], 0.0, 0.0, 1
    while True:
        i = np.arange(start, start + CHUNK, dtype=float)
        terms = last + np.cumsum(log_y - np.log(x + i))
        chunks.append(terms)
        last, top = float(terms[-1]), max(top, float(terms.max()))
        # Past the largest term (y < x + j) they only fall: stop once negligible.
        if y < x + i[-1] and last < top + NEGLIGIBLE_LOG:
            return np.concatenate([[0.0]] + chunks)
        start += CHUNK


def erlang_a(rate: float, aht_s: float, patience_s: float, agents: int, t_s: float) -> Performance:
    """Erlang A's figures (M/M/s+M) for `agents` answering `rate` calls a second whose
    callers wait patience_s on average before hanging up; infinite patience is Erlang C
    (and then needs more agents than the load)."""
    _check(rate, aht_s, agents)
    if not patience_s > 0:
        raise ValueError(f"patience {patience_s} s is not a positive time")
    if t_s < 0:
        raise ValueError(f"service level time {t_s} s is negative")
    if math.isinf(patience_s):
        return erlang_c_performance(rate, aht_s, agents, t_s)
    if agents < 1:
        raise ValueError("Erlang A needs at least one agent")
    if rate == 0:
        return Performance(agents, 0.0, 0.0, 1.0, 1.0, 0.0)
    theta = 1.0 / patience_s
    x, y = agents / aht_s / theta, rate / theta
    log_r = _log_queue_terms(x, y)
    log_sum_r = float(np.logaddexp.reduce(log_r))
    log_b = log_erlang_b(rate * aht_s, agents)
    # π_s, the chance of "all busy, none waiting": 1 / (1/B - 1 + Σr), as B / (1 - B + B Σr).
    b = math.exp(log_b)
    log_pi_s = log_b - float(np.logaddexp(math.log1p(-b) if b < 1 else -math.inf, log_b + log_sum_r))
    pi = np.exp(log_pi_s + log_r)                   # P(j callers waiting, every agent busy)
    p_wait = min(float(pi.sum()), 1.0)              # rounding can pass 1 by an ulp or two
    j = np.arange(len(pi), dtype=float)
    answered_given_j = x / (x + j + 1.0)
    # Within T given j: x/(x+j+1) (1 - NB(j)), NB the negative binomial (x+1, z) distribution.
    z = math.exp(-theta * t_s)
    if z < 1.0:
        # pmf_0 = z^(x+1), pmf_j = pmf_{j-1}·(x+j)/j·(1-z)
        steps = np.log((x + j[1:]) / j[1:]) + math.log1p(-z)
        log_pmf = (x + 1.0) * math.log(z) + np.concatenate(([0.0], np.cumsum(steps)))
        beyond = np.clip(1.0 - np.cumsum(np.exp(log_pmf)), 0.0, 1.0)
    else:
        beyond = np.zeros_like(j)                   # T = 0: nobody who waits is within it
    # P(an agent free) = π_s (1/B - 1) directly: 1 - P(wait) would cancel when waits are sure.
    p_no_wait = math.exp(log_pi_s + math.log1p(-b) - log_b) if b < 1 else 0.0
    p_answered = p_no_wait + float(np.dot(pi, answered_given_j))
    within = max(p_no_wait + float(np.dot(pi, answered_given_j * beyond)), 0.0)
    wait_answered = np.cumsum(1.0 / (x + 1.0 + j)) / theta
    asa = float(np.dot(pi, answered_given_j * wait_answered)) / p_answered
    p_abandon = theta * float(np.dot(pi, j)) / rate
    return Performance(agents, p_wait, p_abandon, within, within / p_answered, asa)


def performance(model: str, rate: float, aht_s: float, patience_s: float, agents: int, t_s: float) -> Performance:
    """The figures of `model` ("erlang-a" or "erlang-c"); Erlang C ignores patience."""
    if model == "erlang-c":
        return erlang_c_performance(rate, aht_s, agents, t_s)
    if model == "erlang-a":
        return erlang_a(rate, aht_s, patience_s, agents, t_s)
    raise ValueError(f"unknown model {model!r}: erlang-a or erlang-c")


def agents_needed(model: str, rate: float, aht_s: float, patience_s: float, target: float, t_s: float,
                  over: str = OFFERED) -> Performance:
    """The fewest agents whose service level (`over` calls offered or answered) within
    t_s is at least `target` (a fraction below 1), and what they give. No calls: 0 agents."""
    if not 0 < target < 1:
        raise ValueError(f"target service level {target} is not a fraction above 0 and below 1")
    if over not in DEFINITIONS:
        raise ValueError(f"service level over {over!r}: one of {', '.join(DEFINITIONS)}")
    _check(rate, aht_s, 0)
    if rate == 0:
        return Performance(0, 0.0, 0.0, 1.0, 1.0, 0.0)
    load = rate * aht_s
    no_queue_limit = model == "erlang-c" or math.isinf(patience_s)
    low = math.floor(load) + 1 if no_queue_limit else 1     # the fewest worth asking about

    def meets(s: int) -> Performance:
        p = performance(model, rate, aht_s, patience_s, s, t_s)
        return p if p.service_level(over) >= target else None

    # The service level rises with every agent: double up to a staffing that meets the
    # target, then halve the gap down to the fewest that still does.
    step, high = 1, low
    found = meets(high)
    while found is None:
        low = high + 1
        high += step
        step *= 2
        if high > MAX_AGENTS:
            raise ValueError(f"no staffing up to {MAX_AGENTS} agents meets the target")
        found = meets(high)
    while low < high:
        mid = (low + high) // 2
        p = meets(mid)
        if p is None:
            low = mid + 1
        else:
            high, found = mid, p
    return found
