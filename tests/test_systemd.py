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
from appliance.calllog import CallLog

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


# The service cannot see a home directory (the unit's ProtectHome=) nor the host's /tmp
# (PrivateTmp=), where a developer's checkout and its virtual environment may be: on the
# box the firmware is installed under /usr. So the command the units run here is a
# virtual environment of Debian's python3 in /usr/local of the namespace, with copies of
# the appliance package (its engine extension is abi3) and of what it imports at run
# time (RUNTIME), wherever the checkout is.
DEBIAN_COMMAND = "/usr/local/lib/appliance/bin/appliance"
RUNTIME = ("numpy", "numpy.libs", "cffi", "pycparser", "serial", "tzdata", "_cffi_backend.*.so")
MAKE_COMMAND = r'''
set -eu
packages=$1; repo=$2; shift 2
/usr/bin/python3 -m venv --without-pip /usr/local/lib/appliance
site=$(/usr/local/lib/appliance/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
for p in "$@"; do
    for f in "$packages"/$p; do if [ -e "$f" ]; then cp -a "$f" "$site/"; fi; done
done
cp -a "$repo/appliance" "$site/appliance"
printf '#!/usr/local/lib/appliance/bin/python\nimport sys\nfrom appliance.cli import main\nsys.exit(main())\n' \
    > /usr/local/lib/appliance/bin/appliance
chmod 0755 /usr/local/lib/appliance/bin/appliance
'''


