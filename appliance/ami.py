"""The manager interface (AMI): Asterisk's text protocol for CRMs and wallboards, with no I/O.

Bytes from a client go in (Session.receive), bytes for it come out (Session.outgoing);
the box's loop moves them over TCP (appliance/amiserver.py). What an action does to the
office is a backend's business: it answers with plain data or raises ActionError.

Rules:
  - Framing before decoding: lines end in CRLF (a bare LF is taken too) and a blank
    line ends a message. A line longer than MAX_LINE bytes, a message of more than
    MAX_FIELDS lines, a line that is not UTF-8 or has no ':' makes that one message
    malformed: it is answered with "Response: Error" saying why and dropped; the
    connection goes on. Keys are matched without regard to case, as Asterisk does.
  - Login: "Action: Login" with Username and Secret, or "Action: Challenge" (AuthType
    MD5) and then Login with AuthType MD5 and Key, the hex MD5 of the challenge and the
    secret. Before it only Login, Challenge, Ping and Logoff are served. A failed login
    is answered after a delay that doubles with each failure from the same address
    (Guard), nothing else from that client being read meanwhile, then the connection is
    closed, as Asterisk closes it; each failure is logged with the user and address,
    never the secret. A client that has not logged in within AUTH_TIMEOUT_S is closed.
  - Permission classes (CLASSES): an action is served if the user's write classes hold
    one of the action's (an action with none is served to anyone logged in); an event
    goes to a user whose read classes hold its class and whose event filter (Events at
    login, or the Events action: on, off, or a list of classes) lets it through.
  - Nothing a caller or a client controls can start a line of its own: every key and
    value written has its control characters (CR and LF among them) taken out and is
    cut to MAX_VALUE characters. A ':' in a value is harmless: only the first ':' of a
    line ends its key.
  - List actions answer "EventList: start", their items as events carrying the
    ActionID, then the <Action>Complete event with "EventList: Complete" and ListItems.
  - Bounded: at most MAX_PENDING messages wait to be served (the loop serves a few a
    tick, tick(limit)), and a client that lets
    MAX_OUT bytes pile up unread is closed; events are never held for it, so a slow
    client costs the box nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

BANNER = "Asterisk Call Manager/5.0.1"
MAX_LINE = 1024
MAX_FIELDS = 64
MAX_VALUE = 256
MAX_PENDING = 64
MAX_OUT = 1 << 20
AUTH_TIMEOUT_S = 30.0
FAIL_DELAY_S = 1.0
FAIL_DELAY_MAX_S = 16.0
FAIL_FORGET_S = 600.0
# Asterisk's permission classes; "all" stands for every one of them.
CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
           "cdr", "dialplan", "originate", "message")
EVENT_CLASS = {
    "FullyBooted": "system", "Shutdown": "system",
    "Newchannel": "call", "Newstate": "call", "NewCallerid": "call", "Hangup": "call",
    "OriginateResponse": "call",
    "QueueCallerJoin": "agent", "QueueCallerLeave": "agent", "QueueCallerAbandon": "agent",
    "AgentCalled": "agent", "AgentRingNoAnswer": "agent", "AgentConnect": "agent", "AgentComplete": "agent",
    "QueueMemberPause": "agent", "QueueMemberAdded": "agent", "QueueMemberRemoved": "agent",
    "QueueMemberPenalty": "agent", "QueueMemberStatus": "agent",
    "UserEvent": "user",
}

Fields = List[Tuple[str, str]]
_CONTROL = {c: None for c in range(32)}
_CONTROL[127] = None
for _c in range(0x80, 0xA0):
    _CONTROL[_c] = None
_CONTROL[0x2028] = _CONTROL[0x2029] = None


class ActionError(Exception):
    """What an action could not do, said to the client as "Response: Error"."""


@dataclass(frozen=True)
class User:
    name: str
    secret: str
    read: FrozenSet[str]
    write: FrozenSet[str]


@dataclass(frozen=True)
class Spec:
    """How an action is served: the write classes it needs (any one), and for a list
    action the name of its closing event and the message of its first answer."""
    name: str
    needs: Tuple[str, ...] = ()
    complete: str = ""
    follows: str = ""


ACTIONS: Dict[str, Spec] = {s.name.lower(): s for s in (
    Spec("Status", ("system", "call", "reporting"), "StatusComplete", "Channel status will follow"),
    Spec("Hangup", ("system", "call")),
    Spec("Originate", ("originate",)),
    Spec("QueueStatus", (), "QueueStatusComplete", "Queue status will follow"),
    Spec("QueueSummary", (), "QueueSummaryComplete", "Queue summary will follow"),
    Spec("QueueAdd", ("agent",)),
    Spec("QueueRemove", ("agent",)),
    Spec("QueuePause", ("agent",)),
    Spec("QueuePenalty", ("agent",)),
)}


def clean(value: object) -> str:
    """A value safe on one AMI line: no control characters, at most MAX_VALUE long."""
    text = value if isinstance(value, str) else str(value)
    return text.translate(_CONTROL).strip()[:MAX_VALUE]


def render(fields: Iterable[Tuple[str, object]]) -> bytes:
    """One message: each key and value cleaned, CRLF line ends, a blank line after."""
    out = []
    for k, v in fields:
        key = clean(k).replace(":", "")
        if key:
            out.append(f"{key}: {clean(v)}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


def classes(words: Iterable[str]) -> FrozenSet[str]:
    """Permission classes from a list that may say "all"."""
    got = set()
    for w in words:
        w = w.strip().lower()
        if w == "all":
            got.update(CLASSES)
        elif w in CLASSES:
            got.add(w)
    return frozenset(got)


def event_bytes(name: str, fields: Fields) -> Tuple[str, bytes]:
    """An event's class and its message, rendered once for every session."""
    cls = EVENT_CLASS.get(name, "call")
    return cls, render([("Event", name), ("Privilege", f"{cls},all"), *fields])


