"""The manager interface end to end: a box on the simulated board, paced in real time on
a thread of its own, serving TCP; pyst2's Manager, unchanged, logs in, asks for the
queues and hears callers join and leave; raw sockets send garbage, hostile caller IDs
ring the lines, bad logins are held back."""
from __future__ import annotations

import io
import queue
import re
import socket
import threading
import time

import pytest
from asterisk.manager import Manager, ManagerAuthException

from appliance import ami, config
from appliance.engine import Event
from appliance.box import DEMO_OFFICE, Box, BoxError
from tests.test_agents import keep_events

pytestmark = pytest.mark.slow

AMI = '''
[ami]
enabled = true
port = {port}

[ami.users.crm]
secret = "crm-secret-1"
read = ["call", "agent", "user", "system"]
write = ["call", "agent", "originate", "system"]

[ami.users.wallboard]
secret = "wall-secret-1"
read = ["agent"]
write = []
'''


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def office_text(port: int) -> str:
    text = DEMO_OFFICE.read_text(encoding="utf-8")
    # line1 goes straight into sales once answered (at the second ring, after the caller ID): callers reach the queue in seconds.
    text = text.replace('name = "line1"\n', 'name = "line1"\nqueue = "sales"\nrings = 2\n', 1)
    return text + AMI.format(port=port)


class Running:
    """A box made and run on a thread of its own (its call log is that thread's),
    paced; what a test does to the box is done between its frames (do)."""

    def __init__(self, make):
        self.todo: queue.Queue = queue.Queue()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(make, ready), daemon=True)
        self.thread.start()
        assert ready.wait(30), "the box does not start"

    def _run(self, make, ready):
        def tick(b):
            while not self.todo.empty():
                self.todo.get_nowait()()
        self.box = make()
        self.box.supervisor.hours_override = True
        ready.set()
        try:
            self.box.run(None, paced=True, tick=tick)
        finally:
            self.box.close()

    def do(self, fn):
        done, got = threading.Event(), []

        def call():
            try:
                got.append(fn())
            except Exception as e:      # raised here, in the test, not in the box's loop
                got.append(e)
            done.set()
        self.todo.put(call)
        assert done.wait(10), "the box's loop does not turn"
        if isinstance(got[0], Exception):
            raise got[0]
        return got[0]

    def until(self, cond, limit_s: float = 30.0):
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            if self.do(cond):
                return
            time.sleep(0.05)
        raise AssertionError(f"not within {limit_s} s:\n{self.box.out.getvalue()[-2000:]}")

    def stop(self):
        self.box.running = False
        self.thread.join(10)


@pytest.fixture
def running(tmp_path):
    port = free_port()
    f = tmp_path / "office.toml"
    f.write_text(office_text(port), encoding="utf-8")
    r = Running(lambda: Box(config.load(str(f)), tmp_path / "calls.db", out=io.StringIO()))
    r.port = port
    yield r
    r.stop()


def manager(port: int, user="crm", secret="crm-secret-1") -> Manager:
    m = Manager()
    m.connect("127.0.0.1", port)
    m.login(user, secret)
    return m


