"""The box answering its lines, end to end at audio level: scripted callers on the
simulated board ring the demo office, press keys as DTMF audio over the prompts, and
hang up; the call log shows what happened, and the caller's own recording shows what
it heard, in English, Russian and Ukrainian."""
from __future__ import annotations

import io

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.prompts import PromptLibrary
from appliance.sim import identify_prompt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library():
    return PromptLibrary()


@pytest.fixture
def box(tmp_path, library):
    b = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=io.StringIO(), library=library)
    b.supervisor.hours_override = True
    yield b
    b.close()


def run_until(box: Box, cond, limit_s: float = 40.0) -> None:
    end = box.engine.now_ms + limit_s * 1000
    while box.engine.now_ms < end:
        box.run(0.1, paced=False)
        if cond():
            return
    raise AssertionError(f"not within {limit_s} s; the box said:\n{box.out.getvalue()[-3000:]}")


def call(box: Box, line: str = "line1"):
    return box.supervisor.calls.get(box.ports[line])


def hears(box: Box, name: str, line: str = "line1"):
    """Until the call on `line` has had `name` played to it (once more than now)."""
    c = call(box, line)
    before = c.heard.count(name) if c else 0
    return lambda: (c := call(box, line)) is not None and c.heard.count(name) > before


def waits_for_keys(box: Box, line: str = "line1"):
    return lambda: (c := call(box, line)) is not None and c.flow is not None and c.flow.waiting == "ask"


def ring(box: Box, number: str = "0501234567", line: str = "line1"):
    box.callers[line].ring(number, "PETRENKO O")
    run_until(box, waits_for_keys(box, line))


def press(box: Box, keys: str, then=None, line: str = "line1") -> None:
    run_until(box, lambda: box.engine.state(box.ports[line]) in ("playing", "collecting"))
    box.callers[line].press(keys)
    if then is not None:
        run_until(box, then)


def ended(box: Box, line: str = "line1"):
    return lambda: call(box, line) is None


def last_call(box: Box):
    return box.log.calls(limit=1)[0]


@pytest.mark.parametrize("lang,key", [("en", None), ("ru", "8"), ("uk", "9")])
def test_sales_in_each_language(box, lang, key):
    caller = box.callers["line1"]
    caller.capture()
    ring(box)
    if key:
        press(box, key, hears(box, "main_options"))
    press(box, "1", hears(box, "sales"))
    box.run(len(box.bank.pcm("sales", lang)) / 8000 + 0.5, paced=False)    # sales played through
    c = call(box)
    assert c.flow.language == lang and c.flow.menu.name == "sales"
    # What the caller heard last, through the line and the codec, is the sales prompt
    # in its language, told apart from the same prompt in the other two.
    heard = caller.heard()[-len(box.bank.pcm("sales", lang)) - 8000:]
    known = {f"sales-{x}": box.bank.pcm("sales", x) for x in ("en", "ru", "uk")}
    name, score = identify_prompt(heard, known)
    assert name == f"sales-{lang}", (name, score)
    caller.hangup()
    run_until(box, ended(box))
    row = last_call(box)
    assert row.caller == "0501234567" and row.outcome == "abandoned"
    assert row.language == (lang if key else None) or row.language == lang
    assert row.menus[-1] == "sales" and ("main", "1") in row.digits


LANGUAGE_KEYS = {"en": None, "ru": "8", "uk": "9"}


def choose(box, lang):
    """The caller picks the language first (English is the office's default)."""
    if LANGUAGE_KEYS[lang]:
        press(box, LANGUAGE_KEYS[lang], hears(box, "main_options"))
        assert call(box).flow.language == lang


PHONE = {"olena": "desk1", "ivan": "desk2"}


