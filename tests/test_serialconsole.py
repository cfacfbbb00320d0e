"""The console as a process on a serial port: a real pseudo-terminal pair, pyserial on the
console's end, a person typing on the other, and the control socket to the box."""
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


@pytest.fixture
def box(place):
    proc = start_box(place)
    yield proc
    stop_box(proc)


@pytest.mark.parametrize("baud, speed", [(9600, termios.B9600), (115200, termios.B115200)])
def test_first_start_sets_the_password_then_the_shell_answers(place, person, box, baud, speed):
    proc = console(person, place / "control.sock", place / "console.passwd", "--baud", str(baud))
    try:
        first_login(person)
        person.expect("the installer's console")
        person.expect("demo-trading-ltd> ")
        assert person.speed() == speed
        person.type("show status\r")
        person.expect(r"lines +4 exchange lines")
        person.type("configure\r")
        person.expect(r"demo-trading-ltd\(config\)# ")
        person.type("exit\r")
        person.expect("demo-trading-ltd> ")
        person.type("exit\r")
        person.expect("Password: ")
    finally:
        journal = stop(proc)
    assert login.verify(PASSWORD, login.load(place / "console.passwd"))
    assert "console password set on " in journal and "console logout on" in journal
    assert PASSWORD not in journal and PASSWORD not in person.seen.decode("utf-8", "replace")


def test_wrong_password_waits_and_is_logged_with_the_port(place, person, box):
    login.save(place / "console.passwd", login.hash_password(PASSWORD))
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
        person.expect("demo-trading-ltd> ")
    finally:
        journal = stop(proc)
    fails = [ln for ln in journal.splitlines() if "login failed" in ln]
    assert len(fails) == 2, journal
    assert f"on {os.path.basename(person.path)} at " in fails[0] and "1 in a row" in fails[0]
    assert "guess" not in journal and "typed-during" not in journal


def test_long_output_is_paged_and_help_and_completion_come_from_the_box(place, person, box):
    proc = console(person, place / "control.sock", place / "console.passwd")
    try:
        first_login(person)
        person.expect("demo-trading-ltd> ")
        person.type("show running-config\r")
        shown = person.expect("--More--")
        assert shown.split("show running-config\r\n")[1].count("\r\n") == 23   # 24 rows: 23 and --More--
        person.type(" ")
        person.expect("--More--")
        person.type("\r")
        person.expect("--More--")
        person.type("q")
        person.expect("demo-trading-ltd> ")
        person.type("sh?")
        person.expect("show +what the box is doing")
        person.expect("demo-trading-ltd> sh")
        person.type("\t")
        person.expect("ow ")
        person.type("c\t")
        person.expect("calls +channels +clock +commits")
        person.type("\x15show status\r")
        person.expect(r"lines +4 exchange lines")
    finally:
        stop(proc)


def test_the_box_not_running_keeps_the_session_and_it_comes_back(place, person):
    proc = console(person, place / "control.sock", place / "console.passwd")
    box = None
    try:
        first_login(person)
        person.expect("the box is not running")
        person.expect(r"\(no box\)> ")
        person.type("show status\r")
        person.expect("trying again every 5 s")
        box = start_box(place)
        person.expect("the box is running again", timeout=15)
        person.expect("demo-trading-ltd> ")
        person.type("show status\r")
        person.expect(r"lines +4 exchange lines")
        stop_box(box)
        person.expect("the box closed the connection; trying again", timeout=15)
        box = start_box(place)
        person.expect("the box is running again", timeout=15)
        person.type("show status\r")
        person.expect(r"lines +4 exchange lines")
    finally:
        stop(proc)
        if box:
            stop_box(box)


def test_idle_logs_out(place, person, box):
    proc = console(person, place / "control.sock", place / "console.passwd", "--idle", "0.02")
    try:
        first_login(person)
        person.expect("demo-trading-ltd> ")
        person.expect(r"idle for 0.02 min: logged out", timeout=10)
        person.expect("Password: ")
    finally:
        journal = stop(proc)
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


def test_a_local_console_without_a_terminal_reads_lines(place, box):
    login.save(place / "console.passwd", login.hash_password(PASSWORD))
    out = subprocess.run([sys.executable, "-m", "appliance.cli", "console", "--local",
                          "--control", str(place / "control.sock"), "--password-file", str(place / "console.passwd")],
                         input=f"{PASSWORD}\nshow status\nshow ?\nstatus\n", capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\r" not in out.stdout
    assert "the box at a glance" in out.stdout and "demo-trading-ltd> show office " in out.stdout
    assert out.stdout.count("4 exchange lines") == 2      # the line kept after `?` ran with the next one
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


def test_the_console_looks_for_the_socket_where_the_box_makes_it(monkeypatch):
    """One rule for both ends (control.default_path): the console finds the box's socket
    with no --control given."""
    from appliance import control
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/appliance")
    assert control.default_path() == "/run/appliance/control.sock"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    if not os.access("/run/appliance", os.W_OK) and not os.access("/run", os.W_OK):
        assert control.default_path() == "/run/user/1000/appliance/control.sock"


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
