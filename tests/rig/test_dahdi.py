"""The dahdi board on real DAHDI kernel code: the firmware image under qemu, loopback spans
standing in for two exchange lines, two agents' phones, an ISDN PRI span and an MFC/R2
span (tests/rig/system.conf), and tools/linesim in the guest playing their far ends.

What each test proves is what the box's users see: the driver turning every signal DAHDI
carries into the right event (both sides in one process), then the box itself, as the
image's service, answering a caller on a line that signals its hangup only by busy tone
and putting them through the menu and the queue to an agent, PRI and R2 calls with their
numbers in the call log, and a span taken down and brought back.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOG = "/var/lib/appliance/calls.db"


def steps(output: str) -> Dict[str, dict]:
    """linesim's JSON lines by step, in order."""
    out = {}
    for line in output.splitlines():
        if line.startswith("{"):
            s = json.loads(line)
            out[s["step"]] = s
    return out


def failed(output: str) -> List[str]:
    return [f"{s['step']}: {s.get('why', s)}" for s in steps(output).values() if not s["ok"]]


def query(rig, sql: str) -> list:
    script = ("import json, sqlite3, sys\n"
              f"db = sqlite3.connect('file:{LOG}?mode=ro', uri=True)\n"
              "print(json.dumps(db.execute(sys.argv[1]).fetchall()))\n")
    rig.put("/run/rig/query.py", script.encode())
    rc, out = rig.sh(f"python3 /run/rig/query.py {json.dumps(sql)}", timeout=120)
    assert rc == 0, out
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def guest(rig, spans):
    """linesim and the span tool in the guest, the rig's office in place, the box stopped
    and its call log cleared: each test starts the box when it needs it."""
    rig.put("/usr/local/bin/linesim", (REPO / "tools" / "linesim").read_bytes(), mode=0o755)
    rig.put("/run/rig/span.py", (HERE / "span.py").read_bytes(), mode=0o755)
    rig.put("/etc/appliance/office.toml", (HERE / "office.toml").read_bytes())
    rc, out = rig.sh("systemctl stop appliance && rm -f /var/lib/appliance/calls.db*", timeout=120)
    assert rc == 0, out
    return rig


