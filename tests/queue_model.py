"""A reference queue for testing wait estimates: one FCFS queue, Poisson arrivals,
agents whose number and the arrival rate change by the hour, handle times lognormal,
patience exponential. It does what the box does where a wait depends on it: an agent
free rings the caller at the head of the line and answers a few seconds later
(answer_delay_s, uniform), a caller may hang up while it rings, and every call is
followed by the queue's wrap-up (wrapup_s) before the agent is rung again. An agent
going off at the turn of an hour finishes their call and wrap-up first.

The box's estimator is fed as the supervisor feeds it: a wait when the agent answers,
the ring-to-answer delay then, the talk time when the call ends, a wait when a caller
gives up; and asked with the ACD's view of the busy agents (acd.BusyAgent). Callers
who find no free agent wait; the model records, for each, what every estimator said
at arrival and what then happened."""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from appliance.acd import BusyAgent
from appliance.waits import AsteriskHoldtime, WaitHistory, ql_m

QUEUE = "sales"


@dataclass
class Waiter:
    arrival: float
    ahead: int
    staffed: int
    estimates: Dict[str, Optional[float]]
    wait: Optional[float] = None
    answered: bool = False
    key: str = ""


@dataclass
class Agent:
    name: str
    state: str = "available"        # ringing, on-call, wrap-up
    since: float = 0.0              # rung at, or talking from
    until: float = 0.0              # end of wrap-up
    caller: Optional[Waiter] = None
    leaving: bool = False           # off at the end of this call
    epoch: int = 0                  # what its pending event belongs to


@dataclass
class Scenario:
    name: str
    hours: Sequence[Tuple[float, int]]      # (calls in the hour, agents), repeated
    aht_s: float = 240.0
    cv: float = 1.0
    patience_s: float = 150.0
    calls: int = 20000
    wrapup_s: float = 10.0                  # acd.QueueSpec's default
    answer_delay_s: Tuple[float, float] = (2.0, 8.0)


def _handle(rng, aht: float, cv: float) -> float:
    sigma2 = math.log(1 + cv * cv)
    return float(rng.lognormal(math.log(aht) - sigma2 / 2, math.sqrt(sigma2)))


def run(sc: Scenario, seed: int = 1, estimators: bool = True) -> List[Waiter]:
    rng = np.random.default_rng(seed)
    history, asterisk = WaitHistory(), AsteriskHoldtime()
    events: list = []           # (time, order, kind, data)
    order = 0

    def at(t, kind, data=None):
        nonlocal order
        heapq.heappush(events, (t, order, kind, data))
        order += 1

    n, hour = 0, 0
    while n < sc.calls:         # arrivals, hour by hour
        calls, _ = sc.hours[hour % len(sc.hours)]
        k = rng.poisson(calls)
        for x in np.sort(rng.uniform(0, 3600, k)):
            at(hour * 3600 + x, "arrive")
            n += 1
        hour += 1
    for h in range(hour + 40):
        at(h * 3600.0, "staff", sc.hours[h % len(sc.hours)][1])
    staffed = 0                 # the hour's staffing
    agents: List[Agent] = []
    queue: List[Waiter] = []    # in line, those being rung included (the ACD's position)
    out: List[Waiter] = []

    def dispatch(now):
        for w in queue:
            if any(a.caller is w for a in agents):
                continue
            free = next((a for a in agents if a.state == "available" and not a.leaving), None)
            if free is None:
                return
            free.state, free.since, free.caller = "ringing", now, w
            free.epoch += 1
            at(now + rng.uniform(*sc.answer_delay_s), "answer", (free, free.epoch))

    def busy_now(now) -> List[BusyAgent]:
        view = []
        for a in agents:
            if a.state == "ringing":
                view.append(BusyAgent(a.name, a.state, now - a.since, sc.wrapup_s, a.caller.key, QUEUE))
            elif a.state == "on-call":
                view.append(BusyAgent(a.name, a.state, now - a.since, sc.wrapup_s, a.caller.key, QUEUE))
            elif a.state == "wrap-up":
                view.append(BusyAgent(a.name, a.state, 0.0, a.until - now))
        return view

    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "staff":
            staffed = data
            present = sorted((a for a in agents if not a.leaving), key=lambda a: a.state != "available")
            for a in present[:max(len(present) - staffed, 0)]:
                a.leaving = True        # the free ones go first, the others after their call
            for a in [a for a in agents if a.leaving][:max(staffed - len(present), 0)]:
                a.leaving = False
            while sum(1 for a in agents if not a.leaving) < staffed:
                agents.append(Agent(f"agent{len(agents)}"))
            agents = [a for a in agents if not (a.leaving and a.state == "available")]
            dispatch(now)
        elif kind == "arrive":
            key = f"c{len(out)}.{len(queue)}.{now}"
            if any(a.state == "available" and not a.leaving for a in agents):
                w = Waiter(now, len(queue), staffed, {}, key=key)    # rung at once: told nothing
            else:
                busy = busy_now(now)
                est = {
                    "ql-m true": ql_m(len(queue), staffed, sc.aht_s, sc.patience_s) if staffed else None,
                    "answered true": ql_m(len(queue), staffed, sc.aht_s, sc.patience_s, answered=True)
                    if staffed else None,
                    "asterisk": asterisk.estimate(0.0),
                }
                if estimators:
                    est["box"] = history.estimate(len(queue), len(busy), len(agents), busy, QUEUE, key, sc.wrapup_s)
                w = Waiter(now, len(queue), staffed, est, key=key)
                out.append(w)
            at(now + rng.exponential(sc.patience_s), "abandon", w)
            queue.append(w)
            dispatch(now)
        elif kind == "abandon":
            w = data
            if w.wait is None:
                queue.remove(w)
                w.wait = now - w.arrival
                history.abandoned(w.wait)
                for a in agents:
                    if a.caller is w:           # it hung up while an agent rang
                        a.state, a.caller = "available", None
                        a.epoch += 1
                if any(a.leaving and a.state == "available" for a in agents):
                    agents = [a for a in agents if not (a.leaving and a.state == "available")]
                dispatch(now)
        elif kind == "answer":
            a, epoch = data
            if epoch != a.epoch:
                continue
            w = a.caller
            queue.remove(w)
            w.wait, w.answered = now - w.arrival, True
            history.answered(w.wait)
            history.rang(now - a.since)
            asterisk.answered(w.wait)
            a.state, a.since = "on-call", now
            talk = _handle(rng, sc.aht_s, sc.cv)
            at(now + talk, "done", (a, a.epoch))
        elif kind == "done":
            a, _ = data
            history.handled(now - a.since)
            a.state, a.caller, a.until = "wrap-up", None, now + sc.wrapup_s
            at(a.until, "free", (a, a.epoch))
        elif kind == "free":
            a, _ = data
            a.state = "available"
            if a.leaving:
                agents.remove(a)
            dispatch(now)
    return out


def errors(waiters: List[Waiter], name: str) -> Tuple[float, float, int]:
    """RMSE and mean error (s) of an estimator over the callers who waited and were
    answered and were told a figure; and how many those were."""
    e = np.array([w.estimates[name] - w.wait for w in waiters if w.answered and w.estimates.get(name) is not None])
    return float(np.sqrt(np.mean(e * e))), float(np.mean(e)), len(e)
