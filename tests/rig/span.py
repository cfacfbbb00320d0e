#!/usr/bin/env python3
"""Takes a DAHDI loopback span down or brings it back, in the guest:

    span.py destroy|create DRIVER ADDRESS CHANNELS

A destroyed loopback span stops feeding its peer, which DAHDI puts in red alarm within
a second or two, as a card's span whose cable was pulled; creating it again clears the
alarm. dahdi_cfg has no way to take one span down alone while others are in use.
"""
import fcntl
import struct
import sys

DAHDI_CODE = 0xDA
LAYOUT = "20s40siii"        # struct dahdi_dynamic_span: driver, addr, numchans, timing, spanno
SIZE = struct.calcsize(LAYOUT)


def ioc(direction: int, nr: int) -> int:
    return (direction << 30) | (SIZE << 16) | (DAHDI_CODE << 8) | nr


CREATE = ioc(3, 80)         # _IOWR
DESTROY = ioc(1, 81)        # _IOW


def main() -> int:
    if len(sys.argv) != 5 or sys.argv[1] not in ("destroy", "create"):
        print(__doc__, file=sys.stderr)
        return 2
    what, driver, addr, chans = sys.argv[1:]
    buf = bytearray(struct.pack(LAYOUT, driver.encode(), addr.encode(), int(chans), 0, 0))
    with open("/dev/dahdi/ctl", "rb+", buffering=0) as ctl:
        try:
            fcntl.ioctl(ctl, CREATE if what == "create" else DESTROY, buf)
        except OSError as e:
            print(f"span.py: {what} {driver} {addr}: {e.strerror}", file=sys.stderr)
            return 1
    if what == "create":
        print(f"span {struct.unpack(LAYOUT, bytes(buf))[4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
