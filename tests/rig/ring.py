"""Run in the rig's guest: an fxoks channel (the exchange's side of a line, or the box's
FXS port) rings its partner across DAHDI's loopback span pair, and DAHDI's event numbers
are printed in order as JSON:
  ring.py RINGER WATCHED   what the partner (WATCHED, not in use) sees, until its ring
                           burst ends (RINGOFFHOOK); then the ringing stops
  ring.py RINGER           what the ringer sees until the far end answers (RINGOFFHOOK),
                           the partner being held by the box; then the ringer hangs up

Only Python's standard library: the guest has no DAHDI headers. The ioctl numbers are
DAHDI's user.h (_IOW/_IOR(DAHDI_CODE 0xDA, nr, int)), stable since DAHDI 2.
"""
import errno
import fcntl
import json
import os
import select
import struct
import sys
import time

CODE = 0xDA


def _io(direction: int, nr: int) -> int:
    return (direction << 30) | (struct.calcsize("i") << 16) | (CODE << 8) | nr


SPECIFY = _io(1, 38)
HOOK = _io(1, 7)
GETEVENT = _io(2, 8)
ONHOOK, RING, RINGOFF = 0, 5, 6
EVENT_RINGOFFHOOK, EVENT_RINGBEGIN = 2, 18
# Opening a channel arms DAHDI's ring debounce (2 s): a ring inside it is not seen.
DEBOUNCE = 2.5
LIMIT = 60.0


def channel(number: int) -> int:
    fd = os.open("/dev/dahdi/channel", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, SPECIFY, struct.pack("i", number))
    return fd


def hook(fd: int, what: int) -> None:
    try:
        fcntl.ioctl(fd, HOOK, struct.pack("i", what))
    except OSError as e:
        if e.errno != errno.EINPROGRESS:     # accepted, completes later
            raise


def events(fd: int, until: int) -> list:
    """The channel's events, until the one given (or LIMIT seconds: a hung guest)."""
    seen = []
    deadline = time.monotonic() + LIMIT
    poller = select.poll()
    poller.register(fd, select.POLLPRI)
    while until not in seen and time.monotonic() < deadline:
        if poller.poll(500):
            got = bytearray(4)
            fcntl.ioctl(fd, GETEVENT, got)
            event = struct.unpack("i", got)[0]
            if event:
                seen.append(event)
    return seen


def main() -> int:
    ringer = channel(int(sys.argv[1]))
    watched = channel(int(sys.argv[2])) if len(sys.argv) > 2 else None
    time.sleep(DEBOUNCE)
    hook(ringer, RING)
    if watched is not None:
        seen = events(watched, EVENT_RINGOFFHOOK)
        hook(ringer, RINGOFF)
    else:
        seen = events(ringer, EVENT_RINGOFFHOOK)
        hook(ringer, ONHOOK)
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
