"""Queue callback, the exit key and rejoin end to end at audio level, on the demo office
with sales given keys while waiting: a caller asks for a callback and hangs up; when an
agent frees, the box seizes a line and dials (the exchange sees the seize and the
digits), the called party presses 1 and talks to the agent, audio passing both ways."""
from __future__ import annotations

import io

import numpy as np
import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.prompts import PromptLibrary
from appliance.sim import level_dbm0
from tests.test_supervisor import call, run_until

pytestmark = pytest.mark.slow

KEYS = '''exit_key = "0"
exit_to = "menu:support"
callback_key = "1"
callback_retry_s = 30
callback_answer_s = 20
'''


@pytest.fixture(scope="module")
def library():
    return PromptLibrary()


@pytest.fixture
def box(tmp_path, library):
    text = DEMO_OFFICE.read_text(encoding="utf-8")
    text = text.replace('music = "macroform-cold_day"\n', 'music = "macroform-cold_day"\n' + KEYS, 1)
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    b = Box(config.load(str(path)), tmp_path / "calls.db", out=io.StringIO(), library=library)
    b.supervisor.hours_override = True
    yield b
    b.close()


def queued_in_sales(box: Box, line: str = "line1", number: str = "0501234567"):
    """A caller rings, picks sales, new order: waiting in the sales queue."""
    box.callers[line].ring(number, "PETRENKO O")
    run_until(box, lambda: (c := call(box, line)) is not None and c.flow is not None and c.flow.waiting == "ask")
    for key, then in (("1", "sales"), ("1", None)):
        run_until(box, lambda: box.engine.state(box.ports[line]) in ("playing", "collecting"))
        before = call(box, line).heard.count(then) if then else 0
        box.callers[line].press(key)
        if then:
            run_until(box, lambda: call(box, line).heard.count(then) > before)
    run_until(box, lambda: call(box, line).queue == "sales", 10)
    return call(box, line)


def observe(box: Box) -> list:
    """Every event of the board from now on, the far ends' too (the box keeps none):
    what the exchange observes."""
    seen: list = []
    handle = box.supervisor.handle
    box.supervisor.handle = lambda evs, taps=None: (seen.extend(evs), handle(evs, taps))[1]
    return seen


def events(box: Box, row: int):
    return [(e.kind, e.detail) for e in box.log.events(row)]


def tone(hz: float, seconds: float = 0.6) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (np.sin(2 * np.pi * hz * t) * 6000).astype(np.int16)


def level_at(pcm: np.ndarray, hz: float) -> float:
    """The level of what was heard after a narrow filter at hz (a plain DFT bin band)."""
    spec = np.fft.rfft(pcm.astype(np.float64))
    f = np.fft.rfftfreq(len(pcm), 1 / 8000)
    spec[(f < hz - 30) | (f > hz + 30)] = 0
    return level_dbm0(np.fft.irfft(spec, len(pcm)))


def test_callback_end_to_end(box):
    sup = box.supervisor
    sup.acd.logout("ivan", 0)
    # Olena is busy with a caller on line2.
    queued_in_sales(box, "line2", "0447770000")
    run_until(box, lambda: box.phones["desk1"].state == "ringing", 10)
    box.phones["desk1"].answer()
    run_until(box, lambda: call(box, "line2").agent == "olena", 5)

    # The caller on line1 waits, presses the callback key, hears the offer, confirms.
    asked = queued_in_sales(box)
    box.callers["line1"].press("1")
    run_until(box, lambda: asked.offer is not None and asked.offer.state == "confirm", 10)
    assert "0501234567" in asked.heard and "callback_offer" in asked.heard
    run_until(box, lambda: box.engine.state(box.ports["line1"]) in ("playing", "collecting"))
    box.callers["line1"].press("1")
    run_until(box, lambda: call(box) is None, 30)               # thanked, then hung up on
    assert "callback_thanks" in asked.heard
    box.callers["line1"].hangup()
    assert box.log.call(asked.log_id).outcome == "callback"
    (row,) = box.log.callbacks(asked.log_id)
    assert box.log.call(row).end is None and sup.acd.callers[asked.key].lineless

    # The exchange side of every line listens for the box seizing it and dialling.
    for c in box.callers.values():
        c.listen(tones=False, digits=True)
    seen = observe(box)
    # Olena's call ends; after her wrap-up the box calls back on a free line.
    box.callers["line2"].hangup()
    run_until(box, lambda: call(box, "line2") is None, 5)
    box.phones["desk1"].hangup()                              # she puts the phone down
    run_until(box, lambda: sup.acd.agents["olena"].state == "reserved", 30)
    job = sup.callbacks[asked.key]
    run_until(box, lambda: job.cb.state == "offering", 10)
    port = job.line.port
    exchange = next(c for c in box.callers.values() if c.port == port)
    assert [e for e in seen if e.channel == exchange.channel and e.kind == "offhook"], "the exchange saw no seize"
    assert "".join(e.digit for e in seen if e.channel == exchange.channel and e.kind == "digit") == "0501234567"
    assert box.phones["desk1"].state == "idle"                # kept, not rung, until the 1
    # The called party hears the callback's prompt and presses 1: olena rings.
    run_until(box, lambda: "callback_press_1" in job.line.heard, 5)
    box.run(2, paced=False)
    exchange.press("1")
    run_until(box, lambda: box.phones["desk1"].state == "ringing", 10)
    box.phones["desk1"].answer()
    run_until(box, lambda: box.engine.state(port) == "bridged", 10)

    # Audio passes both ways.
    agent = box.phones["desk1"]
    agent.capture()
    exchange.capture()
    exchange.send(tone(1000))
    agent.send(tone(600))
    box.run(1.0, paced=False)
    assert level_at(agent.heard(), 1000) > -30 and level_at(exchange.heard(), 600) > -30
    assert level_at(agent.heard(), 600) < level_at(agent.heard(), 1000) - 10

    exchange.hangup()
    run_until(box, lambda: box.log.call(row).end is not None, 10)
    kinds = [k for k, _ in events(box, row)]
    assert box.log.call(row).outcome == "answered" and box.log.callback_of(row) == asked.log_id
    for k in ("callback-queued", "reserved", "callback-attempt", "dial", "callback-answered", "connected"):
        assert k in kinds, (k, kinds)
    assert ("dial", f"{box.names[port]} 0501234567") in events(box, row)


