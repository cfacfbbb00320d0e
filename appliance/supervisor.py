"""The supervisor: the office's lines on the engine, one call flow per call, the call log.

Rules:
  - Per event, never per frame: the engine moves all channels in one run() and the
    supervisor handles the batch's events, sending commands back. Times come from the
    engine's clock plus one wall-clock offset taken when the box starts.
  - A line rings: the call gets its log row at the first ring, so a caller who gives
    up while it still rings is logged too. The box answers at the configured ring.
  - What the call flow asks for is carried out on the engine: an Ask plays prompts a
    key interrupts and collects digits; an Announce plays prompts through; HangUp
    hangs up. Notes go to the call log, and the call's row is finished when the call
    ends, however it ends: a call the ACD holds leaves it then, in that one place.
  - ToQueue puts the caller in the ACD's queue with music on hold (ringback tone if
    the queue has none); VIP callers with a point of priority. The ACD's Ring rings the
    agent's phone with the caller's number, StopRing stops it, Connect bridges; the
    agent picking up is answered(), either side hanging up ends it, and a caller who
    hangs up while waiting leaves the queue (abandoned). All agents are logged in when
    the box starts.
  - A queue's rules are asked before a caller joins it: nobody to answer (join_empty
    false), full (max_callers waiting), or an estimated wait beyond its service level
    (overflow) send the caller on to the rule's action instead, the call flow going on
    from there; the ACD withdraws a caller who waited max_wait_s, or whose queue emptied
    (leave_empty), the same way. A chain of such rules that comes back to a queue the
    caller was already sent away from lets them wait there: never busy, never a loop.
  - While waiting, each queue's announcement settings say when the caller hears their
    position, the estimated wait and the queue's periodic message.
  - The operator is a queue of one (OPERATOR) with the operator's phone as its agent:
    ToOperator waits in it like any queue, to ringback, so a caller for a busy
    operator waits instead of being hung up on; answered there, the outcome is
    "operator".
  - A command the engine refuses (a bug, or a channel out of service) ends that call
    as an error, logged; the other lines go on.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from appliance import callflow
from appliance import acd as acd_
from appliance.announce import Announcer, AnnouncePolicy
from appliance.prompts import PromptLoadError
from appliance.waits import WaitHistory
from appliance.callflow import Announce, Ask, CallFlow, HangUp, Note, ToOperator, ToQueue
from appliance.binding import EngineError
from appliance.config import Action, Line, Office, Queue
from appliance.engine import CallerID, Engine, Event, Play

RINGBACK = Play.of_tone("ringback")
# The operator's queue and agent: config.py keeps the name from the office's own.
OPERATOR = "operator"


class PromptBank:
    """The office's prompts in every language it speaks, registered with one engine."""

    def __init__(self, office: Office, library, engine: Engine):
        base = os.path.dirname(os.path.abspath(office.path)) if office.path else os.getcwd()
        self._ids: Dict[Tuple[str, str], List[int]] = {}
        self._text: Dict[Tuple[str, str], str] = {}
        self._pcm: Dict[Tuple[str, str], np.ndarray] = {}
        for p in office.prompts.values():
            for lang, parts in p.by_language.items():
                loaded = []
                for src in parts:
                    voice = src.language or lang
                    if src.kind == "text":
                        loaded.append(library.spoken(voice, src.value))
                    elif src.kind == "sound":
                        loaded.append(library.recorded(voice, src.value))
                    else:
                        loaded.append(library.recording(os.path.join(base, src.value), name=p.name, lang=lang))
                self._ids[p.name, lang] = library.register(engine, loaded)
                self._text[p.name, lang] = " ".join(x.text for x in loaded if x.text)
                self._pcm[p.name, lang] = np.concatenate([x.pcm for x in loaded])
        # Each queue's music on hold, once.
        self.music: Dict[str, List[int]] = {}
        for q in office.queues.values():
            if q.music and q.music not in self.music:
                self.music[q.music] = library.register(engine, [library.music(q.music)])

    def ids(self, name: str, language: str) -> List[int]:
        return self._ids[name, language]

    def text(self, name: str, language: str) -> str:
        return self._text.get((name, language), "")

    def pcm(self, name: str, language: str) -> np.ndarray:
        """The samples a caller hears, as the box sends them."""
        return self._pcm[name, language]


