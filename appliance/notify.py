"""Telling systemd how the box is: ready, alive, stopping.

Rules:
  - A message is one datagram of `KEY=value` lines to the Unix socket named by
    $NOTIFY_SOCKET: a path, or with a leading '@' a name in the abstract namespace.
    Without $NOTIFY_SOCKET nothing is sent and nothing fails: the box run by hand.
  - READY=1 is said once the cards are up: the board, the engine and the call log open
    and the first frame through the loop, not when the process merely exists.
  - WATCHDOG=1 goes at half of $WATCHDOG_USEC, and only from the box's own loop when
    frames are moving (the engine's clock has advanced since the last ping): a loop that
    hangs stops pinging and systemd kills and restarts the box. $WATCHDOG_PID, when set,
    names the process the watchdog is for; any other process does not ping.
  - STOPPING=1 is said as the loop ends, so systemd knows the stop was the box's own.
  - A message that cannot be sent (socket gone, manager restarting) is dropped: the
    calls on the lines matter more than the manager hearing of them.
"""
from __future__ import annotations

import os
import socket
import time
from typing import Callable, Mapping, Optional


def address(value: str) -> str:
    """The socket address of a $NOTIFY_SOCKET value: '@' is the abstract namespace's
    leading NUL."""
    return "\0" + value[1:] if value.startswith("@") else value


def watchdog_interval(environ: Mapping[str, str], pid: int) -> Optional[float]:
    """Seconds between pings (half the watchdog's timeout), or None when no watchdog is
    asked of this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and (not owner.isdigit() or int(owner) != pid):
        return None
    return int(usec) / 2e6


class Notifier:
    """The box's messages to its service manager; silent when there is none."""

    def __init__(self, socket_name: Optional[str], interval: Optional[float],
                 clock: Callable[[], float] = time.monotonic):
        self.socket_name = socket_name
        self.interval = interval if socket_name else None
        self.clock = clock
        self.ready = False
        self.pings = 0
        self._next_ping = 0.0
        self._last_frame_ms: Optional[int] = None
        self._sock: Optional[socket.socket] = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "Notifier":
        name = environ.get("NOTIFY_SOCKET") or None
        return cls(name, watchdog_interval(environ, os.getpid()))

    def send(self, **fields: str) -> bool:
        """One datagram of the fields, e.g. send(READY="1", STATUS="..."); False when
        there is no manager or it could not be told."""
        if not self.socket_name:
            return False
        text = "".join(f"{k}={v}\n" for k, v in fields.items())
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(text.encode("utf-8"), address(self.socket_name))
        except OSError:
            return False
        return True

    def frame(self, now_ms: int, status: Callable[[], str]) -> None:
        """Called by the loop after each frame with the engine's clock: READY after the
        first, then WATCHDOG=1 whenever half the interval has passed and the clock moved."""
        if not self.socket_name:
            return
        if not self.ready:
            self.ready = True
            self.send(READY="1", STATUS=status())
            self._last_frame_ms = now_ms
            self._next_ping = self.clock()
        if self.interval is None:
            return
        t = self.clock()
        if t < self._next_ping:
            return
        if self._last_frame_ms is not None and now_ms <= self._last_frame_ms:
            return
        self._last_frame_ms = now_ms
        self._next_ping = t + self.interval
        if self.send(WATCHDOG="1"):
            self.pings += 1

    def stopping(self, status: str) -> None:
        self.send(STOPPING="1", STATUS=status)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