def agent_rings(box, agent):
    """Until the agent's phone rings on their desk, not only in the ACD."""
    return lambda: (box.supervisor.acd.agents[agent].state == "ringing"
                    and box.phones[PHONE[agent]].state == "ringing")


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_order_number_queued_and_answered_by_an_agent(box, lang):
    ring(box)
    choose(box, lang)
    press(box, "1", hears(box, "sales"))
    press(box, "2", hears(box, "order_number"))
    press(box, "12", hears(box, "invalid"))               # too short: the pause ends it
    press(box, "123456#")
    run_until(box, agent_rings(box, "olena"))             # sales, level 1: olena at desk1
    assert box.engine.state(box.ports["desk1"]) == "ringing"
    box.phones["desk1"].answer()
    run_until(box, lambda: call(box).agent == "olena")
    run_until(box, lambda: box.engine.state(box.ports["line1"]) == "bridged", 2)
    box.callers["line1"].hangup()
    run_until(box, ended(box))
    row = last_call(box)
    assert row.outcome == "answered"
    assert row.digits[-1] == ("order", "123456")
    kinds = [e.kind for e in box.log.events(row.id)]
    assert "invalid" in kinds and "queued" in kinds and "connected" in kinds
    assert box.supervisor.acd.agents["olena"].state in ("wrap-up", "available")
    wrapup = box.office.queues["sales"].wrapup_s
    assert wrapup > 0
    assert [e.detail for e in box.log.events(row.id) if e.kind == "wrap-up"] == [f"olena {wrapup:.1f}"]


def test_every_agent_busy_callers_wait_then_the_agent_hangs_up(box):
    """Two agents, three callers for sales: nobody hears busy; the third waits until an
    agent is free again; an agent hanging up ends that call."""
    for ln in ("line1", "line2", "line3"):
        ring(box, line=ln)
        press(box, "1", hears(box, "sales", ln), line=ln)
        press(box, "1", line=ln)
        run_until(box, lambda ln=ln: call(box, ln).queue == "sales", 10)
    acd = box.supervisor.acd
    # Olena (sales, level 1) rings at once; Ivan (level 2) once the head of the line has
    # waited the queue's 30 s.
    for agent in ("olena", "ivan"):
        run_until(box, agent_rings(box, agent), 40)
        box.phones[PHONE[agent]].answer()
    run_until(box, lambda: sum(1 for c in box.supervisor.calls.values() if c.agent) == 2, 5)
    waiting = acd.waiting("sales")
    assert len(waiting) == 1 and len(box.supervisor.calls) == 3
    box.phones["desk1"].hangup()                     # olena's call ends: her caller is hung up on
    run_until(box, lambda: len(box.supervisor.calls) == 2, 5)
    run_until(box, agent_rings(box, "olena"), 30)   # after wrap-up, she rings for the third
    assert acd.agents["olena"].call == waiting[0]
    outcomes = [c.outcome for c in box.log.calls(limit=3)]
    assert outcomes.count("answered") == 1


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_invalid_entries_then_operator(box, lang):
    ring(box)
    choose(box, lang)
    for _ in range(3):
        press(box, "5", hears(box, "invalid") if _ < 2 else None)
    run_until(box, lambda: call(box) is None or call(box).queue == "operator")
    box.callers["line1"].hangup()
    run_until(box, ended(box))
    assert [e.kind for e in box.log.events(last_call(box).id)].count("invalid") == 3


def test_silence_hangs_up(box):
    ring(box)
    run_until(box, ended(box), 120)
    row = last_call(box)
    assert row.outcome == "no-input"
    assert [e.kind for e in box.log.events(row.id)].count("no-input") == 3


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_repeat_back_and_the_hours_announcement(box, lang):
    ring(box)
    choose(box, lang)
    press(box, "*", hears(box, "main_options"))
    press(box, "3", hears(box, "hours"))
    run_until(box, hears(box, "main_options"), 30)      # announced, then back
    press(box, "2", hears(box, "support"))
    press(box, "#", hears(box, "main_options"))
    assert last_call(box).end is None
    assert call(box).flow.menu.name == "main" and call(box).flow.language == lang
    assert f"caller hears hours [{lang}]" in box.out.getvalue()


