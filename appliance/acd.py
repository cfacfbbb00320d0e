"""Automatic call distribution: queues of callers, agents and their states, who rings for
whom. A state machine with no I/O and no clock of its own: every event comes with its
time in seconds, and tick(at) lets time pass.

Rules:
  - An agent is logged out, available, ringing (for one caller), on a call, in wrap-up,
    or paused with a reason. Only an available agent is rung, and for one caller at a
    time. Wrap-up follows every call, for the wrap-up time of the queue the call came
    from unless the agent has their own; it is kept whatever queue rings next.
  - A caller waits in one queue until an agent answers or the caller leaves; nobody
    is ever turned away here (limits and overflow are decided before join()). Time
    can take a caller out: tick() withdraws (Withdraw) a caller who has waited the
    queue's max_wait_s (any event may, as it offers callers), and, with leave_empty, every waiting caller of a queue that is
    empty (no member logged in; with empty "paused", none staffed). A caller an agent
    is being rung for is not withdrawn: the answer is seconds away. Callers
    are served by effective priority, their priority plus one for every `ageing_s`
    they have waited, so that nobody starves; then by who came first.
  - Membership: an agent belongs to several queues with a level per queue (1 is the
    first tier). A caller is offered to level-1 agents first; after `widen_s` of
    waiting, to level 2 as well, and so on.
  - Strategies choose among the agents that may take the caller now: ringall (all of
    them; the first to answer takes the call), longest-idle, round-robin (the next after
    the last one rung, remembered per queue), fewest-calls, least-talk, linear (the
    order of the members' list), random, weighted-random (by weight).
  - Ring-no-answer: after the queue's ring time the ringing stops, the caller keeps
    their place and is offered again, and the agent is available again; after
    `misses_to_pause` misses in a row the agent is paused ("no answer").
  - What to do comes back as commands (Ring, StopRing, Connect, Paused); the caller of
    this module carries them out and reports back (answered, leave, ended).
  - An event that does not fit the state (an agent answering who was not rung) raises
    ACDError and changes nothing.
  - Callback: a waiting caller may give up their line and keep their place
    (to_callback). Such a caller without a line is never rung for: when their turn
    comes, and only while the box has a line free to call them on (lines_free), one
    agent is reserved for them (Reserve; the agent is "reserved", busy, holding the
    call) and a line counted taken. The box calls them back: the called party taking
    the call (callback_answered) gives them a line again and rings the reserved agent,
    or, if the reservation was lost meanwhile, whoever is next free; an attempt that
    fails (callback_failed) frees the agent at once and keeps the caller's place, not
    offered again before the retry time. With no line free the callback waits at the
    head of the line, and the callers behind it are served as if it were not there.
    A reserved agent who logs out or pauses loses the reservation, not the caller.
    Callbacks are never withdrawn (max_wait_s, leave_empty): one waiting has its own
    expiry, one called back was promised an agent.
  - A call the box is asked to make into a queue joins like a callback, without a line
    from the start (join_to_call).
  - Click-to-call: an available agent the box calls out for (dialling_out) is "outbound",
    busy, rung for nobody and holding no caller, until dialled_out() gives them their
    wrap-up (their own, else the longest of their queues'), or sets them available at
    once when the call never reached anyone. An outbound agent cannot log out or pause
    until it is over.
  - Rejoin: a caller who hung up and calls again within the queue's window joins
    with their first join time (rejoin), and so gets their place back.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

STRATEGIES = ("ringall", "longest-idle", "round-robin", "fewest-calls", "least-talk", "linear", "random",
              "weighted-random")
STATES = ("logged-out", "available", "ringing", "on-call", "wrap-up", "paused", "reserved", "outbound")


class ACDError(Exception):
    pass


# -- configuration --------------------------------------------------------------------

@dataclass(frozen=True)
class QueueSpec:
    name: str
    strategy: str = "longest-idle"
    members: Tuple[Tuple[str, int], ...] = ()      # (agent, level), in order
    ring_s: float = 15.0
    wrapup_s: float = 10.0
    widen_s: float = 30.0
    ageing_s: float = 60.0
    misses_to_pause: int = 2
    max_wait_s: Optional[float] = None
    leave_empty: bool = False
    empty: str = "logged-out"           # or "paused": paused members count as absent

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ACDError(f"queue {self.name}: unknown strategy '{self.strategy}'; one of: {', '.join(STRATEGIES)}")


@dataclass(frozen=True)
class AgentSpec:
    name: str
    wrapup_s: Optional[float] = None    # their own, over the queue's
    weight: float = 1.0                 # for weighted-random


# -- commands -------------------------------------------------------------------------

@dataclass(frozen=True)
class Ring:
    agent: str
    call: str


@dataclass(frozen=True)
class StopRing:
    agent: str
    call: str
    missed: bool = False        # the ring timed out unanswered (not another's answer, a hang-up)


@dataclass(frozen=True)
class Connect:
    agent: str
    call: str


@dataclass(frozen=True)
class Paused:
    agent: str
    reason: str


@dataclass(frozen=True)
class Withdraw:
    """The caller is out of the queue without an agent: reason "timeout" or "empty"."""
    call: str
    reason: str


@dataclass(frozen=True)
class Reserve:
    """The agent is kept for a caller without a line: call them back now."""
    agent: str
    call: str


@dataclass(frozen=True)
class Unreserve:
    """The reservation is over without a call (the agent logged out or paused)."""
    agent: str
    call: str


Command = Union[Ring, StopRing, Connect, Paused, Withdraw, Reserve, Unreserve]


@dataclass(frozen=True)
class BusyAgent:
    """A staffed member of a queue who is busy, as a wait estimate sees them (busy())."""
    agent: str
    state: str                  # "ringing", "on-call" or "wrap-up"
    since_s: float              # how long rung, or talking; 0 in wrap-up
    wrapup_s: float             # wrap-up still to come: all of it after a ring or a call
    call: Optional[str] = None  # rung for, or talking with
    queue: Optional[str] = None  # that call's queue


# -- state ----------------------------------------------------------------------------

@dataclass
class Agent:
    spec: AgentSpec
    state: str = "logged-out"
    reason: str = ""
    call: Optional[str] = None          # ringing for, or talking with
    call_queue: Optional[str] = None
    idle_since: float = 0.0
    wrapup_until: float = 0.0
    calls: int = 0
    talk_s: float = 0.0
    talk_from: float = 0.0
    misses: int = 0
    ring_until: float = 0.0


@dataclass
class Caller:
    call: str
    queue: str
    joined: float
    priority: int = 0
    ringing: Set[str] = field(default_factory=set)     # agents being rung for them
    agent: Optional[str] = None                        # connected to
    lineless: bool = False                             # to be called back: no line now
    not_before: float = 0.0                            # a callback's next attempt
    reserved: Optional[str] = None                     # the agent kept for their callback
    dialling: bool = False                             # a callback attempt is going on
    called_back: bool = False                          # reached by a callback: waits for an agent


class ACD:
    def __init__(self, queues: Sequence[QueueSpec], agents: Sequence[AgentSpec], seed: int = 0):
        self.queues: Dict[str, QueueSpec] = {q.name: q for q in queues}
        self.agents: Dict[str, Agent] = {a.name: Agent(a) for a in agents}
        for q in queues:
            for name, level in q.members:
                if name not in self.agents:
                    raise ACDError(f"queue {q.name}: no agent '{name}'")
                if level < 1:
                    raise ACDError(f"queue {q.name}: agent {name}'s level must be 1 or more, not {level}")
        self.callers: Dict[str, Caller] = {}
        self._rr: Dict[str, int] = {}
        self._rng = random.Random(seed)
        self.free_lines = 0         # lines the box could call a callback on now

    # -- what callers do ---------------------------------------------------------------

    def join(self, call: str, queue: str, at: float, priority: int = 0) -> List[Command]:
        if queue not in self.queues:
            raise ACDError(f"no queue '{queue}'")
        if call in self.callers:
            raise ACDError(f"call {call} is already queued")
        self.callers[call] = Caller(call, queue, at, priority)
        return self._dispatch(at)

    def join_to_call(self, call: str, queue: str, at: float) -> List[Command]:
        """A caller the box is to call (the manager interface's Originate into a queue):
        they join without a line, as to_callback() leaves a caller, and are called when
        their turn comes and a line and an agent are free."""
        if queue not in self.queues:
            raise ACDError(f"no queue '{queue}'")
        if call in self.callers:
            raise ACDError(f"call {call} is already queued")
        self.callers[call] = Caller(call, queue, at, lineless=True)
        return self._dispatch(at)

    def leave(self, call: str, at: float) -> List[Command]:
        """The caller hung up while waiting or ringing an agent."""
        c = self._caller(call)
        if c.agent is not None:
            raise ACDError(f"call {call} is connected to {c.agent}: end it with ended()")
        out: List[Command] = []
        for name in sorted(c.ringing):
            out += self._stop_ring(name, c, at, missed=False)
        out += self._drop_reservation(c, at)
        del self.callers[call]
        return out + self._dispatch(at)

    def position(self, call: str, at: float) -> int:
        """1 for the caller who will be offered the next free agent of their queue."""
        c = self._caller(call)
        line = [x for x in self._order(at) if x.queue == c.queue and x.agent is None]
        return line.index(c) + 1

    def positions(self, at: float) -> Dict[str, int]:
        """Every waiting caller's position, as position() tells it, from one ordering."""
        out: Dict[str, int] = {}
        count: Dict[str, int] = {}
        for c in self._order(at):
            if c.agent is None:
                count[c.queue] = count.get(c.queue, 0) + 1
                out[c.call] = count[c.queue]
        return out

    def staffing(self, queue: str) -> Tuple[int, int]:
        """The queue's members staffed (logged in and not paused), and how many of those
        are busy (ringing, on a call or in wrap-up): what a wait estimate goes by."""
        states = [self.agents[n].state for n, _ in self.queues[queue].members]
        staffed = sum(1 for st in states if st not in ("logged-out", "paused"))
        busy = sum(1 for st in states if st in ("ringing", "on-call", "wrap-up", "reserved", "outbound"))
        return staffed, busy

    def empty(self, queue: str) -> bool:
        """Nobody to answer the queue's callers: no member logged in or, when the queue
        says empty = "paused", none staffed."""
        absent = ("logged-out",) if self.queues[queue].empty == "logged-out" else ("logged-out", "paused")
        return all(self.agents[n].state in absent for n, _ in self.queues[queue].members)

    def busy(self, queue: str, at: float) -> List[BusyAgent]:
        """The queue's staffed members who are busy, each with how long they have been
        rung or talking, and the wrap-up still ahead of them: the state a
        wait estimate goes by, in the members' order. Changes nothing."""
        out: List[BusyAgent] = []
        for name, _ in self.queues[queue].members:
            a = self.agents[name]
            if a.state == "wrap-up":
                out.append(BusyAgent(name, a.state, 0.0, max(a.wrapup_until - at, 0.0)))
            elif a.state in ("ringing", "on-call"):
                q = self.queues[a.call_queue]
                wrap = a.spec.wrapup_s if a.spec.wrapup_s is not None else q.wrapup_s
                since = at - (a.ring_until - q.ring_s) if a.state == "ringing" else at - a.talk_from
                out.append(BusyAgent(name, a.state, max(since, 0.0), wrap, a.call, a.call_queue))
        return out

    def waiting(self, queue: str) -> List[str]:
        return [c.call for c in self.callers.values() if c.queue == queue and c.agent is None]

    # -- what agents do ----------------------------------------------------------------

    def login(self, agent: str, at: float) -> List[Command]:
        a = self._agent(agent)
        if a.state != "logged-out":
            raise ACDError(f"agent {agent} is already logged in ({a.state})")
        a.state, a.idle_since, a.misses = "available", at, 0
        return self._dispatch(at)

    def logout(self, agent: str, at: float) -> List[Command]:
        a = self._agent(agent)
        if a.state == "logged-out":
            raise ACDError(f"agent {agent} is not logged in")
        if a.state in ("on-call", "outbound"):
            raise ACDError(f"agent {agent} is on a call: log out after it")
        out = self._release_ring(a, at) + self._release_reservation(a)
        a.state, a.reason = "logged-out", ""
        return out + self._dispatch(at)

    def pause(self, agent: str, reason: str, at: float) -> List[Command]:
        a = self._agent(agent)
        if a.state in ("logged-out", "on-call", "outbound"):
            raise ACDError(f"agent {agent} cannot pause while {a.state}")
        out = self._release_ring(a, at) + self._release_reservation(a)
        a.state, a.reason = "paused", reason or "paused"
        return out + self._dispatch(at)

    def unpause(self, agent: str, at: float) -> List[Command]:
        a = self._agent(agent)
        if a.state != "paused":
            raise ACDError(f"agent {agent} is not paused ({a.state})")
        a.state, a.reason, a.idle_since, a.misses = "available", "", at, 0
        return self._dispatch(at)

    def answered(self, agent: str, at: float) -> List[Command]:
        """The agent picked up the call they were rung for."""
        a = self._agent(agent)
        if a.state != "ringing" or a.call is None:
            raise ACDError(f"agent {agent} answered, but was not being rung ({a.state})")
        c = self.callers[a.call]
        out: List[Command] = []
        for other in sorted(c.ringing - {agent}):
            out += self._stop_ring(other, c, at, missed=False)
        c.ringing.clear()
        c.agent = agent
        a.state, a.misses, a.talk_from = "on-call", 0, at
        a.calls += 1
        return out + [Connect(agent, c.call)] + self._dispatch(at)

    def ended(self, call: str, at: float) -> List[Command]:
        """A connected call is over (either side hung up): the agent goes to wrap-up."""
        c = self._caller(call)
        if c.agent is None:
            raise ACDError(f"call {call} is not connected: a waiting caller leaves with leave()")
        a = self.agents[c.agent]
        a.talk_s += at - a.talk_from
        wrap = a.spec.wrapup_s if a.spec.wrapup_s is not None else self.queues[c.queue].wrapup_s
        a.state, a.call, a.call_queue, a.wrapup_until = "wrap-up", None, None, at + wrap
        del self.callers[call]
        return self.tick(at)

    # -- click-to-call -------------------------------------------------------------------

    def dialling_out(self, agent: str, at: float) -> List[Command]:
        """The box calls out for an available agent: offered no caller until it ends."""
        a = self._agent(agent)
        if a.state != "available":
            raise ACDError(f"agent {agent} is not available ({a.state})")
        a.state, a.talk_from = "outbound", at
        return []

    def dialled_out(self, agent: str, at: float, connected: bool) -> List[Command]:
        """The call out is over: wrap-up after a conversation, available at once if it
        never reached anyone."""
        a = self._agent(agent)
        if a.state != "outbound":
            raise ACDError(f"agent {agent} is not calling out ({a.state})")
        if connected:
            a.talk_s += at - a.talk_from
            wraps = [q.wrapup_s for q in self.queues.values() if any(n == agent for n, _ in q.members)]
            wrap = a.spec.wrapup_s if a.spec.wrapup_s is not None else max(wraps, default=0.0)
            a.state, a.wrapup_until = "wrap-up", at + wrap
        else:
            a.state, a.idle_since = "available", at
        return self.tick(at)

    # -- callbacks and rejoin ------------------------------------------------------------

    def rejoin(self, call: str, queue: str, at: float, joined: float, priority: int = 0) -> List[Command]:
        """A caller who hung up calls again in time: they join as of their first join."""
        if joined > at:
            raise ACDError(f"call {call} cannot have joined at {joined}, after now ({at})")
        if queue not in self.queues:
            raise ACDError(f"no queue '{queue}'")
        if call in self.callers:
            raise ACDError(f"call {call} is already queued")
        self.callers[call] = Caller(call, queue, joined, priority)
        return self._dispatch(at)

    def to_callback(self, call: str, at: float, not_before: float = 0.0) -> List[Command]:
        """A waiting caller gives up their line to be called back, keeping their place;
        not offered to an agent before not_before (the box still talks to them)."""
        c = self._caller(call)
        if c.agent is not None or c.lineless:
            raise ACDError(f"call {call} is {'connected' if c.agent else 'already to be called back'}")
        out: List[Command] = []
        for name in sorted(c.ringing):
            out += self._stop_ring(name, c, at, missed=False)
        c.lineless, c.not_before = True, not_before
        return out + self._dispatch(at)

    def callback_after(self, call: str, not_before: float, at: float) -> List[Command]:
        """When a caller without a line may next be called back."""
        c = self._caller(call)
        if not c.lineless or c.dialling:
            raise ACDError(f"call {call} is not waiting to be called back")
        c.not_before = not_before
        return self._dispatch(at)

    def lines_free(self, n: int, at: float) -> List[Command]:
        """How many lines the box could call a callback on now."""
        self.free_lines = max(0, n)
        return self._dispatch(at)

    def callback_answered(self, call: str, at: float) -> List[Command]:
        """The called-back party took the call: they have a line again, and the agent
        kept for them rings (or whoever is free first, if the reservation was lost)."""
        c = self._caller(call)
        if not c.lineless or not c.dialling:
            raise ACDError(f"call {call} is not being called back")
        c.lineless, c.dialling, c.called_back = False, False, True
        out: List[Command] = []
        if c.reserved is not None:
            a = self.agents[c.reserved]
            q = self.queues[c.queue]
            a.state, a.ring_until = "ringing", at + q.ring_s
            c.ringing.add(c.reserved)
            out.append(Ring(c.reserved, c.call))
            c.reserved = None
        return out + self._dispatch(at)

    def callback_failed(self, call: str, at: float, retry_at: float) -> List[Command]:
        """An attempt to call back failed: the agent is free at once, the caller keeps
        their place and is not offered again before retry_at."""
        c = self._caller(call)
        if not c.lineless or not c.dialling:
            raise ACDError(f"call {call} is not being called back")
        out = self._drop_reservation(c, at)
        c.dialling, c.not_before = False, retry_at
        return out + self._dispatch(at)

    # -- time --------------------------------------------------------------------------

    def tick(self, at: float) -> List[Command]:
        out: List[Command] = []
        for a in self.agents.values():
            if a.state == "wrap-up" and at >= a.wrapup_until:
                a.state, a.idle_since = "available", at
            elif a.state == "ringing" and at >= a.ring_until:
                c = self.callers[a.call]
                out += self._stop_ring(a.spec.name, c, at, missed=True)
        return out + self._dispatch(at)

    # -- inside ------------------------------------------------------------------------

    def _agent(self, name: str) -> Agent:
        if name not in self.agents:
            raise ACDError(f"no agent '{name}'")
        return self.agents[name]

    def _caller(self, call: str) -> Caller:
        if call not in self.callers:
            raise ACDError(f"no call {call} in the queues")
        return self.callers[call]

    def _release_ring(self, a: Agent, at: float) -> List[Command]:
        if a.state == "ringing" and a.call is not None:
            return self._stop_ring(a.spec.name, self.callers[a.call], at, missed=False)
        return []

    def _stop_ring(self, agent: str, c: Caller, at: float, missed: bool) -> List[Command]:
        a = self.agents[agent]
        c.ringing.discard(agent)
        a.call, a.call_queue = None, None
        out: List[Command] = [StopRing(agent, c.call, missed)]
        a.state, a.idle_since = "available", at
        if missed:
            a.misses += 1
            if a.misses >= self.queues[c.queue].misses_to_pause:
                a.state, a.reason = "paused", "no answer"
                out.append(Paused(agent, "no answer"))
        return out

    def _reserve(self, c: Caller, q: QueueSpec, at: float) -> List[Command]:
        """An agent kept for a caller without a line, when a line is free to call them
        on (or the call is already going out and lost its agent)."""
        if c.reserved is not None:
            return []
        if not c.dialling and (at < c.not_before or self.free_lines <= 0):
            return []
        free = self._eligible(c, at)
        if not free:
            return []
        name = self._choose(q, free)[0]     # ringall's first: one agent is kept, not all
        a = self.agents[name]
        a.state, a.call, a.call_queue = "reserved", c.call, q.name
        c.reserved = name
        if not c.dialling:
            c.dialling = True
            self.free_lines -= 1
        return [Reserve(name, c.call)]

    def _drop_reservation(self, c: Caller, at: float) -> List[Command]:
        if c.reserved is None:
            return []
        a = self.agents[c.reserved]
        a.state, a.call, a.call_queue = "available", None, None
        c.reserved = None
        return [Unreserve(a.spec.name, c.call)]

    def _release_reservation(self, a: Agent) -> List[Command]:
        """The agent stops being kept (they log out or pause): the caller keeps their call."""
        if a.state != "reserved" or a.call is None:
            return []
        c = self.callers[a.call]
        c.reserved = None
        call, a.call, a.call_queue = a.call, None, None
        return [Unreserve(a.spec.name, call)]

    def _order(self, at: float) -> List[Caller]:
        def key(c: Caller):
            q = self.queues[c.queue]
            return (-(c.priority + (at - c.joined) / q.ageing_s), c.joined, c.call)
        return sorted(self.callers.values(), key=key)

    def _eligible(self, c: Caller, at: float) -> List[Tuple[str, int]]:
        q = self.queues[c.queue]
        tiers = 1 + int((at - c.joined) // q.widen_s) if q.widen_s > 0 else 1 << 30
        return [(n, lvl) for n, lvl in q.members if lvl <= tiers and self.agents[n].state == "available"]

    def _withdraw(self, at: float) -> List[Command]:
        out: List[Command] = []
        empty = {q.name: q.leave_empty and self.empty(q.name) for q in self.queues.values()}
        for c in sorted(self.callers.values(), key=lambda c: (c.joined, c.call)):
            if c.agent is not None or c.ringing or c.lineless or c.called_back:
                continue        # (a callback has its own expiry, and was promised an agent)
            q = self.queues[c.queue]
            reason = ("empty" if empty[q.name] else
                      "timeout" if q.max_wait_s is not None and at - c.joined >= q.max_wait_s else None)
            if reason:
                del self.callers[c.call]
                out.append(Withdraw(c.call, reason))
        return out

    def _dispatch(self, at: float) -> List[Command]:
        # Who is out comes first: a caller past their time is not offered again.
        out: List[Command] = self._withdraw(at)
        for c in self._order(at):
            if c.agent is not None:
                continue
            q = self.queues[c.queue]
            if c.ringing and q.strategy != "ringall":
                continue
            if c.lineless:
                out += self._reserve(c, q, at)
                continue
            free = self._eligible(c, at)
            if not free:
                continue
            for name in self._choose(q, free):
                a = self.agents[name]
                a.state, a.call, a.call_queue, a.ring_until = "ringing", c.call, q.name, at + q.ring_s
                c.ringing.add(name)
                out.append(Ring(name, c.call))
        return out

    def _choose(self, q: QueueSpec, free: List[Tuple[str, int]]) -> List[str]:
        names = [n for n, _ in free]
        ag = self.agents
        s = q.strategy
        if s == "ringall":
            return names
        if s == "longest-idle":
            return [min(names, key=lambda n: (ag[n].idle_since, names.index(n)))]
        if s == "fewest-calls":
            return [min(names, key=lambda n: (ag[n].calls, names.index(n)))]
        if s == "least-talk":
            return [min(names, key=lambda n: (ag[n].talk_s, names.index(n)))]
        if s == "linear":
            return [names[0]]
        if s == "random":
            return [self._rng.choice(names)]
        if s == "weighted-random":
            return [self._rng.choices(names, weights=[ag[n].spec.weight for n in names])[0]]
        # round-robin: the next member after the last one rung, in the members' order
        order = [n for n, _ in q.members]
        last = self._rr.get(q.name, -1)
        pick = min(names, key=lambda n: ((order.index(n) - last - 1) % len(order)))
        self._rr[q.name] = order.index(pick)
        return [pick]

    # -- checks ------------------------------------------------------------------------

    def check(self) -> None:
        """The invariants; raises AssertionError naming the first one broken."""
        connected: Dict[str, str] = {}
        for name, a in self.agents.items():
            assert a.state in STATES, (name, a.state)
            if a.state in ("ringing", "on-call"):
                assert a.call in self.callers, f"agent {name} is {a.state} for a call that is gone"
                c = self.callers[a.call]
                if a.state == "ringing":
                    assert name in c.ringing and c.agent is None, f"agent {name} rings for {c.call} out of step"
                else:
                    assert c.agent == name, f"agent {name} talks on {c.call}, connected to {c.agent}"
                    assert c.call not in connected, f"call {c.call} connected to two agents"
                    connected[c.call] = name
            elif a.state == "reserved":
                c = self.callers.get(a.call)
                assert c is not None and c.reserved == name and c.lineless, f"agent {name} kept for {a.call}"
            else:
                assert a.call is None, f"agent {name} is {a.state} but holds call {a.call}"
        for c in self.callers.values():
            for name in c.ringing:
                assert self.agents[name].state == "ringing" and self.agents[name].call == c.call
            if c.agent is not None:
                assert connected.get(c.call) == c.agent
                assert not c.ringing
            if c.lineless:
                assert c.agent is None and not c.ringing, f"call {c.call} has no line but is rung or connected"
            if c.reserved is not None:
                assert c.lineless and c.dialling, f"call {c.call} keeps an agent without a callback going"
                r = self.agents[c.reserved]
                assert r.state == "reserved" and r.call == c.call, f"call {c.call} keeps {c.reserved} ({r.state})"
