"""DAHDI's /etc/dahdi/system.conf, made from the office's configuration and its card's profile.

Rules:
  - The installer never writes system.conf: every line of it follows from the office's
    [[line]]s and [board] and the card profile, and the file says so at its top.
  - An exchange line on an FXO port gets FXS kewlstart signalling (`fxsks`: the loop
    current drop at a hangup is seen), an office phone on an FXS port FXO kewlstart
    (`fxoks`). A port with no line is left out, with a comment naming its module.
  - An E1 span is `span=N,timing,LBO,framing,coding[,crc4]`; ISDN has its 30 bearer
    channels as `bchan` and timeslot 16 as the D-channel (`dchan`, or `hardhdlc`
    where the profile says the card does HDLC itself); MFC/R2 has the 30 as `cas`
    with idle bits 1101 and nothing on timeslot 16, which carries their ABCD bits.
  - The echo canceller goes on every speech channel configured; `hardware` and
    `none` write no echocanceller line (DAHDI uses a card's own module by itself).
  - The tone zone is board.zone, else the one the lines' tone plan names; a plan
    with no DAHDI zone (itu, ua) needs board.zone.
  - generate() is text in, text out; write() puts a file in place whole or not at all.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from appliance import files
from appliance.cards import Issue, Profile
from appliance.config import Office

MFCR2_IDLE = "1101"
# The lines' tone plans that have a DAHDI zone of the same name.
PLAN_ZONES = {"ru": "ru", "us": "us"}


class SystemConfError(Exception):
    """The office and the card do not fit: the issues, each at the office's key."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = list(issues)
        super().__init__("; ".join(m for _, m in self.issues))


def channel_list(channels: Sequence[int]) -> str:
    """1,2,3,5 as dahdi_cfg reads it: 1-3,5."""
    out: List[str] = []
    chans = sorted(set(channels))
    i = 0
    while i < len(chans):
        j = i
        while j + 1 < len(chans) and chans[j + 1] == chans[j] + 1:
            j += 1
        out.append(str(chans[i]) if i == j else f"{chans[i]}-{chans[j]}")
        i = j + 1
    return ",".join(out)


def zone_of(office: Office) -> Tuple[Optional[str], List[Issue]]:
    if office.board.zone:
        return office.board.zone, []
    plans = sorted({ln.plan for ln in office.lines})
    zones = {PLAN_ZONES.get(p) for p in plans}
    if len(zones) == 1 and None not in zones:
        return zones.pop(), []
    missing = [p for p in plans if p not in PLAN_ZONES]
    why = (f"the lines' tone plan{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
           f"{'have' if len(missing) > 1 else 'has'} no DAHDI zone" if missing
           else f"the lines' tone plans {', '.join(plans)} name different zones")
    return None, [(("board",), f"missing key 'zone': {why}; set board.zone to the zone whose ring cadence the "
                               "office's phones should ring with (such as 'ru')")]


def generate(office: Office, profile: Profile, modules: Sequence[str], config_name: str) -> str:
    """system.conf's text; a SystemConfError if the tone zone cannot be told."""
    zone, issues = zone_of(office)
    if issues:
        raise SystemConfError(issues)
    echo = office.board.echo_canceller or profile.echo_canceller
    out = [f"# DAHDI's configuration for {office.name or 'the office'}, made by 'appliance board system-conf'",
           f"# from {config_name} and the card profile {profile.name}: {profile.description}.",
           "# Do not edit: change the office's configuration and make it again.",
           "",
           "# Tone zone: the ring cadence of the office's phones and the tones DAHDI plays itself.",
           f"loadzone={zone}",
           f"defaultzone={zone}",
           ""]
    lines = {ln.channel: ln for ln in office.lines}
    speech: List[int] = []
    if profile.analog:
        for port in range(1, profile.ports + 1):
            module = modules[port - 1]
            ln = lines.get(port)
            if ln is None:
                what = {"fxo": "an FXO module", "fxs": "an FXS module", "none": "no module"}[module]
                out.append(f"# channel {port}: {what}, no line in the office's configuration")
                continue
            if ln.kind == "fxo":
                out.append(f"# channel {port}: {ln.name}, an exchange line on an FXO module")
                out.append(f"fxsks={port}")
            else:
                out.append(f"# channel {port}: {ln.name}, an office phone on an FXS module")
                out.append(f"fxoks={port}")
            speech.append(port)
    else:
        for n, span in enumerate(office.board.spans, start=1):
            bearers = profile.bearers(n)
            dchan = (n - 1) * 31 + 16
            if span.signalling == "mfcr2":
                kind = "MFC/R2"
            else:
                kind = "ISDN PRI, " + ("network side" if span.signalling == "pri_net" else "user side")
            clock = "never the clock source" if span.timing == 0 else f"clock source, preference {span.timing}"
            out.append(f"# span {n}: E1, {kind}; {clock}")
            out.append(f"span={n},{span.timing},{span.lbo},{span.framing},{span.coding}"
                       + (",crc4" if span.crc4 else ""))
            if span.signalling == "mfcr2":
                half = [c for c in bearers if c < dchan], [c for c in bearers if c > dchan]
                for part in half:
                    out.append(f"cas={channel_list(part)}:{MFCR2_IDLE}")
                out.append(f"# channel {dchan}: timeslot 16, the ABCD signalling bits of the others")
            else:
                out.append(f"bchan={channel_list(bearers)}")
                out.append(f"{profile.dchan}={dchan}")
            named = [f"{lines[c].name} ({c})" for c in bearers if c in lines]
            if named:
                out.append(f"# lines: {', '.join(named)}")
            out.append("")
            speech += bearers
    if profile.analog:
        out.append("")
    for law, key in (("alaw", "alaw"), ("ulaw", "mulaw")):
        chans = [c for c, ln in sorted(lines.items()) if ln.law == law and c in speech]
        if chans:
            out.append(f"{key}={channel_list(chans)}")
    if echo in ("hardware", "none"):
        out.append("# echo: the card's own echo-cancelling module" if echo == "hardware"
                   else "# echo: no canceller")
    elif speech:
        out.append(f"echocanceller={echo},{channel_list(speech)}")
    return "\n".join(out) + "\n"


def write(path: str, text: str) -> None:
    """Writes the file whole or not at all (files.write_whole), so DAHDI never reads
    half of one."""
    files.write_whole(path, text, mode=0o644)
