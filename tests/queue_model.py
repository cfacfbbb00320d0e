"""A reference queue for testing wait estimates: one FCFS queue, Poisson arrivals,
agents whose number and the arrival rate change by the hour, handle times lognormal or
exponential, patience exponential. Callers who find every agent busy wait; the model
records, for each, what every estimator said at arrival and what then happened."""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from appliance.waits import AsteriskHoldtime, WaitHistory, ql_m


@dataclass
class Waiter:
    arrival: float
    ahead: int
    staffed: int
    estimates: Dict[str, Optional[float]]
    wait: Optional[float] = None
    answered: bool = False


@dataclass
class Scenario:
    name: str
    hours: Sequence[Tuple[float, int]]      # (calls in the hour, agents), repeated
    aht_s: float = 240.0
    cv: float = 1.0
    patience_s: float = 150.0
    calls: int = 20000


def _handle(rng, aht: float, cv: float) -> float:
    sigma2 = math.log(1 + cv * cv)
    return float(rng.lognormal(math.log(aht) - sigma2 / 2, math.sqrt(sigma2)))


def run(sc: Scenario, seed: int = 1) -> List[Waiter]:
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
    staffed, busy = 0, 0
    queue: List[Waiter] = []
    out: List[Waiter] = []

    def serve(now, w: Optional[Waiter]):
        nonlocal busy
        busy += 1
        talk = _handle(rng, sc.aht_s, sc.cv)
        at(now + talk, "done", talk)
        if w is not None:
            w.wait, w.answered = now - w.arrival, True
            history.answered(w.wait)
            asterisk.answered(w.wait)

    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "staff":
            staffed = data
            while busy < staffed and queue:
                serve(now, queue.pop(0))
        elif kind == "arrive":
            if busy < staffed and not queue:
                serve(now, None)
                continue
            w = Waiter(now, len(queue), staffed, {
                "box": history.estimate(len(queue), busy, staffed),
                "ql-m true": ql_m(len(queue), staffed, sc.aht_s, sc.patience_s) if staffed else None,
                "answered true": ql_m(len(queue), staffed, sc.aht_s, sc.patience_s, answered=True)
                if staffed else None,
                "asterisk": asterisk.estimate(0.0),
            })
            queue.append(w)
            out.append(w)
            at(now + rng.exponential(sc.patience_s), "abandon", w)
        elif kind == "abandon":
            if data.wait is None:
                queue.remove(data)
                data.wait = now - data.arrival
                history.abandoned(data.wait)
        elif kind == "done":
            busy -= 1
            history.handled(data)
            if busy < staffed and queue:
                serve(now, queue.pop(0))
    return out


def errors(waiters: List[Waiter], name: str) -> Tuple[float, float, int]:
    """RMSE and mean error (s) of an estimator over the callers who waited and were
    answered and were told a figure; and how many those were."""
    e = np.array([w.estimates[name] - w.wait for w in waiters if w.answered and w.estimates[name] is not None])
    return float(np.sqrt(np.mean(e * e))), float(np.mean(e)), len(e)
