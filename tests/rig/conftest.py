"""The rig's fixtures: one boot of the firmware image for the whole session, and DAHDI's
loopback spans configured in it from system.conf beside this file."""
from pathlib import Path

import pytest

from vm import TIMES, Rig

HERE = Path(__file__).resolve().parent

# dahdi-linux's modules-load.d loads dahdi at boot, with auto_assign_spans=0; with no
# /etc/dahdi/assigned-spans.conf nothing would then assign the loopback spans, and
# dahdi_cfg would find no channels. So dahdi is loaded again, assigning spans as they
# are made, with the supervisor stopped (it would hold DAHDI's devices; it finds no
# channels before this anyway) until the `box` fixture starts it on the rig's office.
SPANS_UP = """
set -e
systemctl stop appliance.service
modprobe -r dahdi_transcode dahdi
modprobe dahdi auto_assign_spans=1
modprobe dahdi_dynamic
modprobe dahdi_dynamic_loc
modprobe dahdi_echocan_mg2
dahdi_cfg -vv
"""


@pytest.fixture(scope="session")
def rig():
    with Rig() as r:
        yield r


@pytest.fixture(scope="session")
def spans(rig):
    """dahdi_cfg's report on the rig's 8 loopback spans."""
    rig.put("/etc/dahdi/system.conf", (HERE / "system.conf").read_bytes())
    status, output = rig.sh(SPANS_UP)
    assert status == 0, output
    return output


@pytest.fixture(scope="session")
def box(rig, spans):
    """The supervisor on the rig's spans with office.toml: started once ready (it tells
    systemd so when its channels' ring debounce has passed). Tests that ring the box's
    own channels from outside come after those that open them themselves."""
    rig.put("/etc/appliance/office.toml", (HERE / "office.toml").read_bytes())
    status, output = rig.sh("systemctl start appliance.service")
    assert status == 0, output + rig.sh("journalctl -b -u appliance.service | tail -n 30")[1]
    return rig


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        terminalreporter.write_line("rig: " + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in TIMES.items()))
