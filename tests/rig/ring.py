"""Run in the rig's guest: the exchange's side of line 1 (channel 3, fxoks) rings the
box's FXO port (channel 1, fxsks) once, through DAHDI's loopback span pair, and what
channel 1 sees is printed as JSON: DAHDI's event numbers in order.

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
RING, RINGOFF = 5, 6
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


def main() -> int:
    ringer, port = int(sys.argv[1]), int(sys.argv[2])
    exchange, box = channel(ringer), channel(port)
    time.sleep(DEBOUNCE)
    hook(exchange, RING)
    seen = []
    deadline = time.monotonic() + LIMIT
    poller = select.poll()
    poller.register(box, select.POLLPRI)
    while EVENT_RINGOFFHOOK not in seen and time.monotonic() < deadline:
        if poller.poll(500):
            got = bytearray(4)
            fcntl.ioctl(box, GETEVENT, got)
            event = struct.unpack("i", got)[0]
            if event:
                seen.append(event)
    hook(exchange, RINGOFF)
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