def test_every_signal_of_a_loopback_span_through_the_driver(guest):
    rc, out = guest.sh("systemctl stop appliance; linesim events", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out
    s = steps(out)
    # Rung the moment the channels were opened, inside DAHDI's 2 s ring debounce: the
    # call came through all the same, with its caller ID.
    assert s["a call rung inside the debounce after open is answered"]["settled_when_rung"] is False
    assert s["caller ID between the first and second ring, then a caller giving up"]["number"] == "0441234567"
    assert s["DTMF both ways"]["port_heard"] == "159#"
    assert s["hangup by loop break"]["cause"] == "loop-break"
    assert s["hangup by busy tone only"]["cause"] == "busy-tone"
    assert s["the phone rung with caller ID and answered"]["name"] == "OLENA"
    assert s["slips"]["blocks"] == 0


def test_every_signal_again_on_a_machine_held_up_now_and_then(guest):
    """The same signals while the machine is stopped for 150 ms of every 400, as a busy
    host stops it: DAHDI catches up in a burst after each stop, and what came meanwhile
    (digits, caller ID) must wait for the engine rather than be lost."""
    with guest.held_up():
        rc, out = guest.sh("systemctl stop appliance; linesim events", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out
    s = steps(out)
    assert s["caller ID between the first and second ring, then a caller giving up"]["number"] == "0441234567"
    assert s["DTMF both ways"]["port_heard"] == "159#" and s["DTMF both ways"]["exchange_heard"] == "*0"


def test_the_first_call_after_the_box_starts_is_answered(guest):
    """Rung from the moment the service starts, before its channels are open and while
    DAHDI's ring debounce after their opening hides the rings: answered all the same."""
    rc, out = guest.sh("systemctl start --no-block appliance && linesim ring --channel 4", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out
    assert steps(out)["rung until answered"]["answered_ringing"] is True
    time.sleep(2)
    calls = query(guest, "SELECT line, answered IS NOT NULL FROM calls ORDER BY id")
    assert calls == [["line2", 1]]


def test_a_caller_through_the_menu_and_the_queue_to_an_agent(guest):
    rc, out = guest.sh("systemctl start appliance && linesim call --caller 0441234567 --pin 1234", timeout=900)
    journal = guest.sh("journalctl -u appliance --no-pager -o cat", timeout=120)[1]
    print(out)
    print(journal[-6000:])
    assert rc == 0 and not failed(out), "\n".join(failed(out) or [out]) + "\n" + journal[-3000:]
    assert guest.sh("systemctl is-active appliance")[1].strip() == "active"
    assert "listening for rings" in journal
    # The caller's place in the queue (first: "you are next") was announced before the
    # agent took the call.
    assert "line1: caller hears queue-youarenext [en]" in journal, journal[-3000:]
    time.sleep(2)
    calls = query(guest, "SELECT id, line, caller, outcome, answered IS NOT NULL FROM calls WHERE line = 'line1'")
    assert [(c[1], c[3], c[4]) for c in calls] == [("line1", "answered", 1)]
    # Caller ID on this first call is decoded in most runs but not all (see the driver's
    # scenario, where it always is): the number, when it came, is the caller's.
    assert calls[0][2] in ("0441234567", ""), calls
    events = query(guest, f"SELECT kind, detail FROM events WHERE call = {calls[0][0]} ORDER BY seq")
    assert ("hangup", "busy-tone") in [tuple(e) for e in events], events
    agent = query(guest, "SELECT agent, kind FROM agent_events ORDER BY id")
    assert ["olena", "logout"] in agent and agent[-1] == ["olena", "login"]


def test_a_pri_call_and_an_r2_call_with_their_numbers(guest):
    rc, out = guest.sh("systemctl is-active appliance || systemctl start appliance; sleep 5; "
                       "linesim pri --caller 0442223344 --called 201", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out
    rc, out = guest.sh("linesim r2 --caller 0445556677 --called 305", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out
    time.sleep(2)
    calls = query(guest, "SELECT id, line, caller FROM calls WHERE line IN ('pri1', 'pri2', 'r2a', 'r2b') "
                         "ORDER BY id")
    assert [(c[1][:2], c[2]) for c in calls] == [("pr", "0442223344"), ("r2", "0445556677")], calls
    dialled = [query(guest, f"SELECT detail FROM events WHERE call = {c[0]} AND kind = 'called'")[0][0]
               for c in calls]
    assert dialled == ["201", "305"]


def test_r2_numbers_arrive_whole_on_a_machine_held_up_now_and_then(guest):
    """A busy host stops the machine for a moment while its clock runs on; DAHDI then
    catches up in a burst. The R2 tones must not break up in it, or a digit is counted
    twice or lost and calls fail. Held up until the call is answered: the tones are
    what is tried here, the audio after is the PRI test's below."""
    guest.sh("systemctl is-active appliance || systemctl start appliance; sleep 5", timeout=300)
    guest.sh("rm -f /run/rig/r2.out; (linesim r2 --caller 0447778899 --called 306 > /run/rig/r2.out 2>&1 & "
             "echo $! > /run/rig/r2.pid)")
    with guest.held_up():
        for _ in range(60):
            time.sleep(2)
            if '"r2 call answered"' in guest.sh("cat /run/rig/r2.out", timeout=300)[1]:
                break
    rc, out = guest.sh("while kill -0 $(cat /run/rig/r2.pid) 2>/dev/null; do sleep 0.5; done; cat /run/rig/r2.out",
                       timeout=600)
    print(out)
    assert steps(out).get("r2 call answered", {}).get("ok"), out
    time.sleep(2)
    calls = query(guest, "SELECT id, caller FROM calls WHERE line IN ('r2a', 'r2b') ORDER BY id DESC LIMIT 1")
    assert calls and calls[0][1] == "0447778899", calls
    assert query(guest, f"SELECT detail FROM events WHERE call = {calls[0][0]} AND kind = 'called'") == [["306"]]


def test_a_pri_call_heard_on_a_machine_held_up_now_and_then(guest):
    """Held up the whole call through: the audio that came during each stop waits for
    the engine to catch up, so the far end hears the greeting (linesim's check: no more
    than one frame in ten missing; a few go missing around the stops)."""
    guest.sh("systemctl is-active appliance || systemctl start appliance; sleep 5", timeout=300)
    with guest.held_up():
        rc, out = guest.sh("linesim pri --caller 0442220000 --called 202", timeout=600)
    print(out)
    assert rc == 0 and not failed(out), failed(out) or out


def test_a_span_in_alarm_takes_its_lines_out_of_service_and_back(guest):
    guest.sh("systemctl is-active appliance || systemctl start appliance; sleep 5", timeout=300)
    # The exchange's side of the lines goes: the box's span hears nothing, red alarm.
    rc, out = guest.sh("python3 /run/rig/span.py destroy loc 1:1 2 && sleep 5", timeout=120)
    assert rc == 0, out
    down = guest.sh("journalctl -u appliance --no-pager -o cat", timeout=120)[1]
    assert "alarm line-line1 raised" in down and "alarm line-line2 raised" in down, down[-3000:]
    assert guest.sh("systemctl is-active appliance")[1].strip() == "active"
    rc, out = guest.sh("python3 /run/rig/span.py create loc 1:1 2 && sleep 5", timeout=120)
    assert rc == 0, out
    up = guest.sh("journalctl -u appliance --no-pager -o cat", timeout=120)[1]
    assert "alarm line-line1 cleared" in up and "alarm line-line2 cleared" in up, up[-3000:]
    assert guest.sh("systemctl is-active appliance")[1].strip() == "active"
    events = query(guest, "SELECT line, kind FROM line_events WHERE line LIKE 'line%' ORDER BY id")
    assert sorted(map(tuple, events)) == [("line1", "in-service"), ("line1", "out-of-service"),
                                          ("line2", "in-service"), ("line2", "out-of-service")]
