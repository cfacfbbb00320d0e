"""The installer's console on a serial port or on the local terminal: a person's
keystrokes through the terminal and the login to the box's shell, over the box's control
socket.

Rules:
  - A serial port is 8N1 at 115200 baud unless told otherwise; an older terminal or a
    long cable may need `--baud 9600`. Ports are opened with pyserial's serial_for_url,
    so a device, a pseudo-terminal or any of pyserial's URLs will do. A serial line
    reports no screen size: the screen is taken to be 80x24.
  - The local terminal is put in raw mode when standard input is a terminal, and put
    back as it was on the way out; otherwise the console reads whole lines, echoes
    nothing and sends no escape sequences. `TERM=dumb` or `--dumb` asks for the same
    on a terminal.
  - One console is one person at a time: log in, then every line goes to the box's
    shell as one `run` request of the control protocol (one JSON object a line each
    way), `?` as `help`, Tab as `complete`. Notices from the box are shown as they come.
  - The box not running (or stopping) does not end the session: the console says so,
    tries again every RETRY seconds, and tells the person when the box is back.
  - Leaving the shell, Ctrl-D on an empty line or `idle` minutes without a key log the
    person out; a serial console then asks for the password again, a local one ends.
  - Log-ins, failures and passwords set go to standard error (the journal, under
    systemd) as one line each.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
import termios
import time
import tty
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from appliance import login as logins
from appliance.terminal import (Complete, EndOfInput, Help, Idle, Interrupt, Line, Terminal)

RETRY = 5.0
REPLY_TIMEOUT = 10.0
MAX_REPLY = 4 * 1024 * 1024
DEFAULT_BAUD = 115200
USER = "installer"


class ControlError(Exception):
    pass


class PortError(Exception):
    pass


class ControlClient:
    """The console's end of the control socket: JSON objects, one a line each way."""

    def __init__(self, path: Path, timeout: float = REPLY_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock: Optional[socket.socket] = None
        self._buf = b""

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(str(self.path))
        except OSError as e:
            s.close()
            raise ControlError(f"{self.path}: {e.strerror or e}") from None
        self.sock, self._buf = s, b""

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.sendall(b'{"op": "close"}\n')
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def fileno(self) -> int:
        return self.sock.fileno() if self.sock else -1

    def request(self, message: dict) -> Tuple[dict, List[str]]:
        """Send one request and wait for its answer; the notices that came first, too."""
        if self.sock is None:
            raise ControlError("not connected")
        try:
            self.sock.sendall(json.dumps(message).encode("utf-8") + b"\n")
        except OSError as e:
            raise ControlError(f"the box closed the connection ({e.strerror or e})") from None
        notices: List[str] = []
        while True:
            for m in self._messages(block=True):
                if "notice" in m:
                    notices.append(str(m["notice"]))
                else:
                    return m, notices

    def notices(self) -> List[str]:
        """Notices waiting on the socket now, without waiting for more."""
        return [str(m["notice"]) for m in self._messages(block=False) if "notice" in m]

    def _messages(self, block: bool) -> List[dict]:
        while b"\n" not in self._buf:
            try:
                data = self.sock.recv(65536, 0 if block else socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return []
            except socket.timeout:
                raise ControlError(f"the box did not answer within {self.timeout:.0f} s") from None
            except OSError as e:
                raise ControlError(f"the connection to the box broke ({e.strerror or e})") from None
            if not data:
                raise ControlError("the box closed the connection")
            self._buf += data
            if len(self._buf) > MAX_REPLY:
                raise ControlError("the box sent a line longer than 4 MiB")
        lines = self._buf.split(b"\n")
        self._buf = lines.pop()
        out = []
        for raw in lines:
            try:
                m = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ControlError("the box sent something that is not JSON") from None
            if not isinstance(m, dict):
                raise ControlError("the box sent JSON that is not an object")
            out.append(m)
        return out


LOGIN, SHELL = "login", "shell"


class Console:
    """One person's console: the terminal, the login and the box's shell joined.
    Bytes in by feed(), the clock by tick(), the box's notices by from_box(); bytes
    out by output(). Its only I/O is the control socket and the password file."""

    def __init__(self, term: Terminal, source: str, control: Path, passwd: Path,
                 log: Callable[[str], None], once: bool = False, cost: Optional[dict] = None):
        self.term = term
        self.source = source
        self.client = ControlClient(control)
        self.passwd = passwd
        self.log = log
        self.once = once
        self.login = logins.Login(source, cost=cost)
        self.mode = LOGIN
        self.prompt = ""
        self.connected = False
        self.finished = False
        self._wait: Optional[float] = None
        self._retry: Optional[float] = None
        self.on_discard: Callable[[], None] = lambda: None

    # -- what the runner calls -------------------------------------------------------

    def start(self, now: float) -> None:
        self._login(now)

    def feed(self, data: bytes, now: float) -> None:
        self.term.receive(data, now)
        self._handle(now)

    def tick(self, now: float) -> None:
        self.term.tick(now)
        if self.mode == LOGIN and self._wait is not None and now >= self._wait:
            self._wait = None
            self.term.discard()
            self.on_discard()
            step = self.login.ready(now)
            if step is not None:
                self._step(step, now)
        if self.mode == SHELL and not self.connected and self._retry is not None and now >= self._retry:
            self._connect(now, again=True)
        self._handle(now)

    def from_box(self, now: float) -> None:
        """The control socket is readable while nothing was asked: notices, or the end."""
        try:
            for n in self.client.notices():
                self.term.write(n)
        except ControlError as e:
            self._lost(str(e), now)

    def output(self) -> bytes:
        return self.term.output()

    def box_fd(self) -> int:
        return self.client.fileno() if self.mode == SHELL and self.connected else -1

    # -- logging in ------------------------------------------------------------------

    def _login(self, now: float) -> None:
        self.mode = LOGIN
        try:
            stored = logins.load(self.passwd)
        except logins.PasswordFileError as e:
            self.log(f"console on {self.source}: {e}")
            self.term.write(f"the console's password file is damaged: {e}")
            self._wait = now + 30
            return
        self._step(self.login.start(stored, now), now)

    def _step(self, step: logins.Step, now: float) -> None:
        if step.log:
            self.log(step.log)
        if step.save:
            try:
                logins.save(self.passwd, step.save)
            except OSError as e:
                self.term.write(f"the password could not be stored ({self.passwd}: {e.strerror or e}); "
                                "it holds for this log-in only")
                self.log(f"console on {self.source}: cannot store the password in {self.passwd}: {e.strerror or e}")
        if step.say:
            self.term.write(step.say)
        self._wait = step.until
        if step.done:
            self._open(now)
        elif step.ask:
            self.term.read_line(step.ask, secret=True)

    # -- the box's shell -------------------------------------------------------------

    def _open(self, now: float) -> None:
        self.mode = SHELL
        self.prompt = "(no box)> "
        self._connect(now, again=False)

    def _connect(self, now: float, again: bool) -> None:
        try:
            self.client.connect()
            reply, notices = self.client.request({"op": "open", "user": USER, "source": self.source})
        except ControlError as e:
            self.client.close()
            self._retry = now + RETRY
            if not again:
                self.connected = False
                self.term.write(f"the box is not running ({e}); trying again every {RETRY:.0f} s")
                self.term.read_line(self.prompt)
            return
        self.connected, self._retry = True, None
        for n in notices:
            self.term.write(n)
        if again:
            self.term.write("the box is running again: a new shell, in exec mode")
        if reply.get("error"):
            self.term.write(str(reply["error"]))
        if reply.get("text"):
            self.term.write(str(reply["text"]), page=True)
        self.prompt = str(reply.get("prompt") or self.prompt)
        if again:
            self.term.set_prompt(self.prompt)
        else:
            self.term.read_line(self.prompt)

    def _lost(self, why: str, now: float) -> None:
        self.client.close()
        self.connected = False
        self._retry = now + RETRY
        self.prompt = "(no box)> "
        self.term.write(f"{why}; trying again every {RETRY:.0f} s")
        self.term.set_prompt(self.prompt)

    def _ask(self, message: dict, now: float) -> Optional[dict]:
        try:
            reply, notices = self.client.request(message)
        except ControlError as e:
            self._lost(str(e), now)
            return None
        for n in notices:
            self.term.write(n)
        if "prompt" in reply:
            self.prompt = str(reply["prompt"])
        return reply

    def _logout(self, why: str, now: float) -> None:
        self.client.close()
        self.connected = False
        self._retry = None
        if why:
            self.term.write(why)
        self.log(f"console logout on {self.source} at {logins.stamp(now)}")
        self.login.logout()
        if self.once:
            self.finished = True
            return
        self._login(now)

    # -- events ----------------------------------------------------------------------

    def _handle(self, now: float) -> None:
        while not self.finished:
            events = self.term.events()
            if not events:
                return
            for ev in events:
                if self.mode == LOGIN:
                    self._login_event(ev, now)
                else:
                    self._shell_event(ev, now)

    def _login_event(self, ev, now: float) -> None:
        if isinstance(ev, Line):
            self._step(self.login.answer(ev.text, now), now)
        elif isinstance(ev, EndOfInput) and self.once:
            self.finished = True
        elif isinstance(ev, (Interrupt, EndOfInput, Idle)):
            self._login(now)

    def _shell_event(self, ev, now: float) -> None:
        if isinstance(ev, Idle):
            minutes = (self.term.idle or 0) / 60
            return self._logout(f"idle for {minutes:g} min: logged out", now)
        if isinstance(ev, EndOfInput):
            return self._logout("logged out", now)
        if not self.connected:
            if isinstance(ev, Help):
                self.term.show_help(f"the box is not running; trying again every {RETRY:.0f} s")
            elif isinstance(ev, Complete):
                self.term.show_completions([])
            else:
                if isinstance(ev, Line) and ev.text.strip():
                    self.term.write(f"the box is not running; trying again every {RETRY:.0f} s")
                self.term.read_line(self.prompt)
            return
        if isinstance(ev, Line):
            if not ev.text.strip():
                return self.term.read_line(self.prompt)
            reply = self._ask({"op": "run", "line": ev.text}, now)
            if reply is None:
                return self.term.read_line(self.prompt)
            text = str(reply.get("error") or reply.get("text") or "")
            if text:
                self.term.write(text, page=bool(reply.get("page")))
            if reply.get("quit"):
                return self._logout("", now)
            self.term.read_line(self.prompt)
        elif isinstance(ev, Help):
            reply = self._ask({"op": "help", "line": ev.text}, now)
            self.term.show_help(str(reply.get("error") or reply.get("text") or "") if reply else "")
        elif isinstance(ev, Complete):
            reply = self._ask({"op": "complete", "line": ev.text}, now)
            found = reply.get("candidates") if reply else None
            self.term.show_completions([str(c) for c in found] if isinstance(found, list) else [])
        elif isinstance(ev, Interrupt):
            self.term.read_line(self.prompt)


# -- the devices ---------------------------------------------------------------------

def _log_to(stream, newline: str = "\n") -> Callable[[str], None]:
    def log(line: str) -> None:
        stream.write(line + newline)
        stream.flush()
    return log


def _syslog(line: str) -> None:
    import syslog
    syslog.openlog("appliance-console", 0, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_NOTICE, line)


def _serve(console: Console, read_fd: int, read: Callable[[], bytes], write: Callable[[bytes], None],
           resized: Optional[Callable[[], None]] = None) -> None:
    """The loop: the port (while the terminal has room), the box's socket, and the clock."""
    # The wall clock: the journal's lines carry the time of day, and a login wait or an
    # idle minute measured across a clock step is at worst a little long or short.
    sel = selectors.DefaultSelector()
    console.start(time.time())
    write(console.output())
    watched_box = -1
    try:
        while not console.finished:
            fd = console.box_fd()
            if fd != watched_box:
                if watched_box >= 0:
                    sel.unregister(watched_box)
                if fd >= 0:
                    sel.register(fd, selectors.EVENT_READ, "box")
                watched_box = fd
            wants = console.term.wants_input()
            if wants and read_fd not in sel.get_map():
                sel.register(read_fd, selectors.EVENT_READ, "port")
            elif not wants and read_fd in sel.get_map():
                sel.unregister(read_fd)
            for key, _ in sel.select(timeout=0.2):
                now = time.time()
                if key.data == "port":
                    data = read()
                    if not data:
                        console.finished = True
                        break
                    console.feed(data, now)
                elif console.box_fd() == key.fd:
                    console.from_box(now)
            if resized:
                resized()
            console.tick(time.time())
            out = console.output()
            if out:
                write(out)
    finally:
        sel.close()
        console.client.close()


def serve_port(url: str, baud: int, control: Path, passwd: Path, idle_minutes: float,
               dumb: bool = False) -> int:
    import serial

    try:
        port = serial.serial_for_url(url, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                                     stopbits=serial.STOPBITS_ONE, timeout=0, xonxoff=False, rtscts=False)
    except (serial.SerialException, ValueError) as e:
        raise PortError(f"--port {url}: {e}") from None
    source = os.path.basename(url.rstrip("/")) or url
    term = Terminal(dumb=dumb, idle=idle_minutes * 60 if idle_minutes else None)
    console = Console(term, source, control, passwd, _log_to(sys.stderr))
    console.on_discard = port.reset_input_buffer

    def read() -> bytes:
        # A port that is readable yet gives nothing is gone (a USB adapter pulled, the
        # far end of a pseudo-terminal closed): the console ends and its service restarts it.
        try:
            return port.read(port.in_waiting or 1)
        except serial.SerialException:
            return b""

    try:
        _serve(console, port.fileno(), read, port.write)
    finally:
        port.close()
    return 0


def serve_local(control: Path, passwd: Path, idle_minutes: float, dumb: bool = False) -> int:
    fd = sys.stdin.fileno()
    idle = idle_minutes * 60 if idle_minutes else None
    if not os.isatty(fd):
        term = Terminal(dumb=True, echo=False, newline="\n", idle=idle)
        console = Console(term, "local", control, passwd, _log_to(sys.stderr), once=True)
        _serve(console, fd, lambda: os.read(fd, 4096), _writer(sys.stdout.fileno()))
        return 0
    dumb = dumb or os.environ.get("TERM", "dumb") == "dumb"
    term = Terminal(dumb=dumb, idle=idle)
    name = os.ttyname(fd)
    name = name[len("/dev/"):] if name.startswith("/dev/") else name
    # The person's own screen is no place for the journal's lines: they go to syslog
    # (the journal), unless standard error is somewhere else.
    log = _log_to(sys.stderr) if not os.isatty(sys.stderr.fileno()) else _syslog
    console = Console(term, name, control, passwd, log, once=True)
    changed = []
    previous = signal.signal(signal.SIGWINCH, lambda *_: changed.append(1))

    def resized() -> None:
        if changed:
            changed.clear()
            size = os.get_terminal_size(fd)
            term.resize(size.columns, size.lines)

    size = os.get_terminal_size(fd)
    term.resize(size.columns, size.lines)
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        _serve(console, fd, lambda: os.read(fd, 4096), _writer(sys.stdout.fileno()), resized)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
    sys.stdout.write("\r\n")
    return 0


def _writer(fd: int) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    return write
