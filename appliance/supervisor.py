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
  - An agent is reached one of three ways. At a phone on the box (FXS): it rings. An
    agent lifting it while it is not ringing hears dial tone and keys feature codes
    (featurecode.py); what they ask is done as the console does it (agent_do), and
    logged in the agent log. A ring for a phone that is off the hook waits until it
    is put down, within the queue's ring time.
  - At an outside number: the box takes a free line (_free_line), dials, and says "a
    call from the queue, press 1" over and over; an analog line gives no answer
    signal, so the key is the answer (and a voicemail never takes the call). Then the
    caller is bridged to that line. With no free line the ring waits for one, within
    the ring time; a ring that never reached the agent ends as any ring-no-answer.
    A busy or unobtainable number gives the line back at once.
  - At an extension of the office's PBX behind the lines: the box cannot ring it or
    see it answer, so the ACD's ring is taken as the answer at once: the box flashes
    the caller's own line, keys the extension, and hangs up (a blind transfer); the
    call ends as "transferred". The box cannot see that call end either: the agent
    stays on a call for the queue's mean handle time (their busy_s while the queue has
    too little history), then has their wrap-up, then is available.
  - Keys while waiting: a queue with an exit_key or a callback_key collects one key at
    a time beside the music and announcements (collection restarted when it times
    out). The exit key leaves the queue and the call flow goes on from exit_to; the
    callback key (or a callback action) starts the callback offer (callback.py), with
    the announcements held meanwhile. An agent free during the offer takes the call.
  - A confirmed callback gives up the caller's line and keeps their place in the ACD;
    the call that asked ends as "callback" and the calls back get a row of their own.
    When the ACD reserves an agent for it, the box seizes a free line (_free_line),
    dials, and plays "this is your call back ... press 1" over and over; the 1 answers
    the line, rings the reserved agent and the customer waits with music from there
    like any caller. Failed attempts retry, and expire, as callback.py says; a waiting
    callback also expires when the office closes. Callbacks live in memory: a box that
    restarts loses them (their rows end as interrupted).
  - Click-to-call (the manager interface's Originate to an agent): only an available
    agent at a phone on the box. Their phone rings with the number as caller ID; the
    ACD holds them "outbound", offered no caller. Answered within the time given, the
    box takes a free line, dials the number (+ as the international prefix, as a
    callback dials it) and bridges the phone to the line at once: an analog line gives
    no answer signal, so the agent hears the call progress. That call is one call-log
    row on the line, the number as its caller, ending "outbound" when either side
    hangs up, which ends both; the agent then has their wrap-up. Not answered in time,
    or no line free (the agent hears congestion), nothing was dialled: the agent log
    says so, and the agent is available again at once.
  - Rejoin: a caller with a presented number who hangs up while waiting and calls the
    same queue again within its rejoin_s is told "welcome back" and joins as of their
    first join time.
  - A menu with agi hands the call to its FastAGI script (agirun.py carries out the
    steps and owns the socket, polled each tick); the line's events go there until
    the script is over, and the call flow goes on from how it ended.
  - The call log never holds up a call: on a full disk it holds its records and the
    calls go on (calllog.py). Each tick lets it write what it holds and, at start and
    then daily, prune by the office's [calllog] retention a step at a time. Alarms
    (alarms.py) say what a person must know: records held (cleared once written),
    records dropped; each goes to stderr as it comes up and goes down, and to on_alarm.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

import math

from appliance import agirun
from appliance import ami
from appliance import callback as cb_
from appliance import callflow
from appliance import acd as acd_
from appliance import featurecode
from appliance.alarms import Alarm, Alarms
from appliance.announce import Announcer, AnnouncePolicy
from appliance.calllog import CallLogError
from appliance.prompts import PromptLoadError
from appliance.waits import WaitHistory
from appliance.callflow import Announce, Ask, CallFlow, HangUp, Note, RunScript, ToCallback, ToOperator, ToQueue
from appliance.numbers import say_digits
from appliance.binding import EngineError
from appliance.config import Action, Line, Office, Queue
from appliance.engine import CallerID, Engine, Event, Play

RINGBACK = Play.of_tone("ringback")
# What agents hear: the error tone before a refusal; a short tone when there is no
# prompt library to say it with; the pause between offers to an outside agent.
ERROR_TONE_MS = 700
CONFIRM_TONE = Play.of_tone("ringback", 400)
OFFER_GAP_MS = 1500
OFFER_LISTEN_MS = 120000
# After a hook flash, the PBX's dial tone comes within about half a second.
FLASH_DIAL_TONE_MS = 800
# The operator's queue and agent: config.py keeps the name from the office's own.
OPERATOR = "operator"
HOUSEKEEPING_EVERY_S = 86400.0      # the call log's retention, once a day after the start


# The reason an agent is paused while their phone port is out of service.
PHONE_DOWN = "phone out of service"


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

    def has(self, name: str, language: str) -> bool:
        return (name, language) in self._ids

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
    dialled: str = ""           # the number the caller dialled, where the line says it (E1)
    name: str = ""
    presentation: str = ""
    flow: Optional[CallFlow] = None
    bank: Optional["PromptBank"] = None   # the prompts of the configuration it started under
    queue: Optional[str] = None           # waiting in, or answered from
    agent: Optional[str] = None           # connected to
    queued_at: float = 0.0                # engine seconds
    talk_from: float = 0.0
    rung_at: float = 0.0                  # an agent's phone last began to ring for it
    announce: Optional[object] = None     # its announcement schedule while it waits
    announcing: bool = False              # an announcement plays instead of the music
    sent_from: Tuple[str, ...] = ()       # queues whose rules sent the caller on
    heard: List[str] = field(default_factory=list)  # prompts played, for a console
    transfer_to: str = ""                 # the extension it is being transferred to
    keys_on: bool = False                 # collecting the queue's keys while waiting
    offer: Optional[cb_.CallbackOffer] = None       # the callback offer under way
    job: Optional["CallbackJob"] = None   # a line calling a callback back, until the 1
    acd_key: str = ""                     # a call back: the ACD's name of the call that asked
    # What the box knew as the caller joined a queue, and at the first wait figure it
    # said (the estimate behind it, unrounded): what a simulation's report compares.
    joined_position: int = 0
    joined_staffed: int = 0
    joined_busy: int = 0
    first_estimate_s: Optional[float] = None
    first_estimate_at: float = 0.0                  # engine seconds
    first_estimate_position: int = 0
    first_estimate_staffed: int = 0
    first_estimate_busy: int = 0
    first_figure_s: Optional[int] = None            # the band ceiling said
    sent_on_at: float = 0.0                         # engine seconds: a queue's rule sent it on
    script: Optional[object] = None                 # its FastAGI script while it has the call (agirun.py)
    began: float = 0.0                              # epoch seconds of the first ring
    agent_hung_up: bool = False

    @property
    def key(self) -> str:
        """The call's name in the ACD."""
        return self.acd_key or str(self.log_id)


@dataclass
class CallbackJob:
    """A confirmed callback: the machine, whose place it keeps, and its call-log row."""
    cb: cb_.Callback
    key: str                              # the ACD's name (of the call that asked)
    queue: str
    origin: Optional[Call]                # None: asked for from outside (originate())
    language: str
    row: Optional[int] = None             # its own call-log row, once the asking call ended
    line: Optional[Call] = None           # the attempt under way
    began: float = 0.0                    # epoch seconds its row started, when asked for from outside


class Supervisor:
    """The office on an engine whose ports are given by line name."""

    def __init__(self, office: Office, engine: Engine, ports: Dict[str, int], bank, log,
                 wall_offset: float, open_at: Optional[Callable[[dt.datetime], bool]] = None,
                 on_play: Optional[Callable[[Call, List[str]], None]] = None,
                 on_end: Optional[Callable[[Call, str], None]] = None, library=None,
                 on_alarm: Optional[Callable[[Alarm, bool], None]] = None):
        self.office = office
        self.engine = engine
        self.ports = ports
        self.bank = bank
        self.log = log
        self.wall_offset = wall_offset
        self.open_at = open_at or office.hours.open_at
        self.on_play = on_play
        self.on_end = on_end
        self.on_alarm = on_alarm            # (alarm, raised): as each comes up or goes down
        # (name, fields): events for the manager interface, in Asterisk's names (ami.py).
        self.on_manager_event: Optional[Callable[[str, List[Tuple[str, str]]], None]] = None
        self._alarms = Alarms()
        self._housekeeping_at = 0.0         # engine seconds: due at the first tick
        self.line_of = {ports[ln.name]: ln for ln in office.lines}
        self.calls: Dict[int, Call] = {}
        self.hours_override: Optional[bool] = None
        self.stopped = False
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
        self._agents_init(office)
        self.callbacks: Dict[str, CallbackJob] = {}                 # by ACD key
        self.scripts = agirun.Scripts(self)
        self.left: Dict[Tuple[str, str], Tuple[float, float]] = {}  # (number, queue): joined, left
        if self.acd is not None:
            for name in [*self.phone_of, *self.number_of, *self.extension_of]:
                self.acd.login(name, 0.0)
                if name != OPERATOR:
                    # The agent log holds every session, these too: reports count logged-in time.
                    self._agent_log(name, "login", "", "start")
        for ln in office.lines:
            engine.configure(ports[ln.name], law=ln.law, plan=ln.plan,
                             cid=ln.callerid if ln.kind == "fxo" else "none", cid_when=ln.callerid_when)

    def stop(self) -> None:
        """The box is stopping: the agents still logged in are logged out in the agent
        log, so their sessions end here and not at the next start."""
        if self.acd is None or self.stopped:
            return
        self.stopped = True
        for name, a in self.acd.agents.items():
            if a.state != "logged-out" and name != OPERATOR:
                self._agent_log(name, "logout", "", "stop")

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

    def handle(self, events: List[Event], taps=None) -> None:
        """One batch from the engine: its events, and its tapped frames (Batch.taps),
        which the recordings of scripts take before the events end them."""
        if taps is not None and self.scripts.runs:
            self.scripts.taps(taps)
        for ev in events:
            line = self.line_of.get(ev.channel)
            if line is None:
                continue
            if ev.kind in ("alarm", "noalarm"):
                self._line_service(line, ev)
            elif ev.channel in self.agent_at and self.agent_at[ev.channel] in self.clicks:
                self._click_event(self.clicks[self.agent_at[ev.channel]], ev)
            elif ev.channel in self.click_at:
                self._click_event(self.clicks[self.click_at[ev.channel]], ev)
            elif ev.channel in self.agent_at:
                self._agent_event(self.agent_at[ev.channel], ev)
            elif ev.channel in self.leg_at:
                self._leg_event(self.leg_at[ev.channel], ev)
            elif ev.channel in self.calls and self.calls[ev.channel].transfer_to:
                self._transfer_event(self.calls[ev.channel], ev)
            elif line.kind == "fxo":
                self._line_event(line, ev)
        if self.scripts.runs:
            self.scripts.poll()
        if self.deferred or self.transferred:
            self._agents_tick()
        if self.clicks:
            self._clicks_tick()
        if self.acd is not None and (self.call_of or self.callbacks):
            if self.callbacks:
                self._callbacks_tick()
            self._acd(self.acd.tick(self.clock()), None)
            self._announce()
        elif self.acd is not None and self._wrap_up_over():
            # A quiet box too: an agent's wrap-up ends on time, not at the next call.
            self._acd(self.acd.tick(self.clock()), None)
        self._log_tick()

    # -- the call log's health and the alarms ---------------------------------------

    @property
    def alarms(self) -> List[Alarm]:
        """The alarms up now, the oldest first."""
        return self._alarms.current()

    def _log_tick(self) -> None:
        log, at = self.log, self.now()
        log.tick(at)
        if self.clock() >= self._housekeeping_at:
            keep = self.office.calllog
            try:
                more = log.housekeeping(at, keep.keep_days, keep.max_mb)
            except CallLogError as e:
                print(f"appliance: call log retention: {e}; next try in a day", file=sys.stderr, flush=True)
                more = False
            if not more:
                self._housekeeping_at = self.clock() + HOUSEKEEPING_EVERY_S
        held = log.held
        if held:
            self._alarm("calllog-held", f"call log: {log.trouble}, {held} record{'s' if held != 1 else ''} held", at)
        elif self._alarms.clear("calllog-held") is not None:
            self._alarm_changed(Alarm(at, "calllog-held", "call log: the held records are written"), False)
        calls, events = log.dropped
        if calls or events:
            # Up until the box restarts: those records are gone, written or not.
            self._alarm("calllog-dropped", f"call log: records of {calls} call{'s' if calls != 1 else ''} and "
                                           f"{events} agent event{'s' if events != 1 else ''} dropped, more than "
                                           "the memory holds", at)

    def _alarm(self, code: str, text: str, at: float) -> None:
        raised = self._alarms.raise_(code, text, at)
        if raised is not None:
            self._alarm_changed(raised, True)

    def _alarm_changed(self, alarm: Alarm, raised: bool) -> None:
        print(f"appliance: alarm {alarm.code} {'raised' if raised else 'cleared'}: {alarm.text}",
              file=sys.stderr, flush=True)
        if self.on_alarm:
            self.on_alarm(alarm, raised)

    # -- the queues ----------------------------------------------------------------

    def _acd(self, commands, ev: Optional[Event]) -> None:
        e = self.engine
        for c in commands:
            call = self.call_of.get(c.call) if hasattr(c, "call") else None
            if isinstance(c, acd_.Ring) and call is not None:
                self.log.event(call.log_id, self.now(ev), "ringing", c.agent)
                call.rung_at = self.clock(ev)
                self._manager("AgentCalled", call, ("Queue", call.queue), *self._member(c.agent))
                self._ring(c.agent, call, ev)
            elif isinstance(c, acd_.StopRing):
                if c.missed and call is not None:
                    self.log.event(call.log_id, self.now(ev), "ring-no-answer", c.agent)
                    self._manager("AgentRingNoAnswer", call, ("Queue", call.queue), *self._member(c.agent),
                                  ("RingTime", round(self.clock(ev) - call.rung_at)))
                self._stop_ring(c.agent)
            elif isinstance(c, acd_.Connect) and call is not None:
                call.agent = c.agent
                call.talk_from = self.clock(ev)
                self.waits[call.queue].answered(call.talk_from - call.queued_at)
                self.waits[call.queue].rang(call.talk_from - call.rung_at)
                self.log.event(call.log_id, self.now(ev), "connected", c.agent)
                self._manager("QueueCallerLeave", call, ("Queue", call.queue),
                              ("Count", len(self.acd.waiting(call.queue))), ("Position", call.joined_position))
                self._manager("AgentConnect", call, ("Queue", call.queue), *self._member(c.agent),
                              ("HoldTime", round(call.talk_from - call.queued_at)),
                              ("RingTime", round(call.talk_from - call.rung_at)))
                self._keys_off(call)
                if c.agent in self.extension_of:
                    self._transfer(call, c.agent, ev)
                else:
                    port = self._agent_port(c.agent)
                    self._try(call, ev, lambda: (e.stop(call.port), e.bridge(call.port, port)))
            elif isinstance(c, acd_.Withdraw) and call is not None:
                q = self.office.queues[call.queue]
                self._send_on(call, "timeout" if c.reason == "timeout" else "empty",
                              q.when_timeout if c.reason == "timeout" else q.when_empty, ev)
            elif isinstance(c, acd_.Paused):
                # The ACD keeps the agent's state; the agent log says why they stopped ringing.
                self._agent_log(c.agent, "pause", c.reason, "acd")
                self._member_event("QueueMemberPause", c.agent)
            elif isinstance(c, (acd_.Reserve, acd_.Unreserve)):
                self._reserved(c, ev)

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
            call.agent_hung_up = True
            self.log.event(call.log_id, self.now(ev), "agent-hangup", agent)
            if self._try(call, ev, lambda: self.engine.hangup(call.port)):
                self._finish(call, ev, self._answered(call))
        elif agent in self.pin_of:
            self._feature_event(agent, ev)

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
        positions = self.acd.positions(at)      # one ordering of the callers, not one per caller
        for call in list(self.call_of.values()):
            c = self.acd.callers.get(call.key)
            if c is None or c.agent is not None or call.announcing or call.offer is not None:
                continue
            position = positions[call.key]
            if call.announce.next_due(position) > at:
                continue                        # nothing due: no estimate to work out
            staffed, busy = self.acd.staffing(call.queue)
            estimate = self.waits[call.queue].estimate(position - 1, busy, staffed, self.acd.busy(call.queue, at),
                                                       call.queue, call.key, self.acd.queues[call.queue].wrapup_s)
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
            if a.wait is not None and call.first_estimate_s is None:
                call.first_estimate_s, call.first_estimate_at, call.first_figure_s = estimate, at, a.wait
                call.first_estimate_position, call.first_estimate_staffed = position, staffed
                call.first_estimate_busy = busy
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
        call.joined_staffed, call.joined_busy = self.acd.staffing(name)
        if self.on_manager_event is not None:
            # Told before the ACD rings anyone for the caller, as Asterisk tells it; a VIP
            # goes ahead of the callers without priority.
            ahead = [k for k in self.acd.waiting(name) if not vip or self.acd.callers[k].priority > 0]
            self._manager("QueueCallerJoin", call, ("Queue", name), ("Position", len(ahead) + 1),
                          ("Count", len(self.acd.waiting(name)) + 1))
        self._join(call, name, ev, 1 if vip else 0)
        if call.key in self.acd.callers and self.acd.callers[call.key].agent is None:
            call.joined_position = self.acd.position(call.key, self.clock(ev))

    def _rule(self, call: Call, q: Queue) -> Optional[Tuple[str, Action]]:
        """The rule that sends a caller about to join q elsewhere, as (why, where), or None."""
        if not q.join_empty and self.acd.empty(q.name):
            return "empty", q.when_empty
        waiting = len(self.acd.waiting(q.name))
        if q.max_callers is not None and waiting >= q.max_callers:
            return "full", q.when_full
        if q.service_level_s is not None:
            staffed, busy = self.acd.staffing(q.name)
            estimate = self.waits[q.name].estimate(waiting, busy, staffed, self.acd.busy(q.name, self.clock()),
                                                   q.name, None, self.acd.queues[q.name].wrapup_s)
            if estimate is not None and estimate > q.service_level_s:
                return "overflow", q.overflow
        return None

    def _send_on(self, call: Call, why: str, action: Action, ev: Optional[Event], joined: bool = True) -> None:
        """The caller leaves (or does not join) their queue without an agent and goes on
        to the queue rule's action."""
        at = self.now(ev)
        self.log.event(call.log_id, at, why, f"{call.sent_from[-1] if not joined else call.queue} -> {action}")
        if joined:
            self._manager("QueueCallerLeave", call, ("Queue", call.queue),
                          ("Count", len(self.acd.waiting(call.queue)) - (call.key in self.acd.callers)),
                          ("Position", call.joined_position))
            call.sent_on_at = self.clock(ev)
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
        if call is not None and call.job is not None:
            self._callback_line_event(call, ev)
            return
        if k == "callerid":
            if call is None:        # before the first ring: the call starts with it
                call = self._begin(line, ev)
            call.caller = ev.text
            call.name = ev.text2
            call.presentation = {ord("P"): "private", ord("O"): "unavailable"}.get(ev.a, "")
            self.log.caller(call.log_id, self.now(ev), call.caller, call.name, call.presentation)
            self._manager("NewCallerid", call)
            return
        if k == "called":
            if call is None:
                call = self._begin(line, ev)
            call.dialled = ev.text
            self.log.event(call.log_id, self.now(ev), "called", ev.text)
            return
        if k == "ring":
            if call is None:
                call = self._begin(line, ev)
            if call.flow is None and ev.a >= max(1, line.rings):
                self._answer(call, ev)
            return
        if call is None:
            return
        if call.script is not None and k != "hangup":
            self.scripts.event(call, ev)
            return
        if k == "ring-timeout" and call.flow is None:
            self._finish(call, ev, "abandoned")
        elif k == "hangup":
            self._hung_up(call, ev, ev.cause)
        elif k == "play-done" and call.announcing and ev.reason == "complete":
            call.announcing = False
            if call.agent is None and call.key in self.call_of:
                self._hold(call, ev)
        elif k == "collected" and ev.reason != "cancelled" and call.offer is not None:
            self._offer_do(call, call.offer.entered(ev.text, ev.reason), ev)
        elif k == "collected" and ev.reason != "cancelled" and call.keys_on:
            self._waiting_key(call, ev)
        elif (k == "play-done" and ev.reason == "complete" and call.offer is not None
              and call.offer.state == "thanks"):
            self._offer_do(call, call.offer.played(), ev)
        elif call.flow is None or call.flow.ended:
            return
        elif k == "collected" and ev.reason != "cancelled":
            self._carry_out(call, call.flow.entered(ev.text, ev.reason), ev)
        elif k == "play-done" and ev.reason == "complete" and call.flow.waiting in ("announce",
                                                                                    "announce-then-hangup"):
            self._carry_out(call, call.flow.played(), ev)

    def _line_service(self, line: Line, ev: Event) -> None:
        """A line or phone port out of service (its span in alarm) or back: an alarm for
        the console, a record in the call log, and a call on it ended, as the engine
        already dropped it."""
        at = self.now(ev)
        code = f"line-{line.name}"
        if ev.kind == "alarm":
            self._alarm(code, f"{line.name} (channel {line.channel}): out of service, its span is in alarm", at)
            self.log.line_event(line.name, at, "out-of-service", "span alarm")
            call = self.calls.get(ev.channel)
            if call is not None:
                self._hung_up(call, ev, "line-out-of-service", line_down=True)
            agent = self.agent_at.get(ev.channel)
            if agent is not None and self.acd.agents[agent].state == "available":
                # No call can reach the agent's phone: the ACD must not offer them one.
                self.agent_do(agent, "pause", PHONE_DOWN, source=line.name)
        elif self._alarms.clear(code) is not None:
            self._alarm_changed(Alarm(at, code, f"{line.name} (channel {line.channel}): back in service"), False)
            self.log.line_event(line.name, at, "in-service", "span alarm cleared")
            agent = self.agent_at.get(ev.channel)
            if agent is not None and self.acd.agents[agent].reason == PHONE_DOWN:
                self.agent_do(agent, "unpause", source=line.name)

    def _hung_up(self, call: Call, ev: Optional[Event], why: str, line_down: bool = False) -> None:
        self.log.event(call.log_id, self.now(ev), "hangup", why)
        if call.script is not None:
            self.scripts.hung_up(call, ev)
        if call.flow is not None and not call.flow.ended:
            self._carry_out(call, call.flow.hung_up(), ev)
        if call.queue is not None:
            outcome = self._answered(call) if call.agent else "abandoned"
        else:
            outcome = call.flow.outcome if call.flow and call.flow.outcome else "abandoned"
        if line_down:
            # The engine took the line down with its call: nothing to put on hook.
            self._finish(call, ev, "interrupted")
        # The line goes back on hook, ready for the next call.
        elif self._try(call, ev, lambda: self.engine.hangup(call.port)):
            self._finish(call, ev, outcome)

    def hang_up(self, call: Call, why: str) -> None:
        """A call cut from outside (the manager interface's Hangup), ended as the
        caller hanging up ends it."""
        self._hung_up(call, None, why)

    # -- steps ---------------------------------------------------------------------

    def _begin(self, line: Line, ev: Event) -> Call:
        call = Call(ev.channel, line, self.log.start(line.name, ev.channel, self.now(ev)), bank=self.bank,
                    began=self.now(ev))
        self.calls[ev.channel] = call
        self._manager("Newchannel", call)
        return call

    def _answer(self, call: Call, ev: Event) -> None:
        if not self._try(call, ev, lambda: self.engine.answer(call.port)):
            return
        self.log.answered(call.log_id, self.now(ev))
        self._manager("Newstate", call)
        when = dt.datetime.fromtimestamp(self.now(ev), dt.timezone.utc)
        call.flow = CallFlow(self.office, call.caller, open_now=self.is_open(when), queue=call.line.queue)
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
            elif isinstance(c, ToCallback):
                # A queue's rule sends the caller here from the queue they were in.
                self._to_callback(call, c.queue or call.queue or (call.sent_from[-1] if call.sent_from else ""), ev)
            elif isinstance(c, HangUp):
                self._try(call, ev, lambda: e.hangup(port))
                self._finish(call, ev, call.flow.outcome or "completed")
            elif isinstance(c, RunScript):
                self.scripts.start(call, c, ev)

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
            self._manager("UserEvent", call, ("UserEvent", "MenuInput"), ("Menu", menu), ("Digits", digits))
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
        if call.script is not None:
            self.scripts.drop(call, ev)
        outcome = self._callback_or_rejoin(call, ev, outcome)
        self.call_of.pop(call.key, None)
        # A transferred call stays the agent's in the ACD after it leaves the box; a
        # confirmed callback keeps the caller's place without their line.
        if (self.acd is not None and call.key in self.acd.callers and call.key not in self.transferred
                and call.key not in self.callbacks):
            at = self.clock(ev)
            if call.agent is not None:
                self.waits[call.queue].handled(at - call.talk_from)
                self._manager("AgentComplete", call, ("Queue", call.queue), *self._member(call.agent),
                              ("HoldTime", round(call.talk_from - call.queued_at)),
                              ("TalkTime", round(at - call.talk_from)),
                              ("Reason", "agent" if call.agent_hung_up else "caller"))
                # The agent's phone (or line) is released before the ACD may ring it again.
                self._release_agent(call.agent)
                self._acd(self.acd.ended(call.key, at), ev)
                a = self.acd.agents[call.agent]
                if a.state == "wrap-up":
                    # Reports count it as the agent's time on the call; the ACD may end it
                    # early (a logout), which the agent log shows.
                    self.log.event(call.log_id, self.now(ev), "wrap-up",
                                   f"{call.agent} {a.wrapup_until - at:.1f}")
            else:
                self.waits[call.queue].abandoned(at - call.queued_at)
                position = self.acd.position(call.key, at)
                self._manager("QueueCallerAbandon", call, ("Queue", call.queue), ("Position", position),
                              ("OriginalPosition", call.joined_position), ("HoldTime", round(at - call.queued_at)))
                self._manager("QueueCallerLeave", call, ("Queue", call.queue),
                              ("Count", len(self.acd.waiting(call.queue)) - 1), ("Position", position))
                self._acd(self.acd.leave(call.key, at), ev)
        self.log.end(call.log_id, self.now(ev), outcome)
        self._manager("Hangup", call, ("Cause", 16), ("Cause-txt", "Normal Clearing"))
        if self.on_end:
            self.on_end(call, outcome)

    # -- agents: how each is reached ---------------------------------------------

    def _agents_init(self, office: Office) -> None:
        by_kind = [a for a in office.agents if a.name in (self.acd.agents if self.acd else ())]
        self.pin_of = {a.name: a.pin for a in by_kind if a.name in self.phone_of}
        self.number_of = {a.name: a.number for a in by_kind if a.number}
        self.extension_of = {a.name: a.extension for a in by_kind if a.extension}
        self.busy_of = {a.name: a.busy_s for a in by_kind}
        self.sessions: Dict[int, featurecode.FeatureSession] = {}     # by phone port, while off the hook
        self.legs: Dict[str, Leg] = {}                                 # by agent: a line dialled out to them
        self.leg_at: Dict[int, str] = {}
        self.deferred: Dict[str, str] = {}       # agent -> call: a ring waiting for a phone or a line
        self.transferred: Dict[str, Tuple[str, float]] = {}     # call -> (agent, busy until)
        self.clicks: Dict[str, "ClickCall"] = {}                     # by agent: a click-to-call
        self.click_at: Dict[int, str] = {}                          # its line's port -> agent

    def _wrap_up_over(self) -> bool:
        at = self.clock()
        return any(a.state == "wrap-up" and at >= a.wrapup_until for a in self.acd.agents.values())

    def _agent_port(self, agent: str) -> int:
        leg = self.legs.get(agent)
        return leg.port if leg is not None else self.phone_of[agent]

    def _agent_log(self, agent: str, kind: str, detail: str = "", source: str = "") -> None:
        self.log.agent_event(agent, self.now(), kind, detail, source)

    def _free_line(self) -> Optional[int]:
        """A line to dial out on: an fxo port with no call on it, not already dialled
        out on, and idle on the engine. The last lines first: an exchange hunts a line
        group from its first line, so they are the least likely to be rung meanwhile."""
        for ln in reversed(self.office.lines):
            port = self.ports.get(ln.name)
            if (ln.kind != "fxo" or port is None or port in self.calls or port in self.leg_at
                    or port in self.click_at):
                continue
            try:
                if self.engine.state(port) == "idle":
                    return port
            except EngineError:
                continue
        return None

    def _ringing_for(self, agent: str, key: str) -> bool:
        a = self.acd.agents[agent]
        return a.state == "ringing" and a.call == key

    def _ring(self, agent: str, call: Call, ev: Optional[Event]) -> None:
        """The ACD rings an agent for a call, however the agent is reached."""
        if not self._ringing_for(agent, call.key):
            return      # answered elsewhere already, in the same batch of commands
        e = self.engine
        if agent in self.extension_of:
            # No ring to see answered: the transfer is the answer.
            self._acd(self.acd.answered(agent, self.clock(ev)), ev)
            return
        if agent in self.number_of:
            port = self._free_line()
            if port is None:
                if agent not in self.deferred:
                    self.log.event(call.log_id, self.now(ev), "no-line", agent)
                self.deferred[agent] = call.key
                return
            self.deferred.pop(agent, None)
            leg = self.legs[agent] = Leg(agent, port, call.key)
            self.leg_at[port] = agent
            self.log.event(call.log_id, self.now(ev), "dial-out",
                           f"{agent} {self.number_of[agent]} on {self.line_of[port].name}")
            try:
                e.seize(port)
                e.dial(port, self.number_of[agent])
            except EngineError as err:
                self.log.event(call.log_id, self.now(ev), "error", str(err))
                self._drop_leg(leg.agent)
            return
        port = self.phone_of[agent]
        try:
            if e.state(port) != "idle":
                # Off the hook (keying a code): it rings when put down, if still wanted.
                self.deferred[agent] = call.key
                return
            self.deferred.pop(agent, None)
            e.ring(port, CallerID(call.caller, call.name) if call.caller else None)
        except EngineError as err:
            self.log.event(call.log_id, self.now(ev), "error", str(err))

    def _stop_ring(self, agent: str) -> None:
        if self.deferred.pop(agent, None) is not None or agent in self.extension_of:
            return      # it never rang
        if agent in self.legs:
            self._drop_leg(agent)
            return
        port = self.phone_of.get(agent)
        if port is None or port in self.sessions:
            return      # not ringing: the agent is keying a code
        try:
            self.engine.hangup(port)
        except EngineError:
            pass        # it had stopped already

    def _release_agent(self, agent: str) -> None:
        """The call an agent took is over: their phone or line goes back."""
        if agent in self.legs:
            self._drop_leg(agent)
        elif agent in self.phone_of:
            try:
                self.engine.hangup(self.phone_of[agent])
            except EngineError:
                pass    # it was put down already

    def _agents_tick(self) -> None:
        """Rings that waited for a phone to be put down or a line to free, and
        transferred calls whose time is up."""
        at = self.clock()
        for key, (agent, until) in list(self.transferred.items()):
            if at >= until:
                del self.transferred[key]
                if key in self.acd.callers:
                    self._acd(self.acd.ended(key, until), None)
        for agent, key in list(self.deferred.items()):
            call = self.call_of.get(key)
            if call is None or not self._ringing_for(agent, key):
                self.deferred.pop(agent, None)
                continue
            port = self.phone_of.get(agent)
            if port is not None and port in self.sessions:
                continue    # still off the hook
            self._ring(agent, call, None)

    # -- agents at their phones: feature codes ------------------------------------

    def agent_do(self, agent: str, op: str, reason: str = "", source: str = "console") -> Tuple[str, str]:
        """Log an agent in or out, pause (with a reason) or unpause them, or only ask
        their state (status), for the console and the feature codes alike; logged in
        the agent log. Returns their state after it and the ACD's refusal ("" if none)."""
        at = self.clock()
        refused = ""
        try:
            if op == "pause":
                commands = self.acd.pause(agent, reason or "paused", at)
            elif op in ("login", "logout", "unpause"):
                commands = getattr(self.acd, op)(agent, at)
            elif op == "status":
                commands = []
            else:
                raise acd_.ACDError(f"no such thing for an agent to do: {op}")
        except acd_.ACDError as err:
            commands, refused = [], str(err)
        if op != "status":
            self._agent_log(agent, op if not refused else "refused",
                            (reason or "paused" if op == "pause" else "") if not refused else f"{op}: {refused}",
                            source)
        if not refused and op != "status":
            self._member_event({"login": "QueueMemberAdded", "logout": "QueueMemberRemoved"}.get(
                op, "QueueMemberPause"), agent)
        self.carry_out(commands)
        return self.acd.agents[agent].state, refused

    # -- the manager interface's events ---------------------------------------------

    def _manager(self, name: str, call: Optional[Call], *fields: Tuple[str, object]) -> None:
        """An event for the manager interface in Asterisk's names, the call's channel
        first; values go as they are (ami.render takes out what could break a line)."""
        if self.on_manager_event is None:
            return
        head = ami.channel_fields(call) if call is not None else []
        self.on_manager_event(name, head + [(k, str(v)) for k, v in fields])

    def _member(self, agent: str) -> List[Tuple[str, str]]:
        return [("Interface", f"Agent/{agent}"), ("MemberName", agent),
                ("StateInterface", self.state_interface(agent))]

    def state_interface(self, agent: str) -> str:
        """Where the agent is reached, as an Asterisk channel name."""
        if agent in self.phone_of:
            return f"DAHDI/{self.line_of[self.phone_of[agent]].channel}"
        if agent in self.number_of:
            return f"Local/{self.number_of[agent]}@outside"
        return f"Local/{self.extension_of.get(agent, agent)}@pbx"

    def _member_event(self, name: str, agent: str) -> None:
        """A queue member's event, once for each queue the agent is a member of."""
        if self.on_manager_event is None or agent == OPERATOR:
            return
        for q in self.acd.queues.values():
            for member, level in q.members:
                if member == agent:
                    self._manager(name, None, ("Queue", q.name), *ami.member_fields(
                        agent, level, self.acd.agents[agent], self.state_interface(agent)))

    def _feature_event(self, agent: str, ev: Event) -> None:
        port = ev.channel
        k = ev.kind
        if k == "offhook":
            s = self.sessions[port] = featurecode.FeatureSession(self.office.features, self.pin_of[agent])
            self._feature(agent, port, s.start())
            return
        s = self.sessions.get(port)
        if s is None:
            return
        if k == "digit":
            self._feature(agent, port, s.digit(ev.digit))
        elif k == "collected":
            self._feature(agent, port, s.collected(ev.text, ev.reason))
        elif k == "play-done" and ev.reason == "complete":
            self._feature(agent, port, s.played())
        elif k == "hangup":
            s.hung_up()
            del self.sessions[port]

    def _feature(self, agent: str, port: int, commands: List[featurecode.Command]) -> None:
        """What the feature codes ask for, at the agent's phone."""
        e = self.engine
        source = self.line_of[port].name
        s = self.sessions.get(port)
        try:
            for c in commands:
                if isinstance(c, featurecode.DialTone):
                    e.play(port, [Play.of_tone("dial")], interruptible=True)
                    e.collect(port, c.max_digits, "#", int(c.first_timeout_s * 1000), int(c.interdigit_s * 1000))
                elif isinstance(c, featurecode.StopCollecting):
                    try:
                        e.cancel_collect(port)
                    except EngineError:
                        pass    # it ended by itself: the # was its terminator
                elif isinstance(c, featurecode.Request):
                    state, refused = self.agent_do(agent, c.op, c.reason, source)
                    a = self.acd.agents[agent]
                    told = "busy" if state in ("ringing", "on-call", "wrap-up", "outbound") else state
                    if s is not None:
                        self._feature(agent, port, s.acted(told, a.reason, bool(refused)))
                elif isinstance(c, (featurecode.Tell, featurecode.Refuse)):
                    error = isinstance(c, featurecode.Refuse) or c.refused
                    self._say_at_phone(port, featurecode.prompt(c, self.office.language), error)
                elif isinstance(c, featurecode.Note):
                    self._agent_log(agent, c.kind, c.detail, source)
                elif isinstance(c, featurecode.Disconnect):
                    self.sessions.pop(port, None)
                    e.hangup(port)
        except EngineError as err:
            # The phone went away under us (put down between two events): nothing to tell.
            self._agent_log(agent, "error", str(err), source)
            self.sessions.pop(port, None)

    def _say_at_phone(self, port: int, items, error: bool) -> None:
        plays = [Play.of_tone("congestion", ERROR_TONE_MS)] if error else []
        plays += self._spoken(items)
        self.engine.play(port, plays or [CONFIRM_TONE])

    def _spoken(self, items) -> List[Play]:
        """Prompts of the library, for what the box says to agents; none without one."""
        if self.library is None:
            return []
        try:
            prompts = self.library.say(items)
        except PromptLoadError:
            return []
        return [Play.of_prompt(i) for i in self.library.register(self.engine, prompts)]

    # -- agents at outside numbers -------------------------------------------------

    def _leg_event(self, agent: str, ev: Event) -> None:
        leg = self.legs.get(agent)
        if leg is None:
            return
        k = ev.kind
        if k == "dialed" and ev.reason == "complete" and leg.state == "dialling":
            leg.state = "offering"
            self._offer(leg, ev)
        elif k == "collected" and leg.state == "offering" and ev.reason != "cancelled":
            if ev.text == self.office.features.accept_key and self._ringing_for(agent, leg.call):
                leg.state = "connected"
                try:
                    self.engine.answer(leg.port)     # the call is up: busy tone now means a hangup
                except EngineError:
                    pass
                self._acd(self.acd.answered(agent, self.clock(ev)), ev)
            else:
                self._offer(leg, ev)                 # another key, or none yet: ask again
        elif k == "tone" and ev.b and ev.tone in ("busy", "congestion") and leg.state != "connected":
            # Busy or unobtainable: the line goes back; the ring runs out as a miss.
            call = self.call_of.get(leg.call)
            if call is not None:
                self.log.event(call.log_id, self.now(ev), "agent-busy", f"{agent} {ev.tone}")
            self._drop_leg(agent)
        elif k == "hangup":
            a = self.acd.agents[agent]
            self._drop_leg(agent)
            if leg.state == "connected" and a.state == "on-call" and a.call in self.call_of:
                call = self.call_of[a.call]
                call.agent_hung_up = True
                self.log.event(call.log_id, self.now(ev), "agent-hangup", agent)
                if self._try(call, ev, lambda: self.engine.hangup(call.port)):
                    self._finish(call, ev, self._answered(call))

    def _offer(self, leg: "Leg", ev: Optional[Event]) -> None:
        """Over and over until a key: a call from the queue, press the accept key."""
        call = self.call_of.get(leg.call)
        if call is None:
            return
        said = self._spoken(featurecode.offer(call.queue, self.office.features.accept_key, self.office.language))
        e = self.engine
        try:
            e.play(leg.port, (said or [CONFIRM_TONE]) + [Play.of_silence(OFFER_GAP_MS)], loop=True,
                   interruptible=True)
            e.collect(leg.port, 1, "", OFFER_LISTEN_MS, OFFER_LISTEN_MS)
        except EngineError as err:
            self.log.event(call.log_id, self.now(ev), "error", str(err))
            self._drop_leg(leg.agent)

    def _drop_leg(self, agent: str) -> None:
        leg = self.legs.pop(agent, None)
        if leg is None:
            return
        self.leg_at.pop(leg.port, None)
        try:
            self.engine.hangup(leg.port)
        except EngineError:
            pass

    # -- click-to-call ----------------------------------------------------------------

    def click_to_call(self, agent: str, number: str, timeout_s: float = 30.0, shown: Optional[CallerID] = None,
                      action_id: str = "") -> None:
        """Ring an agent's phone, then call the number for them on a free line (the
        manager interface's Originate to an agent). Raises Refused saying why not."""
        if self.acd is None or agent not in self.acd.agents or agent == OPERATOR:
            raise Refused(f"No such agent: {agent}")
        if agent not in self.phone_of:
            raise Refused(f"Click-to-call is not supported for agent {agent}: only an agent at a phone on the box")
        if not re.fullmatch(r"\+?[0-9*#]+", number) or len(number) > 20:
            raise Refused(f"Bad number {number!r}: 0-9, * and #, a leading + at most, 20 at most")
        a = self.acd.agents[agent]
        if a.state != "available":
            raise Refused(f"Agent {agent} is not available ({a.state})")
        port = self.phone_of[agent]
        try:
            if self.engine.state(port) != "idle":
                raise Refused(f"Agent {agent}'s phone is off the hook")
            self.engine.ring(port, shown or CallerID(number, ""))
        except EngineError as err:      # an ArgumentError too: a caller ID too long for the phone
            raise Refused(f"Agent {agent}'s phone cannot ring: {err}") from None
        self._acd(self.acd.dialling_out(agent, self.clock()), None)
        self.clicks[agent] = ClickCall(agent, number, port, self.clock() + timeout_s, action_id)
        self._agent_log(agent, "click-to-call", number, "manager")

    def _clicks_tick(self) -> None:
        at = self.clock()
        for cc in list(self.clicks.values()):
            if cc.state == "ringing" and at >= cc.until:
                try:
                    self.engine.hangup(cc.phone)      # stops the ring
                except EngineError:
                    pass
                self._click_failed(cc, 3, "no answer", None)

    def _click_failed(self, cc: "ClickCall", reason: int, why: str, ev: Optional[Event]) -> None:
        """Nothing was dialled: the agent is free again at once."""
        del self.clicks[cc.agent]
        self._agent_log(cc.agent, "click-to-call-failed", f"{cc.number}: {why}", "manager")
        self._manager("OriginateResponse", None, *((("ActionID", cc.action_id),) if cc.action_id else ()),
                      ("Response", "Failure"), ("Channel", f"Agent/{cc.agent}"), ("Exten", cc.number),
                      ("Reason", reason), ("Message", why))
        self._acd(self.acd.dialled_out(cc.agent, self.clock(ev), connected=False), ev)

    def _click_event(self, cc: "ClickCall", ev: Event) -> None:
        k, e = ev.kind, self.engine
        if ev.channel == cc.phone and k == "offhook" and cc.state == "ringing":
            self._click_answered(cc, ev)
        elif cc.state == "connected" and k == "hangup":
            self._click_end(cc, ev, "agent" if ev.channel == cc.phone else "far end")
        elif ev.channel == cc.line_port and k == "dialed" and cc.state == "connected":
            try:
                # No answer signal comes on an analog line: the agent hears the progress,
                # and from now on a busy tone there is the far end hanging up.
                e.answer(cc.line_port)
                e.bridge(cc.phone, cc.line_port)
            except EngineError as err:
                self.log.event(cc.row, self.now(ev), "error", str(err))
                self._click_end(cc, ev, "error")
                return
            self.log.answered(cc.row, self.now(ev))
            self._manager("OriginateResponse", cc.legs[0], *((("ActionID", cc.action_id),) if cc.action_id else ()),
                          ("Response", "Success"), ("Exten", cc.number), ("Reason", 4))

    def _click_answered(self, cc: "ClickCall", ev: Event) -> None:
        e = self.engine
        port = self._free_line()
        if port is None:
            try:
                e.play(cc.phone, [Play.of_tone("congestion", 4000)])
            except EngineError:
                pass
            self._click_failed(cc, 5, "no free line", ev)
            return
        line = self.line_of[port]
        cc.state, cc.line_port = "connected", port
        self.click_at[port] = cc.agent
        cc.row = self.log.start(line.name, port, self.now(ev), caller=cc.number)
        cc.legs = (Call(cc.phone, self.line_of[cc.phone], cc.row, caller=cc.number, began=self.now(ev)),
                   Call(port, line, cc.row, caller=cc.number, began=self.now(ev)))
        self.log.event(cc.row, self.now(ev), "click-to-call", cc.agent)
        self.log.event(cc.row, self.now(ev), "dial", f"{line.name} {cc.number}")
        for leg in cc.legs:
            self._manager("Newchannel", leg)
        try:
            e.seize(port)
            e.dial(port, cb_.dialable(cc.number))
        except EngineError as err:
            self.log.event(cc.row, self.now(ev), "error", str(err))
            self._click_end(cc, ev, "error")

    def _click_end(self, cc: "ClickCall", ev: Optional[Event], why: str) -> None:
        """Either side hung up: both go down, and the agent has their wrap-up."""
        del self.clicks[cc.agent]
        self.click_at.pop(cc.line_port, None)
        for port in (cc.phone, cc.line_port):
            try:
                self.engine.hangup(port)
            except EngineError:
                pass    # that side hung up itself
        self.log.event(cc.row, self.now(ev), "hangup", why)
        at = self.clock(ev)
        self._acd(self.acd.dialled_out(cc.agent, at, connected=True), ev)
        a = self.acd.agents[cc.agent]
        if a.state == "wrap-up":
            self.log.event(cc.row, self.now(ev), "wrap-up", f"{cc.agent} {a.wrapup_until - at:.1f}")
        self.log.end(cc.row, self.now(ev), "outbound")
        for leg in cc.legs:
            self._manager("Hangup", leg, ("Cause", 16), ("Cause-txt", "Normal Clearing"))

    # -- agents at extensions of the PBX behind the lines ---------------------------

    def _transfer(self, call: Call, agent: str, ev: Optional[Event]) -> None:
        """Flash the caller's line; the PBX gives its dial tone; the extension is keyed
        after a pause for it (_transfer_event)."""
        call.transfer_to = self.extension_of[agent]
        self.log.event(call.log_id, self.now(ev), "transfer", f"{agent} {call.transfer_to}")
        e = self.engine
        self._try(call, ev, lambda: (e.stop(call.port), e.flash(call.port),
                                     e.play(call.port, [Play.of_silence(FLASH_DIAL_TONE_MS)])))

    def _transfer_event(self, call: Call, ev: Event) -> None:
        e = self.engine
        k = ev.kind
        if k == "play-done" and ev.reason == "complete":
            self._try(call, ev, lambda: e.send_digits(call.port, call.transfer_to))
        elif k == "digits-sent":
            # Hanging up completes a blind transfer; the PBX has the call now.
            busy = self.waits[call.queue].aht or self.busy_of.get(call.agent, 180.0)
            self.transferred[call.key] = (call.agent, self.clock(ev) + busy)
            self.log.event(call.log_id, self.now(ev), "transferred", call.transfer_to)
            if self._try(call, ev, lambda: e.hangup(call.port)):
                self._finish(call, ev, "transferred")
        elif k == "hangup":
            # The caller went before the transfer was done.
            self.log.event(call.log_id, self.now(ev), "hangup", ev.cause)
            if self._try(call, ev, lambda: e.hangup(call.port)):
                self._finish(call, ev, "abandoned")

    # -- keys while waiting, the callback offer, rejoin -------------------------------

    def _join(self, call: Call, name: str, ev: Event, priority: int) -> None:
        """Into the ACD: as of their first join if they come back in time, then the
        queue's keys."""
        at = self.clock(ev)
        q = self.office.queues.get(name)
        back = self.left.pop((call.caller, name), None) if call.caller and not call.presentation else None
        if q is not None and back is not None and q.rejoin_s > 0 and at - back[1] <= q.rejoin_s:
            self.log.event(call.log_id, self.now(ev), "rejoined", f"{name}: place kept from {back[0]:.1f} s")
            self._acd(self.acd.rejoin(call.key, name, at, joined=back[0], priority=priority), ev)
            items = self._phrases(call, (cb_.Phrase("queue_welcome_back"),), ev)
            if items and call.agent is None and self.calls.get(call.port) is call:
                # Said instead of the music, which comes back after it.
                call.announcing = self._try(call, ev, lambda: self.engine.play(call.port, items))
        else:
            self._acd(self.acd.join(call.key, name, at, priority=priority), ev)
        self._keys_on(call, ev)

    def _keys_on(self, call: Call, ev: Optional[Event]) -> None:
        q = self.office.queues.get(call.queue or "")
        if (q is None or not (q.exit_key or q.callback_key) or call.flow is None or call.agent is not None
                or self.calls.get(call.port) is not call):
            return
        call.keys_on = self._try(call, ev, lambda: self.engine.collect(call.port, 1, "", 30000, 30000))

    def _keys_off(self, call: Call) -> None:
        """No more keys for the queue: an agent has the call."""
        if call.keys_on or call.offer is not None:
            try:
                self.engine.cancel_collect(call.port)
            except EngineError:
                pass        # it had ended
        call.keys_on, call.offer = False, None

    def _waiting_key(self, call: Call, ev: Event) -> None:
        call.keys_on = False
        q = self.office.queues[call.queue]
        key = ev.text[:1]
        if key and key == q.exit_key and q.exit_to is not None and q.exit_to.kind != "callback":
            self._acd(self.acd.leave(call.key, self.clock(ev)), ev)
            self._send_on(call, "exit-key", q.exit_to, ev)
        elif key and (key == q.callback_key or key == q.exit_key):
            self.log.event(call.log_id, self.now(ev), "callback-key", f"{call.queue}: {key}")
            self._offer_callback(call, ev)
        else:
            self._keys_on(call, ev)         # silence, or a key that does nothing here

    def _to_callback(self, call: Call, queue: str, ev: Event) -> None:
        """A callback action: into the queue first if the caller is not in it yet."""
        if call.key not in self.call_of:
            self._queue(call, queue, ev)
            if self.calls.get(call.port) is not call:
                return
        self._offer_callback(call, ev)

    def _offer_callback(self, call: Call, ev: Event) -> None:
        q = self.office.queues[call.queue]
        if call.keys_on:
            self._keys_off(call)
        call.announcing = False
        call.offer = cb_.CallbackOffer(call.caller, call.presentation, q.callback_min_digits, q.callback_max_digits)
        self._offer_do(call, call.offer.start(), ev)

    def _offer_do(self, call: Call, commands: List[cb_.Command], ev: Event) -> None:
        e, port = self.engine, call.port
        for c in commands:
            if isinstance(c, cb_.Note):
                self.log.event(call.log_id, self.now(ev), c.kind, c.detail)
            elif isinstance(c, (cb_.Ask, cb_.Say)):
                items = self._phrases(call, c.parts, ev)
                if not items:
                    self._offer_do(call, [cb_.Cancelled("prompt missing")], ev)
                    return
                if isinstance(c, cb_.Say):
                    if not self._try(call, ev, lambda: e.play(port, items)):
                        return
                elif not self._try(call, ev, lambda: (e.play(port, items, interruptible=True), e.collect(
                        port, c.max_digits, c.terminator, int(c.timeout_s * 1000), int(c.interdigit_s * 1000)))):
                    return
            elif isinstance(c, cb_.Confirmed):
                self._confirmed(call, c.number, ev)
            elif isinstance(c, cb_.Cancelled):
                call.offer = None
                if self._hold(call, ev):
                    self._keys_on(call, ev)
            elif isinstance(c, cb_.HangUp):
                self._try(call, ev, lambda: e.hangup(port))
                self._finish(call, ev, "callback")

    def _confirmed(self, call: Call, number: str, ev: Event) -> None:
        """The caller gives up their line and keeps their place; offered to no agent
        until the call that asked has ended."""
        q = self.office.queues[call.queue]
        at = self.clock(ev)
        job = cb_.Callback(number, at, q.callback_tries, q.callback_retry_s, q.callback_expiry_s,
                           q.callback_answer_s)
        lang = call.flow.language if call.flow else self.office.language
        self.callbacks[call.key] = CallbackJob(job, call.key, call.queue, call, lang)
        self.call_of.pop(call.key, None)
        self._acd(self.acd.to_callback(call.key, at, not_before=math.inf), ev)

    def _callback_or_rejoin(self, call: Call, ev: Optional[Event], outcome: str) -> str:
        """At a call's end: a confirmed callback begins its own life (the call ends as
        "callback"); a caller who gave up waiting is remembered for rejoin_s."""
        job = self.callbacks.get(call.key)
        at = self.clock(ev)
        if job is not None and job.origin is call and job.row is None:
            job.row = self.log.start_callback(call.log_id, self.now(ev), job.cb.number)
            self.log.event(job.row, self.now(ev), "callback-queued", f"{job.queue}: {job.cb.number}")
            self._acd(self.acd.callback_after(call.key, at, at), ev)
            return "callback"
        c = self.acd.callers.get(call.key) if self.acd is not None else None
        q = self.office.queues.get(call.queue or "")
        if (c is not None and c.agent is None and q is not None and q.rejoin_s > 0 and call.flow is not None
                and call.caller and not call.presentation):
            self.left[(call.caller, call.queue)] = (c.joined, at)
            for k in [k for k, (_, left) in self.left.items() if at - left > 86400]:
                del self.left[k]        # long gone: no queue keeps a place that long
        return outcome

    def _phrases(self, call: Call, parts, ev: Optional[Event]) -> List[Play]:
        """Built-in phrases (the office's own prompt of the name if it has one) and
        numbers, in the call's language; [] (logged) if one cannot be loaded."""
        lang = call.flow.language if call.flow else (call.job.language if call.job else self.office.language)
        bank = call.bank or self.bank
        ids: List[int] = []
        names: List[str] = []
        try:
            for p in parts:
                if isinstance(p, cb_.Digits):
                    prompts = self.library.say(say_digits(lang, p.digits))
                    ids += self.library.register(self.engine, prompts)
                    names.append(p.digits)
                elif bank.has(p.name, lang):
                    ids += bank.ids(p.name, lang)
                    names.append(p.name)
                else:
                    text = cb_.PHRASES[p.name][lang].format(office=self.office.name)
                    ids += self.library.register(self.engine, [self.library.spoken(lang, text, name=p.name)])
                    names.append(p.name)
        except (PromptLoadError, AttributeError) as err:     # AttributeError: no library
            self.log.event(call.log_id, self.now(ev), "error", f"callback prompts: {err}")
            return []
        call.heard.extend(names)
        if self.on_play:
            self.on_play(call, names)
        return [Play.of_prompt(i) for i in ids]

    # -- calling back ------------------------------------------------------------------

    def _free_lines(self) -> int:
        """How many lines _free_line could give now."""
        n = 0
        for ln in self.office.lines:
            port = self.ports.get(ln.name)
            if (ln.kind == "fxo" and port is not None and port not in self.calls and port not in self.leg_at
                    and port not in self.click_at):
                try:
                    n += self.engine.state(port) == "idle"
                except EngineError:
                    pass
        return n

    def originate(self, number: str, queue: str) -> int:
        """A call to a number put through a queue (the manager interface's Originate): a
        callback that no call asked for. The ACD keeps an agent for it when its turn
        comes, the box dials on a free line and asks the called party to press 1, who
        then waits for that agent like any caller. Returns its call-log row."""
        q = self.office.queues[queue]
        at = self.clock()
        row = self.log.start_callback(None, self.now(), number)
        key = f"originate-{row}"
        job = cb_.Callback(number, at, q.callback_tries, q.callback_retry_s, q.callback_expiry_s, q.callback_answer_s)
        self.callbacks[key] = CallbackJob(job, key, queue, None, self.office.language, row=row, began=self.now())
        self.log.event(row, self.now(), "callback-queued", f"{queue}: {number}")
        self._acd(self.acd.join_to_call(key, queue, at), None)
        return row

    def _callbacks_tick(self) -> None:
        at = self.clock()
        when = dt.datetime.fromtimestamp(self.now(), dt.timezone.utc)
        open_now = self.is_open(when)
        for job in list(self.callbacks.values()):
            if job.row is not None:
                self._callback_do(job, job.cb.tick(at, open_now), None)
        if self.callbacks:
            self._acd(self.acd.lines_free(self._free_lines(), at), None)

    def _reserved(self, c, ev: Optional[Event]) -> None:
        job = self.callbacks.get(c.call)
        if job is None or job.row is None:
            return
        at = self.clock(ev)
        if isinstance(c, acd_.Unreserve):
            self.log.event(job.row, self.now(ev), "unreserved", c.agent)
            return
        self.log.event(job.row, self.now(ev), "reserved", c.agent)
        if job.cb.state != "waiting":
            return              # an attempt under way got another agent kept for it
        if self._free_line() is None:
            # Taken since the ACD counted it: the callback waits at the head for the next.
            self._acd(self.acd.callback_failed(c.call, at, retry_at=at), ev)
            return
        self._callback_do(job, job.cb.turn(at), ev)

    def _callback_do(self, job: CallbackJob, commands: List[cb_.Command], ev: Optional[Event]) -> None:
        at, e = self.clock(ev), self.engine
        for c in commands:
            line = job.line
            try:
                if isinstance(c, cb_.Note):
                    self.log.event(job.row, self.now(ev), c.kind, c.detail)
                elif isinstance(c, cb_.Dial):
                    port = self._free_line()
                    if port is None:
                        raise EngineError("no free line to call back on")
                    call = Call(port, self.line_of[port], job.row, caller=c.number, bank=self.bank,
                                queue=job.queue, acd_key=job.key, job=job, began=job.began or self.now(ev))
                    job.line = call
                    self.calls[port] = call
                    self.log.event(job.row, self.now(ev), "dial", f"{call.line.name} {c.number}")
                    e.seize(port)
                    e.dial(port, c.number)
                elif isinstance(c, cb_.Ask):
                    items = self._phrases(line, c.parts, ev)
                    if not items:
                        raise EngineError("no prompts to play")
                    e.play(line.port, items, loop=c.loop, interruptible=True)
                    e.collect(line.port, 1, "", int(c.timeout_s * 1000), int(c.timeout_s * 1000))
                elif isinstance(c, cb_.HangUp):
                    job.line = None
                    self.calls.pop(line.port, None)
                    e.hangup(line.port)
                elif isinstance(c, cb_.Retry):
                    self._acd(self.acd.callback_failed(job.key, at, retry_at=c.at), ev)
                elif isinstance(c, cb_.Answered):
                    # From here the call back is a caller like any other, at the head of the line.
                    e.answer(line.port)
                    self.log.answered(job.row, self.now(ev))
                    line.job, job.line = None, None
                    del self.callbacks[job.key]
                    line.queued_at = at
                    line.announce = self.announcers[job.queue].join(at)
                    self.call_of[job.key] = line
                    self._manager("OriginateResponse", line, ("Response", "Success"), ("Reason", 4),
                                  ("Queue", job.queue))
                    if self._hold(line, ev):
                        self._acd(self.acd.callback_answered(job.key, at), ev)
                elif isinstance(c, cb_.Finish):
                    self.callbacks.pop(job.key, None)
                    caller = self.acd.callers.get(job.key)
                    if caller is not None and caller.dialling:
                        self._acd(self.acd.callback_failed(job.key, at, retry_at=math.inf), ev)
                    if caller is not None:
                        self._acd(self.acd.leave(job.key, at), ev)
                    self.log.end(job.row, self.now(ev), c.outcome)
                    if job.origin is None:
                        self._manager("OriginateResponse", None, ("Response", "Failure"), ("Reason", 0),
                                      ("Queue", job.queue), ("Uniqueid", ami.uniqueid(job.began, job.row)),
                                      ("Exten", job.cb.number), ("Outcome", c.outcome))
            except EngineError as err:
                self.log.event(job.row, self.now(ev), "error", str(err))
                if job.line is not None and job.cb.state in ("dialling", "offering"):
                    self._callback_do(job, job.cb.hung_up(at), ev)
                return

    def _callback_line_event(self, call: Call, ev: Event) -> None:
        job, k, at = call.job, ev.kind, self.clock(ev)
        state = job.cb.state
        if k == "dialed" and state == "dialling":
            self._callback_do(job, job.cb.dialled(at), ev)
        elif k == "tone" and ev.tone == "busy" and ev.b and state in ("dialling", "offering"):
            self._callback_do(job, job.cb.busy(at), ev)
        elif k == "hangup" and state in ("dialling", "offering"):
            self._callback_do(job, job.cb.hung_up(at), ev)
        elif k == "collected" and ev.reason != "cancelled" and state == "offering":
            self._callback_do(job, job.cb.key(ev.text, ev.reason, at), ev)


@dataclass
class Leg:
    """A line the box dialled out on to reach an agent at an outside number."""
    agent: str
    port: int
    call: str                   # the ACD's key of the caller it is for
    state: str = "dialling"     # then offering (the prompt, waiting for the key), connected


class Refused(Exception):
    """A click-to-call the box will not make, and why."""


@dataclass
class ClickCall:
    """A click-to-call: the agent's phone rung, then a line dialled to the number."""
    agent: str
    number: str
    phone: int                  # the agent's phone's port
    until: float                # engine seconds: the agent answers by then
    action_id: str = ""         # the manager's, for its OriginateResponse
    state: str = "ringing"      # then connected (a line taken and dialled)
    line_port: int = -1
    row: int = 0                # its call-log row, once it has a line
    legs: Tuple[Call, ...] = ()  # the phone and the line, as channels


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
