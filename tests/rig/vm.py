"""The test rig: the firmware image (build/image, `make image`) booted under qemu, with a
root shell on its second serial port and its first one, the installer's console, at
hand.

Rules:
  - qemu-system-x86_64 with TCG (KVM hangs at boot on this machine kind), 2 vCPUs,
    1 GiB, no network device, no screen; the image's kernel and initrd, its command
    line (build/image/cmdline) plus appliance.rig=1, which starts the root shell on
    ttyS1 (board/image/overlay/.../rig-shell.service). qemu ends with the guest.
  - ttyS0 (the kernel's console and the installer's) and ttyS1 (the shell) are qemu
    socket character devices on 127.0.0.1, reached with pyserial's socket:// URL; qemu
    waits for both before the guest starts, so nothing the guest says is lost.
  - ttyS0 is read all the time into a buffer (and build/rig/ttyS0.log): a guest whose
    console nobody reads would stall. `console` waits for patterns in it and writes.
  - sh(): the command travels base64-encoded (any bytes, any length, in chunks the
    guest acknowledges), runs under /bin/sh with standard input from /dev/null, and
    its output (standard output and error together) comes back base64-encoded between
    two markers unique to the call, the exit status in the second; the marker text
    never appears in what is sent, so an echo of it cannot be taken for an answer.
  - Timeouts are safety limits for a hung guest, generous; they measure no speed.
    RigError says what did not come, with the end of the console's log.
  - qemu is killed at the end whatever happened (close(), or the context manager).
  - held_up() stops the whole guest now and then, as a busy host does: its clock runs
    on meanwhile, so the guest's timers (DAHDI's among them) catch up in bursts.
"""
from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional, Tuple, Union

import serial

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "build" / "image"
LOGS = REPO / "build" / "rig"
BOOT_LIMIT = 600.0        # a hung guest, not a slow one (a TCG boot takes well under a minute)
COMMAND_LIMIT = 600.0
CHUNK = 2048              # base64 characters a line when a command or file is sent in parts
READY = b"rig-shell-ready"
# What the rig measured, for the end of the run: "what" -> seconds.
TIMES: dict = {}


class RigError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(image: Path, ports: Tuple[int, int], rig: bool = True, extra_cmdline: str = "") -> list:
    """qemu's arguments; rig=False boots the image as a product, without the rig's shell."""
    cmdline = " ".join(filter(None, [(image / "cmdline").read_text().strip(), "appliance.rig=1" if rig else "",
                                     extra_cmdline]))
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-smp", "2", "-m", "1024",
            "-nodefaults", "-display", "none", "-no-reboot", "-nic", "none",
            "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"), "-append", cmdline]
    for i, port in enumerate(ports):
        argv += ["-chardev", f"socket,id=s{i},host=127.0.0.1,port={port},server=on,wait=on",
                 "-serial", f"chardev:s{i}"]
    return argv


