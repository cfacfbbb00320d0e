"""The manager protocol fed bytes: recorded-shaped messages replayed into the framer,
login plain and by MD5 challenge, permission classes, event filters, list answers,
malformed input, values a caller controls, bounded buffers, held-back bad logins."""
from __future__ import annotations

import hashlib

import pytest

from appliance import ami

# As clients send them (pyst2, panoramisk, a CRM): CRLF lines, a blank line after each.
LOGIN = b"Action: Login\r\nUsername: crm\r\nSecret: crm-secret-1\r\nActionID: host-00000000\r\n\r\n"
QUEUE_STATUS = b"Action: QueueStatus\r\nActionID: host-00000001\r\nQueue: sales\r\n\r\n"
PING_LF = b"action: ping\nactionid: 3\n\n"

USERS = {"crm": ami.User("crm", "crm-secret-1", ami.classes(["call", "agent", "system"]),
                         ami.classes(["agent"])),
         "wall": ami.User("wall", "wall-secret-1", ami.classes(["agent"]), frozenset())}


class Office:
    """The office's side as data: what the actions asked for, and fixed answers."""

    def __init__(self):
        self.asked = []

    def act(self, action, m, user):
        self.asked.append((action, ami.get(m, "Interface"), user.name))
        if action == "QueueStatus":
            return [("QueueParams", [("Queue", "sales"), ("Calls", 1)]),
                    ("QueueEntry", [("Queue", "sales"), ("Position", 1), ("CallerIDNum", "0501234567")])]
        if action == "QueuePause" and ami.get(m, "Interface") == "Agent/nobody":
            raise ami.ActionError("No such member: Agent/nobody")
        return [("Message", "Interface paused successfully")]


def messages(data: bytes):
    """The messages in bytes from the box, each as a dict, the banner set aside."""
    text = data.decode()
    if text.startswith("Asterisk Call Manager/"):
        text = text.split("\r\n", 1)[1]
    out = []
    for block in text.split("\r\n\r\n"):
        if block:
            out.append(dict(line.split(": ", 1) for line in block.split("\r\n")))
    return out


def session(log=None, nonce=lambda: "123456789", now=0.0, guard=None):
    s = ami.Session(USERS, Office(), guard or ami.Guard(), "192.0.2.7", now, (log if log is not None else []).append, nonce=nonce)
    return s


def take(s) -> list:
    out = bytes(s.outgoing())
    s.sent(len(out))
    return messages(out)


def test_framing_replayed_in_pieces_byte_by_byte():
    f = ami.Framer()
    got = []
    for b in LOGIN + QUEUE_STATUS + PING_LF:
        got += f.feed(bytes([b]))
    assert got == [[("Action", "Login"), ("Username", "crm"), ("Secret", "crm-secret-1"),
                    ("ActionID", "host-00000000")],
                   [("Action", "QueueStatus"), ("ActionID", "host-00000001"), ("Queue", "sales")],
                   [("action", "ping"), ("actionid", "3")]]
    assert ami.get(got[2], "ActionID") == "3"


def test_malformed_messages_are_reported_one_each_and_framing_goes_on():
    f = ami.Framer()
    got = f.feed(b"no colon\r\nAction: Ping\r\n\r\n"
                 + b"\xff: x\r\n\r\n"
                 + b"Action: " + b"x" * 3000 + b"\r\nMore: y\r\n\r\n"
                 + b"".join(b"K%d: v\r\n" % i for i in range(ami.MAX_FIELDS + 1)) + b"\r\n"
                 + b": value\r\n\r\n"
                 + b"Action: Ping\r\n\r\n")
    assert [g if isinstance(g, str) else "ok" for g in got] == [
        "a line with no 'Key:' ('no colon')", "not UTF-8 (byte 0xff at offset 0)",
        f"a line longer than {ami.MAX_LINE} bytes", f"more than {ami.MAX_FIELDS} lines in one message",
        "a line with no 'Key:' (': value')", "ok"]
    # A line too long in pieces, with no end yet, is not kept in memory.
    f.feed(b"Action: " + b"y" * (4 * ami.MAX_LINE))
    assert len(f.buf) <= ami.MAX_LINE