@dataclass
class Call:
    """One call on one of the box's lines, from its first ring to its end."""
    port: int
    line: Line
    log_id: int
    caller: str = ""
    name: str = ""
    presentation: str = ""
    flow: Optional[CallFlow] = None
    bank: Optional["PromptBank"] = None   # the prompts of the configuration it started under
    queue: Optional[str] = None           # waiting in, or answered from
    agent: Optional[str] = None           # connected to
    queued_at: float = 0.0                # engine seconds
    talk_from: float = 0.0
    announce: Optional[object] = None     # its announcement schedule while it waits
    announcing: bool = False              # an announcement plays instead of the music
    sent_from: Tuple[str, ...] = ()       # queues whose rules sent the caller on
    heard: List[str] = field(default_factory=list)  # prompts played, for a console

    @property
    def key(self) -> str:
        """The call's name in the ACD."""
        return str(self.log_id)


class Supervisor:
    """The office on an engine whose ports are given by line name."""

    def __init__(self, office: Office, engine: Engine, ports: Dict[str, int], bank, log,
                 wall_offset: float, open_at: Optional[Callable[[dt.datetime], bool]] = None,
                 on_play: Optional[Callable[[Call, List[str]], None]] = None,
                 on_end: Optional[Callable[[Call, str], None]] = None, library=None):
        self.office = office
        self.engine = engine
        self.ports = ports
        self.bank = bank
        self.log = log
        self.wall_offset = wall_offset
        self.open_at = open_at or office.hours.open_at
        self.on_play = on_play
        self.on_end = on_end
        self.line_of = {ports[ln.name]: ln for ln in office.lines}
        self.calls: Dict[int, Call] = {}
        self.hours_override: Optional[bool] = None
        self.acd = _make_acd(office)
        self.phone_of = {a.name: ports[a.phone] for a in office.agents if a.phone in ports}
        if office.operator:
            self.phone_of[OPERATOR] = ports[office.operator]
        self.agent_at = {p: n for n, p in self.phone_of.items()}
        self.call_of: Dict[str, Call] = {}        # by ACD key
        self.library = library
        self.announcers = {q.name: Announcer(announce_policy(q)) for q in office.queues.values()}
        self.announcers[OPERATOR] = Announcer(AnnouncePolicy())
        self.waits: Dict[str, WaitHistory] = {q: WaitHistory() for q in self.acd.queues} if self.acd else {}
        if self.acd is not None:
            for name in self.phone_of:
                self.acd.login(name, 0.0)
        for ln in office.lines:
            engine.configure(ports[ln.name], law=ln.law, plan=ln.plan,
                             cid=ln.callerid if ln.kind == "fxo" else "none", cid_when=ln.callerid_when)

    def swap(self, office: Office, bank: "PromptBank") -> None:
        """A new configuration for the calls to come; a call in progress finishes under
        the one it started with. The lines, queues and agents must be the same: the
        board and the ACD are built from them."""
        if office.lines != self.office.lines:
            raise ValueError("the lines are not the same")
        if office.queues != self.office.queues or office.agents != self.office.agents:
            raise ValueError("the queues or agents are not the same")
        self.office, self.bank = office, bank

    # -- time ----------------------------------------------------------------------

    def is_open(self, when: dt.datetime) -> bool:
        """Business hours, unless a person testing the box said open or closed."""
        return self.open_at(when) if self.hours_override is None else self.hours_override

    def clock(self, ev: Optional[Event] = None) -> float:
        """Engine seconds: the ACD's and the announcements' clock."""
        return (ev.ms if ev is not None else self.engine.now_ms) / 1000.0

    def now(self, ev: Optional[Event] = None) -> float:
        """Seconds since the epoch, from the engine's clock: the call log's times."""
        return self.wall_offset + self.clock(ev)

    # -- events --------------------------------------------------------------------

    def handle(self, events: List[Event]) -> None:
        for ev in events:
            line = self.line_of.get(ev.channel)
            if line is None:
                continue
            if ev.channel in self.agent_at:
                self._agent_event(self.agent_at[ev.channel], ev)
            elif line.kind == "fxo":
                self._line_event(line, ev)
        if self.acd is not None and self.call_of:
            self._acd(self.acd.tick(self.clock()), None)
            self._announce()

    # -- the queues ----------------------------------------------------------------

    def _acd(self, commands, ev: Optional[Event]) -> None:
        e = self.engine
        for c in commands:
            call = self.call_of.get(c.call) if hasattr(c, "call") else None
            if isinstance(c, acd_.Ring) and call is not None:
                self.log.event(call.log_id, self.now(ev), "ringing", c.agent)
                try:
                    e.ring(self.phone_of[c.agent], CallerID(call.caller, call.name) if call.caller else None)
                except EngineError as err:
                    self.log.event(call.log_id, self.now(ev), "error", str(err))
            elif isinstance(c, acd_.StopRing):
                try:
                    e.hangup(self.phone_of[c.agent])
                except EngineError:
                    pass    # it had stopped already
            elif isinstance(c, acd_.Connect) and call is not None:
                call.agent = c.agent
                call.talk_from = self.clock(ev)
                self.waits[call.queue].answered(call.talk_from - call.queued_at)
                self.log.event(call.log_id, self.now(ev), "connected", c.agent)
                self._try(call, ev, lambda: (e.stop(call.port), e.bridge(call.port, self.phone_of[c.agent])))
            elif isinstance(c, acd_.Withdraw) and call is not None:
                q = self.office.queues[call.queue]
                self._send_on(call, "timeout" if c.reason == "timeout" else "empty",
                              q.when_timeout if c.reason == "timeout" else q.when_empty, ev)
            # Paused (after missed rings) needs nothing done: the ACD keeps the agent's state.

    def carry_out(self, commands) -> None:
        """ACD commands from outside the event flow (a console logging an agent in)."""
        self._acd(commands, None)

    def _agent_event(self, agent: str, ev: Event) -> None:
        a = self.acd.agents[agent]
        at = self.clock(ev)
        if ev.kind == "offhook" and ev.a and a.state == "ringing":
            self._acd(self.acd.answered(agent, at), ev)
        elif ev.kind == "hangup" and a.state == "on-call":
            # The agent put the phone down: the call is over for the caller too.
            call = self.call_of[a.call]
            self.log.event(call.log_id, self.now(ev), "agent-hangup", agent)
            if self._try(call, ev, lambda: self.engine.hangup(call.port)):
                self._finish(call, ev, self._answered(call))

    def _answered(self, call: Call) -> str:
        return "operator" if call.queue == OPERATOR else "answered"

    def _hold(self, call: Call, ev: Optional[Event]) -> bool:
        """Music on hold (or ringback) for a caller waiting in a queue."""
        q = self.office.queues.get(call.queue)        # None: the operator's, to ringback
        music = q.music if q else None
        hold = [Play.of_prompt(pid) for pid in call.bank.music[music]] if music else [RINGBACK]
        return self._try(call, ev, lambda: self.engine.play(call.port, hold, loop=bool(music)))

    def _announce(self) -> None:
        """Each waiting caller's position and wait, when their schedule says so; the
        music stops for it and comes back after."""
        if self.library is None:
            return
        at = self.clock()
        for call in list(self.call_of.values()):
            c = self.acd.callers.get(call.key)
            if c is None or c.agent is not None or call.announcing:
                continue
            staffed, busy = self.acd.staffing(call.queue)
            position = self.acd.position(call.key, at)
            estimate = self.waits[call.queue].estimate(position - 1, busy, staffed)
            a = call.announce.due(at, position, estimate, staffed, bool(c.ringing))
            if a is None:
                continue
            lang = call.flow.language if call.flow else self.office.language
            try:
                prompts = self.library.say(a.items(lang))
            except PromptLoadError as e:
                self.log.event(call.log_id, self.now(), "error", str(e))
                continue
            ids = self.library.register(self.engine, prompts)
            names = [p.name for p in prompts]
            if a.periodic:
                ids += call.bank.ids(a.periodic, lang)
                names.append(a.periodic)
            self.log.event(call.log_id, self.now(), "announce",
                           f"{a.kind} position={a.position} wait={a.wait}" + (f" message={a.periodic}"
                                                                              if a.periodic else ""))
            call.heard.extend(names)
            if self.on_play:
                self.on_play(call, names)
            call.announcing = self._try(call, None, lambda: self.engine.play(
                call.port, [Play.of_prompt(i) for i in ids]))

    def _queue(self, call: Call, name: str, ev: Event) -> None:
        q = self.office.queues.get(name)            # None: the operator's
        if q is not None and name not in call.sent_from:
            rule = self._rule(call, q)
            if rule is not None:
                call.sent_from += (name,)
                self._send_on(call, rule[0], rule[1], ev, joined=False)
                return
        call.queue = name
        call.queued_at = self.clock(ev)
        call.announce = self.announcers[name].join(call.queued_at)
        self.call_of[call.key] = call
        self.log.event(call.log_id, self.now(ev), "queued", name)
        if not self._hold(call, ev):
            return
        vip = self.office.callerid.is_vip(call.caller)
        self._acd(self.acd.join(call.key, name, self.clock(ev), priority=1 if vip else 0), ev)

    def _rule(self, call: Call, q: Queue) -> Optional[Tuple[str, Action]]:
        """The rule that sends a caller about to join q elsewhere, as (why, where), or None."""
        if not q.join_empty and self.acd.empty(q.name):
            return "empty", q.when_empty
        waiting = len(self.acd.waiting(q.name))
        if q.max_callers is not None and waiting >= q.max_callers:
            return "full", q.when_full
        if q.service_level_s is not None:
            staffed, busy = self.acd.staffing(q.name)
            estimate = self.waits[q.name].estimate(waiting, busy, staffed)
            if estimate is not None and estimate > q.service_level_s:
                return "overflow", q.overflow
        return None

    def _send_on(self, call: Call, why: str, action: Action, ev: Optional[Event], joined: bool = True) -> None:
        """The caller leaves (or does not join) their queue without an agent and goes on
        to the queue rule's action."""
        at = self.now(ev)
        self.log.event(call.log_id, at, why, f"{call.sent_from[-1] if not joined else call.queue} -> {action}")
        if joined:
            self.call_of.pop(call.key, None)
            call.sent_from += (call.queue,)
            call.queue, call.announce, call.announcing = None, None, False
            if not self._try(call, ev, lambda: self.engine.stop(call.port)):
                return
        self._carry_out(call, call.flow.resume(action, why), ev)

    def _line_event(self, line: Line, ev: Event) -> None:
        port = ev.channel
        call = self.calls.get(port)
        k = ev.kind
        if k == "callerid":
            if call is None:        # before the first ring: the call starts with it
                call = self._begin(line, ev)
            call.caller = ev.text
            call.name = ev.text2
            call.presentation = {ord("P"): "private", ord("O"): "unavailable"}.get(ev.a, "")
            self.log.caller(call.log_id, self.now(ev), call.caller, call.name, call.presentation)
            return
        if k == "ring":
            if call is None:
                call = self._begin(line, ev)
            if call.flow is None and ev.a >= max(1, line.rings):
                self._answer(call, ev)
            return
        if call is None:
            return
        if k == "ring-timeout" and call.flow is None:
            self._finish(call, ev, "abandoned")
        elif k == "hangup":
            self.log.event(call.log_id, self.now(ev), "hangup", ev.cause)
            if call.flow is not None and not call.flow.ended:
                self._carry_out(call, call.flow.hung_up(), ev)
            if call.queue is not None:
                outcome = self._answered(call) if call.agent else "abandoned"
            else:
                outcome = call.flow.outcome if call.flow and call.flow.outcome else "abandoned"
            # The line goes back on hook, ready for the next call.
            if self._try(call, ev, lambda: self.engine.hangup(call.port)):
                self._finish(call, ev, outcome)
        elif k == "play-done" and call.announcing and ev.reason == "complete":
            call.announcing = False
            if call.agent is None and call.key in self.call_of:
                self._hold(call, ev)
        elif call.flow is None or call.flow.ended:
            return
        elif k == "collected" and ev.reason != "cancelled":
            self._carry_out(call, call.flow.entered(ev.text, ev.reason), ev)
        elif k == "play-done" and ev.reason == "complete" and call.flow.waiting in ("announce",
                                                                                    "announce-then-hangup"):
            self._carry_out(call, call.flow.played(), ev)

    # -- steps ---------------------------------------------------------------------

    def _begin(self, line: Line, ev: Event) -> Call:
        call = Call(ev.channel, line, self.log.start(line.name, ev.channel, self.now(ev)), bank=self.bank)
        self.calls[ev.channel] = call
        return call

    def _answer(self, call: Call, ev: Event) -> None:
        if not self._try(call, ev, lambda: self.engine.answer(call.port)):
            return
        self.log.answered(call.log_id, self.now(ev))
        when = dt.datetime.fromtimestamp(self.now(ev), dt.timezone.utc)
        call.flow = CallFlow(self.office, call.caller, open_now=self.is_open(when))
        self._carry_out(call, call.flow.start(), ev)

    def _carry_out(self, call: Call, commands: List[callflow.Command], ev: Event) -> None:
        e, port = self.engine, call.port
        for c in commands:
            if isinstance(c, Note):
                self._note(call, c, ev)
            elif isinstance(c, Ask):
                items = self._items(call, c.prompts, c.language)
                if not self._try(call, ev, lambda: (e.play(port, items, interruptible=True),
                                                    e.collect(port, c.max_digits, c.terminator,
                                                              int(c.first_timeout_s * 1000),
                                                              int(c.interdigit_s * 1000)))):
                    return
            elif isinstance(c, Announce):
                items = self._items(call, c.prompts, c.language)
                if not self._try(call, ev, lambda: e.play(port, items)):
                    return
            elif isinstance(c, ToOperator):
                self._queue(call, OPERATOR, ev)
            elif isinstance(c, ToQueue):
                self._queue(call, c.queue, ev)
            elif isinstance(c, HangUp):
                self._try(call, ev, lambda: e.hangup(port))
                self._finish(call, ev, call.flow.outcome or "completed")

    def _items(self, call: Call, names, language: str) -> List[Play]:
        call.heard.extend(names)
        if self.on_play:
            self.on_play(call, list(names))
        return [Play.of_prompt(pid) for name in names for pid in call.bank.ids(name, language)]

    def _note(self, call: Call, n: Note, ev: Event) -> None:
        at = self.now(ev)
        if n.kind == "menu":
            self.log.menu(call.log_id, at, n.detail)
        elif n.kind == "digits":
            menu, _, digits = n.detail.partition(":")
            self.log.digits(call.log_id, at, menu, digits)
        elif n.kind == "language":
            self.log.language(call.log_id, at, n.detail)
        elif n.kind != "end":
            self.log.event(call.log_id, at, n.kind, n.detail)

    def _try(self, call: Call, ev: Event, fn) -> bool:
        try:
            fn()
            return True
        except EngineError as e:
            self.log.event(call.log_id, self.now(ev), "error", str(e))
            if call.flow is not None and call.flow.outcome is None:
                call.flow.outcome = "error"
            try:
                self.engine.hangup(call.port)
            except EngineError:
                pass
            self._finish(call, ev, "error")
            return False

    def _finish(self, call: Call, ev: Event, outcome: str) -> None:
        if self.calls.get(call.port) is not call:
            return
        del self.calls[call.port]
        self.call_of.pop(call.key, None)
        if self.acd is not None and call.key in self.acd.callers:
            at = self.clock(ev)
            if call.agent is not None:
                self.waits[call.queue].handled(at - call.talk_from)
                # The agent's phone is released before the ACD may ring it again.
                try:
                    self.engine.hangup(self.phone_of[call.agent])
                except EngineError:
                    pass    # it was put down already
                self._acd(self.acd.ended(call.key, at), ev)
            else:
                self.waits[call.queue].abandoned(at - call.queued_at)
                self._acd(self.acd.leave(call.key, at), ev)
        self.log.end(call.log_id, self.now(ev), outcome)
        if self.on_end:
            self.on_end(call, outcome)