class Console:
    """The guest's first serial port: everything it said, and what is typed to it."""

    def __init__(self, port: serial.SerialBase, log: Path):
        self.port = port
        self.data = bytearray()
        self.pos = 0
        self._arrivals = []        # (length of data after a read, monotonic time of it)
        self._cond = threading.Condition()
        self._log = open(log, "wb")
        self._closed = False
        self._thread = threading.Thread(target=self._read, name="ttyS0", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                got = self.port.read(65536)
            except (serial.SerialException, OSError, TypeError, AttributeError):
                break
            if got:
                self._log.write(got)
                self._log.flush()
                with self._cond:
                    self.data += got
                    self._arrivals.append((len(self.data), time.monotonic()))
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def expect(self, pattern: Union[bytes, "re.Pattern[bytes]"], timeout: float = BOOT_LIMIT) -> "re.Match[bytes]":
        """The first match of the pattern in what came after the last match; waits for it."""
        rx = re.compile(pattern, re.S) if isinstance(pattern, bytes) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.data, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise RigError(f"ttyS0 never showed {rx.pattern!r} ({'port closed' if self._closed else f'{timeout:.0f} s'}); "
                                   f"its last lines:\n{self.tail()}")
                self._cond.wait(min(left, 1.0))

    def arrived(self, pos: int) -> float:
        """The monotonic time at which the byte at pos came."""
        with self._cond:
            return next(t for end, t in self._arrivals if end > pos)

    def text(self) -> str:
        with self._cond:
            return self.data.decode("utf-8", "replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=5)
        self._log.close()


class Rig:
    """One boot of the image. `with Rig() as rig:` boots it and waits for the shell."""

    def __init__(self, image: Path = IMAGE, logs: Path = LOGS, rig: bool = True, extra_cmdline: str = ""):
        for name in ("vmlinuz", "initrd.img", "cmdline"):
            if not (image / name).is_file():
                raise RigError(f"{image / name}: missing; build the image first (make image)")
        if shutil.which("qemu-system-x86_64") is None:
            raise RigError("qemu-system-x86_64 is missing (sh tools/install-deps image)")
        self.image = image
        self.logs = logs
        self.rig = rig
        self.extra_cmdline = extra_cmdline
        self.qemu: Optional[subprocess.Popen] = None
        self.console: Optional[Console] = None
        self.shell: Optional[serial.SerialBase] = None
        self._shell_buf = bytearray()
        self.boot_seconds: Optional[float] = None

    # -- starting and stopping -----------------------------------------------------------

    def __enter__(self) -> "Rig":
        try:
            self.start()
            if self.rig:
                self.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        ports = (free_port(), free_port())
        self._qemu_log = open(self.logs / "qemu.log", "wb")
        self.qemu = subprocess.Popen(qemu_command(self.image, ports, self.rig, self.extra_cmdline), stdin=subprocess.DEVNULL,
                                     stdout=self._qemu_log, stderr=subprocess.STDOUT)
        self._started = time.monotonic()
        # qemu listens on the first port, then (once that is connected) on the second.
        con = self._connect(ports[0])
        self.console = Console(con, self.logs / "ttyS0.log")
        self.shell = self._connect(ports[1])

    def _connect(self, port: int) -> serial.SerialBase:
        deadline = time.monotonic() + 60
        while True:
            try:
                return serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=0.05)
            except serial.SerialException:
                if self.qemu.poll() is not None:
                    raise RigError(f"qemu ended (status {self.qemu.returncode}): {self.qemu_log()}") from None
                if time.monotonic() > deadline:
                    raise RigError(f"qemu never listened on 127.0.0.1:{port}") from None
                time.sleep(0.1)

    def qemu_log(self) -> str:
        try:
            return (self.logs / "qemu.log").read_text(errors="replace").strip()
        except OSError:
            return ""

    def shell_output(self) -> bytes:
        """What the guest has sent on ttyS1 so far (nothing, on a product boot)."""
        self._shell_buf += self.shell.read(65536)
        return bytes(self._shell_buf)

    def seconds(self, at: Optional[float] = None) -> float:
        """Since qemu started, until now or the monotonic time given."""
        return (time.monotonic() if at is None else at) - self._started

    @contextlib.contextmanager
    def held_up(self, hold: float = 0.15, every: float = 0.4):
        """qemu stopped for `hold` seconds of every `every` while the block runs."""
        done = threading.Event()

        def stop_and_go() -> None:
            while not done.is_set():
                self.qemu.send_signal(signal.SIGSTOP)
                try:
                    time.sleep(hold)
                finally:
                    self.qemu.send_signal(signal.SIGCONT)
                done.wait(every - hold)

        t = threading.Thread(target=stop_and_go, daemon=True)
        t.start()
        try:
            yield
        finally:
            done.set()
            t.join()

    def wait_ready(self, timeout: float = BOOT_LIMIT) -> float:
        """Until the rig's shell answers; the seconds since qemu started."""
        self._read_shell_until(re.compile(re.escape(READY)), timeout, "the rig's shell to start")
        self.sh("true", timeout=timeout)
        self.boot_seconds = time.monotonic() - self._started
        return self.boot_seconds

    def shutdown(self, timeout: float = 120) -> bool:
        """Powers the guest off from the rig's shell; True when qemu ended by itself. A
        product boot has no shell: its qemu is killed (nothing of it is kept anyway)."""
        if self.qemu is None or self.qemu.poll() is not None:
            return True
        if not self.rig:
            return False
        try:
            began = time.monotonic()
            self.shell.write(b"systemctl poweroff\n")
            self.qemu.wait(timeout=timeout)
            TIMES["power-off"] = time.monotonic() - began
            return True
        except (serial.SerialException, OSError, subprocess.TimeoutExpired):
            return False

    def close(self) -> None:
        if self.qemu is not None and self.qemu.poll() is None:
            self.shutdown()
        if self.qemu is not None and self.qemu.poll() is None:
            self.qemu.kill()
            self.qemu.wait()
        for port in (self.shell,):
            if port is not None:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass
        if self.console is not None:
            try:
                self.console.port.close()
            except (serial.SerialException, OSError):
                pass
            self.console.close()
        if getattr(self, "_qemu_log", None):
            self._qemu_log.close()

    # -- the shell -----------------------------------------------------------------------

    def _read_shell_until(self, rx: "re.Pattern[bytes]", timeout: float, what: str) -> "re.Match[bytes]":
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self._shell_buf)
            if m:
                return m
            if self.qemu.poll() is not None:
                raise RigError(f"qemu ended (status {self.qemu.returncode}) while waiting for {what}; "
                               f"ttyS0's last lines:\n{self.console.tail()}")
            if time.monotonic() > deadline:
                raise RigError(f"no {what} within {timeout:.0f} s; ttyS0's last lines:\n{self.console.tail()}")
            self._shell_buf += self.shell.read(65536)

    def _send_lines(self, lines) -> None:
        for line in lines:
            self.shell.write(line.encode("ascii") + b"\n")

    def _upload(self, data: bytes, path: str, timeout: float) -> None:
        """data into the guest's file path, in base64 lines the guest acknowledges."""
        text = base64.b64encode(data).decode("ascii")
        token = secrets.token_hex(8)
        parts = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        self._send_lines([f": > {path}.b64"])
        for n, part in enumerate(parts):
            self._send_lines([f"printf %s '{part}' >> {path}.b64 && printf '%s-%s\\n' {token} {n}"])
            self._read_shell_until(re.compile(re.escape(f"{token}-{n}\n".encode())), timeout, "an acknowledgement")
            self._shell_buf.clear()
        self._send_lines([f"base64 -d {path}.b64 > {path} && rm -f {path}.b64"])

    def sh(self, command: str, timeout: float = COMMAND_LIMIT, check: bool = False) -> Tuple[int, str]:
        """(exit status, output) of the command run by the guest's /bin/sh as root."""
        token = secrets.token_hex(8)
        self._shell_buf.clear()
        self._send_lines(["mkdir -p /run/rig"])
        encoded = base64.b64encode(command.encode("utf-8")).decode("ascii")
        if len(encoded) <= CHUNK:
            self._send_lines([f"echo {encoded} | base64 -d > /run/rig/cmd"])
        else:
            self._upload(command.encode("utf-8"), "/run/rig/cmd", timeout)
        self._send_lines([f"sh /run/rig/cmd < /dev/null > /run/rig/out 2>&1; rc=$?; printf '%s-%s\\n' {token} begin; "
                          f"base64 /run/rig/out; printf '%s-%s %s\\n' {token} end $rc"])
        rx = re.compile(re.escape(f"{token}-begin\n".encode()) + rb"(.*?)" + re.escape(f"{token}-end ".encode())
                        + rb"(\d+)\n", re.S)
        m = self._read_shell_until(rx, timeout, f"end of {command[:60]!r}")
        output = base64.b64decode(re.sub(rb"\s", b"", m.group(1))).decode("utf-8", "replace")
        status = int(m.group(2))
        self._shell_buf = self._shell_buf[m.end():]
        if check and status != 0:
            raise RigError(f"{command!r} exited {status}:\n{output}")
        return status, output

    def put(self, path: str, data: bytes, mode: int = 0o644, timeout: float = COMMAND_LIMIT) -> None:
        """A file in the guest, written whole."""
        self._shell_buf.clear()
        self._send_lines(["mkdir -p /run/rig"])
        self._upload(data, "/run/rig/put", timeout)
        self.sh(f"install -D -m {mode:o} /run/rig/put '{path}' && rm -f /run/rig/put", timeout=timeout, check=True)
