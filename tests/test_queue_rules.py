"""A queue's rules end to end on the simulated board: a full queue, a wait that runs too
long, a queue nobody can answer and one whose service level cannot be met send the
caller on, never to busy; rules that point at each other end in a wait, not a loop;
the queue's periodic message is heard while waiting."""
from __future__ import annotations

import io

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.prompts import PromptLibrary
from tests.test_supervisor import call, last_call, press, ring, run_until

pytestmark = pytest.mark.slow

SORRY = '''
[prompts.sorry]
en = "Sorry, all our agents are still busy. Please call again later."
ru = "Извините, все операторы всё ещё заняты. Пожалуйста, перезвоните позже."
uk = "Вибачте, усі оператори ще зайняті. Будь ласка, зателефонуйте пізніше."

[prompts.hold_on]
en = "Thank you for holding."
ru = "Спасибо за ожидание."
uk = "Дякуємо за очікування."

[menu.sorry]
greeting = "sorry"
then = "hangup"
'''


@pytest.fixture(scope="module")
def library():
    return PromptLibrary()


def office(tmp_path, sales: str = "", support: str = ""):
    """The demo office with more keys in its two queues' tables."""
    text = DEMO_OFFICE.read_text()
    text = text.replace('[queue.sales]\n', f'[queue.sales]\n{sales}\n', 1)
    text = text.replace('[queue.support]\n', f'[queue.support]\n{support}\n', 1)
    path = tmp_path / "office.toml"
    path.write_text(text + SORRY)
    return config.load(str(path))


@pytest.fixture
def make_box(tmp_path, library):
    boxes = []

    def make(**queues):
        b = Box(office(tmp_path, **queues), tmp_path / f"calls{len(boxes)}.db", out=io.StringIO(),
                library=library)
        b.supervisor.hours_override = True
        boxes.append(b)
        return b
    yield make
    for b in boxes:
        b.close()


def to_sales(box, line="line1"):
    ring(box, line=line)
    press(box, "1", line=line)
    run_until(box, lambda: call(box, line).flow.menu.name == "sales", 10)
    press(box, "1", line=line)


def nobody_answers(box, *agents):
    sup = box.supervisor
    for a in agents or ("olena", "ivan"):
        sup.carry_out(sup.acd.logout(a, sup.clock()))


def events(box, line="line1"):
    return [(e.kind, e.detail) for e in box.log.events(call(box, line).log_id)]


def test_a_full_queue_sends_the_next_caller_to_another_queue(make_box):
    box = make_box(sales='max_callers = 1\nwhen_full = "queue:support"')
    nobody_answers(box)
    to_sales(box, "line1")
    run_until(box, lambda: call(box, "line1").queue == "sales", 10)
    to_sales(box, "line2")
    run_until(box, lambda: call(box, "line2").queue == "support", 10)
    assert ("full", "sales -> queue:support") in events(box, "line2")
    # Both wait with music; neither line hears busy or is hung up on.
    for ln in ("line1", "line2"):
        assert box.engine.state(box.ports[ln]) == "playing"
    assert box.supervisor.acd.waiting("sales") == [call(box, "line1").key]
    assert box.supervisor.acd.waiting("support") == [call(box, "line2").key]


def test_rules_that_point_at_each_other_end_in_a_wait(make_box):
    box = make_box(sales='max_callers = 1\nwhen_full = "queue:support"',
                   support='max_callers = 1\nwhen_full = "queue:sales"')
    nobody_answers(box)
    for ln in ("line1", "line2", "line3"):
        to_sales(box, ln)
        run_until(box, lambda ln=ln: call(box, ln).queue is not None, 10)
    # line1 waits in sales, line2 was sent to support, line3 found both full and waits
    # in sales, where it started.
    assert [call(box, ln).queue for ln in ("line1", "line2", "line3")] == ["sales", "support", "sales"]
    assert [k for k, _ in events(box, "line3")].count("full") == 2


