"""The console on the terminal `appliance run` was started from (what `make run` shows):
the same terminal as a serial console (line editing, history, `?`, Tab, `--More--`) and
the same shell, inside the box's own loop.

Rules:
  - Only when standard input and output are both terminals; from a pipe the box reads
    plain lines as they come (box.read_lines).
  - No login: whoever started the box already holds its files and its call log.
  - What the box says as it runs (a call ringing, what the caller hears) goes above the
    line being edited, which is drawn again under it; nothing the box says breaks into
    what the person is typing.
  - The terminal is in raw mode while the box runs and is put back as it was on every
    way out (close() in a finally). Its size comes from the terminal, and again on
    SIGWINCH.
  - Polled once a tick from the box's loop: it reads only what is already there and
    never waits, so a person typing cannot make a frame late.
  - Ctrl-D on an empty line, or `exit` at the top level, stops the box, as `quit` does.
"""
from __future__ import annotations

import io
import os
import select
import signal
import termios
import time
import tty
from typing import Callable, Optional

from appliance.terminal import Complete, EndOfInput, Help, Idle, Interrupt, Line, Terminal


class Screen(io.TextIOBase):
    """The box's output stream while a local console holds the terminal: whole lines go
    to the console, shown above the line being edited."""

    def __init__(self, console: "LocalConsole"):
        self.console = console
        self._part = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._part + text).split("\n")
        self._part = lines.pop()
        for line in lines:
            self.console.show(line)
        return len(text)


class LocalConsole:
    def __init__(self, fd_in: int = 0, fd_out: int = 1):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.term = Terminal(dumb=os.environ.get("TERM", "dumb") == "dumb")
        self.screen = Screen(self)
        self.shell = None
        self.stop: Callable[[], None] = lambda: None
        self.now: Callable[[], float] = time.time
        self._saved: Optional[list] = None
        self._resized = False
        self._previous = None

    def start(self, shell, now: Callable[[], float], stop: Callable[[], None]) -> None:
        """Raw mode, and the first prompt. now: the box's clock (the shell's)."""
        self.shell, self.now, self.stop = shell, now, stop
        self._saved = termios.tcgetattr(self.fd_in)
        tty.setraw(self.fd_in)
        self._previous = signal.signal(signal.SIGWINCH, self._winch)
        self._size()
        self.term.read_line(shell.prompt)
        self._flush()

    def close(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.fd_in, termios.TCSADRAIN, self._saved)
            self._saved = None
            signal.signal(signal.SIGWINCH, self._previous)
            os.write(self.fd_out, b"\r\n")

    def show(self, text: str) -> None:
        """A line the box says: above the one being edited."""
        self.term.write(text)
        self._flush()

    def poll(self, _box=None) -> None:
        """Whatever was typed since the last tick; never waits."""
        if self._resized:
            self._resized = False
            self._size()
        if select.select([self.fd_in], [], [], 0)[0]:
            data = os.read(self.fd_in, 4096)
            if not data:
                self.stop()
                return
            self.term.receive(data, time.monotonic())
        self.term.tick(time.monotonic())
        for ev in self.term.events():
            self._event(ev)
        self._flush()

    def _event(self, ev) -> None:
        shell, term = self.shell, self.term
        if isinstance(ev, Line):
            if ev.text.strip():
                reply = shell.run(ev.text, self.now())
                if reply.text:
                    term.write(reply.text, page=reply.page)
                if reply.quit:
                    self.stop()
                    return
            term.read_line(shell.prompt)
        elif isinstance(ev, Help):
            term.show_help(shell.help(ev.text))
        elif isinstance(ev, Complete):
            term.show_completions(shell.complete(ev.text))
        elif isinstance(ev, EndOfInput):
            self.stop()
        elif isinstance(ev, (Interrupt, Idle)):
            term.read_line(shell.prompt)

    def _flush(self) -> None:
        out = self.term.output()
        while out:
            n = os.write(self.fd_out, out)
            out = out[n:]

    def _winch(self, *_) -> None:
        self._resized = True

    def _size(self) -> None:
        try:
            size = os.get_terminal_size(self.fd_out)
            self.term.resize(size.columns, size.lines)
        except OSError:
            self.term.resize(None, None)        # the 24 x 80 fallback
