"""The control protocol: how a console process drives a Shell inside the box, with no I/O.

Bytes from a client go in (Connection.receive), bytes for it come out
(Connection.outgoing); the box's loop moves them over a Unix socket.

Rules:
  - Newline-delimited JSON objects, UTF-8, one a line. A line longer than MAX_LINE
    bytes, one that is not UTF-8, not JSON, not an object, or a request that is not
    one of the protocol's, is answered with {"error": ...} and the connection stays
    usable; MAX_ERRORS such lines in a row close it (the client, never the box).
  - Client to box: {"op": "open", "user", "source"} first (it starts the Shell), then
    "run" / "help" / "complete" with a "line", and "close" (EOF closes too).
    Box to client: the reply to each request, in order, and {"notice": text} at any
    time (alarms, a commit confirmed rolling back, a test's results, a restart).
  - One connection is one console session: one Shell, its mode, its candidate.
  - Everything is bounded: a client that does not read its replies until MAX_OUT bytes
    are waiting is closed; replies to the requests of one receive() are capped by the
    same rule, so a flood cannot grow the box's memory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from appliance import __version__

MAX_LINE = 64 * 1024
MAX_ERRORS = 8
MAX_OUT = 1 << 20
READ_SIZE = 16 * 1024
MAX_SESSIONS = 8
MAX_USER = 32


def encode(obj: Dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "replace")


class Framer:
    """Bytes in, lines out: whole lines of at most MAX_LINE bytes, or the error of one
    that was too long (its bytes dropped up to its end)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.dropping = False

    def feed(self, data: bytes) -> List[Any]:
        """Each whole line as bytes, or an error text for a line too long."""
        out: List[Any] = []
        self.buf += data
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > MAX_LINE:
                    if not self.dropping:
                        out.append(f"a line longer than {MAX_LINE // 1024} KiB")
                    self.dropping = True
                    self.buf.clear()
                return out
            line = bytes(self.buf[:nl])
            del self.buf[: nl + 1]
            if self.dropping:
                self.dropping = False
                continue
            if len(line) > MAX_LINE:
                out.append(f"a line longer than {MAX_LINE // 1024} KiB")
                continue
            out.append(line)


def request(line: bytes) -> Dict[str, Any]:
    """One line as a request, or ValueError saying what is wrong with it."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 (byte 0x{line[e.start]:02x} at offset {e.start})") from None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"not JSON: {getattr(e, 'msg', 'too deeply nested')}") from None
    if not isinstance(obj, dict):
        raise ValueError("a request is a JSON object: {\"op\": ...}")
    op = obj.get("op")
    if op not in ("open", "run", "help", "complete", "close"):
        raise ValueError(f"unknown op {op!r}: one of open, run, help, complete, close")
    if op in ("run", "help", "complete") and not isinstance(obj.get("line"), str):
        raise ValueError(f"{op} needs a \"line\" (a string)")
    if op == "open":
        for k in ("user", "source"):
            v = obj.get(k, "")
            if not isinstance(v, str) or len(v) > MAX_USER or not v.isprintable():
                raise ValueError(f"open: \"{k}\" must be a short printable string")
    return obj


class Connection:
    """One client: its bytes in and out, and the Shell it drives.
    make_shell(user) builds the Shell at "open"."""

    def __init__(self, make_shell: Callable[[str], Any]):
        self.make_shell = make_shell
        self.shell: Optional[Any] = None
        self.framer = Framer()
        self.out = bytearray()
        self.errors = 0
        self.closed = False

    def receive(self, data: bytes, now: float) -> None:
        if self.closed:
            return
        for line in self.framer.feed(data):
            if self.closed:
                return
            if isinstance(line, str):
                self._error(line)
                continue
            if not line.strip():
                continue
            try:
                req = request(line)
            except ValueError as e:
                self._error(str(e))
                continue
            self._handle(req, now)

    def eof(self, now: float) -> None:
        if self.shell is not None:
            self.shell.close(now)
        self.closed = True

    def tick(self, now: float) -> None:
        if self.shell is not None and not self.closed:
            for notice in self.shell.tick(now):
                self._send({"notice": notice})

    def outgoing(self) -> bytes:
        return bytes(self.out)

    def sent(self, n: int) -> None:
        del self.out[:n]

    def _handle(self, req: Dict[str, Any], now: float) -> None:
        op = req["op"]
        if op == "close":
            self.eof(now)
            return
        if op == "open":
            if self.shell is not None:
                self._error("this session is open already")
                return
            self.shell = self.make_shell(req.get("user") or "installer")
            self.errors = 0
            sh = self.shell
            self._send({"prompt": sh.prompt,
                        "text": f"appliance {__version__}: {sh.box.office_name()}, the installer's console "
                                f"({req.get('user') or 'installer'} on {req.get('source') or 'unknown'}). "
                                "Type ? for help."})
            return
        if self.shell is None:
            self._error("open the session first: {\"op\": \"open\", \"user\": ..., \"source\": ...}")
            return
        self.errors = 0
        sh = self.shell
        line = req["line"]
        if op == "run":
            r = sh.run(line, now)
            self._send({"prompt": sh.prompt, "text": r.text, "page": r.page, "quit": r.quit})
            if r.quit:
                self.eof(now)
        elif op == "help":
            self._send({"prompt": sh.prompt, "text": sh.help(line)})
        else:
            self._send({"candidates": sh.complete(line)})

    def _error(self, what: str) -> None:
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            self._send({"error": f"{what}; {MAX_ERRORS} bad requests in a row: closing"})
            self.eof(0.0)
            return
        self._send({"error": what})

    def _send(self, obj: Dict[str, Any]) -> None:
        data = encode(obj)
        if len(self.out) + len(data) > MAX_OUT:
            self.out.clear()
            self.closed = True          # it does not read: nothing more is kept for it
            if self.shell is not None:
                self.shell.close(0.0)
            return
        self.out += data


def default_path() -> Optional[str]:
    """The control socket's path, for the box and its consoles alike: systemd's
    RuntimeDirectory=, else /run/appliance when it can be written, else
    $XDG_RUNTIME_DIR/appliance; None when there is none (then --control names it)."""
    given = os.environ.get("RUNTIME_DIRECTORY")
    if given:
        return str(Path(given.split(":")[0]) / "control.sock")
    run_dir = Path("/run/appliance")
    if run_dir.is_dir() and os.access(run_dir, os.W_OK) or (not run_dir.exists() and os.access("/run", os.W_OK)):
        return str(run_dir / "control.sock")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return str(Path(xdg) / "appliance" / "control.sock") if xdg else None
