"""`appliance simulate`: a day of calls through the real supervisor on the simulated board.

The office's own supervisor (menus, queues, announcements, call log) runs on a
signalling-only simulated board, on the engine's clock, as fast as it goes. Scripted
callers ring its exchange lines and scripted agents answer its phones; every call
leaves a row in the call log and a line in CALLS.jsonl, and a summary is printed.

Rules:
  - Nothing is stood in for: the calls are the engine's, the call flows, ACD and
    announcements the supervisor's. Prompts take their real length (the board plays
    them silently, as long as they are); keys travel as digit events.
  - The day starts at engine time 0, which is `start` of today in the office's time
    zone, and runs the traffic file's hours; the box is open all along (business hours
    are not what a traffic day tests). After the last hour no one new calls and the
    calls in progress run to their end (at most DRAIN_S more; whoever is left is hung
    up on, and counted as they end).
  - Callers: a Poisson number of arrivals per hour at uniform times. An arrival takes
    the first free line (the exchange hunting); with every line in use it is blocked.
    A caller joins the queue at once (the line key `queue`, set on every line of a copy
    of the office) or presses the traffic's digits a second after the box answers. In
    a queue, a caller not connected to an agent within their patience hangs up.
  - Agents: at each hour the first `agents` members of the staffed queue are logged
    in and the others logged out, as the console does it (the agent log says
    "traffic"); an agent on
    a call is logged out when the call ends. An agent's phone is picked up after the
    drawn ring delay, if it still rings; the agent talks for the caller's drawn handle
    time and puts the phone down.
  - Every draw comes from one numpy Generator seeded with the seed (the command line's,
    or the file's), split into independent streams (arrivals, handle, patience, ring
    delay), so one seed is one run, event for event.
  - The clock moves in steps that end at the first event or the next deadline: a
    scripted caller's or agent's next action, an ACD ring time-out or end of wrap-up, or
    MAX_STEP_S, which bounds how late an announcement falls due. The supervisor's
    handle() after each step ticks the ACD and the announcements.
  - Figures: service level is answered within the traffic's service_level_s of
    joining the queue over calls offered to the queue (joined it); the average speed of
    answer is the mean wait of answered calls; the abandon rate is abandoned over
    offered. Blocked callers never reached the box and are counted apart.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import json
import math
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Tuple

import numpy as np

from appliance import config, traffic as traffic_
from appliance.calllog import CallLog
from appliance.engine import FRAME, SAMPLE_RATE, Event
from appliance.prompts import PromptLibrary
from appliance.sim import SimOffice
from appliance.supervisor import OPERATOR, Call, PromptBank, Supervisor

MAX_STEP_S = 1.0
DRAIN_S = 4 * 3600.0
PRESS_AFTER_S = 1.0
SOURCE = "traffic"          # who logged agents in and out, for the agent log
# Outcomes of the call log, as a simulation's report names them.
OUTCOMES = {"answered": "answered", "operator": "answered", "transferred": "answered", "abandoned": "abandoned",
            "callback": "callback", "overflow": "overflow"}


class SimulateError(Exception):
    pass


@dataclass
class Arrival:
    """One scripted caller."""
    n: int
    at: float                       # engine seconds
    handle_s: float
    patience_s: float
    number: str
    line: Optional[int] = None      # index of the line it rang
    call: Optional[Call] = None     # the supervisor's, kept when it ends
    outcome: Optional[str] = None   # the call log's
    ended_at: Optional[float] = None
    joined: bool = False


def office_for(office: config.Office, queue: Optional[str]) -> config.Office:
    """A copy of the office whose callers go straight to `queue` on every line."""
    if queue is None:
        return office
    lines = tuple(dataclasses.replace(ln, queue=queue) if ln.kind == "fxo" else ln for ln in office.lines)
    return dataclasses.replace(office, lines=lines)


class Simulation:
    def __init__(self, office: config.Office, traffic: traffic_.Traffic, seed: Optional[int] = None,
                 log_path: Optional[Path] = None, library: Optional[PromptLibrary] = None,
                 watch: Optional[Callable[[List[Event]], None]] = None):
        traffic_.check(traffic, office)
        self.watch = watch              # sees every batch's events (a test listening to the lines)
        self.traffic = traffic
        self.seed = traffic.seed if seed is None else seed
        self.office = office_for(office, traffic.queue)
        self.staffed_queue = traffic.staffed_queue(office)
        fxo = [ln for ln in self.office.lines if ln.kind == "fxo"]
        fxs = [ln for ln in self.office.lines if ln.kind == "fxs"]
        self.sim = SimOffice(lines=len(fxo), phones=len(fxs), audio=False)
        self.engine = self.sim.engine
        ports = {ln.name: p for ln, p in zip(fxo, self.sim.lines)}
        ports.update({ln.name: p for ln, p in zip(fxs, self.sim.phones)})
        for ln in self.office.lines:
            self.engine.configure(ports[ln.name] + 1, law=ln.law, plan=ln.plan)
        self.library = library or PromptLibrary()
        tz = zoneinfo.ZoneInfo(office.hours.timezone)
        day = dt.datetime.combine(dt.date.today(), traffic.start, tzinfo=tz)
        self.log = CallLog.open(log_path) if log_path else None
        self._tmp = None
        if self.log is None:
            import tempfile
            self._tmp = tempfile.TemporaryDirectory(prefix="appliance-simulate-")
            self.log = CallLog.open(Path(self._tmp.name) / "calls.db")
        try:
            self.bank = PromptBank(self.office, self.library, self.engine)
        except Exception:
            self.close()
            raise
        self.sup = Supervisor(self.office, self.engine, ports, self.bank, self.log, wall_offset=day.timestamp(),
                              on_end=self._ended, library=self.library)
        self.sup.hours_override = True
        self.line_ports = list(self.sim.lines)
        self.occupant: Dict[int, Arrival] = {}          # by line port
        self.phone_ports = {p + 1: p for p in self.sim.phones}   # far end -> box port
        self.ring_seq: Dict[int, int] = {p: 0 for p in self.sim.phones}
        self.members = [n for n, _ in self.sup.acd.queues[self.staffed_queue].members] if self.sup.acd else []
        self.pending_logout: set = set()
        self._heap: List[Tuple[float, int, str, tuple]] = []
        self._seq = 0
        self.arrivals = self._draw()
        self.to_arrive = len(self.arrivals)
        self.blocked = 0

    def close(self) -> None:
        if self.log is not None:
            if getattr(self, "sup", None) is not None:
                self.sup.stop()
            self.log.close()
        self.sim.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- the day's draws -----------------------------------------------------------

    def _draw(self) -> List[Arrival]:
        arrivals_rng, handle_rng, patience_rng, self.ring_rng = (
            np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(self.seed).spawn(4))
        times: List[float] = []
        handles, patience = [], []
        for h, hour in enumerate(self.traffic.hours):
            n = int(arrivals_rng.poisson(hour.calls))
            times += sorted((h + arrivals_rng.uniform(0.0, 1.0, n)) * 3600.0)
            # Hour by hour from the same streams: a file without hourly means draws
            # exactly what one draw for the whole day would.
            handles.append(self.traffic.handle_in(hour).draw(handle_rng, n))
            patience.append(self.traffic.patience_in(hour).draw(patience_rng, n))
        handles, patience = np.concatenate(handles), np.concatenate(patience)
        out = []
        for i, at in enumerate(times):
            number = f"07{i + 1:08d}" if self.traffic.caller_ids else ""
            out.append(Arrival(i, float(at), float(handles[i]), float(patience[i]), number))
            self._at(at, "arrive", (i,))
        for h in range(len(self.traffic.hours)):
            self._at(h * 3600.0, "hour", (h,))
        return out

    def _at(self, when: float, kind: str, args: tuple) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, args))

    # -- running -------------------------------------------------------------------

    def run(self) -> List[dict]:
        end_of_day = len(self.traffic.hours) * 3600.0
        give_up_at = end_of_day + DRAIN_S
        engine, sup = self.engine, self.sup
        while True:
            now = engine.now / SAMPLE_RATE
            self._due(now)
            if now >= end_of_day and not sup.calls and not self.to_arrive:
                break
            if now >= give_up_at:
                self._hang_up_everyone()
                give_up_at = math.inf
            until = min(self._heap[0][0] if self._heap else math.inf, self._acd_deadline(), now + MAX_STEP_S)
            frames = max(1, math.ceil((until * SAMPLE_RATE - engine.now) / FRAME))
            batch = engine.run(frames, stop_on_event=True)
            events = batch.events
            if events:
                sup.handle(events, batch.taps)
                self._far_events(events)
                if self.watch is not None:
                    self.watch(events)
            elif sup.call_of or batch.taps is not None:
                sup.handle(events, batch.taps)      # time passing: ACD ring time-outs, wrap-ups, announcements
            if self.pending_logout:
                self._logouts(engine.now / SAMPLE_RATE)
        return self.records()

    def _acd_deadline(self) -> float:
        acd = self.sup.acd
        if acd is None or not self.sup.call_of:
            return math.inf
        out = math.inf
        for a in acd.agents.values():
            if a.state == "wrap-up":
                out = min(out, a.wrapup_until)
            elif a.state == "ringing":
                out = min(out, a.ring_until)
        return out

    def _due(self, now: float) -> None:
        # A deadline counts as reached within a frame: the engine moves in whole frames.
        slack = FRAME / SAMPLE_RATE / 2
        while self._heap and self._heap[0][0] <= now + slack:
            _, _, kind, args = heapq.heappop(self._heap)
            getattr(self, "_do_" + kind)(now, *args)

    def _hang_up_everyone(self) -> None:
        for port, arrival in list(self.occupant.items()):
            if self.engine.state(port + 1) != "idle":
                self.sim.callers[self.line_ports.index(port)].hangup()

    # -- scripted callers ----------------------------------------------------------

    def _do_arrive(self, now: float, i: int) -> None:
        a = self.arrivals[i]
        e = self.engine
        self.to_arrive -= 1
        for k, port in enumerate(self.line_ports):
            if port not in self.occupant and e.state(port) == "idle" and e.state(port + 1) == "idle":
                a.line = k
                self.occupant[port] = a
                self.sim.callers[k].ring(a.number, "", standard=self._cid(port))
                return
        self.blocked += 1
        a.outcome = "blocked"

    def _cid(self, port: int) -> str:
        ln = self.sup.line_of[port]
        return ln.callerid if ln.callerid != "none" else "v23"

    def _do_press(self, now: float, i: int) -> None:
        a = self.arrivals[i]
        port = self.line_ports[a.line]
        if self.occupant.get(port) is a and self.engine.state(port + 1) != "idle":
            self.sim.callers[a.line].press(self.traffic.digits)

    def _do_patience(self, now: float, i: int) -> None:
        a = self.arrivals[i]
        port = self.line_ports[a.line]
        call = self.sup.calls.get(port)
        if self.occupant.get(port) is a and call is not None and call.agent is None:
            self.sim.callers[a.line].hangup()

    def _joined(self, port: int) -> None:
        """After a batch with events on a line: has its caller just joined a queue?"""
        a = self.occupant.get(port)
        if a is None or a.joined:
            return
        call = self.sup.calls.get(port)
        if call is not None and call.queue is not None:
            a.joined = True
            if math.isfinite(a.patience_s):
                self._at(call.queued_at + a.patience_s, "patience", (a.n,))

    def _ended(self, call: Call, outcome: str) -> None:
        a = self.occupant.pop(call.port, None)
        if a is None:
            return
        a.call, a.outcome, a.ended_at = call, outcome, self.sup.clock()

    # -- scripted agents -----------------------------------------------------------

    def _far_events(self, events) -> None:
        phones, lines = self.phone_ports, self.occupant
        for ev in events:
            ch = ev.channel
            if ch in phones:
                if ev.kind == "ring" and ev.a == 1:
                    port = phones[ch]
                    self.ring_seq[port] += 1
                    delay = float(self.traffic.answer.draw(self.ring_rng, 1)[0])
                    self._at(ev.ms / 1000.0 + delay, "answer", (port, self.ring_seq[port]))
            elif ch in lines:
                self._joined(ch)
            elif ch - 1 in lines and ev.kind == "offhook" and self.traffic.digits:
                a = lines[ch - 1]
                self._at(ev.ms / 1000.0 + PRESS_AFTER_S, "press", (a.n,))

    def _do_answer(self, now: float, port: int, seq: int) -> None:
        if self.ring_seq[port] != seq or self.engine.state(port + 1) != "ringing":
            return                  # that ring stopped (the caller gave up, a time-out)
        sup = self.sup
        name = sup.agent_at.get(port)
        agent = sup.acd.agents.get(name) if name is not None else None
        if agent is None or agent.state != "ringing":
            return
        call = sup.call_of.get(agent.call)
        a = self.occupant.get(call.port) if call is not None else None
        handle = a.handle_s if a is not None else float(self.traffic.handle.draw(self.ring_rng, 1)[0])
        self.sim.agents[self.sim.phones.index(port)].answer()
        self._at(now + handle, "talked", (port, agent.call))

    def _do_talked(self, now: float, port: int, key: str) -> None:
        agent = self.sup.acd.agents[self.sup.agent_at[port]]
        # Only this call: one ended from the caller's side may have been followed by the
        # next ring. A phone picked up for a ring that stopped as it was answered is
        # put down too.
        if (agent.call == key or agent.state not in ("ringing", "on-call")) and self.engine.state(port + 1) != "idle":
            self.sim.agents[self.sim.phones.index(port)].hangup()

    def _do_hour(self, now: float, h: int) -> None:
        acd = self.sup.acd
        if acd is None:
            return
        want = self.traffic.hours[h].agents
        for k, name in enumerate(self.members):
            a = acd.agents[name]
            if k < want:
                self.pending_logout.discard(name)
                if a.state == "logged-out":
                    self.sup.agent_do(name, "login", source=SOURCE)
                elif a.state == "paused":
                    self.sup.agent_do(name, "unpause", source=SOURCE)
            elif a.state != "logged-out":
                self.pending_logout.add(name)
        self._logouts(now)

    def _logouts(self, now: float) -> None:
        acd = self.sup.acd
        for name in list(self.pending_logout):
            a = acd.agents[name]
            if a.state == "logged-out":
                self.pending_logout.discard(name)
            elif a.state != "on-call":
                self.sup.agent_do(name, "logout", source=SOURCE)
                if a.state == "logged-out":
                    self.pending_logout.discard(name)

    # -- what came of it -----------------------------------------------------------

    def records(self) -> List[dict]:
        out = []
        for a in self.arrivals:
            c = a.call
            rec = {"id": c.log_id if c else None, "arrival_s": round(a.at, 3), "line": None, "queue": None,
                   "joined_s": None, "position": None, "agents_staffed": None, "agents_busy": None,
                   "announced_wait_s": None, "announced_at_s": None, "announced_position": None,
                   "announced_staffed": None, "announced_busy": None, "spoken_wait_s": None, "wait_s": None,
                   "outcome": None, "talk_s": None, "agent": None, "ended_s": None, "handle_s": round(a.handle_s, 3),
                   "patience_s": round(a.patience_s, 3) if math.isfinite(a.patience_s) else None}
            if c is None:
                rec["outcome"] = a.outcome or "unfinished"
                out.append(rec)
                continue
            rec["line"] = c.line.name
            rec["ended_s"] = round(a.ended_at, 3)
            if c.queue is None and c.sent_from:
                # A queue's rule sent the caller on (full, waited too long, overflow), and
                # no other queue took them: the call left the queues there.
                joined = c.sent_on_at > 0
                rec.update(queue=c.sent_from[0], outcome=OUTCOMES.get(a.outcome, "overflow"),
                           joined_s=round(c.queued_at, 3) if joined else None,
                           position=c.joined_position or None, agents_staffed=c.joined_staffed,
                           agents_busy=c.joined_busy,
                           wait_s=round(c.sent_on_at - c.queued_at, 3) if joined else 0.0)
                out.append(rec)
                continue
            if c.queue is None:
                rec["outcome"] = "menu_only"
                out.append(rec)
                continue
            answered = c.agent is not None
            # A caller who took the callback offer left the line with their place kept:
            # their wait here is to that moment; the call back is a row of its own.
            rec.update(queue=c.queue, joined_s=round(c.queued_at, 3), position=c.joined_position,
                       agents_staffed=c.joined_staffed, agents_busy=c.joined_busy,
                       outcome=OUTCOMES.get(a.outcome, a.outcome if answered else "abandoned"),
                       wait_s=round((c.talk_from if answered else a.ended_at) - c.queued_at, 3),
                       talk_s=round(a.ended_at - c.talk_from, 3) if answered else None, agent=c.agent)
            if c.first_estimate_s is not None:
                rec.update(announced_wait_s=c.first_estimate_s,
                           announced_at_s=round(c.first_estimate_at - c.queued_at, 3),
                           announced_position=c.first_estimate_position,
                           announced_staffed=c.first_estimate_staffed, announced_busy=c.first_estimate_busy,
                           spoken_wait_s=c.first_figure_s)
            out.append(rec)
        return out


# -- the report ------------------------------------------------------------------------

def summary(records: List[dict], service_level_s: float) -> List[str]:
    arrived = len(records)
    blocked = sum(1 for r in records if r["outcome"] == "blocked")
    menu_only = sum(1 for r in records if r["outcome"] == "menu_only")
    lines = [f"calls {arrived}: blocked (every line in use) {blocked}, menus only {menu_only}, "
             f"queued {sum(1 for r in records if r['queue'])}",
             f"service level: answered within {service_level_s:g} s of joining the queue, over calls offered "
             f"to the queue (joined it); ASA: mean wait of answered calls; abandon rate: abandoned over offered"]
    queues = sorted({r["queue"] for r in records if r["queue"]})
    lines.append(f"{'queue':<12} {'offered':>7} {'answered':>8} {'abandoned':>9} {'other':>5} "
                 f"{'service level':>13} {'ASA s':>7} {'abandon rate':>12}")
    for q in queues:
        rs = [r for r in records if r["queue"] == q]
        ans = [r for r in rs if r["outcome"] == "answered"]
        ab = sum(1 for r in rs if r["outcome"] == "abandoned")
        within = sum(1 for r in ans if r["wait_s"] <= service_level_s)
        sl = within / len(rs) if rs else 0.0
        asa = sum(r["wait_s"] for r in ans) / len(ans) if ans else 0.0
        name = "(operator)" if q == OPERATOR else q
        lines.append(f"{name:<12} {len(rs):>7} {len(ans):>8} {ab:>9} {len(rs) - len(ans) - ab:>5} "
                     f"{sl * 100:>12.1f}% {asa:>7.1f} {ab / len(rs) * 100 if rs else 0.0:>11.1f}%")
    return lines


def run(config_path: str, traffic_path: Optional[str], out_path: str, seed: Optional[int] = None,
        db_path: Optional[str] = None, out: TextIO = None, week: Optional[dict] = None) -> int:
    """Simulates the traffic file, or with `week` the week measured from a call log:
    week holds db, and for staffing.from_log and staffing.plan queue, first, last,
    agents, target, model, over, adjust."""
    import sys
    out = out or sys.stdout
    if seed is not None and seed < 0:
        raise SimulateError(f"--seed {seed}: a seed is a whole number from 0")
    office = config.load(config_path)
    if week is None:
        traffic = traffic_.load(traffic_path)
    else:
        traffic = _measured_week(office, config_path, week, out)
    started = time.perf_counter()
    sim = Simulation(office, traffic, seed=seed, log_path=Path(db_path) if db_path else None)
    try:
        records = sim.run()
    finally:
        sim.close()
    with open(out_path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    took = time.perf_counter() - started
    day = len(traffic.hours)
    print(f"{office.name}: {day} hour{'s' if day != 1 else ''} from {traffic.start:%H:%M}, seed "
          f"{sim.seed}; simulated in {took:.1f} s", file=out)
    for line in summary(records, traffic.service_level_s):
        print(line, file=out)
    print(f"{len(records)} calls written to {out_path}" + (f"; call log {db_path}" if db_path else ""), file=out)
    return 0


def _measured_week(office: config.Office, config_path: str, week: dict, out: TextIO) -> traffic_.Traffic:
    """The traffic of the week the call log shows, staffed as asked; says what it is."""
    from appliance import staffing
    tz = zoneinfo.ZoneInfo(office.hours.timezone)
    first = staffing.parse_day(week["first"], "--from") if week.get("first") else None
    last = staffing.parse_day(week["last"], "--to") if week.get("last") else None
    target = staffing.parse_target(week["target"]) if week.get("target") else None
    measured = staffing.from_log(week["db"], week.get("queue"), tz, first, last)
    if measured.queue not in office.queues:
        raise staffing.StaffingError(f"{week['db']}: queue '{measured.queue}' is not in {config_path}")
    agents = staffing.plan(measured, week.get("agents"), target, week.get("model") or "erlang-a",
                           week.get("over") or "offered", week.get("adjust") or 0)
    members = sum(1 for a in office.agents if measured.queue in a.queues)
    slots = staffing.span(measured)
    for slot, n in zip(slots, agents):
        if n > members:
            raise staffing.StaffingError(f"{staffing.slot_name(slot)}: {n} agents, but queue '{measured.queue}' has "
                                f"{members} member{'s' if members != 1 else ''} in {config_path}")
    traffic = staffing.to_traffic(measured, agents, path=week["db"])
    how = (f"{agents[0]} agent{'s' if agents[0] != 1 else ''} every hour" if target is None and not week.get("adjust")
           else f"agents by the hour: {', '.join(map(str, agents))}")
    print(f"Traffic of queue {measured.queue} from {week['db']} ({measured.first_day} to {measured.last_day}), "
          f"{staffing.slot_name(slots[0])[:3]} {slots[0] % 24:02d}:00 on for {len(slots)} hours "
          f"(times in {office.hours.timezone}); {how}", file=out)
    return traffic