def test_after_hours(box):
    box.supervisor.hours_override = False
    ring_only(box)
    run_until(box, ended(box), 40)
    row = last_call(box)
    assert row.outcome == "after-hours" and row.menus == ("closed",)


def test_caller_id_rule_and_vip(box):
    box.callers["line1"].ring("+74951234567", "")
    run_until(box, waits_for_keys(box))
    assert call(box).flow.language == "ru" and "line1: caller hears main_options [ru]" in box.out.getvalue()
    box.callers["line1"].hangup()
    run_until(box, ended(box))
    assert last_call(box).language == "ru"
    box.callers["line2"].ring("+380441234567", "")
    run_until(box, waits_for_keys(box, "line2"), 15)
    box.callers["line2"].hangup()
    run_until(box, ended(box, "line2"))
    assert ("vip", "+380441234567") in [(e.kind, e.detail) for e in box.log.events(last_call(box).id)]


def test_blocked_caller(box):
    box.callers["line1"].ring("0900777", "")
    run_until(box, lambda: last_call(box).answer is not None, 15)
    run_until(box, ended(box), 30)
    row = last_call(box)
    assert row.outcome == "blocked" and row.caller == "0900777"


def ring_only(box, number="0501234567"):
    box.callers["line1"].ring(number, "")
    run_until(box, lambda: call(box) is not None and call(box).flow is not None, 15)


# The caller hangs up at each step of the way to an agent.
STEPS = ["ringing", "greeting", "sales", "order", "queued", "agent-ringing"]


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
@pytest.mark.parametrize("step", STEPS)
def test_caller_hangs_up_at_each_step(box, step, lang):
    caller = box.callers["line1"]
    if step == "ringing":
        caller.ring("0501234567", "")
        run_until(box, lambda: call(box) is not None, 5)
    else:
        ring(box)
        if step != "greeting":
            choose(box, lang)
            press(box, "1", hears(box, "sales"))
        if step in ("order", "queued", "agent-ringing"):
            press(box, "2", hears(box, "order_number"))
        if step in ("queued", "agent-ringing"):
            for a in ("olena", "ivan"):                  # nobody free: the caller waits
                box.supervisor.acd.pause(a, "lunch", box.engine.now_ms / 1000)
            press(box, "4444#")
            run_until(box, lambda: call(box).queue == "sales", 20)
        if step == "agent-ringing":
            box.supervisor.carry_out(box.supervisor.acd.unpause("olena", box.supervisor.clock()))
            run_until(box, agent_rings(box, "olena"), 5)
    caller.hangup()
    run_until(box, ended(box), 15)
    row = last_call(box)
    assert row.outcome == "abandoned" and row.end is not None
    assert (row.answer is None) == (step == "ringing")
    if step == "agent-ringing":
        run_until(box, lambda: box.engine.state(box.ports["desk1"]) == "idle", 5)
        assert box.supervisor.acd.agents["olena"].state == "available"
    assert not box.supervisor.acd.callers


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_waiting_caller_hears_position_and_wait(box, lang):
    """Both agents away: nobody hears busy; the caller waits with music and hears their
    place and, the box having a history of calls to go by, a wait in their language."""
    sup = box.supervisor
    sup.acd.pause("olena", "lunch", 0)
    sup.acd.logout("ivan", 0)
    for _ in range(12):                              # a history of handle times to go by
        sup.waits["sales"].handled(180.0)
    ring(box)
    choose(box, lang)
    press(box, "1", hears(box, "sales"))
    press(box, "1")
    run_until(box, lambda: call(box).queue == "sales", 10)
    run_until(box, lambda: any(e.kind == "announce" for e in box.log.events(last_call(box).id)), 30)
    events = box.log.events(last_call(box).id)
    said = [e.detail for e in events if e.kind == "announce"]
    assert said[0].startswith("next position=1"), said
    assert box.engine.state(box.ports["line1"]) == "playing"
    assert not [e for e in events if e.kind == "error"], events
    box.callers["line1"].hangup()
    run_until(box, ended(box))
    assert last_call(box).outcome == "abandoned"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_behind_a_busy_agent_the_wait_is_said(box, lang):
    sup = box.supervisor
    sup.acd.logout("ivan", 0)
    for _ in range(12):
        sup.waits["sales"].handled(150.0)
    ring(box)                                        # the first caller reaches olena
    press(box, "1", hears(box, "sales"))
    press(box, "1")
    run_until(box, agent_rings(box, "olena"), 10)
    box.phones["desk1"].answer()
    run_until(box, lambda: call(box).agent == "olena", 5)
    # Her ring-to-answer delay is learnt: the estimate counts it in every wait.
    assert list(sup.waits["sales"].delays) == [pytest.approx(call(box).talk_from - call(box).rung_at)]
    assert 0 < sup.waits["sales"].delays[0] < 5
    ring(box, line="line2")                          # the second waits behind her call
    if LANGUAGE_KEYS[lang]:
        press(box, LANGUAGE_KEYS[lang], hears(box, "main_options", "line2"), line="line2")
    press(box, "1", hears(box, "sales", "line2"), line="line2")
    press(box, "1", line="line2")
    run_until(box, lambda: call(box, "line2").queue == "sales", 10)
    run_until(box, lambda: any(e.kind == "announce" for e in box.log.events(call(box, "line2").log_id)), 30)
    said = [e.detail for e in box.log.events(call(box, "line2").log_id) if e.kind == "announce"]
    # One agent, 150 s calls, nobody ahead: up to 3 minutes, said as its band.
    assert said[0] == "position+wait position=1 wait=180", said
    assert call(box, "line2").flow.language == lang