# -- the office in Asterisk's terms ----------------------------------------------------

# An ACD agent's state as Asterisk's device state: 1 not in use, 2 in use, 5
# unavailable, 6 ringing.
DEVICE_STATUS = {"available": 1, "wrap-up": 1, "paused": 1, "on-call": 2, "reserved": 2, "outbound": 2, "ringing": 6,
                 "logged-out": 5}


def uniqueid(began: float, call_id: int) -> str:
    """The id `appliance export` gives the same call: "<epoch second of start>.<id>"."""
    return f"{math.floor(began)}.{call_id}"


def channel_fields(call) -> Fields:
    """A call's channel as Asterisk names it: DAHDI/<channel>-1, Ring until answered."""
    up = call.flow is not None
    uid = uniqueid(call.began, call.log_id)
    return [("Channel", f"DAHDI/{call.line.channel}-1"), ("ChannelState", "6" if up else "4"),
            ("ChannelStateDesc", "Up" if up else "Ring"), ("CallerIDNum", call.caller or "<unknown>"),
            ("CallerIDName", call.name or "<unknown>"), ("ConnectedLineNum", "<unknown>"),
            ("ConnectedLineName", "<unknown>"), ("Language", call.flow.language if up else "en"),
            ("AccountCode", ""), ("Context", call.line.name), ("Exten", "s"), ("Priority", "1"),
            ("Uniqueid", uid), ("Linkedid", uid)]


def member_fields(name: str, level: int, agent, state_interface: str) -> Fields:
    """A queue member's fields (the Queue field left to the caller): Penalty is the
    level less one, Asterisk's penalties counting from 0."""
    paused = agent.state == "paused"
    return [("MemberName", name), ("Interface", f"Agent/{name}"), ("StateInterface", state_interface),
            ("Membership", "static"), ("Penalty", str(level - 1)), ("CallsTaken", str(agent.calls)),
            ("LastCall", "0"), ("LastPause", "0"), ("LoginTime", "0"),
            ("InCall", "1" if agent.state in ("on-call", "reserved", "outbound") else "0"),
            ("Status", str(DEVICE_STATUS.get(agent.state, 0))), ("Paused", "1" if paused else "0"),
            ("PausedReason", agent.reason if paused else ""), ("Wrapuptime", "0")]


# -- framing --------------------------------------------------------------------------

Message = List[Tuple[str, str]]


class Framer:
    """Bytes in, messages out: each a list of (key, value), or the text of why one was
    malformed (its bytes dropped up to the blank line that ends it)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.fields: Message = []
        self.bad = ""               # why the message being read is malformed
        self.dropping = False       # inside a line too long: skip to its end

    def feed(self, data: bytes) -> List[Union[Message, str]]:
        out: List[Union[Message, str]] = []
        self.buf += data
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > MAX_LINE:
                    if not self.dropping:
                        self.bad = self.bad or f"a line longer than {MAX_LINE} bytes"
                    self.dropping = True
                    self.buf.clear()
                return out
            raw = bytes(self.buf[:nl])
            del self.buf[: nl + 1]
            if self.dropping:
                self.dropping = False
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                if self.bad:
                    out.append(self.bad)
                elif self.fields:
                    out.append(self.fields)
                self.fields, self.bad = [], ""
                continue
            if self.bad:
                continue
            self._line(raw)

    def _line(self, raw: bytes) -> None:
        if len(raw) > MAX_LINE:
            self.bad = f"a line longer than {MAX_LINE} bytes"
            return
        if len(self.fields) >= MAX_FIELDS:
            self.bad = f"more than {MAX_FIELDS} lines in one message"
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.bad = f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})"
            return
        key, colon, value = text.partition(":")
        if not colon or not key.strip():
            self.bad = f"a line with no 'Key:' ({clean(text)[:40]!r})"
            return
        self.fields.append((key.strip(), value.strip()))


def get(msg: Message, key: str, default: str = "") -> str:
    """A field's value, the key matched without regard to case (the first, if repeated)."""
    k = key.lower()
    for name, value in msg:
        if name.lower() == k:
            return value
    return default


