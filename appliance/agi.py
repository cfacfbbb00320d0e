"""FastAGI: a menu step hands the call to an outside script, spoken to as Asterisk does.

The box connects to agi://host[:port]/script?arg=..., sends the agi_* variables one a
line and a blank line, then reads one command line at a time and answers it with
Asterisk's result lines. This module is the session alone, with no I/O (the h11 way):
bytes in (receive), what the supervisor must do on the line out (actions), and the
script's reply lines out (outgoing), once the supervisor says how a step ended (done).

Rules:
  - One command at a time, as Asterisk: while a step runs on the line (a prompt, the
    caller's keys), further lines wait in the buffer; they are read when it ends.
  - Everything that goes to the script is one line per item: values a caller controls
    (caller ID, name, keys) and values the script set are cleaned of CR, LF and every
    other control character and cut (VALUE_LIMIT; VARIABLE_LIMIT for the script's
    own), so no caller can forge a line or a variable. A ':' in a value stays: the
    key is what comes before the first ':'.
  - Commands are split as Asterisk splits them: spaces between arguments, double quotes
    group, a backslash takes the next character as it is.
  - Result lines: "200 result=N [(data)] [endpos=N]"; "510 Invalid or unknown command"
    for a command the box does not know; "520-Invalid command syntax.  Proper usage
    follows:" / usage / "520 End of proper usage." for wrong arguments; "511 Command Not
    Permitted on a dead channel or intercept routine" once the caller has gone, after
    the line "HANGUP" told the script so.
  - A script that talks nonsense fails the session (Failed): BAD_LINES unknown or
    malformed commands in a row, a line longer than LINE_LIMIT, or bytes that are not
    text. A failed session takes no more input and the call goes to the menu's
    fallback; the supervisor also fails it when the script is down or slow.
  - Sound files: a STREAM FILE name is the office's own prompt of that name if it has
    one, else the recorded pack's prompt of that name in the call's language (then in
    English); one that is nowhere is answered "200 result=-1 endpos=0", as Asterisk
    answers a missing file. (The supervisor looks them up; see Play.)
  - RECORD FILE records what the caller says (the line's received audio) into a mono
    16-bit 8 kHz WAV file, as Asterisk's wav format is: format "wav" only; any other
    (gsm, ulaw, ...) is answered "200 result=-1 (writefile)", as a file Asterisk cannot
    write, for the box writes WAV alone. The file name is relative to the box's
    recordings directory (an absolute name must lie inside it); a name with "..", an
    empty or hidden part, or characters other than letters, digits and ._-+@= is
    answered "200 result=-1 (writefile)": a script writes nowhere else on the box. The
    recording ends at a key among the escape digits ("200 result=<key> (dtmf)
    endpos=<samples>", the key's own sound cut off), at the timeout (-1 or 0: the
    box's longest, see agirun) or after s=<seconds> of silence ("200 result=0
    (timeout) endpos=<samples>"), or when the caller hangs up ("200 result=-1 (hangup)
    endpos=<samples>"). A word that is not a number and has no '=' (BEEP) plays the
    beep first; a sample offset is taken and ignored: a recording always starts a new
    file.
  - EXEC runs the box's own applications: Queue(name) hands the caller to the queue
    (the session ends: Transfer; a queue the office does not have answers result=-1);
    Playback(file) plays; Wait(seconds) waits; Hangup hangs up. Any other application
    answers result=-2, as Asterisk answers an application it does not have.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple, Union
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_PORT = 4573
VALUE_LIMIT = 80            # characters of a value from the caller (caller ID, name, keys)
VARIABLE_LIMIT = 1024       # characters of a variable's value the script sets
LINE_LIMIT = 4096           # bytes of a command line from the script
BAD_LINES = 10              # unknown or malformed commands in a row before the session fails
MAX_WAIT_MS = 600000        # the engine's longest wait for keys
KEYS = "0123456789*#ABCD"
VERSION = "appliance"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AgiError(ValueError):
    """A FastAGI address that cannot be used."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    script: str
    args: Tuple[str, ...] = ()
    url: str = ""


