"""The manager interface served from the box's own loop: a TCP socket, non-blocking,
polled once a tick, and the office's side of its actions.

Rules:
  - Off unless the configuration's [ami] enables it; it listens where [ami] bind and
    port say (the loopback unless set otherwise).
  - Nothing here waits: accept, recv and send are tried once a tick and what would
    block is left for the next. Every buffer is bounded (ami.py's rules); a client that
    does not read what it is sent is dropped, never waited for, and the clients'
    actions are served in turn, one each, for at most SERVE_BUDGET_S of a tick (one
    action at least): the rest wait for the next tick, so the frames keep their time
    whatever the clients ask. At most MAX_CLIENTS at once.
  - Events come from the supervisor's on_manager_event, are rendered once and handed
    to every session; the queues' counts for QueueStatus (completed, abandoned, hold
    and talk times, service level) are kept from the same events since the box started.
  - A failed login is logged on stderr and in the box's own output, with the user's
    name and the address, never the secret.
  - Actions are done the way the console does them: QueueAdd/QueueRemove log a
    configured member in and out (membership itself is the configuration's),
    QueuePause pauses and unpauses, QueuePenalty sets a member's level (penalty + 1)
    until the box restarts, Hangup cuts a call, Status and QueueStatus tell the calls
    and queues as they are, Originate into a queue is a callback no caller asked for
    (Supervisor.originate), Originate to an agent (Agent/<name>, or their phone's
    DAHDI/<channel>) with an Exten is click-to-call (Supervisor.click_to_call).
"""
from __future__ import annotations

import dataclasses
import re
import socket
import sys
import time
from typing import Dict, List, Tuple

from appliance import ami
from appliance.engine import CallerID
from appliance.supervisor import OPERATOR, Refused

MAX_CLIENTS = 64
READ_SIZE = 16 * 1024
ACCEPTS_PER_TICK = 8
SERVE_BUDGET_S = 0.004          # of a 20 ms frame
SERVICE_LEVEL_S = 60.0          # a queue's service level when its configuration sets none


class Tally:
    """One queue's counts since the box started, from its events."""

    def __init__(self) -> None:
        self.completed = self.abandoned = 0
        self.answered = 0
        self.hold_s = self.talk_s = 0.0
        self.within = self.abandoned_within = 0


