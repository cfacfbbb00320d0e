"""What the console tests stand on: a person at the far end of a pseudo-terminal, and a
console process started as `appliance console` would be on a serial port."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path


class Person:
    """The terminal end of a pseudo-terminal pair: what a person types and what their
    screen has been sent. The console opens the other end as its serial port."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.seen = bytearray()
        self.mark = 0
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.seen += data
                self._lock.notify_all()

    def type(self, text, pace: float = 0.0):
        data = text.encode() if isinstance(text, str) else text
        if not pace:
            os.write(self.master, data)
            return
        for b in data:
            os.write(self.master, bytes([b]))
            time.sleep(pace)

    def expect(self, pattern: str, timeout: float = 15.0) -> str:
        """Wait until the screen has been sent something matching pattern since the
        last match; what came up to and including it."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                text = self.seen[self.mark:].decode("utf-8", "replace")
                m = rx.search(text)
                if m:
                    self.mark += len(text[:m.end()].encode("utf-8", "replace"))
                    return text[:m.end()]
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} on the screen; it shows the end of: {text[-600:]!r}")
                self._lock.wait(left)

    def speed(self) -> int:
        return termios.tcgetattr(self.slave)[4]

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def console(person: Person, control: Path, passwd: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance.cli", "console", "--port", person.path,
                             "--control", str(control), "--password-file", str(passwd), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> str:
    """The console stopped; what it wrote to the journal."""
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


DEMO_OFFICE = Path(__file__).resolve().parent.parent / "appliance" / "demo-office.toml"


def start_box(place: Path, *extra: str) -> subprocess.Popen:
    """`appliance run` on the simulated board with its control socket at place/control.sock,
    the demo office copied to place/office.toml; its standard input takes console lines
    (test calls), its standard output is place/box.out."""
    (place / "office.toml").write_text(DEMO_OFFICE.read_text())
    out = open(place / "box.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--config", str(place / "office.toml"),
                             "--log", str(place / "calls.db"), "--control", str(place / "control.sock"), *extra],
                            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, text=True)
    out.close()
    end = time.monotonic() + 60
    while not (place / "control.sock").exists():
        if proc.poll() is not None or time.monotonic() > end:
            raise AssertionError(f"the box did not start: {(place / 'box.out').read_text()}")
        time.sleep(0.05)
    return proc


def box_says(place: Path, pattern: str, timeout: float = 30.0) -> str:
    """Wait until the box's own output has a line matching pattern."""
    rx = re.compile(pattern)
    end = time.monotonic() + timeout
    while True:
        text = (place / "box.out").read_text(errors="replace")
        m = rx.search(text)
        if m:
            return m.group(0)
        if time.monotonic() > end:
            raise AssertionError(f"the box never said {pattern!r}; it said: {text[-1500:]}")
        time.sleep(0.1)


def stop_box(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