def test_a_callback_nobody_answers_is_tried_again_then_given_up(box):
    sup = box.supervisor
    sup.acd.pause("olena", "lunch", 0)
    sup.acd.logout("ivan", 0)
    asked = queued_in_sales(box)
    box.callers["line1"].press("1")
    run_until(box, lambda: asked.offer is not None and asked.offer.state == "confirm", 10)
    run_until(box, lambda: box.engine.state(box.ports["line1"]) in ("playing", "collecting"))
    box.callers["line1"].press("1")
    run_until(box, lambda: call(box) is None, 30)
    box.callers["line1"].hangup()
    (row,) = box.log.callbacks(asked.log_id)
    box.supervisor.carry_out(sup.acd.unpause("olena", sup.clock()))
    # Nobody presses 1: each attempt gives up after 20 s, the next comes 30 s later.
    run_until(box, lambda: box.log.call(row).end is not None, 200)
    said = events(box, row)
    assert [k for k, _ in said].count("callback-attempt") == 3
    assert [d for k, d in said if k == "callback-failed"] == [f"attempt {i}: no answer" for i in (1, 2, 3)]
    assert box.log.call(row).outcome == "no-answer"
    assert sup.acd.agents["olena"].state == "available" and asked.key not in sup.acd.callers
    run_until(box, lambda: all(c.state == "idle" for c in box.callers.values()), 5)


def test_exit_key_leaves_the_queue_for_its_action(box):
    sup = box.supervisor
    sup.acd.pause("olena", "lunch", 0)
    sup.acd.logout("ivan", 0)
    c = queued_in_sales(box)
    box.callers["line1"].press("0")
    run_until(box, lambda: c.heard.count("support") == 1, 10)
    assert c.queue is None and c.key not in sup.acd.callers
    assert c.flow.menu.name == "support" and c.flow.waiting == "ask"
    assert ("exit-key", "sales -> menu:support") in events(box, c.log_id)
    run_until(box, lambda: box.engine.state(box.ports["line1"]) in ("playing", "collecting"))
    box.callers["line1"].press("1")                           # support, internet: queued there
    run_until(box, lambda: c.queue == "support", 10)
    box.callers["line1"].hangup()
    run_until(box, lambda: call(box) is None, 10)


def test_a_caller_who_calls_again_in_time_gets_their_place_back(box):
    sup = box.supervisor
    sup.acd.pause("olena", "lunch", 0)
    sup.acd.logout("ivan", 0)
    first = queued_in_sales(box)
    joined = sup.acd.callers[first.key].joined
    box.run(5, paced=False)
    queued_in_sales(box, "line2", "0442223344")               # someone else queues behind
    box.callers["line1"].hangup()
    run_until(box, lambda: call(box) is None, 10)
    assert box.log.call(first.log_id).outcome == "abandoned"
    again = queued_in_sales(box, "line3")                     # the same number, a minute later
    assert sup.acd.callers[again.key].joined == joined
    assert sup.acd.position(again.key, sup.clock()) == 1
    run_until(box, lambda: "queue_welcome_back" in again.heard, 5)
    assert any(k == "rejoined" for k, _ in events(box, again.log_id))