def test_clean_and_render_leave_no_way_to_start_a_line():
    hostile = "0501\r\nEvent: Fake\r\n\r\nResponse: Success\x00\x1b[2J\u2028x"
    data = ami.render([("CallerIDNum", hostile), ("Bad\r\nKey: x", "v"), ("CallerIDName", "N" * 5000),
                       ("Note", "a:b: c")])
    lines = data.split(b"\r\n")
    assert lines[-2:] == [b"", b""] and all(b"\n" not in ln and b"\r" not in ln for ln in lines)
    assert lines[0] == b"CallerIDNum: 0501Event: FakeResponse: Success[2Jx"
    assert lines[1] == b"BadKey x: v"
    assert len(lines[2]) == len("CallerIDName: ") + ami.MAX_VALUE
    assert lines[3] == b"Note: a:b: c"
    assert [m for m in messages(data)] == [{"CallerIDNum": "0501Event: FakeResponse: Success[2Jx",
                                            "BadKey x": "v", "CallerIDName": "N" * ami.MAX_VALUE,
                                            "Note": "a:b: c"}]


def test_banner_plain_login_and_a_list_action():
    s = session()
    assert s.outgoing().startswith(b"Asterisk Call Manager/")
    s.receive(LOGIN, 0.0)
    got = take(s)
    assert got[0] == {"Response": "Success", "ActionID": "host-00000000", "Message": "Authentication accepted"}
    assert got[1] == {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
    s.receive(QUEUE_STATUS, 0.1)
    got = take(s)
    assert got[0] == {"Response": "Success", "ActionID": "host-00000001", "EventList": "start",
                      "Message": "Queue status will follow"}
    assert got[1] == {"Event": "QueueParams", "ActionID": "host-00000001", "Queue": "sales", "Calls": "1"}
    assert got[2]["Event"] == "QueueEntry" and got[2]["Position"] == "1"
    assert got[3] == {"Event": "QueueStatusComplete", "ActionID": "host-00000001", "EventList": "Complete",
                      "ListItems": "2"}


def test_md5_challenge():
    s = session()
    s.receive(b"Action: Challenge\r\nAuthType: MD5\r\nActionID: c\r\n\r\n", 0.0)
    assert take(s) == [{"Response": "Success", "ActionID": "c", "Challenge": "123456789"}]
    key = hashlib.md5(b"123456789crm-secret-1").hexdigest()
    s.receive(f"Action: Login\r\nAuthType: md5\r\nUsername: crm\r\nKey: {key}\r\n\r\n".encode(), 0.0)
    assert take(s)[0] == {"Response": "Success", "Message": "Authentication accepted"}
    # The same key without a challenge of this session's is refused.
    s2, log = session(nonce=lambda: "999"), []
    s2.log = log.append
    s2.receive(f"Action: Login\r\nAuthType: MD5\r\nUsername: crm\r\nKey: {key}\r\n\r\n".encode(), 0.0)
    s2.tick(5.0)
    assert take(s2) == [{"Response": "Error", "Message": "Authentication failed"}]


def test_bad_logins_answered_later_each_time_from_one_address_logged_without_the_secret():
    guard, log = ami.Guard(), []
    delays = []
    for i in range(6):
        s = session(log, guard=guard, now=100.0 * i)
        s.receive(b"Action: Login\r\nUsername: crm\r\nSecret: guess-%d\r\n\r\n" % i, 100.0 * i)
        s.receive(b"Action: Ping\r\n\r\n", 100.0 * i)       # not read while held
        assert take(s) == []
        delays.append(s.hold_until - 100.0 * i)
        s.tick(s.hold_until - 0.01)
        assert take(s) == []
        s.tick(s.hold_until)
        assert take(s) == [{"Response": "Error", "Message": "Authentication failed"}]
        assert s.done()
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0]
    assert log[0] == "manager: failed login for 'crm' from 192.0.2.7 (answered after 1 s)"
    assert not any("guess" in line for line in log)
    # A good login clears the address; quiet for long enough does too.
    s = session(guard=guard, now=700.0)
    s.receive(LOGIN, 700.0)
    assert take(s)[0]["Response"] == "Success"
    assert guard.failed("192.0.2.7", 701.0) == 1.0


def test_before_login_only_login_challenge_ping_and_logoff():
    s = session()
    s.receive(QUEUE_STATUS + PING_LF, 0.0)
    got = take(s)
    assert got[0] == {"Response": "Error", "ActionID": "host-00000001", "Message": "Permission denied"}
    assert got[1]["Ping"] == "Pong" and got[1]["ActionID"] == "3"
    s.receive(b"Action: Logoff\r\n\r\n", 0.0)
    assert take(s) == [{"Response": "Goodbye", "Message": "Thanks for all the fish."}]
    assert s.done()


def test_a_client_that_never_logs_in_is_closed():
    s = session()
    take(s)
    s.tick(ami.AUTH_TIMEOUT_S + 1)
    assert take(s) == [{"Response": "Error", "Message": "Authentication timed out"}] and s.done()