class ManagerBackend:
    """What the manager's actions do to the box, and what they tell of it."""

    def __init__(self, box):
        self.box = box
        self.tallies: Dict[str, Tally] = {}
        self.originated: Dict[int, str] = {}        # call-log row -> the Originate's ActionID

    @property
    def sup(self):
        return self.box.supervisor

    def answering(self, name: str, fields: ami.Fields) -> ami.Fields:
        """An OriginateResponse carries the ActionID of the Originate it answers."""
        if name == "OriginateResponse" and all(k != "ActionID" for k, _ in fields):
            row = int(dict(fields).get("Uniqueid", "0.0").rsplit(".", 1)[1])
            aid = self.originated.pop(row, "")
            if aid:
                return [("ActionID", aid)] + fields
        return fields

    def counted(self, name: str, fields: ami.Fields) -> None:
        """The queues' counts, from each event as it goes out."""
        if name not in ("AgentConnect", "AgentComplete", "QueueCallerAbandon"):
            return
        f = dict(fields)
        t = self.tallies.setdefault(f.get("Queue", ""), Tally())
        q = self.sup.office.queues.get(f.get("Queue", ""))
        level = q.service_level_s if q is not None and q.service_level_s else SERVICE_LEVEL_S
        hold = float(f.get("HoldTime", 0))
        if name == "AgentConnect":
            t.answered += 1
            t.hold_s += hold
            t.within += hold <= level
        elif name == "AgentComplete":
            t.completed += 1
            t.talk_s += float(f.get("TalkTime", 0))
        else:
            t.abandoned += 1
            t.abandoned_within += hold <= level

    def act(self, action: str, m: ami.Message, user: ami.User):
        return getattr(self, "_" + action.lower())(m)

    # -- lists ---------------------------------------------------------------------

    def _queues(self, m: ami.Message) -> List[str]:
        acd = self.sup.acd
        if acd is None:
            return []
        want = ami.get(m, "Queue")
        if want and want not in acd.queues:
            raise ami.ActionError(f"No such queue: {want}")
        return [q for q in acd.queues if q != OPERATOR and (not want or q == want)]

    def _queuestatus(self, m: ami.Message):
        sup, acd = self.sup, self.sup.acd
        member = ami.get(m, "Member")
        at = sup.clock()
        out = []
        positions = acd.positions(at) if acd is not None else {}
        for name in self._queues(m):
            conf = sup.office.queues[name]
            t = self.tallies.get(name, Tally())
            waiting = acd.waiting(name)
            level = conf.service_level_s or SERVICE_LEVEL_S
            out.append(("QueueParams", [
                ("Queue", name), ("Max", conf.max_callers or 0), ("Strategy", conf.strategy),
                ("Calls", len(waiting)), ("Holdtime", round(t.hold_s / t.answered) if t.answered else 0),
                ("TalkTime", round(t.talk_s / t.completed) if t.completed else 0),
                ("Completed", t.completed), ("Abandoned", t.abandoned), ("ServiceLevel", round(level)),
                ("ServicelevelPerf", f"{100.0 * t.within / t.answered:.1f}" if t.answered else "0.0"),
                ("ServicelevelPerf2", f"{100.0 * (t.within + t.abandoned_within) / (t.answered + t.abandoned):.1f}"
                 if t.answered + t.abandoned else "0.0"),
                ("Weight", 0)]))
            for agent, level_ in acd.queues[name].members:
                fields = ami.member_fields(agent, level_, acd.agents[agent], sup.state_interface(agent))
                if member and member not in (agent, f"Agent/{agent}"):
                    continue
                out.append(("QueueMember", [("Queue", name), ("Name", agent), ("Location", f"Agent/{agent}")]
                            + [f for f in fields if f[0] not in ("MemberName", "Interface")]))
            for key in sorted(waiting, key=lambda k: positions.get(k, 0)):
                call = sup.call_of.get(key)
                c = acd.callers[key]
                if call is None:
                    continue        # a callback waiting without a line
                ch = dict(ami.channel_fields(call))
                out.append(("QueueEntry", [("Queue", name), ("Position", positions.get(key, 0)),
                                           ("Channel", ch["Channel"]), ("Uniqueid", ch["Uniqueid"]),
                                           ("CallerIDNum", ch["CallerIDNum"]), ("CallerIDName", ch["CallerIDName"]),
                                           ("ConnectedLineNum", "<unknown>"), ("ConnectedLineName", "<unknown>"),
                                           ("Wait", round(at - c.joined)), ("Priority", c.priority)]))
        return out

    def _queuesummary(self, m: ami.Message):
        sup, acd = self.sup, self.sup.acd
        at = sup.clock()
        out = []
        for name in self._queues(m):
            t = self.tallies.get(name, Tally())
            states = [acd.agents[a].state for a, _ in acd.queues[name].members]
            waits = [at - acd.callers[k].joined for k in acd.waiting(name)]
            out.append(("QueueSummary", [
                ("Queue", name), ("LoggedIn", sum(s != "logged-out" for s in states)),
                ("Available", sum(s == "available" for s in states)), ("Callers", len(waits)),
                ("HoldTime", round(t.hold_s / t.answered) if t.answered else 0),
                ("TalkTime", round(t.talk_s / t.completed) if t.completed else 0),
                ("LongestHoldTime", round(max(waits)) if waits else 0)]))
        return out

    def _status(self, m: ami.Message):
        sup = self.sup
        want = ami.get(m, "Channel")
        out = []
        now = sup.now()
        for call in list(sup.calls.values()):
            if call.job is not None:
                continue            # a line calling a callback back: no caller on it yet
            fields = ami.channel_fields(call)
            if want and dict(fields)["Channel"] != want:
                continue
            app, data = ("Queue", call.queue) if call.queue else (("BackGround", call.flow.menu.name)
                                                                    if call.flow and call.flow.menu else ("", ""))
            out.append(("Status", fields + [("Type", "DAHDI"), ("DNID", ""), ("Application", app),
                                            ("Data", data or ""), ("BridgeID", ""),
                                            ("Seconds", round(now - call.began))]))
        if want and not out:
            raise ami.ActionError("No such channel")
        return out

    # -- doing -----------------------------------------------------------------------

    def _agent(self, m: ami.Message) -> str:
        interface = ami.get(m, "Interface")
        name = interface[len("Agent/"):] if interface.startswith("Agent/") else interface
        acd = self.sup.acd
        if not name or acd is None or name not in acd.agents or name == OPERATOR:
            raise ami.ActionError(f"No such member: {interface or '(no Interface)'}")
        queue = ami.get(m, "Queue")
        if queue and (queue not in acd.queues or all(a != name for a, _ in acd.queues[queue].members)):
            raise ami.ActionError(f"Not a member of queue {queue}: {interface} (members are configured)")
        return name

    def _do(self, agent: str, op: str, reason: str = "") -> None:
        _state, refused = self.sup.agent_do(agent, op, reason, "manager")
        if refused:
            raise ami.ActionError(refused)
        a = self.sup.acd.agents[agent]
        self.box.say(f"agent {agent}: {a.state}" + (f" ({a.reason})" if a.reason else "") + " (manager)")

    def _queueadd(self, m: ami.Message):
        agent = self._agent(m)
        if self.sup.acd.agents[agent].state != "logged-out":
            raise ami.ActionError("Unable to add interface: Already there")
        self._do(agent, "login")
        if ami.get(m, "Paused").lower() in ("1", "true", "yes"):
            self._do(agent, "pause", ami.get(m, "Reason"))
        return [("Message", "Added interface to queue")]

    def _queueremove(self, m: ami.Message):
        agent = self._agent(m)
        if self.sup.acd.agents[agent].state == "logged-out":
            raise ami.ActionError("Unable to remove interface: Not there")
        self._do(agent, "logout")
        return [("Message", "Removed interface from queue")]

    def _queuepause(self, m: ami.Message):
        agent = self._agent(m)
        paused = ami.get(m, "Paused").lower()
        if paused not in ("1", "0", "true", "false", "yes", "no"):
            raise ami.ActionError("Need 'Paused' parameter")
        want = paused in ("1", "true", "yes")
        state = self.sup.acd.agents[agent].state
        if want and state != "paused":
            self._do(agent, "pause", ami.get(m, "Reason"))
        elif not want and state == "paused":
            self._do(agent, "unpause")
        return [("Message", "Interface paused successfully" if want else "Interface unpaused successfully")]

    def _queuepenalty(self, m: ami.Message):
        agent = self._agent(m)
        try:
            penalty = int(ami.get(m, "Penalty"))
        except ValueError:
            raise ami.ActionError("Need 'Penalty' parameter (a number)") from None
        if not 0 <= penalty <= 99:
            raise ami.ActionError("Invalid penalty")
        acd = self.sup.acd
        queue = ami.get(m, "Queue")
        for name, spec in list(acd.queues.items()):
            if name == OPERATOR or (queue and name != queue) or all(a != agent for a, _ in spec.members):
                continue
            members = tuple((a, penalty + 1 if a == agent else lvl) for a, lvl in spec.members)
            acd.queues[name] = dataclasses.replace(spec, members=members)
            self.sup._member_event("QueueMemberPenalty", agent)
        return [("Message", "Interface penalty set successfully")]

    def _originate(self, m: ami.Message):
        """A number called on a free line and, once the called party presses 1, put
        through a queue (Application: Queue, Data: the queue): Channel is
        Local/<number>@<context> or DAHDI/<group or line>/<number>. Always answered at
        once; the result follows as an OriginateResponse event with the ActionID."""
        channel = ami.get(m, "Channel")
        if channel.startswith("Agent/") or (channel.startswith("DAHDI/") and channel.count("/") == 1):
            return self._click_to_call(m, channel)
        number = ""
        if channel.startswith("Local/"):
            number = channel[len("Local/"):].split("@", 1)[0]
        elif channel.startswith("DAHDI/") and channel.count("/") == 2:
            number = channel.rsplit("/", 1)[1]
        if not re.fullmatch(r"\+?[0-9]{3,20}", number):
            raise ami.ActionError("Channel must be Local/<number>@<context> or DAHDI/<group>/<number>, "
                                  "the number 3 to 20 digits")
        if ami.get(m, "Application").lower() != "queue":
            raise ami.ActionError("Only Application: Queue is served (Data: the queue)")
        queue = ami.get(m, "Data").split(",", 1)[0].strip()
        if self.sup.acd is None or queue not in self.sup.office.queues:
            raise ami.ActionError(f"No such queue: {queue}")
        row = self.sup.originate(number, queue)
        aid = ami.get(m, "ActionID")
        if aid:
            self.originated[row] = aid
            if len(self.originated) > 1000:
                del self.originated[next(iter(self.originated))]
        self.box.say(f"manager: calling {number} for queue {queue} (call #{row})")
        return [("Message", "Originate successfully queued")]

    def _click_to_call(self, m: ami.Message, channel: str):
        """The agent's phone rings (Timeout ms, 30 s by default); answered, the box calls
        Exten for them on a free line. The result follows as an OriginateResponse."""
        agent = channel[len("Agent/"):]
        if channel.startswith("DAHDI/"):
            want = channel[len("DAHDI/"):].removesuffix("-1")
            agent = next((a for a, p in self.sup.phone_of.items() if str(self.sup.line_of[p].channel) == want), "")
            if not agent:
                raise ami.ActionError(f"No agent's phone on {channel}")
        number = ami.get(m, "Exten")
        if not number:
            raise ami.ActionError("Need 'Exten' parameter: the number to call")
        try:
            timeout_s = int(ami.get(m, "Timeout") or 30000) / 1000.0
        except ValueError:
            raise ami.ActionError("Timeout must be milliseconds") from None
        if not 0 < timeout_s <= 600:
            raise ami.ActionError("Timeout must be 1 to 600000 ms")
        shown = None
        cid = re.fullmatch(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*|([^<>]+)', ami.get(m, "CallerID"))
        if cid:
            shown = CallerID((cid.group(2) or cid.group(3) or "").strip(), (cid.group(1) or "").strip())
        try:
            self.sup.click_to_call(agent, number, timeout_s, shown, ami.get(m, "ActionID"))
        except Refused as err:
            raise ami.ActionError(str(err)) from None
        self.box.say(f"manager: click-to-call {number} for {agent}")
        return [("Message", "Originate successfully queued")]

    def _hangup(self, m: ami.Message):
        want = ami.get(m, "Channel")
        for call in list(self.sup.calls.values()):
            if dict(ami.channel_fields(call))["Channel"] == want:
                if call.job is not None or call.transfer_to:
                    raise ami.ActionError("Channel is being transferred or called back: not now")
                self.sup.hang_up(call, "manager")
                return [("Message", "Channel Hungup")]
        raise ami.ActionError("No such channel")


class ManagerServer:
    """The manager interface's listening socket and its clients, polled from the loop."""

    def __init__(self, box, settings):
        self.box = box
        self.users = {u.name: ami.User(u.name, u.secret, ami.classes(u.read), ami.classes(u.write))
                      for u in settings.users}
        self.backend = ManagerBackend(box)
        self.guard = ami.Guard()
        self.sessions: Dict[int, ami.Session] = {}
        self.socks: Dict[int, socket.socket] = {}
        self.turn = 0               # whose action is served first: each in turn
        self.sock = socket.socket(socket.AF_INET6 if ":" in settings.bind else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((settings.bind, settings.port))
            self.sock.listen(64)
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.address: Tuple[str, int] = self.sock.getsockname()[:2]
        box.supervisor.on_manager_event = self.event

    def close(self) -> None:
        if self.box.supervisor.on_manager_event == self.event:
            self.box.supervisor.on_manager_event = None
        for fd in list(self.socks):
            self._drop(fd)
        self.sock.close()

    def event(self, name: str, fields: ami.Fields) -> None:
        self.backend.counted(name, fields)
        fields = self.backend.answering(name, fields)
        if not self.sessions:
            return
        cls, data = ami.event_bytes(name, fields)
        for s in self.sessions.values():
            s.event(cls, data)

    def _log(self, text: str) -> None:
        print(f"appliance: {text}", file=sys.stderr, flush=True)
        self.box.say(text)

    def poll(self, now: float) -> None:
        for _ in range(ACCEPTS_PER_TICK):
            try:
                s, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            s.setblocking(False)
            if len(self.sessions) >= MAX_CLIENTS:
                try:
                    s.send(ami.render([("Response", "Error"), ("Message", "Too many manager sessions")]))
                except OSError:
                    pass
                s.close()
                continue
            self.sessions[s.fileno()] = ami.Session(self.users, self.backend, self.guard, str(addr[0]), now,
                                                    self._log)
            self.socks[s.fileno()] = s
        began = time.perf_counter()
        for fd, s in list(self.socks.items()):
            sess = self.sessions[fd]
            try:
                data = s.recv(READ_SIZE)
                if not data:
                    self._drop(fd)
                    continue
                sess.receive(data, now, serve=False)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._drop(fd)
                continue
            sess.tick(now, 0)
        self._serve(now, began)
        for fd, s in list(self.socks.items()):
            sess = self.sessions[fd]
            out = sess.outgoing()
            if out:
                try:
                    sess.sent(s.send(out))
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._drop(fd)
                    continue
            if sess.done():
                self._drop(fd)

    def _serve(self, now: float, began: float) -> None:
        """One action of each waiting client in turn, while the tick's budget lasts."""
        fds = list(self.sessions)
        if not fds:
            return
        self.turn = (self.turn + 1) % len(fds)
        order = fds[self.turn:] + fds[:self.turn]
        first = True
        while True:
            waiting = [fd for fd in order if self.sessions[fd].waiting()]
            if not waiting:
                return
            for fd in waiting:
                if not first and time.perf_counter() - began > SERVE_BUDGET_S:
                    return
                first = False
                self.sessions[fd].tick(now, 1)

    def _drop(self, fd: int) -> None:
        self.sessions.pop(fd, None)
        s = self.socks.pop(fd)
        try:
            s.close()
        except OSError:
            pass