def test_after_a_caller_gives_up_in_a_queue_the_line_takes_the_next_call(box):
    """The line goes back on hook when a queued caller hangs up (it once stayed off hook,
    and the exchange could not ring it again)."""
    box.supervisor.acd.pause("olena", "lunch", 0)
    box.supervisor.acd.logout("ivan", 0)
    for _ in range(2):
        ring(box)
        press(box, "1", hears(box, "sales"))
        press(box, "1")
        run_until(box, lambda: call(box).queue == "sales", 10)
        box.callers["line1"].hangup()
        run_until(box, ended(box))
        run_until(box, lambda: box.callers["line1"].state == "idle", 5)
    assert [c.outcome for c in box.log.calls(limit=2)] == ["abandoned", "abandoned"]


def test_a_busy_operator_means_waiting_not_a_hangup(box):
    """Two callers ask for the operator: the first is bridged, the second waits to
    ringback and is put through when the operator is free again."""
    for ln in ("line1", "line2"):
        ring(box, line=ln)
        press(box, "0", line=ln)
        run_until(box, lambda ln=ln: call(box, ln).queue == "operator", 10)
    run_until(box, lambda: box.phones["reception"].state == "ringing", 5)
    box.phones["reception"].answer()
    run_until(box, lambda: call(box, "line1").agent == "operator", 5)
    assert call(box, "line2").agent is None and box.supervisor.acd.waiting("operator") == [call(box, "line2").key]
    box.phones["reception"].hangup()                 # the operator ends the first call
    run_until(box, ended(box, "line1"), 5)
    run_until(box, lambda: box.phones["reception"].state == "ringing", 10)
    box.phones["reception"].answer()
    run_until(box, lambda: call(box, "line2").agent == "operator", 5)
    box.callers["line2"].hangup()
    run_until(box, ended(box, "line2"), 5)
    assert [c.outcome for c in box.log.calls(limit=2)] == ["operator", "operator"]