def parse_url(url: str) -> Target:
    """agi://host[:port]/script?arg=...: where to connect and what to ask for."""
    if not isinstance(url, str) or _CONTROL.search(url):
        raise AgiError("must be agi://host[:port]/script, on one line")
    parts = urlsplit(url)
    if parts.scheme != "agi":
        raise AgiError(f"'{url}' is not agi://host[:port]/script")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise AgiError(f"'{url}': the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise AgiError(f"'{url}' names no host")
    script = unquote(parts.path.lstrip("/"))
    args = tuple(clean(v) for _k, v in parse_qsl(parts.query, keep_blank_values=True))
    return Target(parts.hostname, port, script, args, url)


def clean(value, limit: int = VALUE_LIMIT) -> str:
    """A value fit for one line to the script: no control characters, at most limit."""
    return _CONTROL.sub("", str(value))[:limit]


# -- the header ------------------------------------------------------------------------

@dataclass(frozen=True)
class Channel:
    """What the script is told about the call."""
    target: Target
    channel: int
    language: str
    uniqueid: str
    callerid: str = ""
    calleridname: str = ""
    dnid: str = ""
    context: str = ""           # the menu
    extension: str = "s"
    threadid: int = 0


def header(ch: Channel) -> bytes:
    t = ch.target
    fields = [
        ("agi_network", "yes"),
        ("agi_network_script", t.script),
        ("agi_request", t.url),
        ("agi_channel", f"DAHDI/{ch.channel}-1"),
        ("agi_language", ch.language),
        ("agi_type", "DAHDI"),
        ("agi_uniqueid", ch.uniqueid),
        ("agi_version", VERSION),
        ("agi_callerid", ch.callerid or "unknown"),
        ("agi_calleridname", ch.calleridname or "unknown"),
        ("agi_callingpres", "0"),
        ("agi_dnid", ch.dnid or "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", ch.context),
        ("agi_extension", ch.extension),
        ("agi_priority", "1"),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", str(ch.threadid)),
    ]
    fields += [(f"agi_arg_{i}", a) for i, a in enumerate(t.args, 1)]
    text = "".join(f"{k}: {clean(v, LINE_LIMIT if k == 'agi_request' else VALUE_LIMIT)}\n" for k, v in fields)
    return (text + "\n").encode("utf-8")


# -- splitting a command line ----------------------------------------------------------

def split_args(line: str) -> List[str]:
    """Arguments as Asterisk's AGI splits them: spaces separate, "..." groups, a
    backslash takes the next character as it is."""
    out: List[str] = []
    cur: List[str] = []
    quoted = escaped = started = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
            started = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                out.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        out.append("".join(cur))
    return out


# -- what the supervisor does ------------------------------------------------------------

@dataclass(frozen=True)
class Play:
    """Play sound files (see the module's rules for the names); a key among escape
    stops them. then_wait_ms > 0 (GET OPTION): after them, wait that long for one."""
    files: Tuple[str, ...]
    escape: str = ""
    then_wait_ms: int = 0


@dataclass(frozen=True)
class Say:
    """Say a number ("number") or digits one by one ("digits") in the call's language."""
    what: str
    value: str
    escape: str = ""


@dataclass(frozen=True)
class GetDigits:
    """Play files (any key cuts them short), then take up to max_digits ending at '#'."""
    files: Tuple[str, ...]
    timeout_ms: int
    max_digits: int


@dataclass(frozen=True)
class WaitDigit:
    timeout_ms: int


@dataclass(frozen=True)
class Pause:
    """EXEC Wait: nothing for the caller to do for ms."""
    ms: int


@dataclass(frozen=True)
class Assigned:
    """The script set a variable (answered already): for the call log."""
    name: str
    value: str


@dataclass(frozen=True)
class Transfer:
    """EXEC Queue: the caller goes to the queue; the session is over."""
    queue: str


@dataclass(frozen=True)
class HangUpCall:
    """The script hung up on the caller; the session is over."""


@dataclass(frozen=True)
class Ended:
    """The script closed the connection with the call still up: the menus go on."""


@dataclass(frozen=True)
class Failed:
    """The script talks nonsense: the call goes to the fallback."""
    why: str


@dataclass(frozen=True)
class Record:
    """RECORD FILE: the caller's audio into name (relative to the recordings directory,
    ".wav" on the end) until a key among escape, timeout_ms (0: none asked) or
    silence_s of silence (0: not this way); beep: the beep plays first."""
    name: str
    escape: str = ""
    timeout_ms: int = 0
    beep: bool = False
    silence_s: int = 0


Action = Union[Play, Say, GetDigits, WaitDigit, Pause, Record, Assigned, Transfer, HangUpCall, Ended, Failed]

# The usage Asterisk shows for each command; a wrong argument count answers it.
USAGE = {
    "ANSWER": "ANSWER",
    "STREAM FILE": "STREAM FILE <filename> <escape_digits> [sample offset]",
    "CONTROL STREAM FILE": "CONTROL STREAM FILE <filename> <escape_digits> [skipms] [ffchar] [rewchr] "
                           "[pausechr] [offsetms]",
    "GET DATA": "GET DATA <file to be streamed> [timeout] [max digits]",
    "GET OPTION": "GET OPTION <filename> <escape_digits> [timeout]",
    "SAY NUMBER": "SAY NUMBER <number> <escape digits> [gender]",
    "SAY DIGITS": "SAY DIGITS <number> <escape digits>",
    "WAIT FOR DIGIT": "WAIT FOR DIGIT <timeout>",
    "RECORD FILE": "RECORD FILE <filename> <format> <escape digits> <timeout> [offset samples] [BEEP] "
                   "[s=silence]",
    "SET VARIABLE": "SET VARIABLE <variablename> <value>",
    "GET VARIABLE": "GET VARIABLE <variablename>",
    "GET FULL VARIABLE": "GET FULL VARIABLE <variablename> [<channel name>]",
    "CHANNEL STATUS": "CHANNEL STATUS [<channelname>]",
    "EXEC": "EXEC <application> <options>",
    "HANGUP": "HANGUP [<channelname>]",
    "VERBOSE": "VERBOSE <message> <level>",
    "NOOP": "NOOP",
}
# Longest names first: "STREAM FILE" must not be taken for a shorter one.
_NAMES = sorted(USAGE, key=lambda n: -len(n.split()))
# (fewest, most) arguments after the command's own words.
_ARITY = {"ANSWER": (0, 0), "STREAM FILE": (2, 3), "CONTROL STREAM FILE": (2, 7), "GET DATA": (1, 3),
          "GET OPTION": (2, 3), "SAY NUMBER": (2, 3), "SAY DIGITS": (2, 2), "WAIT FOR DIGIT": (1, 1),
          "RECORD FILE": (4, 7), "SET VARIABLE": (2, 2), "GET VARIABLE": (1, 1), "GET FULL VARIABLE": (1, 2),
          "CHANNEL STATUS": (0, 1), "EXEC": (1, 99), "HANGUP": (0, 1), "VERBOSE": (1, 2), "NOOP": (0, 99)}

INVALID = b"510 Invalid or unknown command\n"
UNWRITABLE = b"200 result=-1 (writefile)\n"
RECORDING_FORMAT = "wav"
NAME_LIMIT = 200            # characters of a recording's file name
_NAME_PART = re.compile(r"[A-Za-z0-9_+@=-][A-Za-z0-9._+@=-]*")
DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"
CHANNEL_UP = 6


class _Usage(Exception):
    pass


def _ms(text: str, default: int) -> int:
    """A timeout in ms as scripts write it; <= 0 (forever) is the engine's longest."""
    try:
        v = int(float(text))
    except ValueError:
        raise _Usage() from None
    if v <= 0:
        return default
    return max(100, min(v, MAX_WAIT_MS))


def recording_name(name: str, directory: str = "") -> Optional[str]:
    """Where RECORD FILE's name writes, relative to the recordings directory, with
    ".wav" on the end; None for a name that would write anywhere else (module rules)."""
    base = directory.rstrip("/")
    if base and name.startswith(base + "/"):
        name = name[len(base) + 1:]
    parts = name.split("/")
    if len(name) > NAME_LIMIT or not all(_NAME_PART.fullmatch(p) for p in parts):
        return None         # absolute (an empty first part), "..", ".hidden", "a//b", odd characters
    return name + "." + RECORDING_FORMAT


def _escape(text: str) -> str:
    return "".join(ch for ch in text if ch in KEYS)


@dataclass
class Session:
    """One FastAGI conversation for one call.

    variables: the call's own (shared with the call flow: what the script sets is
    there for later steps); builtins: read-only ones (CALLERID(num), LANGUAGE...)."""
    channel: Channel
    variables: Dict[str, str] = field(default_factory=dict)
    builtins: Dict[str, str] = field(default_factory=dict)
    queues: FrozenSet[str] = frozenset()        # what EXEC Queue may name
    recordings: str = ""                        # the directory RECORD FILE writes in

    def __post_init__(self):
        self._in = bytearray()
        self._out = bytearray(header(self.channel))
        self.pending: Optional[Tuple[str, Action]] = None     # (command, the step running on the line)
        self.over = False               # no more commands are taken (ended, failed, handed on)
        self.dead = False               # the caller has gone
        self.bad = 0

    # -- bytes ------------------------------------------------------------------------

    def outgoing(self) -> bytes:
        return bytes(self._out)

    def sent(self, n: int) -> None:
        del self._out[:n]

    @property
    def waiting_for_script(self) -> bool:
        """Nothing runs on the line: the box waits for the script's next command."""
        return not self.over and not self.dead and self.pending is None

    def receive(self, data: bytes) -> List[Action]:
        if self.over:
            return []
        self._in += data
        return self._work()

    def eof(self) -> List[Action]:
        """The script closed the connection."""
        if self.over:
            return []
        self.over = True
        return [] if self.dead else [Ended()]

    def hung_up(self, endpos: int = 0) -> None:
        """The caller has gone: the script is told, and every command from now on is
        answered 511. endpos: how many samples a recording running then holds."""
        if self.dead:
            return
        self.dead = True
        if self.pending is not None:
            recording = isinstance(self.pending[1], Record)
            self._reply(f"200 result=-1 (hangup) endpos={endpos}\n".encode() if recording else b"200 result=-1\n")
            self.pending = None
        self._out += b"HANGUP\n"
        if not self.over:
            self._work()

    def fail(self, why: str) -> List[Action]:
        """The supervisor gives up on the script (down, slow)."""
        if self.over:
            return []
        self.over = True
        return [Failed(why)]

    # -- the supervisor says how a step ended --------------------------------------------

    def done(self, digits: str = "", timed_out: bool = False, endpos: int = 0, missing: bool = False,
             unwritable: bool = False) -> List[Action]:
        """The step running on the line ended: the key(s) the caller pressed (a key in
        the escape set for a play or a recording), whether the wait timed out, how many
        samples were played or recorded, whether a file was missing, whether the
        recording's file could not be written."""
        if self.pending is None:
            return []
        name, step = self.pending
        self.pending = None
        digits = "".join(ch for ch in digits if ch in KEYS)[:VALUE_LIMIT]
        key = str(ord(digits[0])) if digits else "0"
        if isinstance(step, (Play, Say)):
            if missing:
                line = f"200 result=-1 endpos={endpos}"
            elif name == "CONTROL STREAM FILE" or name == "STREAM FILE" or name == "GET OPTION":
                line = f"200 result={key} endpos={endpos}"
            else:
                line = f"200 result={key}"
        elif isinstance(step, GetDigits):
            line = f"200 result={digits} (timeout)" if timed_out else f"200 result={digits}"
        elif isinstance(step, WaitDigit):
            line = f"200 result={key}"
        elif isinstance(step, Record):
            if unwritable:
                line = UNWRITABLE.decode().strip()
            elif digits:
                line = f"200 result={key} (dtmf) endpos={endpos}"
            else:
                line = f"200 result=0 (timeout) endpos={endpos}"
        else:       # Pause
            line = "200 result=0"
        self._reply((line + "\n").encode())
        return self._work()

    # -- reading commands ------------------------------------------------------------

    def _reply(self, line: bytes) -> None:
        self._out += line

    def _work(self) -> List[Action]:
        out: List[Action] = []
        while self.pending is None and not self.over:
            nl = self._in.find(b"\n")
            if nl < 0:
                if len(self._in) > LINE_LIMIT:
                    self.over = True
                    out.append(Failed(f"a line longer than {LINE_LIMIT} bytes"))
                break
            raw = bytes(self._in[:nl]).rstrip(b"\r")
            del self._in[:nl + 1]
            if len(raw) > LINE_LIMIT:
                self.over = True
                out.append(Failed(f"a line longer than {LINE_LIMIT} bytes"))
                break
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = None
            if line is None or _CONTROL.search(line.replace("\t", " ")):
                self._reply(INVALID)
                out += self._count_bad("a line that is not text")
                continue
            if not line.strip():
                continue        # a blank line: nothing asked
            if self.dead:
                self._reply(DEAD)
                continue
            out += self._command(line)
        return out

    def _count_bad(self, what: str) -> List[Action]:
        self.bad += 1
        if self.bad >= BAD_LINES:
            self.over = True
            return [Failed(f"{BAD_LINES} bad commands in a row, the last {what}")]
        return []

    def _command(self, line: str) -> List[Action]:
        words = split_args(line)
        upper = [w.upper() for w in words]
        name = next((n for n in _NAMES if upper[:len(n.split())] == n.split()), None)
        if name is None:
            self._reply(INVALID)
            return self._count_bad(f"'{clean(line, 40)}'")
        args = words[len(name.split()):]
        lo, hi = _ARITY[name]
        try:
            if not lo <= len(args) <= hi:
                raise _Usage()
            result = self._run(name, args)
        except _Usage:
            self._reply(f"520-Invalid command syntax.  Proper usage follows:\n{USAGE[name]}\n"
                        f"520 End of proper usage.\n".encode())
            return self._count_bad(f"'{name}' with wrong arguments")
        self.bad = 0
        return result

    def _run(self, name: str, a: List[str]) -> List[Action]:
        if name in ("ANSWER", "NOOP"):
            self._reply(b"200 result=0\n")
            return []
        if name == "VERBOSE":
            self._reply(b"200 result=1\n")
            return []
        if name == "CHANNEL STATUS":
            self._reply(f"200 result={CHANNEL_UP}\n".encode())
            return []
        if name == "SET VARIABLE":
            var, value = clean(a[0]), clean(a[1], VARIABLE_LIMIT)
            if not var or not re.fullmatch(r"[A-Za-z0-9_()]+", var) or var in self.builtins:
                raise _Usage()
            self.variables[var] = value
            self._reply(b"200 result=1\n")
            return [Assigned(var, value)]
        if name == "GET VARIABLE":
            value = self._lookup(a[0])
            self._reply(b"200 result=0\n" if value is None else
                        f"200 result=1 ({clean(value, VARIABLE_LIMIT)})\n".encode())
            return []
        if name == "GET FULL VARIABLE":
            value = re.sub(r"\$\{([^}]*)\}", lambda m: self._lookup(m.group(1)) or "", a[0])
            self._reply(f"200 result=1 ({clean(value, VARIABLE_LIMIT)})\n".encode())
            return []
        if name == "HANGUP":
            self._reply(b"200 result=1\n")
            self.over = True
            return [HangUpCall()]
        if name == "EXEC":
            return self._exec(a[0], " ".join(a[1:]))
        if name == "RECORD FILE":
            return self._record(a)
        step = self._step(name, a)
        self.pending = (name, step)
        return [step]

    def _lookup(self, var: str) -> Optional[str]:
        if var in self.builtins:
            return self.builtins[var]
        return self.variables.get(var)

    def _step(self, name: str, a: List[str]) -> Action:
        if name in ("STREAM FILE", "CONTROL STREAM FILE"):
            if len(a) > 2 and name == "STREAM FILE" and not a[2].lstrip("-").isdigit():
                raise _Usage()
            return Play(tuple(f for f in a[0].split("&") if f), _escape(a[1]))
        if name == "GET OPTION":
            wait = _ms(a[2], 5000) if len(a) > 2 else 5000
            return Play(tuple(f for f in a[0].split("&") if f), _escape(a[1]), then_wait_ms=wait)
        if name == "GET DATA":
            timeout = _ms(a[1], 6000) if len(a) > 1 else 6000
            try:
                most = int(a[2]) if len(a) > 2 else 32
            except ValueError:
                raise _Usage() from None
            return GetDigits(tuple(f for f in a[0].split("&") if f), timeout, max(1, min(most, 32)))
        if name == "SAY NUMBER":
            if not re.fullmatch(r"\d{1,9}", a[0]):
                raise _Usage()
            return Say("number", a[0], _escape(a[1]))
        if name == "SAY DIGITS":
            if not re.fullmatch(r"\d{1,32}", a[0]):
                raise _Usage()
            return Say("digits", a[0], _escape(a[1]))
        # WAIT FOR DIGIT
        return WaitDigit(_ms(a[0], MAX_WAIT_MS))

    def _record(self, a: List[str]) -> List[Action]:
        if not re.fullmatch(r"-?\d{1,9}", a[3]):
            raise _Usage()
        beep, silence = False, 0
        for opt in a[4:]:
            if opt.startswith("s="):
                silence = int(opt[2:]) if re.fullmatch(r"\d{1,6}", opt[2:]) else 0
            elif not re.fullmatch(r"-?\d+", opt) and "=" not in opt:
                beep = True
        name = recording_name(a[0], self.recordings)
        if name is None or a[1].lower() != RECORDING_FORMAT:
            self._reply(UNWRITABLE)
            return []
        step = Record(name, _escape(a[2]), max(0, int(a[3])), beep, silence)
        self.pending = ("RECORD FILE", step)
        return [step]

    def _exec(self, app: str, options: str) -> List[Action]:
        opts = options.replace("|", ",").split(",")
        app = app.lower()
        if app == "queue" and opts[0].strip() not in self.queues:
            self._reply(b"200 result=-1\n")       # no such queue: the script decides what next
            return []
        if app == "queue":
            self._reply(b"200 result=0\n")
            self.over = True
            return [Transfer(opts[0].strip())]
        if app == "hangup":
            self._reply(b"200 result=0\n")
            self.over = True
            return [HangUpCall()]
        if app == "playback" and opts[0].strip():
            step = Play(tuple(f for f in opts[0].strip().split("&") if f))
            self.pending = ("EXEC", step)
            return [step]
        if app == "wait":
            try:
                seconds = float(opts[0] or "0")
            except ValueError:
                seconds = 0.0
            step = Pause(int(max(0.0, min(seconds * 1000, MAX_WAIT_MS))))
            self.pending = ("EXEC", step)
            return [step]
        self._reply(b"200 result=-2\n")
        return []