def install_for_the_service(root: Path) -> None:
    packages = sorted((REPO / ".venv" / "lib").glob("python3.*/site-packages"))
    assert packages, "no virtual environment: run make build"
    version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert packages[0].parent.name == version, f"the checkout is on {packages[0].parent.name}, Debian's is {version}"
    r = inside(root, "sh", "-c", MAKE_COMMAND, "sh", str(packages[0]), str(REPO), *RUNTIME,
               capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = inside(root, "sh", str(REPO / "tools" / "install-units"), DEBIAN_COMMAND,
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


def test_install_into_a_root_that_has_its_command_already(tmp_path):
    """A firmware's root has the appliance installed at /usr/local/bin/appliance: the
    units go in beside it, and the command stays as it was (not a link to itself)."""
    command = tmp_path / "usr/local/bin/appliance"
    command.parent.mkdir(parents=True)
    command.write_text("#!/usr/bin/python3\nimport sys\nfrom appliance.cli import main\nsys.exit(main())\n")
    command.chmod(0o755)
    r = subprocess.run(["sh", "tools/install-units", "/usr/local/bin/appliance"], cwd=REPO,
                       env={**os.environ, "DESTDIR": str(tmp_path)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not command.is_symlink()
    assert command.read_text().startswith("#!/usr/bin/python3\n") and os.access(command, os.X_OK)
    for unit in UNITS:
        assert (tmp_path / "etc/systemd/system" / unit).is_file()


def test_units_sharing_the_state_directory_give_it_one_mode():
    """systemd sets a StateDirectory='s mode each time a unit using it starts: two units
    with different modes would leave it as the last one started wants."""
    modes = {}
    for unit in ("appliance.service", "appliance-console@.service"):
        text = (REPO / "systemd" / unit).read_text()
        assert unit_value(text, "StateDirectory") == "appliance"
        modes[unit] = unit_value(text, "StateDirectoryMode")
    assert set(modes.values()) == {"0750"}, modes


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


# -- the supervisor under a real systemd -------------------------------------------------

class Manager:
    """Debian's systemd as PID 1 of a namespace over the test's root, with the installed
    units; systemctl reaches it through the namespace."""

    def __init__(self, root: Path, work: Path):
        self.root, self.work = root, work
        self.fifo = work / "console.fifo"
        self.out = work / "box.out"
        units = work / "boot"
        units.mkdir()
        for target in BOOT_TARGETS:
            (units / target).write_text("[Unit]\nDescription=stand-in for the boot's %N\n")
        (units / "appliance-test.target").write_text(
            "[Unit]\nDescription=the box alone\nWants=appliance.service\nAfter=appliance.service\n")
        os.mkfifo(self.fifo)
        # Held open for reading and writing: the box's console never sees EOF, and lines
        # written while it restarts wait in the pipe.
        self.console = os.open(self.fifo, os.O_RDWR)
        dropin = root / "etc" / "systemd" / "system" / "appliance.service.d"
        dropin.mkdir()
        # This machine has no cards: the unit's box runs on the simulated board here,
        # under the same supervision as on DAHDI's.
        (dropin / "console.conf").write_text(
            f"[Service]\nStandardInput=file:{self.fifo}\nStandardOutput=append:{self.out}\n"
            f"StandardError=append:{self.out}\nExecStart=\n"
            "ExecStart=/usr/local/bin/appliance run --board sim --config /etc/appliance/office.toml\n")
        shutil.copy(REPO / "appliance" / "demo-office.toml", root / "etc" / "appliance" / "office.toml")
        self.cgroups_before = set(cgroups())
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "container": "appliance-test",
               "SYSTEMD_UNIT_PATH": f"{units}:/etc/systemd/system"}
        self.log = open(work / "systemd.log", "w")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", ENTER, "sh", str(root),
             "/lib/systemd/systemd", "--system", "--unit=appliance-test.target", "--log-target=console"],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid1 = self._first_child(self.proc.pid)
        deadline = time.monotonic() + 30
        while self.ctl("show", "--property=Version", check=False) == "":
            assert time.monotonic() < deadline, "systemd in the namespace does not answer systemctl"
            time.sleep(0.1)

    @staticmethod
    def _first_child(pid: int) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise AssertionError("systemd did not start in the namespace")

    def ctl(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(["nsenter", "-t", str(self.pid1), "-m", "-p", "systemctl", "--no-pager", *args],
                           capture_output=True, text=True, timeout=60)
        assert not check or r.returncode == 0, r.stderr
        return r.stdout

    def show(self, *props: str) -> dict:
        text = self.ctl("show", "appliance.service", *[f"--property={p}" for p in props])
        return dict(line.split("=", 1) for line in text.splitlines())

    def wait(self, what: str, test, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.show("ActiveState", "SubState", "MainPID", "NRestarts", "Result",
                              "WatchdogTimestampMonotonic")
            if test(state):
                return state
            assert time.monotonic() < deadline, f"{what}: still {state}\n{self.said()}"
            time.sleep(0.1)

    def type(self, text: str) -> None:
        os.write(self.console, text.encode())

    def said(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def close(self) -> None:
        # Killing a PID namespace's first process ends every process in it.
        try:
            os.kill(self.pid1, 9)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        os.close(self.console)
        self.log.close()
        # The machine's cgroup trees are shared: what this systemd made there goes with it.
        for d in sorted(set(cgroups()) - self.cgroups_before, key=lambda d: -len(d.parts)):
            try:
                d.rmdir()
            except OSError:
                pass


def cgroups():
    return [d for tree in Path("/sys/fs/cgroup").iterdir() if tree.is_dir() for d in tree.rglob("*") if d.is_dir()]


def started(m: Manager, before: dict, what: str, timeout: float = 120) -> dict:
    """The box started again (a new main process), and ready: systemd has its READY."""
    return m.wait(what, lambda s: s["ActiveState"] == "active" and s["MainPID"] not in ("0", before.get("MainPID")),
                  timeout)


def answers_a_call(m: Manager, number: str) -> None:
    """A test call on line1 through the box's console: rung, its caller ID read, answered
    and greeted by the menu."""
    mark = len(m.said())
    m.type(f"hours open\ncall line1 {number}\n")
    deadline = time.monotonic() + 60
    while "line1: caller hears welcome" not in m.said()[mark:]:
        assert time.monotonic() < deadline, m.said()[mark:]
        time.sleep(0.2)
    assert f"line1: caller ID {number}" in m.said()[mark:]


def kill(m: Manager, pid: str, signal_name: str) -> None:
    subprocess.run(["nsenter", "-t", str(m.pid1), "-p", "-m", "kill", f"-{signal_name}", pid], check=True)


def test_the_supervisor_killed_or_hung_is_back_answering_calls(root, tmp_path):
    unit = (REPO / "systemd" / "appliance.service").read_text()
    watchdog = seconds(unit_value(unit, "WatchdogSec"))
    restart = seconds(unit_value(unit, "RestartSec"))
    assert unit_value(unit, "Type") == "notify" and unit_value(unit, "Restart") == "always"
    assert "--board dahdi" in unit_value(unit, "ExecStart")
    install_for_the_service(root)
    work = tmp_path / "work"
    work.mkdir()
    m = Manager(root, work)
    try:
        first = started(m, {}, "the first start")
        status = m.ctl("show", "appliance.service", "--property=StatusText", "--value").strip()
        assert status == "Demo Trading Ltd: 7 lines up"
        # RuntimeDirectory= is where the consoles find the box (appliance-console@.service).
        assert "consoles connect at /run/appliance/control.sock" in m.said(), m.said()
        console_unit = (REPO / "systemd" / "appliance-console@.service").read_text()
        assert "--control /run/appliance/control.sock" in unit_value(console_unit, "ExecStart")

        # The watchdog's pings, as systemd saw them: every half WatchdogSec.
        pings = [int(first["WatchdogTimestampMonotonic"])]
        deadline = time.monotonic() + 3 * watchdog
        while len(pings) < 3:
            assert time.monotonic() < deadline, pings
            now = int(m.show("WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"])
            if now != pings[-1]:
                pings.append(now)
            time.sleep(0.1)
        gaps = [(b - a) / 1e6 for a, b in zip(pings[1:], pings[2:])]
        assert all(0.4 * watchdog <= g <= 0.6 * watchdog for g in gaps), gaps

        # Hardening under the kernel's own device controller: the serial ports reachable.
        allowed = Path(f"/sys/fs/cgroup/devices/system.slice/appliance.service/devices.list").read_text()
        assert "c 4:* rw" in allowed, allowed            # ttyS, major 4
        assert "c 1:3 rwm" in allowed, allowed           # /dev/null
        assert not re.search(r"^b (?!0:0 )", allowed, re.M), allowed   # no disk (0:0 is no device)

        answers_a_call(m, "0501234567")

        # Killed in the middle of that call: systemd starts it again after RestartSec.
        killed_at = time.monotonic()
        kill(m, first["MainPID"], "KILL")
        second = started(m, first, "the restart after a kill")
        assert time.monotonic() - killed_at >= restart
        assert second["NRestarts"] == "1"
        deadline = time.monotonic() + 30
        while "1 call(s) in progress at the last stop closed as interrupted" not in m.said():
            assert time.monotonic() < deadline, m.said()
            time.sleep(0.2)
        answers_a_call(m, "0441112233")

        # Hung (stopped, its loop frozen): no more pings, the watchdog kills it, systemd restarts it.
        kill(m, second["MainPID"], "STOP")
        hung = m.wait("the watchdog's kill", lambda s: s["Result"] == "watchdog", 3 * watchdog)
        assert hung["SubState"] in ("auto-restart", "stop-watchdog", "stop-sigterm", "stop-sigkill", "final-sigterm",
                                    "final-sigkill", "start"), hung
        third = started(m, second, "the restart after the watchdog")
        assert third["NRestarts"] == "2"
        answers_a_call(m, "0672223344")

        # Stopped by systemctl: SIGTERM ends the box as `quit` does, with exit status 0.
        m.ctl("stop", "appliance.service")
        stopped = m.show("ActiveState", "Result", "ExecMainStatus")
        assert stopped == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, stopped
        # One call log in StateDirectory= across the restarts: the calls cut off by the kill
        # and by the watchdog closed as interrupted by the next start.
        with CallLog.open(root / "var" / "lib" / "appliance" / "calls.db") as log:
            calls = sorted(log.calls(), key=lambda c: c.id)
        assert [c.caller for c in calls] == ["0501234567", "0441112233", "0672223344"]
        assert [c.outcome for c in calls[:2]] == ["interrupted", "interrupted"]
    finally:
        m.close()
