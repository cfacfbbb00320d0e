"""The box as a systemd service: its units pass `systemd-analyze verify` as installed, and
the supervisor under a real systemd is ready once its cards are up, pings its watchdog,
is restarted when killed or hung, and answers calls again after each restart.

This machine's PID 1 is not systemd, so the tests boot Debian's own systemd as PID 1 of a
private PID and mount namespace. In it /etc, /usr/local and /var are copies made for the
test (so the service's user, its directories and the installed units go nowhere else)
and /run is fresh; everything else is the machine's own: the kernel, its cgroups (the
device policy is enforced by them), the Python the box runs on. The units are the
installed ones, unchanged, but for one drop-in that gives the box's console a FIFO and a
file instead of nothing and the journal (there is no journald here), so the test can
place calls on it and read what the box says. The unit set is the installed units plus
empty stand-ins for the boot targets (sysinit.target, basic.target...), not the machine's
own, which would start its services in the namespace.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance import notify

REPO = Path(__file__).resolve().parent.parent
COMMAND = REPO / ".venv" / "bin" / "appliance"
UNITS = ["appliance.service", "appliance-console@.service", "dahdi.service"]

# The namespace: the test's copies mounted over the machine's, then the command.
ENTER = r'''
set -eu
root=$1; shift
mount --make-rprivate /
mount --bind "$root/etc" /etc
mount --bind "$root/usr/local" /usr/local
mount --bind "$root/var" /var
mount -t tmpfs -o mode=0755 tmpfs /run
exec "$@"
'''

BOOT_TARGETS = ["sysinit.target", "basic.target", "sockets.target", "paths.target", "timers.target",
                "local-fs.target", "shutdown.target", "multi-user.target", "getty.target"]


def unit_value(text: str, key: str) -> str:
    """A key's value in a unit file's text (the last, as systemd takes it)."""
    values = re.findall(rf"^{key}=(.*)$", text, re.M)
    assert values, key
    return values[-1].strip()


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|min)?", value)
    assert m, value
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "min": 60}[m.group(2)]


@pytest.fixture
def root(tmp_path):
    """A root for the namespace: a copy of /etc without DAHDI's span configuration (no
    cards here: dahdi.service's condition keeps it from running), empty /usr/local, /var."""
    r = tmp_path / "root"
    (r / "usr" / "local").mkdir(parents=True)
    for d in ("lib", "cache", "log"):
        (r / "var" / d).mkdir(parents=True)
    (r / "var" / "tmp").mkdir(mode=0o1777)
    os.chmod(r / "var" / "tmp", 0o1777)
    subprocess.run(["cp", "-a", "/etc", str(r / "etc")], check=True)
    (r / "etc" / "dahdi" / "system.conf").unlink(missing_ok=True)
    return r


def inside(root: Path, *argv: str, pid: bool = False, **kw) -> subprocess.CompletedProcess:
    ns = ["unshare", "--mount"] + (["--pid", "--fork", "--mount-proc"] if pid else [])
    return subprocess.run(ns + ["sh", "-c", ENTER, "sh", str(root), *argv], **kw)