def test_write_classes_gate_actions_and_errors_come_back():
    s = session()
    s.receive(LOGIN, 0.0)
    take(s)
    s.receive(b"Action: Hangup\r\nChannel: DAHDI/1-1\r\nActionID: h\r\n\r\n"
              b"Action: QueuePause\r\nInterface: Agent/nobody\r\nPaused: 1\r\nActionID: p\r\n\r\n"
              b"Action: QueuePause\r\nInterface: Agent/ivan\r\nPaused: 1\r\nActionID: q\r\n\r\n"
              b"Action: Reboot\r\n\r\nActionID: none\r\n\r\n", 0.0)
    assert take(s) == [
        {"Response": "Error", "ActionID": "h", "Message": "Permission denied"},
        {"Response": "Error", "ActionID": "p", "Message": "No such member: Agent/nobody"},
        {"Response": "Success", "ActionID": "q", "Message": "Interface paused successfully"},
        {"Response": "Error", "Message": "Invalid/unknown command: Reboot. "
                                         "Use Action: ListCommands to show available commands."},
        {"Response": "Error", "ActionID": "none", "Message": "Missing action in request"}]
    assert s.backend.asked == [("QueuePause", "Agent/nobody", "crm"), ("QueuePause", "Agent/ivan", "crm")]
    wall = ami.Session(USERS, s.backend, ami.Guard(), "x", 0.0, [].append)
    wall.receive(b"Action: Login\r\nUsername: wall\r\nSecret: wall-secret-1\r\n\r\n"
                 b"Action: QueuePause\r\nInterface: Agent/ivan\r\nPaused: 0\r\n\r\n", 0.0)
    assert take(wall)[-1] == {"Response": "Error", "Message": "Permission denied"}


def test_events_by_read_class_and_filter():
    crm, wall = session(), ami.Session(USERS, Office(), ami.Guard(), "x", 0.0, [].append)
    crm.receive(LOGIN, 0.0)
    wall.receive(b"Action: Login\r\nUsername: wall\r\nSecret: wall-secret-1\r\nEvents: off\r\n\r\n", 0.0)
    take(crm), take(wall)
    events = [ami.event_bytes("Newchannel", [("Channel", "DAHDI/1-1")]),
              ami.event_bytes("QueueCallerJoin", [("Queue", "sales"), ("Position", 1), ("Count", 1)]),
              ami.event_bytes("UserEvent", [("UserEvent", "MenuInput"), ("Digits", "123")])]
    for cls, data in events:
        crm.event(cls, data), wall.event(cls, data)
    assert [m["Event"] for m in take(crm)] == ["Newchannel", "QueueCallerJoin"]    # no "user" class to read
    assert take(wall) == []
    wall.receive(b"Action: Events\r\nEventMask: agent,call\r\nActionID: e\r\n\r\n", 0.0)
    assert take(wall) == [{"Response": "Success", "ActionID": "e", "Events": "On"}]
    for cls, data in events:
        wall.event(cls, data)
    assert take(wall) == [{"Event": "QueueCallerJoin", "Privilege": "agent,all", "Queue": "sales",
                           "Position": "1", "Count": "1"}]


def test_a_client_that_does_not_read_is_dropped_not_waited_for():
    s = session()
    s.receive(LOGIN, 0.0)
    cls, data = ami.event_bytes("Newchannel", [("Channel", "DAHDI/1-1"), ("CallerIDName", "x" * 200)])
    for _ in range(ami.MAX_OUT // len(data) + 2):
        s.event(cls, data)
    assert s.closed and not s.outgoing() and s.done()


def test_a_flood_of_messages_unread_is_bounded():
    s = session(guard=ami.Guard())
    s.receive(b"Action: Login\r\nUsername: crm\r\nSecret: nope\r\n\r\n", 0.0)    # held: nothing read
    s.receive(b"Action: Ping\r\n\r\n" * (ami.MAX_PENDING + 1), 0.0)
    assert s.closed


def test_a_thousand_malformed_messages_each_answered_the_session_still_serves():
    s = session()
    s.receive(LOGIN, 0.0)
    take(s)
    answers = 0
    for i in range(1000):
        s.receive([b"junk\r\n\r\n", b"\x80\x81: x\r\n\r\n", b"Action:\r\n\r\n", b"A" * 2000 + b"\r\n\r\n"][i % 4], 0.0)
        answers += sum(m["Response"] == "Error" for m in take(s))
    assert answers == 1000
    s.receive(QUEUE_STATUS, 0.0)
    assert take(s)[-1]["Event"] == "QueueStatusComplete"
