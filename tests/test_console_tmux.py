"""The console as a new installer meets it: `appliance console --local` in a tmux window
against the box running on the simulated board, driven key by key from the first start
to a committed change of the greeting, which the next caller then hears. The README's
console session is this test's screen."""
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from console_link import box_says, start_box, stop_box


README = Path(__file__).resolve().parent.parent / "README.md"
GREETING = "Hello, and welcome to Demo Trading."
PASSWORD = "pass-for-the-office"
SHOWN_AS = "/srv/office"      # the test's temporary directory, as the README shows it


class Window:
    """A tmux server of the test's own (its socket in the test's directory) with one
    80x24 window."""

    def __init__(self, command, socket):
        self.tmux = ["tmux", "-S", str(socket), "-f", "/dev/null"]
        subprocess.run(self.tmux + ["new-session", "-d", "-s", "w", "-x", "80", "-y", "24", command], check=True)

    def type(self, text):
        subprocess.run(self.tmux + ["send-keys", "-t", "w", "-l", text], check=True)
        subprocess.run(self.tmux + ["send-keys", "-t", "w", "Enter"], check=True)

    def screen(self):
        out = subprocess.run(self.tmux + ["capture-pane", "-p", "-J", "-S", "-", "-t", "w"],
                             capture_output=True, text=True, check=True).stdout
        return [line.rstrip() for line in out.rstrip("\n").split("\n")]

    def wait(self, pattern, timeout=30.0):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if any(rx.search(line) for line in lines[-8:]):
                return
            if time.monotonic() > end:
                raise AssertionError(f"no {pattern!r} in the window; it shows:\n" + "\n".join(lines[-24:]))
            time.sleep(0.1)

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True)


def readme_session():
    text = README.read_text()
    m = re.search(r"## The console\n.*?```text\n(.*?)```", text, re.S)
    assert m, "README.md has no console session under '## The console'"
    return m.group(1).rstrip("\n").split("\n")


@pytest.fixture
def place():
    d = Path(tempfile.mkdtemp(prefix="tmux-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_new_installer_logs_in_and_changes_the_greeting(place):
    assert shutil.which("tmux"), "tmux is missing: tools/install-deps installs it"
    box = start_box(place)
    try:
        screen, heard = session_of(place, box)
    finally:
        stop_box(box)
    assert heard.endswith(GREETING)
    check_session(place, screen)

def session_of(place, box):
    """The console's whole screen, typed as a new installer would; what the next caller hears."""
    console = (f"{sys.executable} -m appliance.cli console --local --control {place}/control.sock "
               f"--password-file {place}/console.passwd; sleep 60")
    w = Window(f"cd {place} && {console}", place / "tmux.sock")
    try:
        w.wait("New password:$")
        w.type(PASSWORD)
        w.wait("Again:$")
        w.type(PASSWORD)
        w.wait(r"^demo-trading-ltd>$")
        w.type("show status")
        w.wait(r"^call log ")
        w.type("configure")
        w.wait(r"\(config\)#$")
        w.type(f'set prompts.welcome.en "{GREETING}"')
        w.wait(r"\(config\*\)#$")
        w.type("show compare")
        w.wait(r"\(config\*\)#$")
        w.type("commit")
        w.wait(r"\(config\)#$")
        w.type("exit")
        w.wait(r"\(unsaved\)>$")
        w.type("show running-config prompts.welcome")
        w.wait(r"^prompts.welcome.uk")
        w.type("exit")
        w.wait(r"^bye$")
        screen = w.screen()
    finally:
        w.close()
    box.stdin.write("hours open\ntest call line1 0501234567\n")
    box.stdin.flush()
    return screen, box_says(place, r"line1: caller hears welcome \[en\]: .*")


def check_session(place, screen):
    """The screen as the README shows it, and what it must hold."""
    session = [line.replace(str(place), SHOWN_AS) for line in screen]
    session = [re.sub(r"up \d+h\d\d", "up 0h00", re.sub(r"on pts/\d+", "on pts/0", line)) for line in session]
    while session and not session[-1]:
        session.pop()
    assert PASSWORD not in "\n".join(session)
    assert '- prompts.welcome.en = "Thank you for calling Demo Trading."' in session
    assert f'+ prompts.welcome.en = "{GREETING}"' in session
    assert f'prompts.welcome.en = "{GREETING}"' in session
    assert any(line.startswith("committed") for line in session)
    assert session == readme_session(), "README.md's console session is not what the console shows now:\n" + \
        "\n".join(session)
