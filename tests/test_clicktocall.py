"""Click-to-call on the simulated board: the agent's phone rings first, answered the box
dials the number on a free line and bridges the two; the ACD offers the agent no caller
meanwhile; refusals, no answer and no free line."""
from __future__ import annotations

import numpy as np
import pytest

from appliance.engine import CallerID
from appliance.supervisor import Refused
from appliance.sim import level_dbm0
from tests.test_agents import AT_PHONES, digits_seen, exchange, library, make_box, queue_a_caller  # noqa: F401
from tests.test_supervisor import call, run_until

pytestmark = pytest.mark.slow


def test_the_agent_answers_the_number_is_dialled_and_bridged_and_a_caller_waits(make_box):
    box = make_box(AT_PHONES)
    sup, acd = box.supervisor, box.supervisor.acd
    far = exchange(box, "line4")
    sup.click_to_call("ivan", "+380671234567")
    box.run(0.5, paced=False)
    assert box.phones["desk2"].state == "ringing" and acd.agents["ivan"].state == "outbound"
    # A caller for support, where ivan is first: olena (level 2) is not rung yet, ivan is never.
    queue_a_caller(box, "support")
    box.run(2.0, paced=False)
    assert acd.agents["ivan"].state == "outbound" and call(box).agent is None
    box.phones["desk2"].answer()
    run_until(box, lambda: digits_seen(far) == "00380671234567", 10)
    run_until(box, lambda: box.engine.state(box.ports["line4"]) == "bridged", 5)
    before = len(far.heard())
    box.phones["desk2"].capture()
    t = np.arange(8000) / 8000.0
    far.send((3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    box.run(1.2, paced=False)
    assert level_dbm0(box.phones["desk2"].heard()) > -35.0
    assert len(far.heard()) > before
    far.hangup()
    run_until(box, lambda: not sup.clicks, 10)
    row = next(c for c in box.log.calls(limit=5) if c.line == "line4")
    assert row.outcome == "outbound" and row.caller == "+380671234567" and row.answer is not None
    kinds = [e.kind for e in box.log.events(row.id)]
    assert kinds[:2] == ["click-to-call", "dial"] and "hangup" in kinds and "wrap-up" in kinds
    assert acd.agents["ivan"].state == "wrap-up"
    # After the wrap-up, the waiting caller gets ivan.
    run_until(box, lambda: acd.agents["ivan"].state == "ringing", 30)


def test_refusals(make_box):
    box = make_box(AT_PHONES)
    sup = box.supervisor
    with pytest.raises(Refused, match="No such agent"):
        sup.click_to_call("nobody", "0671234567")
    with pytest.raises(Refused, match="Bad number"):
        sup.click_to_call("ivan", "067-123")
    with pytest.raises(Refused, match="Bad number"):
        sup.click_to_call("ivan", "1" * 21)
    with pytest.raises(Refused, match="cannot ring"):
        sup.click_to_call("ivan", "0671234567", shown=CallerID("0671234567", "N" * 200))
    assert sup.acd.agents["ivan"].state == "available"
    box.phones["desk2"].pick_up()
    box.run(0.5, paced=False)
    with pytest.raises(Refused, match="off the hook"):
        sup.click_to_call("ivan", "0671234567")
    box.phones["desk2"].hangup()
    box.run(0.5, paced=False)
    sup.agent_do("ivan", "logout")
    with pytest.raises(Refused, match="not available .logged-out."):
        sup.click_to_call("ivan", "0671234567")


def test_not_supported_for_an_outside_agent(make_box):
    from tests.test_agents import OUTSIDE
    box = make_box(OUTSIDE)
    with pytest.raises(Refused, match="not supported"):
        box.supervisor.click_to_call("maria", "0671234567")


def test_no_answer_frees_the_agent(make_box):
    box = make_box(AT_PHONES)
    sup = box.supervisor
    sup.click_to_call("ivan", "0671234567", timeout_s=3.0)
    box.run(3.5, paced=False)
    run_until(box, lambda: box.phones["desk2"].state != "ringing", 10)   # the ring cadence dies out
    assert not sup.clicks
    assert sup.acd.agents["ivan"].state == "available"
    assert [e.detail for e in box.log.agent_events("ivan")][-1] == "0671234567: no answer"


def test_no_free_line_the_agent_hears_congestion(make_box):
    box = make_box(AT_PHONES)
    sup = box.supervisor
    for name in ("line1", "line2", "line3", "line4"):
        box.engine.seize(box.ports[name])
    sup.click_to_call("ivan", "0671234567")
    box.run(0.5, paced=False)
    box.phones["desk2"].capture()
    box.phones["desk2"].answer()
    box.run(1.0, paced=False)
    assert not sup.clicks and sup.acd.agents["ivan"].state == "available"
    assert level_dbm0(box.phones["desk2"].heard()) > -30.0
    assert [e.detail for e in box.log.agent_events("ivan")][-1] == "0671234567: no free line"