class Raw:
    """A client on a plain socket: what it sends is what goes on the wire."""

    def __init__(self, port: int):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.banner = self._line()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, data: bytes):
        self.s.sendall(data)

    def message(self, timeout=10.0) -> dict:
        self.s.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return dict(line.split(": ", 1) for line in raw.decode().split("\r\n"))

    def until(self, event: str, timeout=30.0) -> dict:
        end = time.monotonic() + timeout
        while True:
            m = self.message(max(0.1, end - time.monotonic()))
            if m.get("Event") == event:
                return m

    def login(self, user="crm", secret="crm-secret-1") -> dict:
        self.send(f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n\r\n".encode())
        return self.message()


def test_off_by_default_and_on_the_loopback_when_on(tmp_path):
    plain = config.load(str(DEMO_OFFICE))
    assert plain.ami.enabled is False
    box = Box(plain, tmp_path / "calls.db", out=io.StringIO())
    try:
        assert box.manager is None
    finally:
        box.close()
    port = free_port()
    f = tmp_path / "office.toml"
    f.write_text(office_text(port), encoding="utf-8")
    box = Box(config.load(str(f)), tmp_path / "calls2.db", out=io.StringIO())
    try:
        assert box.manager.address == ("127.0.0.1", port)
        with pytest.raises(BoxError, match=f"cannot listen there"):
            Box(config.load(str(f)), tmp_path / "calls3.db", out=io.StringIO())
    finally:
        box.close()


def test_pyst2_logs_in_asks_queue_status_and_hears_a_caller_join_and_leave(running):
    m = manager(running.port)
    try:
        assert m.title == "Asterisk Call Manager"
        seen = []
        got = threading.Event()
        m.register_event("*", lambda ev, mgr: (seen.append(ev), got.set() if ev.name == "Hangup" else None))
        assert m.ping().get_header("Ping") == "Pong"

        status = m.send_action({"Action": "QueueStatus"})
        assert status.get_header("Response") == "Success"
        assert status.get_header("Message") == "Queue status will follow"
        # pyst2 gathers a "status will follow" list up to its Complete event into one message.
        assert "Event: QueueParams" in status.data and "Queue: sales" in status.data
        assert "Event: QueueMember" in status.data and "Name: olena" in status.data
        assert "Event: QueueStatusComplete" in status.data

        running.do(lambda: running.box.callers["line1"].ring("0501234567", "PETRENKO O"))
        running.until(lambda: any(e.name == "QueueCallerJoin" for e in seen))
        join = next(e for e in seen if e.name == "QueueCallerJoin")
        assert join.get_header("Queue") == "sales" and join.get_header("Position") == "1"
        assert join.get_header("CallerIDNum") == "0501234567" and join.get_header("Channel") == "DAHDI/1-1"
        uid = join.get_header("Uniqueid")
        call_id = running.do(lambda: running.box.supervisor.calls[running.box.ports["line1"]].log_id)
        assert re.fullmatch(rf"\d+\.{call_id}", uid)

        summary = m.send_action({"Action": "QueueSummary", "Queue": "sales"})
        assert summary.get_header("Response") == "Success"

        running.until(lambda: any(e.name == "AgentCalled" for e in seen))
        called = next(e for e in seen if e.name == "AgentCalled")
        assert called.get_header("MemberName") == "olena" and called.get_header("Uniqueid") == uid

        running.do(lambda: running.box.callers["line1"].hangup())
        assert got.wait(10)
        # A summary's items come to pyst2 as events (it gathers only "status will follow" lists).
        summed = [e for e in seen if e.name == "QueueSummary"]
        assert [(e.get_header("Queue"), e.get_header("Callers"), e.get_header("LoggedIn")) for e in summed] == [
            ("sales", "1", "2")]
        names = [e.name for e in seen if not e.name.startswith("QueueSummary")]
        assert names[names.index("Newchannel"):] == ["Newchannel", "NewCallerid", "Newstate", "QueueCallerJoin",
                                                     "AgentCalled", "QueueCallerAbandon", "QueueCallerLeave",
                                                     "Hangup"], names
        hangup = next(e for e in seen if e.name == "Hangup")
        assert hangup.get_header("Uniqueid") == uid and hangup.get_header("Cause") == "16"
    finally:
        m.close()


def test_agents_paused_and_logged_out_by_the_manager(running):
    m = manager(running.port)
    try:
        seen = []
        m.register_event("QueueMemberPause", lambda ev, mgr: seen.append(ev))
        r = m.send_action({"Action": "QueuePause", "Interface": "Agent/ivan", "Paused": "true",
                           "Reason": "lunch"})
        assert r.get_header("Response") == "Success", r.headers
        assert running.do(lambda: running.box.supervisor.acd.agents["ivan"].state) == "paused"
        running.until(lambda: len(seen) >= 2)          # one event per queue ivan is in
        assert {e.get_header("Queue") for e in seen} == {"sales", "support"}
        assert all(e.get_header("Paused") == "1" and e.get_header("PausedReason") == "lunch" for e in seen)
        r = m.send_action({"Action": "QueueRemove", "Interface": "Agent/ivan", "Queue": "support"})
        assert r.get_header("Response") == "Success"
        assert running.do(lambda: running.box.supervisor.acd.agents["ivan"].state) == "logged-out"
        r = m.send_action({"Action": "QueueAdd", "Interface": "Agent/ivan", "Queue": "support"})
        assert r.get_header("Response") == "Success"
        r = m.send_action({"Action": "QueueAdd", "Interface": "Agent/nobody"})
        assert r.get_header("Response") == "Error" and "No such member" in r.get_header("Message")
        r = m.send_action({"Action": "QueuePenalty", "Interface": "Agent/ivan", "Penalty": "3", "Queue": "sales"})
        assert r.get_header("Response") == "Success"
        assert dict(running.do(lambda: running.box.supervisor.acd.queues["sales"].members))["ivan"] == 4
        logged = running.do(lambda: [(e.kind, e.source) for e in running.box.log.agent_events("ivan")])
        assert ("pause", "manager") in logged and ("logout", "manager") in logged
    finally:
        m.close()


def test_a_read_only_user_is_refused_actions_and_hears_only_its_classes(running):
    c = Raw(running.port)
    assert c.login("wallboard", "wall-secret-1")["Response"] == "Success"
    c.send(b"Action: QueuePause\r\nInterface: Agent/ivan\r\nPaused: 1\r\nActionID: 7\r\n\r\n")
    r = c.message()
    while "Response" not in r:
        r = c.message()
    assert r == {"Response": "Error", "ActionID": "7", "Message": "Permission denied"}
    running.do(lambda: running.box.callers["line1"].ring("0501234567", ""))
    ev = c.until("QueueCallerJoin")
    assert ev["Privilege"] == "agent,all"
    # Newchannel (class call) came first on the wire for the other users: not for this one.
    assert "Newchannel" not in c.buf.decode()


# What a caller can put on the line: digits, and up to 32 printable characters of name
# (the box's decoder keeps nothing else); a ':' and "Event:" among them.
ON_THE_LINE = [("0501234567", "X: y Event: Fake Response: Succe"), ("0501234567", "::::::::::::::::::::::::::::::::")]
# And what a decoder that let anything through would hand the supervisor: CR, LF and
# control characters, and text far longer than a caller ID.
DECODED = [("05\r\nEvent: Fake\r\n\r\n", "EVIL\r\nChannel: DAHDI/9-1\x00\x1b"),
           ("0501234567", "A:B\nResponse: Success\r\n\r\nEvent: Fake" + "N" * 5000)]


@pytest.mark.parametrize("number,name,decoded", [(n, m, False) for n, m in ON_THE_LINE]
                         + [(n, m, True) for n, m in DECODED])
def test_a_hostile_caller_id_cannot_forge_a_line(running, number, name, decoded):
    c = Raw(running.port)
    assert c.login()["Response"] == "Success"
    if decoded:
        def ring():
            b = running.box
            port = b.ports["line1"]
            b.supervisor.handle([Event("callerid", port, int(b.engine.now_ms * 8), text=number, text2=name)])
            b.callers["line1"].ring()
        running.do(ring)
    else:
        running.do(lambda: running.box.callers["line1"].ring(number, name))
    ev = c.until("QueueCallerJoin")
    wire = c.buf
    for value in ev.values():
        assert "\r" not in value and "\n" not in value and len(value) <= 256
    # Every line on the wire is "Key: Value" and no event was forged.
    c.send(b"Action: Ping\r\n\r\n")
    rest = []
    while True:
        m = c.message()
        rest.append(m)
        if m.get("Ping") == "Pong":
            break
    assert not any(m.get("Event") == "Fake" for m in rest)
    assert all(m.get("Channel", "DAHDI/1-1") != "DAHDI/9-1" for m in rest)
    assert b"\r\nEvent: Fake\r\n" not in wire
    # The box did take the caller ID as it was given.
    logged = running.do(lambda: running.box.log.calls(limit=1)[0])
    assert (logged.caller, logged.name) == (number, name)
    assert ev["CallerIDName"] == (name if not decoded else ami.clean(name))


def test_bad_logins_are_held_back_more_each_time_and_logged(running):
    times = []
    for i in range(3):
        c = Raw(running.port)
        t0 = time.monotonic()
        r = c.login("crm", f"wrong-{i}")
        times.append(time.monotonic() - t0)
        assert r["Response"] == "Error" and r["Message"] == "Authentication failed"
        with pytest.raises((EOFError, OSError)):
            c.message(5)                               # closed after the failure
    assert times[0] >= 0.9 and times[1] >= 1.9 and times[2] >= 3.9, times
    said = running.box.out.getvalue()
    assert said.count("manager: failed login for 'crm' from 127.0.0.1") == 3
    assert "wrong-" not in said
    with pytest.raises(ManagerAuthException):
        manager(running.port, secret="nope")
    c = Raw(running.port)
    assert c.login()["Response"] == "Success"          # the right secret goes through at once


def test_md5_challenge_login(running):
    import hashlib
    c = Raw(running.port)
    c.send(b"Action: Challenge\r\nAuthType: MD5\r\nActionID: 1\r\n\r\n")
    challenge = c.message()["Challenge"]
    key = hashlib.md5((challenge + "crm-secret-1").encode()).hexdigest()
    c.send(f"Action: Login\r\nAuthType: MD5\r\nUsername: crm\r\nKey: {key}\r\nActionID: 2\r\n\r\n".encode())
    assert c.message() == {"Response": "Success", "ActionID": "2", "Message": "Authentication accepted"}


def test_a_thousand_malformed_messages_leave_the_box_answering_calls(running):
    c = Raw(running.port)
    junk = [b"no colon here\r\n\r\n", b"\xff\xfe: \x80\r\n\r\n", b"Action: " + b"x" * 5000 + b"\r\n\r\n",
            b"".join(b"K%d: v\r\n" % i for i in range(100)) + b"\r\n", b": empty key\r\n\r\n",
            b"Action: NoSuchThing\r\n\r\n", b"Secret: x\r\n\r\n", b"\r\n\r\n\r\n"]
    assert c.login()["Response"] == "Success"
    c.until("FullyBooted")
    errors = 0
    for i in range(1000):
        c.send(junk[i % len(junk)])
        if i % 8 == 7:
            # Read the answers, as a client does (one that never reads is dropped): each
            # message is answered, the blank lines alone are no message.
            for _ in range(len(junk) - 1):
                m = c.message()
                errors += m.get("Response") == "Error"
    assert errors == 1000 // len(junk) * (len(junk) - 1)
    running.do(lambda: running.box.callers["line2"].ring("0501234567", ""))
    running.until(lambda: running.box.supervisor.calls.get(running.box.ports["line2"]) is not None
                  and running.box.supervisor.calls[running.box.ports["line2"]].flow is not None)
    c.send(b"Action: Status\r\nActionID: s\r\n\r\n")
    items = []
    while True:
        m = c.message()
        if m.get("Event") == "Status":
            items.append(m)
        if m.get("Event") == "StatusComplete":
            break
    assert [m["Channel"] for m in items] == ["DAHDI/3-1"]
    c.send(b"Action: Hangup\r\nChannel: DAHDI/3-1\r\n\r\n")
    running.until(lambda: running.box.ports["line2"] not in running.box.supervisor.calls)


def test_originate_calls_a_number_and_puts_it_through_the_queue(running):
    box = running.box
    m = manager(running.port)
    try:
        seen = []
        m.register_event("OriginateResponse", lambda ev, mgr: seen.append(ev))
        m.register_event("AgentConnect", lambda ev, mgr: seen.append(ev))
        # The exchange side of every line listens for the box seizing it and dialling.
        running.do(lambda: [c.listen(tones=False, digits=True) for c in box.callers.values()])
        r = m.send_action({"Action": "Originate", "Channel": "Local/0671234567@from-crm", "Application": "Queue",
                           "Data": "support", "ActionID": "crm-42"})
        assert r.get_header("Response") == "Success", r.headers
        assert r.get_header("Message") == "Originate successfully queued"
        bad = m.send_action({"Action": "Originate", "Channel": "Local/12\r\n@x", "Application": "Queue",
                             "Data": "support"})
        assert bad.get_header("Response") == "Error"
        bad = m.send_action({"Action": "Originate", "Channel": "Local/0671234567@x", "Application": "Queue",
                             "Data": "nosuch"})
        assert bad.get_header("Message") == "No such queue: nosuch"
        # ivan, first in support, is kept for it; the box dials on a free line.
        running.until(lambda: box.supervisor.acd.agents["ivan"].state == "reserved")
        job = running.do(lambda: next(iter(box.supervisor.callbacks.values())))
        running.until(lambda: job.cb.state == "offering" and "callback_press_1" in job.line.heard)
        exchange = running.do(lambda: next(c for c in box.callers.values() if c.port == job.line.port))
        time.sleep(1.0)
        running.do(lambda: exchange.press("1"))
        running.until(lambda: box.phones["desk2"].state == "ringing")
        running.do(lambda: box.phones["desk2"].answer())
        running.until(lambda: len(seen) >= 2)
        answered = next(e for e in seen if e.name == "OriginateResponse")
        assert answered.get_header("Response") == "Success" and answered.get_header("ActionID") == "crm-42"
        assert answered.get_header("CallerIDNum") == "0671234567"
        connect = next(e for e in seen if e.name == "AgentConnect")
        assert connect.get_header("MemberName") == "ivan"
        assert connect.get_header("Uniqueid") == answered.get_header("Uniqueid")
        row = int(answered.get_header("Uniqueid").rsplit(".", 1)[1])
        running.do(lambda: exchange.hangup())
        running.until(lambda: box.log.call(row).outcome is not None)
        assert running.do(lambda: box.log.call(row).outcome) == "answered"
    finally:
        m.close()


def test_click_to_call_rings_the_agent_then_dials_the_number_for_them(running):
    box = running.box
    m = manager(running.port)
    try:
        seen = []
        for name in ("OriginateResponse", "Newchannel", "Hangup"):
            m.register_event(name, lambda ev, mgr: seen.append(ev))
        running.do(lambda: [c.listen(tones=False, digits=True) for c in box.callers.values()])
        running.do(lambda: keep_events(box))
        bad = m.send_action({"Action": "Originate", "Channel": "Agent/nobody", "Exten": "0671234567"})
        assert bad.get_header("Response") == "Error" and bad.get_header("Message") == "No such agent: nobody"
        r = m.send_action({"Action": "Originate", "Channel": "Agent/ivan", "Exten": "0671234567",
                           "Context": "from-crm", "Priority": "1", "ActionID": "c2c-7"})
        assert r.get_header("Response") == "Success", r.headers
        running.until(lambda: box.phones["desk2"].state == "ringing")
        busy = m.send_action({"Action": "Originate", "Channel": "Agent/ivan", "Exten": "0671234567"})
        assert busy.get_header("Message") == "Agent ivan is not available (outbound)"
        running.do(lambda: box.phones["desk2"].answer())
        running.until(lambda: any(e.name == "OriginateResponse" for e in seen))
        answered = next(e for e in seen if e.name == "OriginateResponse")
        assert answered.get_header("Response") == "Success" and answered.get_header("ActionID") == "c2c-7"
        cc = running.do(lambda: box.supervisor.clicks["ivan"])
        far = running.do(lambda: next(c for c in box.callers.values() if c.port == cc.line_port))
        running.until(lambda: "".join(e.digit for e in far.events("digit")) == "0671234567")
        assert running.do(lambda: box.engine.state(cc.phone)) == "bridged"
        assert len([e for e in seen if e.name == "Newchannel"]) == 2
        running.do(lambda: box.phones["desk2"].hangup())
        running.until(lambda: box.log.call(cc.row).outcome is not None)
        assert running.do(lambda: box.log.call(cc.row).outcome) == "outbound"
        running.until(lambda: len([e for e in seen if e.name == "Hangup"]) == 2)
        assert running.do(lambda: box.supervisor.acd.agents["ivan"].state) in ("wrap-up", "available")
        # Logged out: refused; not answered within the Timeout: Failure, reason 3.
        m.send_action({"Action": "QueueRemove", "Queue": "support", "Interface": "Agent/olena"})
        out = m.send_action({"Action": "Originate", "Channel": "Agent/olena", "Exten": "0671234567"})
        assert out.get_header("Message") == "Agent olena is not available (logged-out)"
        m.send_action({"Action": "QueueAdd", "Queue": "support", "Interface": "Agent/olena"})
        r = m.send_action({"Action": "Originate", "Channel": "DAHDI/%d-1" % running.do(
            lambda: box.supervisor.line_of[box.supervisor.phone_of["olena"]].channel), "Exten": "0671234567",
            "Timeout": "1500", "ActionID": "c2c-8"})
        assert r.get_header("Response") == "Success", r.headers
        running.until(lambda: any(e.get_header("ActionID") == "c2c-8" for e in seen if e.name == "OriginateResponse"))
        failed = next(e for e in seen if e.name == "OriginateResponse" and e.get_header("ActionID") == "c2c-8")
        assert failed.get_header("Response") == "Failure" and failed.get_header("Reason") == "3"
        assert running.do(lambda: box.supervisor.acd.agents["olena"].state) == "available"
    finally:
        m.close()


def test_what_the_caller_keys_in_a_menu_comes_as_a_user_event_for_a_screen_pop(running):
    box = running.box
    c = Raw(running.port)
    assert c.login()["Response"] == "Success"
    line = "line2"

    def asked():
        call = box.supervisor.calls.get(box.ports[line])
        return call is not None and call.flow is not None and call.flow.waiting == "ask" \
            and box.engine.state(box.ports[line]) in ("playing", "collecting")

    running.do(lambda: box.callers[line].ring("0501234567", "PETRENKO O"))
    for keys, menu in (("1", "sales"), ("2", "order")):
        running.until(asked)
        running.do(lambda: box.callers[line].press(keys))
        running.until(lambda: box.supervisor.calls[box.ports[line]].flow.menu.name == menu)
    running.until(asked)
    running.do(lambda: box.callers[line].press("123456#"))
    said = [c.until("UserEvent") for _ in range(3)]
    # Each choice in each menu, and the entry at the end.
    assert [(e["UserEvent"], e["Menu"], e["Digits"]) for e in said] == [
        ("MenuInput", "main", "1"), ("MenuInput", "sales", "2"), ("MenuInput", "order", "123456")]
    ev = said[-1]
    assert ev["Privilege"] == "user,all" and ev["CallerIDNum"] == "0501234567"
    assert ev["CallerIDName"] == "PETRENKO O" and ev["Channel"] == "DAHDI/3-1"