# -- bad logins -----------------------------------------------------------------------

class Guard:
    """Failed logins by address: the delay before the next failure is answered doubles
    with each one, up to FAIL_DELAY_MAX_S, and is forgotten after FAIL_FORGET_S quiet."""

    def __init__(self) -> None:
        self.failures: Dict[str, Tuple[int, float]] = {}

    def failed(self, address: str, now: float) -> float:
        """Records a failure; how long to hold its answer."""
        n, last = self.failures.get(address, (0, now))
        if now - last > FAIL_FORGET_S:
            n = 0
        n += 1
        self.failures[address] = (n, now)
        if len(self.failures) > 4096:       # a scan from many addresses: keep the newest
            for a, _ in sorted(self.failures.items(), key=lambda x: x[1][1])[:1024]:
                del self.failures[a]
        return min(FAIL_DELAY_S * 2 ** (n - 1), FAIL_DELAY_MAX_S)

    def passed(self, address: str) -> None:
        self.failures.pop(address, None)


# -- one client -----------------------------------------------------------------------

class Session:
    """One client: its login, its permissions, its event filter, its bytes in and out.

    backend.act(spec_name, message, user) answers an action: for a list action the
    items as (event name, fields); else the fields of the success answer (a
    "Message" among them). log(text) is told of each failed login."""

    def __init__(self, users: Mapping[str, User], backend, guard: Guard, address: str, now: float,
                 log: Callable[[str], None], nonce: Callable[[], str] = lambda: str(secrets.randbelow(10 ** 9))):
        self.users = users
        self.backend = backend
        self.guard = guard
        self.address = address
        self.log = log
        self.nonce = nonce
        self.framer = Framer()
        self.pending: List[Union[Message, str]] = []
        self.out = bytearray(f"{BANNER}\r\n".encode())
        self.opened = now
        self.user: Optional[User] = None
        self.events: FrozenSet[str] = frozenset()       # the classes this client wants
        self.challenge = ""
        self.hold_until = 0.0                           # a failed login's answer waits until then
        self.held: bytes = b""
        self.closing = False                            # close once the answer is out
        self.closed = False

    # bytes

    def receive(self, data: bytes, now: float, serve: bool = True) -> None:
        """Bytes from the client, framed; its messages served now, or left for tick()."""
        if self.closed or self.closing:
            return
        for m in self.framer.feed(data):
            if len(self.pending) >= MAX_PENDING:
                self._close()           # it sends without reading the answers
                return
            self.pending.append(m)
        if serve:
            self.tick(now)

    def waiting(self) -> bool:
        """Messages wait to be served."""
        return bool(self.pending) and not (self.hold_until or self.closing or self.closed)

    def tick(self, now: float, limit: Optional[int] = None) -> None:
        """Time passing (a held answer due, a login overdue), and at most `limit` of the
        waiting messages served (all of them: None)."""
        if self.closed:
            return
        if self.hold_until:
            if now < self.hold_until:
                return
            self.hold_until = 0.0
            self._send(self.held)
            self.held = b""
            self.closing = True
            return
        if self.user is None and now - self.opened > AUTH_TIMEOUT_S and not self.closing:
            self._send(render([("Response", "Error"), ("Message", "Authentication timed out")]))
            self.closing = True
            return
        served = 0
        while self.waiting() and (limit is None or served < limit):
            served += 1
            m = self.pending.pop(0)
            if isinstance(m, str):
                self._send(render([("Response", "Error"), ("Message", f"Malformed message: {m}")]))
            else:
                self._handle(m, now)

    def outgoing(self) -> bytearray:
        """What waits to be sent: the buffer itself, not a copy (it may be large), good
        until sent() or the next receive()."""
        return self.out

    def sent(self, n: int) -> None:
        del self.out[:n]

    def done(self) -> bool:
        """Nothing more for this client: drop the connection."""
        return self.closed or (self.closing and not self.out)

    def event(self, cls: str, data: bytes) -> None:
        """An event rendered by event_bytes(), if this client may and wants to see it."""
        if self.user is not None and not self.closing and cls in self.events and cls in self.user.read:
            self._send(data)

    # actions

    def _handle(self, m: Message, now: float) -> None:
        action = get(m, "Action")
        aid = get(m, "ActionID")
        head = [("ActionID", aid)] if aid else []
        low = action.lower()
        if not action:
            self._reply("Error", head, "Missing action in request")
        elif low == "login":
            self._login(m, head, now)
        elif low == "challenge":
            if get(m, "AuthType").lower() != "md5":
                self._reply("Error", head, "Must specify AuthType")
            else:
                self.challenge = self.challenge or self.nonce()
                self._send(render([("Response", "Success"), *head, ("Challenge", self.challenge)]))
        elif low == "ping":
            self._send(render([("Response", "Success"), *head, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]))
        elif low == "logoff":
            self._send(render([("Response", "Goodbye"), *head, ("Message", "Thanks for all the fish.")]))
            self.closing = True
        elif self.user is None:
            self._reply("Error", head, "Permission denied")
        elif low == "events":
            self._filter(get(m, "EventMask", "on"))
            self._send(render([("Response", "Success"), *head, ("Events", "On" if self.events else "Off")]))
        elif low in ACTIONS:
            self._act(ACTIONS[low], m, head)
        else:
            self._reply("Error", head, f"Invalid/unknown command: {action}. "
                                       "Use Action: ListCommands to show available commands.")

    def _act(self, spec: Spec, m: Message, head: Fields) -> None:
        if spec.needs and not (self.user.write & set(spec.needs)):
            self._reply("Error", head, "Permission denied")
            return
        try:
            got = self.backend.act(spec.name, m, self.user)
        except ActionError as e:
            self._reply("Error", head, str(e))
            return
        if not spec.complete:
            self._send(render([("Response", "Success"), *head, *got]))
            return
        parts = [render([("Response", "Success"), *head, ("EventList", "start"), ("Message", spec.follows)])]
        for name, fields in got:
            parts.append(render([("Event", name), *head, *fields]))
        tail = [("Event", spec.complete), *head, ("EventList", "Complete"), ("ListItems", len(got))]
        if spec.name == "Status":
            tail.append(("Items", len(got)))
        parts.append(render(tail))
        self._send(b"".join(parts))

    def _login(self, m: Message, head: Fields, now: float) -> None:
        if self.user is not None:
            self._reply("Success", head, "Already authenticated")
            return
        name = get(m, "Username")
        user = self.users.get(name)
        if get(m, "AuthType").lower() == "md5":
            ok = False
            if user is not None and self.challenge:
                want = hashlib.md5((self.challenge + user.secret).encode()).hexdigest()
                ok = hmac.compare_digest(want, get(m, "Key").lower())
        else:
            ok = user is not None and hmac.compare_digest(user.secret.encode(), get(m, "Secret").encode())
        if not ok:
            delay = self.guard.failed(self.address, now)
            self.log(f"manager: failed login for {clean(name)[:64]!r} from {self.address} "
                     f"(answered after {delay:g} s)")
            self.hold_until = now + delay
            self.held = render([("Response", "Error"), *head, ("Message", "Authentication failed")])
            self.pending.clear()
            return
        self.guard.passed(self.address)
        self.user = user
        self._filter(get(m, "Events", "on"))
        self._send(render([("Response", "Success"), *head, ("Message", "Authentication accepted")]))
        self.event(*event_bytes("FullyBooted", [("Status", "Fully Booted")]))

    def _filter(self, said: str) -> None:
        words = [w for w in said.lower().replace(" ", "").split(",") if w]
        if words in (["on"], ["yes"], ["true"], ["all"]):
            self.events = frozenset(CLASSES)
        elif words in (["off"], ["no"], ["false"], []):
            self.events = frozenset()
        else:
            self.events = classes(words)

    def _reply(self, response: str, head: Fields, message: str) -> None:
        self._send(render([("Response", response), *head, ("Message", message)]))

    def _send(self, data: bytes) -> None:
        if self.closed:
            return
        if len(self.out) + len(data) > MAX_OUT:
            self._close()
            return
        self.out += data

    def _close(self) -> None:
        self.out.clear()
        self.pending.clear()
        self.closed = True


def parse_users(users: Sequence[Tuple[str, str, Sequence[str], Sequence[str]]]) -> Dict[str, User]:
    """Users by name from (name, secret, read, write) as the configuration holds them."""
    return {n: User(n, s, classes(r), classes(w)) for n, s, r, w in users}
