"""Offices whose lines are all in a call, for the audio-level tests.

A measurement that sweeps a parameter puts each step on a line of its own and runs them
together: one pass of engine time instead of one per step.
"""
from __future__ import annotations

from typing import Optional

from appliance.engine import ChannelConfig, Line
from appliance.sim import SimOffice


def answered_office(lines: int, law: str = "alaw", line: Optional[Line] = None, plan: str = "itu",
                    **config) -> SimOffice:
    """A SimOffice with `lines` lines, each rung by its caller and answered by the box."""
    office = SimOffice(lines=lines, line=line, port_config=ChannelConfig(law=law, plan=plan, **config))
    for caller in office.callers:
        caller.ring()
    office.run(20)
    for port in office.lines:
        office.engine.answer(port)
    office.run(40)
    for caller in office.callers:
        if not caller.events("offhook"):
            office.close()
            raise RuntimeError(f"the exchange on channel {caller.channel} never saw the answer")
    return office