def install(root: Path) -> None:
    r = inside(root, "sh", str(REPO / "tools" / "install-units"), str(COMMAND),
               capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# -- the units -----------------------------------------------------------------------

def test_units_pass_systemd_analyze_verify_as_installed(root):
    install(root)
    r = inside(root, "systemd-analyze", "verify", "/etc/systemd/system/appliance.service",
               "/etc/systemd/system/appliance-console@ttyS0.service", "/etc/systemd/system/dahdi.service",
               capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


def test_verify_finds_a_unit_that_runs_nothing(root):
    """The check above can fail: the same units, the command not installed, are refused."""
    install(root)
    (root / "usr" / "local" / "bin" / "appliance").unlink()
    r = inside(root, "systemd-analyze", "verify", "/etc/systemd/system/appliance.service",
               capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "/usr/local/bin/appliance is not executable" in r.stderr


def test_install_into_a_root_being_built(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}"], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    for unit in UNITS:
        assert (dest / "etc/systemd/system" / unit).read_bytes() == (REPO / "systemd" / unit).read_bytes()
    assert (dest / "etc/sysusers.d/appliance.conf").is_file()
    assert (dest / "etc/tmpfiles.d/appliance.conf").is_file()
    assert (dest / "etc/udev/rules.d/61-appliance-dahdi.rules").is_file()
    assert os.readlink(dest / "usr/local/bin/appliance") == str(COMMAND)


def test_install_refuses_a_missing_command(tmp_path):
    r = subprocess.run(["sh", "tools/install-units", str(tmp_path / "nothing")], cwd=REPO,
                       env={**os.environ, "DESTDIR": str(tmp_path)}, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"tools/install-units: {tmp_path / 'nothing'}: not an executable command " \
                               "(run 'make build' first)"


def test_the_service_user_can_reach_serial_ports_and_dahdi(root):
    """sysusers puts the user in dialout, the group of the serial ports and (by the
    project's udev rule) of DAHDI's channels."""
    install(root)
    group = (root / "etc" / "group").read_text()
    assert re.search(r"^dialout:x:\d+:(.*,)?appliance(,|$)", group, re.M), group
    rules = (REPO / "systemd" / "61-appliance-dahdi.rules").read_text()
    assert 'SUBSYSTEM=="dahdi", OWNER="root", GROUP="dialout", MODE="0660"' in rules
    unit = (REPO / "systemd" / "appliance.service").read_text()
    assert not re.search(r"^PrivateDevices=", unit, re.M)
    assert {"char-dahdi rw", "char-ttyS rw", "char-ttyUSB rw"} <= set(re.findall(r"^DeviceAllow=(.*)$", unit, re.M))


# -- sd_notify on a real socket --------------------------------------------------------

def listen(name: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(notify.address(name))
    return s


def received(sock: socket.socket, until: float):
    """(monotonic time, fields) of each datagram until STOPPING or the time given."""
    got = []
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return got
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return got
        fields = dict(line.split("=", 1) for line in data.decode().splitlines())
        got.append((time.monotonic(), fields))
        if "STOPPING" in fields:
            return got


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_appliance_run_tells_systemd_ready_alive_and_stopping(tmp_path, kind):
    name = str(tmp_path / "notify") if kind == "path" else f"@appliance-test-{os.getpid()}"
    sock = listen(name)
    env = {**os.environ, "NOTIFY_SOCKET": name, "WATCHDOG_USEC": "1000000"}
    p = subprocess.Popen([str(COMMAND), "run", "--for", "5", "--log", str(tmp_path / "calls.db")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env)
    try:
        got = received(sock, time.monotonic() + 120)
        p.wait(timeout=30)
    finally:
        p.kill()
        sock.close()
    # The box speaks before its first frame ("... lines on the simulated board"); READY comes after.
    assert "lines on the simulated board" in p.stdout.read()
    kinds = [next(iter(f)) for _, f in got]
    assert kinds[0] == "READY" and got[0][1]["STATUS"] == "Demo Trading Ltd: 7 lines up"
    assert kinds[-1] == "STOPPING"
    pings = [t for t, f in got if "WATCHDOG" in f]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    # Five seconds at 0.5 s: nine or ten pings, each about half a second after the last.
    assert 8 <= len(pings) <= 11, gaps
    assert all(0.3 < g < 0.8 for g in gaps), gaps
    assert set(kinds) == {"READY", "WATCHDOG", "STOPPING"}


def test_no_notify_socket_no_messages_and_no_failure(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    r = subprocess.run([str(COMMAND), "run", "--for", "1", "--fast", "--log", str(tmp_path / "calls.db")],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr


def test_a_hung_loop_stops_pinging(tmp_path):
    """Pings come from the frames: a clock that stands still sends none."""
    sock = listen(str(tmp_path / "notify"))
    now = [0.0]
    n = notify.Notifier(str(tmp_path / "notify"), 0.5, clock=lambda: now[0])
    n.frame(20, lambda: "up")
    for ms in range(40, 2000, 20):
        now[0] = ms / 1000
        n.frame(ms, lambda: "up")
    assert n.pings == 4           # at 0.5, 1.0, 1.5 s and 2.0 s of the loop's time
    for _ in range(100):          # the loop turns but the engine's clock is stuck at 1.98 s
        now[0] += 0.1
        n.frame(1980, lambda: "up")
    # The frames up to 1.98 s earn one ping more; then ten seconds without one.
    assert n.pings == 5
    got = received(sock, time.monotonic() + 0.2)
    assert [next(iter(f)) for _, f in got] == ["READY"] + ["WATCHDOG"] * 5
    sock.close()


def test_watchdog_interval_from_the_environment():
    assert notify.watchdog_interval({"WATCHDOG_USEC": "10000000"}, 42) == 5.0
    assert notify.watchdog_interval({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "42"}, 42) == 5.0
    assert notify.watchdog_interval({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "43"}, 42) is None
    assert notify.watchdog_interval({"WATCHDOG_USEC": "0"}, 42) is None
    assert notify.watchdog_interval({"WATCHDOG_USEC": "soon"}, 42) is None
    assert notify.watchdog_interval({}, 42) is None
    assert notify.address("@x") == "\0x" and notify.address("/run/x") == "/run/x"


def test_a_manager_gone_is_not_the_box_failing(tmp_path):
    n = notify.Notifier(str(tmp_path / "nobody-listens"), 0.5)
    assert n.send(READY="1") is False
    n.frame(20, lambda: "up")
    n.stopping("bye")
    assert notify.Notifier(None, 0.5).send(READY="1") is False
