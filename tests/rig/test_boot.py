"""The firmware image under qemu: a product boot (no appliance.rig=1) has no shell on its
second port; the rig's boot has no failed unit, DAHDI's modules load and make the rig's
8 loopback spans with their 18 channels as system.conf says, and a ring crosses a span
pair; the supervisor then runs on those spans (office.toml) from /usr as its own user,
answers the exchange's ring, and the first boot's console asks for a password and lets
the installer into the box's shell.

In file order: the tests that open the box's channels themselves come before the
`box` fixture starts the supervisor on them."""
import json
import re
from pathlib import Path

import pytest

from vm import READY, TIMES, Rig

HERE = Path(__file__).resolve().parent
PROMPT = rb"No console password is set\. Choose one \(at least 8 characters\)\.\r\nNew password: "

# span: (its name, {channel: what /proc/dahdi shows of its signalling})
SPANS = {
    1: ("DYN/loc/1:0", {1: "FXSKS", 2: "FXSKS"}),
    2: ("DYN/loc/1:1", {3: "FXOKS", 4: "FXOKS"}),
    3: ("DYN/loc/2:0", {5: "FXOKS", 6: "FXOKS"}),
    4: ("DYN/loc/2:1", {7: "FXSKS", 8: "FXSKS"}),
    5: ("DYN/loc/3:0", {9: "Clear", 10: "Clear", 11: "HDLCFCS"}),
    6: ("DYN/loc/3:1", {12: "Clear", 13: "Clear", 14: "HDLCFCS"}),
    7: ("DYN/loc/4:0", {15: "CAS", 16: "CAS"}),
    8: ("DYN/loc/4:1", {17: "CAS", 18: "CAS"}),
}
ECHO_CANCELLED = {1, 2, 5, 6, 9, 10}


def out(rig, command: str) -> str:
    status, output = rig.sh(command)
    assert status == 0, f"{command}: exit {status}\n{output}"
    return output


def test_a_product_boot_has_no_shell_on_its_second_port():
    """Without appliance.rig=1: the console's prompt comes on ttyS0, and by then the
    rig's shell would have said it was ready on ttyS1 (it starts with the other
    services, seconds before the console, which waits for the supervisor's first start
    to end). First in the file: it boots alone, before the session's rig."""
    with Rig(rig=False, logs=HERE.parents[1] / "build" / "rig" / "product") as product:
        m = product.console.expect(PROMPT)
        TIMES["product boot to the console's password prompt"] = product.seconds(product.console.arrived(m.end() - 1))
        assert READY not in product.shell_output()
        assert "appliance.rig" not in (product.image / "cmdline").read_text()


def test_the_box_boots_with_no_unit_failed(rig):
    """The supervisor is left out: on the cards, it waits (restarting) for DAHDI's spans,
    which the rig configures after the boot."""
    TIMES["boot to the rig's shell"] = rig.boot_seconds
    assert out(rig, "systemctl is-system-running --wait").strip() == "running"
    assert out(rig, "systemctl list-units --failed --plain --no-legend") == ""
    assert out(rig, "systemctl is-active appliance-console@ttyS0.service").strip() == "active"


def test_the_state_directory_is_the_boxs_alone(rig):
    """Both units that share /var/lib/appliance ask for the same mode: the console's
    start (after the supervisor's) must not open it to everyone."""
    out(rig, "systemctl is-system-running --wait")
    assert out(rig, "stat -c '%a %U %G' /var/lib/appliance").split() == ["750", "appliance", "appliance"]


def test_the_image_carries_only_the_modules_it_needs(rig):
    kernel = out(rig, "uname -r").strip()
    modules = out(rig, f"find /usr/lib/modules/{kernel} -name '*.ko'").split()
    dahdi = [m for m in modules if "/updates/dkms/" in m]
    assert len(dahdi) >= 30 and any(m.endswith("/dahdi_dynamic_loc.ko") for m in dahdi)
    assert len(modules) < 150, f"{len(modules)} modules: the whole kernel package's?"
    assert out(rig, f"modinfo -k {kernel} -F vermagic dahdi").split()[0] == kernel


