"""`appliance run` on a terminal (what `make run` is): a real pseudo-terminal in front of
the box, typed at as a person would; the console edits lines, completes and helps as a
serial console does, the box's own lines come above the line being typed, and Ctrl-D
stops the box."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class Person:
    def __init__(self, tmp_path: Path):
        self.master, slave = os.openpty()
        env = dict(os.environ, TERM="vt100", COLUMNS="100", LINES="30")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance.cli", "run", "--log", str(tmp_path / "calls.db"),
             "--control", str(tmp_path / "control.sock"), "--for", "120"],
            stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        os.close(slave)
        self.seen = b""

    def read_until(self, wanted: bytes, limit_s: float = 30.0) -> bytes:
        end = time.monotonic() + limit_s
        while wanted not in self.seen:
            left = end - time.monotonic()
            assert left > 0, f"no {wanted!r} within {limit_s} s; the screen had:\n{self.seen[-3000:]!r}"
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.seen

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def person(tmp_path):
    p = Person(tmp_path)
    yield p
    p.close()


def test_the_console_on_the_terminal_edits_completes_helps_and_stops(person):
    person.read_until(b"try: test call line1")
    person.read_until(b"demo-trading-ltd> ")
    # Tab finishes a word; a line edited with the arrow keys runs as shown.
    person.type(b"sh\t")
    person.read_until(b"show ")
    person.type(b"tatus" + b"\x1b[D" * 5 + b"s\r")           # the 's' put in before the rest
    person.read_until(b"alarms     none")
    # ? lists what may come next, and the line is kept to go on with.
    person.type(b"show ?")
    person.read_until(b"running-config")
    person.type(b"\x15")                                       # Ctrl-U: the line is rubbed out
    # The box's own lines come as the call goes on, and do not break the line typed.
    person.type(b"hours open\r")
    person.read_until(b"new calls are answered as open")
    person.type(b"test call line1 0501234567\r")
    person.read_until(b"line1: ring 1")
    # Up arrow brings the last line back.
    person.type(b"\x1b[A")
    person.read_until(b"test call line1 0501234567")
    person.type(b"\x15\x04")                                   # Ctrl-D on an empty line
    assert person.proc.wait(timeout=30) == 0
    assert b"Traceback" not in person.proc.stderr.read()
    # Raw mode from the first line: the box's lines end as the terminal draws them.
    assert b"\r\r\n" not in person.seen and b"\r\n" in person.seen
