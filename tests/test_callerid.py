"""Caller ID round trip: the exchange sends it as audio, the box's port reads it.

Bell 202 and ETSI V.23 FSK come after the first ring, so the "callerid" event must fall
between ring 1 and ring 2 (and after ring 1 has stopped); DTMF caller ID comes before
the first ring. The line loses 6 dB and adds noise at -40 dBm0; both G.711 laws.
"""
from __future__ import annotations

import pytest

from appliance.engine import ChannelConfig, Line
from appliance.sim import SimOffice

LINE = Line(loss_db=6.0, noise_dbm0=-40.0)
LAWS = ["alaw", "ulaw"]
# The plan each standard is used with, and how long its first ring lasts (toneplan.c).
PLAN = {"bell202": "us", "v23": "ru", "dtmf": "itu"}
RING_ON_MS = {"us": 2000, "ru": 1000, "itu": 1000}
# (number, name, absence): what the exchange sends. DTMF caller ID carries digits only.
CALLERS = {
    "bell202": [("2125551234", "JOHN SMITH", ""), ("8005550199", "", ""), ("", "", "P"), ("", "", "O")],
    "v23": [("+74951234567", "Ivanov Ivan", ""), ("0441234567", "", ""), ("", "", "P"), ("", "", "O")],
    "dtmf": [("0441234567", "", ""), ("84951234567", "", ""), ("", "", "P"), ("", "", "O")],
}
CASES = [(std, number, name, absence) for std, callers in CALLERS.items() for number, name, absence in callers]


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("standard,number,name,absence", CASES)
def test_caller_id_round_trip(standard, number, name, absence, law):
    plan = PLAN[standard]
    when = "before-first-ring" if standard == "dtmf" else "after-first-ring"
    config = ChannelConfig(law=law, plan=plan, cid=standard, cid_when=when)
    with SimOffice(lines=1, line=LINE, port_config=config) as o:
        port, caller = o.lines[0], o.callers[0]
        start = o.now_ms
        caller.ring(number, name, standard=standard, when=when, absence=absence)
        o.run_until(lambda e: e.channel == port and e.kind == "ring" and e.a == 2, timeout_ms=15000)
        rings = o.of(port, "ring")
        cids = o.of(port, "callerid")
    shown = f"{number or '-'} {name!r} {absence or ''}".strip()
    assert len(rings) == 2, f"rings seen: {[e.a for e in rings]}"
    assert len(cids) == 1, f"caller ID events: {[e.describe() for e in cids]}"
    cid, ring1, ring2 = cids[0], rings[0], rings[1]
    print(f"\n[{standard} {law}] {shown}: got {cid.describe()!r}; caller ID at {cid.ms - start:.0f} ms, "
          f"ring 1 at {ring1.ms - start:.0f} ms, ring 2 at {ring2.ms - start:.0f} ms")
    assert cid.text == number
    assert cid.text2 == (name if standard != "dtmf" else "")
    assert cid.a == (ord(absence) if absence else 0)
    if standard == "dtmf":
        assert cid.ms < ring1.ms
    else:
        assert ring1.ms + RING_ON_MS[plan] <= cid.ms < ring2.ms
