"""The console as a process on a serial port: a real pseudo-terminal pair, pyserial on the
console's end, a person typing on the other, and the control socket to the box."""
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pytest

from appliance import login
from console_link import Person, box_says, console, start_box, stop, stop_box
from control_double import ControlDouble

PASSWORD = "long-enough-1"


@pytest.fixture
def place():
    """A short directory: a Unix socket's path must fit in 108 bytes."""
    d = Path(tempfile.mkdtemp(prefix="cons-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def person():
    p = Person()
    yield p
    p.close()


def first_login(person):
    person.expect("New password: ")
    person.type(PASSWORD + "\r")
    person.expect("Again: ")
    person.type(PASSWORD + "\r")
    person.expect("password set")


@pytest.mark.parametrize("baud, speed", [(9600, termios.B9600), (115200, termios.B115200)])
def test_first_start_sets_the_password_then_the_shell_answers(place, person, baud, speed):
    box = ControlDouble(place / "control.sock")
    proc = console(person, place / "control.sock", place / "console.passwd", "--baud", str(baud))
    try:
        first_login(person)
        person.expect("Demo Trading Ltd: the box's shell")
        person.expect("office> ")
        assert person.speed() == speed
        person.type("show status\r")
        person.expect("4 lines up, 0 calls")
        person.type("configure\r")
        person.expect(r"office\(config\)# ")
        person.type("exit\r")
        person.expect("office> ")
        person.type("exit\r")
        person.expect("Password: ")
    finally:
        journal = stop(proc)
        box.close()
    assert login.verify(PASSWORD, login.load(place / "console.passwd"))
    assert "console password set on " in journal and "console logout on" in journal
    assert PASSWORD not in journal and PASSWORD not in person.seen.decode("utf-8", "replace")
    assert [r["op"] for r in box.requests][:2] == ["open", "run"]
    assert box.requests[0]["source"] == os.path.basename(person.path)


def test_wrong_password_waits_and_is_logged_with_the_port(place, person):
    login.save(place / "console.passwd", login.hash_password(PASSWORD))
    box = ControlDouble(place / "control.sock")
    proc = console(person, place / "control.sock", place / "console.passwd")
    try:
        person.expect("Password: ")
        person.type("guess-one\r")
        person.expect(r"wrong password; wait 1 s")
        person.type("typed-during-the-wait\r")          # thrown away, not a try
        person.expect("Password: ", timeout=5)
        person.type("guess-two\r")
        person.expect("wait 2 s")
        person.expect("Password: ", timeout=6)
        person.type(PASSWORD + "\r")
        person.expect("office> ")
    finally:
        journal = stop(proc)
        box.close()
    fails = [ln for ln in journal.splitlines() if "login failed" in ln]
    assert len(fails) == 2, journal
    assert f"on {os.path.basename(person.path)} at " in fails[0] and "1 in a row" in fails[0]
    assert "guess" not in journal and "typed-during" not in journal


def test_long_output_is_paged_and_help_and_completion_go_to_the_box(place, person):
    box = ControlDouble(place / "control.sock")
    proc = console(person, place / "control.sock", place / "console.passwd")
    try:
        first_login(person)
        person.expect("office> ")
        person.type("show long\r")
        person.expect("row 22")
        person.expect("--More--")
        assert "row 23" not in person.seen.decode()
        person.type(" ")
        person.expect("row 45")
        person.expect("--More--")
        person.type("q")
        person.expect("office> ")
        person.type("sh?")
        person.expect("show       what the box is doing")
        person.expect("office> sh")
        person.type("\t")
        person.expect("ow ")
        person.type("status\r")
        person.expect("4 lines up")
        person.type("co\t")
        person.expect("commit +configure")
    finally:
        stop(proc)
        box.close()
    ops = [(r["op"], r.get("line")) for r in box.requests]
    assert ("help", "sh") in ops and ("complete", "sh") in ops and ("run", "show status") in ops


def test_the_box_not_running_keeps_the_session_and_it_comes_back(place, person):
    proc = console(person, place / "control.sock", place / "console.passwd")
    box = None
    try:
        first_login(person)
        person.expect("the box is not running")
        person.expect(r"\(no box\)> ")
        person.type("show status\r")
        person.expect("trying again every 5 s")
        box = ControlDouble(place / "control.sock")
        person.expect("the box is running again", timeout=10)
        person.expect("office> ")
        person.type("show status\r")
        person.expect("4 lines up")
        box.notify("alarm: line2 out of service")
        person.expect("alarm: line2 out of service")
        box.close()
        person.expect("the box closed the connection; trying again", timeout=10)
        box = ControlDouble(place / "control.sock")
        person.expect("the box is running again", timeout=10)
    finally:
        stop(proc)
        if box:
            box.close()


def test_idle_logs_out(place, person):
    box = ControlDouble(place / "control.sock")
    proc = console(person, place / "control.sock", place / "console.passwd", "--idle", "0.02")
    try:
        first_login(person)
        person.expect("office> ")
        person.expect(r"idle for 0.02 min: logged out", timeout=10)
        person.expect("Password: ")
    finally:
        journal = stop(proc)
        box.close()
    assert box.requests[-1] == {"op": "close"}
    assert "console logout on" in journal


def hostile_lines(n, seed=7):
    """Lines a line noise, a cat on the keyboard or an attacker might send."""
    rnd = random.Random(seed)
    # Random bytes but letters: junk the box's shell cannot take for a shortened command
    # (`e` for exit would end the session under test, `co` begin to configure).
    junk = [b for b in range(256) if not chr(b).isalpha() or b > 127]
    kinds = [
        lambda: bytes(rnd.randrange(0, 32) for _ in range(rnd.randrange(1, 20))),           # control characters
        lambda: b"x" * rnd.randrange(1000, 3000),                                             # very long
        lambda: rnd.choice([b"\x1b", b"\x1b[", b"\x1b[1;", b"\x1bO", b"\x1b[99999999999999999"]),  # cut-off escapes
        lambda: bytes(rnd.randrange(128, 256) for _ in range(rnd.randrange(1, 30))),        # not UTF-8
        lambda: rnd.choice([b"show ?", b"sh\t", b"\x03", b"\x15\x17\x0b", b"show status", b'set "?'])
        + bytes(rnd.choice(junk) for _ in range(rnd.randrange(0, 8))),
        # Any text, led by a digit for the same reason.
        lambda: ("9" + "".join(chr(rnd.randrange(32, 0x3000)) for _ in range(rnd.randrange(1, 40))))
        .encode("utf-8", "replace"),
    ]
    for _ in range(n):
        line = rnd.choice(kinds)()
        # Ctrl-D on an empty line would log out, which is right but ends the test's session.
        yield line.replace(b"\x04", b"") + rnd.choice([b"\r", b"\n", b"\r\n"])


def test_ten_thousand_hostile_lines_leave_the_console_answering(place, person):
    box = ControlDouble(place / "control.sock")
    proc = console(person, place / "control.sock", place / "console.passwd")
    try:
        first_login(person)
        person.expect("office> ")
        sent = 0
        for line in hostile_lines(10_000):
            person.type(line)
            sent += len(line)
        person.type(b"\x03\x15show status\r")
        person.expect("4 lines up, 0 calls", timeout=120)
        assert proc.poll() is None
    finally:
        journal = stop(proc)
        box.close()
    assert "Traceback" not in journal
    assert sent > 1_000_000
    assert len(box.requests) > 100


def test_a_local_console_without_a_terminal_reads_lines(place):
    box = ControlDouble(place / "control.sock")
    login.save(place / "console.passwd", login.hash_password(PASSWORD))
    try:
        out = subprocess.run([sys.executable, "-m", "appliance.cli", "console", "--local",
                              "--control", str(place / "control.sock"), "--password-file", str(place / "console.passwd")],
                             input=f"{PASSWORD}\nshow status\nshow ?\nexit\n", capture_output=True, text=True,
                             timeout=30)
    finally:
        box.close()
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\r" not in out.stdout
    assert "4 lines up, 0 calls" in out.stdout and "configure  change it" in out.stdout
    assert "console login on " in out.stderr


@pytest.mark.parametrize("args, message", [
    (["--port", "/dev/ttyS0", "--baud", "12345"], "--baud 12345: not a serial speed"),
    (["--port", "/nonexistent/ttyS9"], "--port /nonexistent/ttyS9: "),
    (["--local", "--idle", "-1"], "--idle -1: minutes"),
])
def test_bad_options_say_what_was_wrong(args, message):
    out = subprocess.run([sys.executable, "-m", "appliance.cli", "console", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_default_control_socket_follows_the_runtime_directory(monkeypatch):
    from appliance import serialconsole
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/appliance")
    assert str(serialconsole.default_control()) == "/run/appliance/control.sock"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    if not os.access("/run/appliance", os.W_OK):
        assert str(serialconsole.default_control()) == "/run/user/1000/appliance/control.sock"


# The box's own control server and shell; until they are part of the box, the tests above
# stand in for them with tests/control_double.py.
real_box = pytest.mark.skipif(importlib.util.find_spec("appliance.shell") is None,
                              reason="needs the box's control server (appliance run --control)")


@real_box
def test_ten_thousand_hostile_lines_while_the_box_serves_calls(place, person):
    box = start_box(place, "--fast")
    proc = console(person, place / "control.sock", place / "console.passwd")
    try:
        box.stdin.write("hours open\ntest call line1 0501234567\n")
        box.stdin.flush()
        box_says(place, r"line1: caller hears welcome")
        first_login(person)
        person.expect("> ")
        for line in hostile_lines(10_000):
            person.type(line)
        person.type(b"\x03\x15show status\r")
        person.expect(r"lines +4 exchange lines", timeout=300)
        person.type("test call line2 0441234567\r")
        box_says(place, r"line2: caller hears welcome")
        assert proc.poll() is None and box.poll() is None
    finally:
        journal = stop(proc)
        stop_box(box)
    assert "Traceback" not in journal and "Traceback" not in (place / "box.out").read_text()