def test_dahdis_modules_load_and_dahdi_cfg_takes_the_rigs_system_conf(rig, spans):
    loaded = {line.split()[0] for line in out(rig, "lsmod").splitlines()[1:]}
    assert {"dahdi", "dahdi_dynamic", "dahdi_dynamic_loc", "dahdi_echocan_mg2"} <= loaded
    assert "18 channels to configure." in spans
    assert out(rig, "cat /sys/module/dahdi/parameters/auto_assign_spans").strip() == "1"


def test_eight_spans_and_eighteen_channels_with_their_signalling(rig, spans):
    assert sorted(int(n) for n in out(rig, "ls /proc/dahdi").split()) == list(range(1, 9))
    for span, (name, channels) in SPANS.items():
        text = out(rig, f"cat /proc/dahdi/{span}")
        assert re.match(rf"Span {span}: {re.escape(name)} ", text), text
        found = {int(m.group(1)): (m.group(2), m.group(3)) for m in
                 re.finditer(rf"^\s+(\d+) {re.escape(name)}/\d+ (\S+)(.*)$", text, re.M)}
        assert {c: sig for c, (sig, _) in found.items()} == channels, text
        for channel, (_, rest) in found.items():
            assert ("EC: MG2" in rest) == (channel in ECHO_CANCELLED), text


def test_the_channels_belong_to_the_group_of_the_boxs_user(rig, spans):
    assert out(rig, "stat -c '%a %U %G' /dev/dahdi/channel /dev/dahdi/ctl").split() == \
        ["660", "root", "dialout"] * 2


@pytest.mark.parametrize("ringer, port", [(3, 1), (5, 7)], ids=["exchange-rings-the-box", "box-rings-a-phone"])
def test_a_ring_crosses_the_loopback_span_pair(rig, spans, ringer, port):
    """An fxoks channel rings; its fxsks partner sees the burst begin (RINGBEGIN 18), then
    end (RINGOFFHOOK 2)."""
    rig.put("/run/rig/ring.py", (HERE / "ring.py").read_bytes())
    events = json.loads(out(rig, f"python3 /run/rig/ring.py {ringer} {port}"))
    assert events[:1] == [18] and 2 in events, events


def test_the_supervisor_runs_on_the_spans_from_usr_as_its_own_user(box):
    rig = box
    pid = out(rig, "systemctl show -p MainPID --value appliance.service").strip()
    assert pid != "0"
    assert out(rig, f"ps -o user= -p {pid}").strip() == "appliance"
    assert out(rig, f"tr '\\0' ' ' < /proc/{pid}/cmdline").split()[:5] == \
        ["/usr/bin/python3", "/usr/local/bin/appliance", "run", "--board", "dahdi"]
    where = out(rig, "python3 -c 'import appliance._engine, appliance; print(appliance.__file__)'").strip()
    assert where == "/usr/local/lib/python3.11/dist-packages/appliance/__init__.py"
    assert "8 channels open on DAHDI and listening for rings" in out(rig, "journalctl -b -u appliance.service")


def test_the_box_answers_the_exchanges_ring(box):
    """The exchange's side of line1 (channel 3) rings; the box, holding channel 1,
    answers (the ringer sees RINGOFFHOOK 2) and greets the caller; the exchange hangs up."""
    box.put("/run/rig/ring.py", (HERE / "ring.py").read_bytes())
    events = json.loads(out(box, "python3 /run/rig/ring.py 3"))
    assert 2 in events, events
    log = out(box, "journalctl -b -u appliance.service")
    assert "line1: caller hears welcome [en]" in log, log[-2000:]


def test_the_first_boot_console_asks_for_a_new_password_twice(box):
    rig = box
    m = rig.console.expect(PROMPT)
    TIMES["boot to the console's password prompt"] = rig.seconds(rig.console.arrived(m.end() - 1))
    status, _ = rig.sh("test -e /var/lib/appliance/console.passwd")
    assert status == 1, "a password is stored before anyone chose one"
    rig.console.write(b"rig-console-1\r")
    rig.console.expect(rb"Again: ")
    rig.console.write(b"rig-console-1\r")
    rig.console.expect(rb"password set\r\n.*installer's console \(installer on ttyS0\).*rig-office> ")
    assert out(rig, "stat -c '%a %U' /var/lib/appliance/console.passwd").split() == ["600", "appliance"]
    rig.console.write(b"show lines\r")
    rig.console.expect(rb"line1.*rig-office> ")