def announce_policy(q: Queue) -> AnnouncePolicy:
    """What a queue's callers hear while they wait, from its configuration."""
    return AnnouncePolicy(first_after_s=q.announce_first_s, every_s=q.announce_every_s,
                          min_interval_s=min(AnnouncePolicy.min_interval_s, q.announce_every_s),
                          announce_position=q.announce_position, position_limit=q.position_limit,
                          announce_wait=q.announce_wait, periodic_prompt=q.message,
                          periodic_every_s=q.message_every_s)


def _make_acd(office: Office) -> Optional[acd_.ACD]:
    """The office's queues and agents, and the operator's, for the ACD; None when it has
    neither queues nor an operator."""
    if not office.queues and not office.operator:
        return None
    queues = [acd_.QueueSpec(q.name, q.strategy,
                             tuple((a.name, a.queues[q.name]) for a in office.agents if q.name in a.queues),
                             ring_s=q.ring_s, wrapup_s=q.wrapup_s, widen_s=q.widen_s, ageing_s=q.ageing_s,
                             misses_to_pause=q.misses_to_pause, max_wait_s=q.max_wait_s,
                             leave_empty=q.leave_empty, empty=q.empty)
              for q in office.queues.values()]
    agents = [acd_.AgentSpec(a.name, a.wrapup_s, a.weight) for a in office.agents]
    if office.operator:
        # Never paused for missed rings: there is no one else to take the call.
        queues.append(acd_.QueueSpec(OPERATOR, "linear", ((OPERATOR, 1),), ring_s=30.0, wrapup_s=0.0,
                                     misses_to_pause=1 << 30))
        agents.append(acd_.AgentSpec(OPERATOR))
    return acd_.ACD(queues, agents)