def test_a_wait_past_the_limit_hears_a_message_instead_of_busy(make_box):
    box = make_box(sales='max_wait_s = 20\nwhen_timeout = "menu:sorry"')
    nobody_answers(box)
    to_sales(box)
    run_until(box, lambda: call(box).queue == "sales", 10)
    joined = box.engine.now_ms
    run_until(box, lambda: "sorry" in call(box).heard, 40)
    assert 20000 <= box.engine.now_ms - joined < 21000
    assert ("timeout", "sales -> menu:sorry") in events(box)
    assert not box.supervisor.acd.callers and not box.supervisor.call_of
    run_until(box, lambda: call(box) is None, 20)        # the message, then the box hangs up
    row = last_call(box)
    assert row.outcome == "completed" and row.menus[-1] == "sorry"


def test_no_agent_logged_in_the_caller_takes_the_after_hours_path(make_box):
    box = make_box(sales='join_empty = false\nwhen_empty = "after-hours"')
    nobody_answers(box)
    to_sales(box)
    run_until(box, lambda: call(box) is None or "closed" in call(box).heard, 10)
    run_until(box, lambda: call(box) is None, 20)
    row = last_call(box)
    assert row.outcome == "after-hours" and row.menus[-1] == "closed"
    assert not box.supervisor.acd.callers


def test_a_queue_whose_only_agent_is_paused_counts_as_empty(make_box):
    box = make_box(sales='leave_empty = true\nempty = "paused"\nwhen_empty = "queue:support"')
    sup = box.supervisor
    nobody_answers(box, "ivan")
    sup.carry_out(sup.acd.pause("olena", "lunch", sup.clock()))
    to_sales(box)
    run_until(box, lambda: call(box).queue == "support", 10)
    assert ("empty", "sales -> queue:support") in events(box)


def test_the_last_agent_leaving_sends_the_waiting_callers_on(make_box):
    box = make_box(sales='leave_empty = true\nempty = "paused"\nwhen_empty = "menu:sorry"')
    sup = box.supervisor
    nobody_answers(box, "ivan")
    to_sales(box, "line1")                      # olena takes the first caller
    run_until(box, lambda: box.phones["desk1"].state == "ringing", 10)
    box.phones["desk1"].answer()
    run_until(box, lambda: call(box, "line1").agent == "olena", 5)
    to_sales(box, "line2")                      # the second waits for her
    run_until(box, lambda: call(box, "line2").queue == "sales", 10)
    box.phones["desk1"].hangup()                # her call ends; in wrap-up she pauses
    run_until(box, lambda: sup.acd.agents["olena"].state == "wrap-up", 5)
    assert call(box, "line2").queue == "sales"
    sup.carry_out(sup.acd.pause("olena", "lunch", sup.clock()))
    run_until(box, lambda: "sorry" in call(box, "line2").heard, 5)
    assert ("empty", "sales -> menu:sorry") in events(box, "line2")
    run_until(box, lambda: call(box, "line2") is None, 20)
    assert last_call(box).outcome == "completed"


def test_a_caller_whose_wait_would_miss_the_service_level_overflows(make_box):
    box = make_box(sales='service_level_s = 60\noverflow = "queue:support"')
    sup = box.supervisor
    nobody_answers(box, "ivan")
    for _ in range(12):                 # handle times of 5 minutes lately
        sup.waits["sales"].handled(300.0)
    to_sales(box, "line1")              # olena rings for the first caller and answers
    run_until(box, lambda: box.phones["desk1"].state == "ringing", 10)
    box.phones["desk1"].answer()
    run_until(box, lambda: call(box, "line1").agent == "olena", 5)
    to_sales(box, "line2")              # the next would wait about 5 minutes: over 60 s
    run_until(box, lambda: call(box, "line2").queue == "support", 10)
    assert ("overflow", "sales -> queue:support") in events(box, "line2")


def test_the_periodic_message_is_heard_while_waiting(make_box):
    box = make_box(sales='message = "hold_on"\nmessage_every_s = 20\nannounce_position = "no"')
    nobody_answers(box)
    to_sales(box)
    run_until(box, lambda: call(box).queue == "sales", 10)
    joined = box.engine.now_ms
    run_until(box, lambda: "hold_on" in call(box).heard, 30)
    assert 20000 <= box.engine.now_ms - joined < 21000
    run_until(box, lambda: call(box).heard.count("hold_on") == 2, 30)
    said = [d for k, d in events(box) if k == "announce"]
    assert said and all("message=hold_on" in d for d in said), said
    # The music comes back after it.
    run_until(box, lambda: not call(box).announcing, 10)
    assert box.engine.state(box.ports["line1"]) == "playing"
