"""How long a queued caller will wait: the estimate the box announces, and what it learns
it from.

Rules:
  - The wait is counted as the box counts it: from joining the queue to an agent's
    answer. An agent is busy for a cycle: their phone rings (the answer delay), the
    call (its talk time), then the queue's wrap-up; only then are they rung again.
  - The line moves in steps: with n callers ahead, each step is the first of an agent
    freeing or one of those still ahead giving up (rate theta each); after n steps an
    agent frees for the caller, who is answered an answer delay later.
  - The first step comes from what the ACD says of the busy agents now (ACD.busy): an
    agent in wrap-up frees when it ends; one talking for e seconds frees after the
    rest of a call already e long, P(H > e + t) / P(H > e) from the recent handle
    times, and their wrap-up; one being rung has a whole call ahead. With handle times
    as varied as a call centre's (cv about 1) a long call has longer to go, so this
    is worth far more than one step at the steady rate. The agents are independent:
    the step survives t with probability prod_i S_i(t) e^{-n theta t}, integrated on a
    grid (2 s steps, then coarser).
  - Later steps are QL-m's: at the steady rate of s agents each freeing once a cycle
    (s / (answer delay + AHT + wrap-up)) plus theta for each caller still ahead.
  - What the box announces is the expected wait of the callers who are answered: a
    caller is answered when the wait falls short of their own patience, which favours
    short waits. The steps are independent, so each is tilted on its own: a steady step
    has mean 1 / (rate + (k+1) theta) with k still ahead, the first step
    E[X e^{-theta X}] / E[e^{-theta X}].
  - A caller of this queue being rung is ahead of the caller and has their agent; with
    ringall the other phones ringing for them free when one answers. A caller whose
    own agent rings waits only for the answer.
  - Handle times: the last HANDLE_WINDOW talk times (answer to hang-up, wrap-up not
    counted), their distribution linear between the samples and an exponential tail
    fitted to the longest TAIL_SHARE (at least TAIL), so a call longer than any seen
    still has a finite residual. Answer delays: the last DELAY_WINDOW, ring to answer.
    Patience: abandonments over the time the last PATIENCE_WINDOW finished waits spent
    waiting (the maximum-likelihood rate for exponential patience, waits that ended in
    an answer counting as censored). None of them comes from configuration; the wrap-up
    does (the ACD's).
  - With too little history (fewer than MIN_HISTORY handle times) there is no estimate:
    the caller is told their position instead. With no agent at all there is none
    either. A caller who finds a free agent waits only for the answer.
  - Asterisk's method (app_queue's announce-holdtime) is here as the yardstick the
    estimate is measured against: a moving average of answered calls' waits, new =
    (3 old + sample) / 4, less what the caller has waited, said in whole minutes.
    app_queue rounds with |average + 30 - waited| / 60 in integer arithmetic: the 30 s
    is the rounding to the nearest minute, not part of the figure, and the absolute
    value makes the figure grow again once a caller has waited past the average. The
    yardstick is the figure before that rounding, as the box's is.
  - No clock: every time is passed in, in seconds.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Deque, List, Optional, Sequence, Tuple

import numpy as np

HANDLE_WINDOW = 200
PATIENCE_WINDOW = 200
DELAY_WINDOW = 100
MIN_HISTORY = 10
TAIL = 5                  # fewest handle times in the exponential tail of the distribution
TAIL_SHARE = 0.05         # ... or this share of them
# The first step's integral: GRID_STEP_S steps over the first GRID_FINE_S, then
# GRID_COARSE geometric steps to where the first busy agent is sure to be free.
GRID_STEP_S = 2.0
GRID_FINE_S = 600.0
GRID_COARSE = 60


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


class HandleTimes:
    """The distribution of handle (talk) times from a window of them: the empirical one,
    linear between the samples, with an exponential tail fitted to the longest ones, so
    that a call already longer than every sample still has a residual time."""

    def __init__(self, samples: Sequence[float]):
        h = np.sort(np.asarray(samples, dtype=float))
        m = len(h)
        if m < 2:
            raise ValueError(f"{m} handle times are too few for a distribution")
        k = min(m - 1, max(TAIL, int(TAIL_SHARE * m)))
        self.u = float(h[m - k - 1])                    # where the tail starts
        # Each sample's share centred on it (half before, half after), so that the mean
        # is the samples' mean and not half a gap short.
        # The sample at u keeps the half after it there (a step down to the tail).
        self.tail_p = k / m                             # P(H > u)
        self.tau = max(float(np.mean(h[m - k:]) - self.u), 1.0)   # mean excess over u
        self.xs = np.concatenate(([0.0], h[:m - k]))
        self.ys = np.concatenate(([1.0], 1.0 - (np.arange(1, m - k + 1) - 0.5) / m))

    def survival(self, x) -> np.ndarray:
        """P(H > x), for any x (1 below 0)."""
        x = np.asarray(x, dtype=float)
        body = np.interp(x, self.xs, self.ys, left=1.0)
        return np.where(x < self.u, body, self.tail_p * np.exp(-(np.maximum(x, self.u) - self.u) / self.tau))

    def residual_survival(self, elapsed: float, t) -> np.ndarray:
        """P(H > elapsed + t | H > elapsed): that a call talked for `elapsed` s goes on t more."""
        return self.survival(elapsed + np.asarray(t, dtype=float)) / self.survival(elapsed)

    def mean_residual(self, elapsed: float) -> float:
        """E[H - elapsed | H > elapsed] (s)."""
        if elapsed >= self.u:
            return self.tau
        t = _grid(self.u - elapsed + 30 * self.tau)
        return _trapezoid(self.residual_survival(elapsed, t), t)

    def horizon(self, elapsed: float) -> float:
        """A time by which a call talked for `elapsed` s has ended but for a chance too
        small to count (e^-12 of the tail)."""
        return max(self.u - elapsed, 0.0) + 12 * self.tau


_FINE = np.arange(0.0, GRID_FINE_S + GRID_STEP_S / 2, GRID_STEP_S)
_COARSE = np.linspace(0.0, 1.0, GRID_COARSE + 1)[1:]


def _grid(end: float) -> np.ndarray:
    if end <= GRID_FINE_S:
        return np.append(_FINE[:int(math.ceil(end / GRID_STEP_S))], end)
    return np.concatenate((_FINE, GRID_FINE_S * (end / GRID_FINE_S) ** _COARSE))


def _trapezoid(y: np.ndarray, t: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2)


def first_free(handles: HandleTimes, agents: Sequence[Tuple[float, float, float]], patience_rate: float,
               ahead: int) -> float:
    """The first step of the line: the time to the first of the busy agents freeing or of
    the `ahead` callers giving up, as the callers who are answered see it (tilted by their
    own patience). agents are (talked_s, shift_s, fixed_s): a call talked for talked_s
    whose agent is free shift_s after it ends; or, with talked_s None, an agent free
    at fixed_s for sure. The agents are independent, so the step survives t with
    probability prod_i S_i(t) e^{-ahead theta t}."""
    theta = patience_rate
    fixed = [f for e, _, f in agents if e is None]
    talking = [(e, s) for e, s, _ in agents if e is not None]
    end = min(fixed) if fixed else math.inf
    if talking:
        end = min(end, min(s + handles.horizon(e) for e, s in talking))
    if end <= 0:
        return 0.0
    t = _grid(end)
    log_p = -(ahead + 1) * theta * t            # others giving up, and the tilt
    if talking:
        e = np.array([x for x, _ in talking])[:, None]
        s = np.array([x for _, x in talking])[:, None]
        alive = handles.survival(e + np.maximum(t[None, :] - s, 0.0)) / handles.survival(e)
        log_p = log_p + np.sum(np.log(np.maximum(alive, 1e-300)), axis=0)
    p = np.exp(log_p)
    a = _trapezoid(p, t)                         # E-integral of the tilted survival
    if theta == 0:
        return a
    b = _trapezoid(p * t, t)
    # E[X e^{-theta X}] / E[e^{-theta X}], each by parts from the survival.
    return (a - theta * b) / (1 - theta * a)


class WaitHistory:
    """What the box has seen of its callers lately: handle times, how soon agents answer,
    and how patient callers were."""

    def __init__(self, handle_window: int = HANDLE_WINDOW, patience_window: int = PATIENCE_WINDOW,
                 delay_window: int = DELAY_WINDOW):
        self.handles: Deque[float] = deque(maxlen=handle_window)
        self.waits: Deque[Tuple[float, bool]] = deque(maxlen=patience_window)
        self.delays: Deque[float] = deque(maxlen=delay_window)
        self._dist: Optional[HandleTimes] = None
        self._patience: Optional[Tuple[Optional[float]]] = None     # worked out once per change

    def answered(self, waited_s: float) -> None:
        self.waits.append((waited_s, False))
        self._patience = None

    def abandoned(self, waited_s: float) -> None:
        self.waits.append((waited_s, True))
        self._patience = None

    def handled(self, talk_s: float) -> None:
        """A call talked talk_s, from the agent's answer to its end (wrap-up not counted)."""
        self.handles.append(talk_s)
        self._dist = None

    def rang(self, delay_s: float) -> None:
        """An agent answered delay_s after their phone began to ring."""
        self.delays.append(delay_s)

    @property
    def aht(self) -> Optional[float]:
        return sum(self.handles) / len(self.handles) if len(self.handles) >= MIN_HISTORY else None

    @property
    def answer_delay(self) -> float:
        """Mean time from an agent's phone ringing to their answer (s); 0 before any."""
        return sum(self.delays) / len(self.delays) if self.delays else 0.0

    def delay_left(self, rung_s: float) -> float:
        """Expected time to the answer of an agent rung rung_s ago."""
        later = [d - rung_s for d in self.delays if d > rung_s]
        return sum(later) / len(later) if later else 0.0

    @property
    def patience(self) -> Optional[float]:
        """Mean patience (s); None when nobody has given up lately (then the estimate is
        plain QL, which is what a line of patient callers has)."""
        if self._patience is None:
            gave_up = sum(1 for _, a in self.waits if a)
            self._patience = (sum(w for w, _ in self.waits) / gave_up,) if gave_up else (None,)
        return self._patience[0]

    @property
    def distribution(self) -> Optional[HandleTimes]:
        if len(self.handles) < MIN_HISTORY:
            return None
        if self._dist is None:
            self._dist = HandleTimes(self.handles)
        return self._dist

    def estimate(self, ahead: int, agents_busy: int, agents_staffed: int, busy: Optional[Sequence] = None,
                 queue: Optional[str] = None, caller: Optional[str] = None,
                 wrapup_s: float = 0.0) -> Optional[float]:
        """The expected wait (to an agent's answer) of an answered caller with `ahead`
        others before them in line; None if it cannot be told (too little history, or no
        agent). busy: the busy agents as ACD.busy(queue) gives them (state, since_s,
        wrapup_s, call, queue); without it every busy agent is taken to free at the
        steady rate. caller: the caller's own name in the ACD; wrapup_s: the wrap-up
        after a call of this queue."""
        if agents_staffed < 1:
            return None
        delay = self.answer_delay
        busy = list(busy) if busy is not None else None
        if busy is not None and caller is not None:
            mine = [a for a in busy if a.state == "ringing" and a.call == caller]
            if mine:                                    # being rung: the answer is next
                return min(self.delay_left(a.since_s) for a in mine)
        if agents_busy < agents_staffed and ahead == 0:
            return delay
        dist = self.distribution
        if dist is None:
            return None
        patience = self.patience
        theta = 1.0 / patience if patience else 0.0
        cycle = delay + self.aht + wrapup_s
        rate = agents_staffed / cycle                   # agents freeing, all busy, steadily
        if agents_busy < agents_staffed:
            step = 0.0                                  # one is free (kept for a later tier)
        elif busy is None:
            step = 1.0 / (rate + (ahead + 1) * theta)
        else:
            agents: List[Tuple[Optional[float], float, float]] = []
            rung = set()
            for a in busy:
                if a.state == "wrap-up":
                    agents.append((None, 0.0, a.wrapup_s))
                elif a.state == "on-call":
                    agents.append((a.since_s, a.wrapup_s, 0.0))
                elif a.call in rung:                    # ringall: free when another answers
                    agents.append((None, 0.0, self.delay_left(a.since_s)))
                else:                                   # a whole call to come after the answer
                    rung.add(a.call)
                    agents.append((0.0, self.delay_left(a.since_s) + a.wrapup_s, 0.0))
            # A caller of this queue being rung is ahead, and as good as answered.
            ahead = max(ahead - len({a.call for a in busy if a.state == "ringing" and a.queue == queue}), 0)
            step = first_free(dist, agents, theta, ahead) if agents else 0.0
        return delay + step + sum(1.0 / (rate + (k + 1) * theta) for k in range(ahead))


class AsteriskHoldtime:
    """app_queue's announced hold time, for comparison only."""

    def __init__(self):
        self.holdtime = 0

    def answered(self, waited_s: float) -> None:
        self.holdtime = (3 * self.holdtime + int(waited_s)) // 4

    def estimate(self, waited_s: float = 0.0) -> Optional[float]:
        """What app_queue rounds to the nearest minute and says; None when it says
        nothing (no average yet). Under half a minute either way it says nothing: 0."""
        if self.holdtime <= 0:
            return None
        return max(abs(self.holdtime + 30 - waited_s) - 30, 0.0)

    def spoken_minutes(self, waited_s: float = 0.0) -> int:
        """The minutes app_queue says (0: no hold time said)."""
        if self.holdtime <= 0:
            return 0
        return int(abs(self.holdtime + 30 - waited_s) // 60)
