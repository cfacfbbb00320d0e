"""The call flow, driven by events alone on the demo office: greetings long and short,
keys, submenus, back, top, repeat, operator, invalid entries and silence with their
counts, digit collection, language choice, business hours, caller-ID rules, and the
caller hanging up at every step."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance import config
from appliance.callflow import Announce, Ask, CallFlow, CallFlowError, HangUp, Note, RunScript, ToOperator, ToQueue

DEMO = Path(__file__).resolve().parent.parent / "appliance" / "demo-office.toml"


@pytest.fixture(scope="module")
def office():
    return config.load(str(DEMO))


def plays(cmds):
    """The prompts of the one Ask or Announce among the commands."""
    (c,) = [c for c in cmds if isinstance(c, (Ask, Announce))]
    return c.prompts


def notes(cmds, kind=None):
    return [(n.kind, n.detail) for n in cmds if isinstance(n, Note) and (kind is None or n.kind == kind)]


def test_first_entry_long_greeting_then_short_on_return(office):
    f = CallFlow(office, "+380441112233")
    cmds = f.start()
    assert notes(cmds) == [("menu", "main")]
    assert cmds[-1] == Ask(("welcome", "main_options"), "en", 1, "", 5.0, 5.0)
    cmds = f.entered("1", "max")
    assert notes(cmds) == [("digits", "main:1"), ("menu", "sales")]
    assert plays(cmds) == ("sales",)
    cmds = f.entered("#", "max")                        # back
    assert plays(cmds) == ("main_options",)
    cmds = f.entered("*", "max")                        # repeat
    assert plays(cmds) == ("main_options",) and not notes(cmds, "invalid")


def test_invalid_entries_counted_then_operator(office):
    f = CallFlow(office)
    f.start()
    for _ in range(2):
        cmds = f.entered("5", "max")
        assert notes(cmds, "invalid") == [("invalid", "main:5")]
        assert plays(cmds) == ("invalid", "main_options")
    cmds = f.entered("6", "max")
    assert notes(cmds, "invalid") == [("invalid", "main:6")]
    assert cmds[-1] == ToOperator() and f.outcome == "operator"     # the menu's invalid_then
    assert f.ended


def test_valid_entry_resets_the_counts(office):
    f = CallFlow(office)
    f.start()
    f.entered("5", "max")
    f.entered("5", "max")
    f.entered("1", "max")       # sales
    f.entered("#", "max")       # back to main: counts start again
    f.entered("5", "max")
    cmds = f.entered("5", "max")
    assert not f.ended and plays(cmds) == ("invalid", "main_options")


def test_silence_counted_then_hung_up(office):
    f = CallFlow(office)
    f.start()
    for _ in range(2):
        cmds = f.entered("", "timeout")
        assert notes(cmds, "no-input") == [("no-input", "main")]
        assert plays(cmds) == ("no_input", "main_options")
    cmds = f.entered("", "timeout")
    assert cmds[-1] == HangUp() and f.outcome == "no-input"
    assert notes(cmds, "end") == [("end", "no-input")]


def test_silence_in_a_submenu_goes_to_the_top(office):
    f = CallFlow(office)
    f.start()
    f.entered("2", "max")       # support
    f.entered("", "timeout")
    f.entered("", "timeout")
    cmds = f.entered("", "timeout")
    assert notes(cmds, "menu") == [("menu", "main")] and plays(cmds) == ("main_options",)


def test_operator_key(office):
    f = CallFlow(office)
    f.start()
    cmds = f.entered("0", "max")
    assert cmds[-1] == ToOperator() and f.outcome == "operator"


def test_announcement_then_back(office):
    f = CallFlow(office)
    f.start()
    cmds = f.entered("3", "max")
    assert cmds[-1] == Announce(("hours",), "en")
    cmds = f.played()
    assert notes(cmds, "menu") == [("menu", "main")] and plays(cmds) == ("main_options",)


def test_collecting_an_order_number(office):
    f = CallFlow(office)
    f.start()
    f.entered("1", "max")
    cmds = f.entered("2", "max")
    assert cmds[-1] == Ask(("order_number",), "en", 8, "#", 5.0, 4.0)
    cmds = f.entered("12", "terminator")                # too short
    assert notes(cmds, "invalid") == [("invalid", "order:12")]
    assert plays(cmds) == ("invalid", "order_number")
    cmds = f.entered("12a4", "terminator")              # off the pattern (cannot come from a keypad, but still)
    assert notes(cmds, "invalid")
    cmds = f.entered("123456", "timeout")               # the pause after the last digit ends the entry
    assert notes(cmds) == [("digits", "order:123456"), ("end", "queued")]
    assert cmds[-1] == ToQueue("sales") and f.outcome == "queued"


def test_collect_no_input_goes_back(office):
    f = CallFlow(office)
    f.start()
    f.entered("1", "max")
    f.entered("2", "max")
    for _ in range(3):
        cmds = f.entered("", "timeout")
    assert notes(cmds, "menu") == [("menu", "sales")] and plays(cmds) == ("sales",)


def test_language_choice_holds_for_the_rest_of_the_call(office):
    f = CallFlow(office)
    f.start()
    cmds = f.entered("9", "max")
    assert notes(cmds, "language") == [("language", "uk")]
    assert cmds[-1] == Ask(("main_options",), "uk", 1, "", 5.0, 5.0)
    cmds = f.entered("1", "max")
    assert cmds[-1].language == "uk"
    cmds = f.entered("#", "max")
    cmds = f.entered("8", "max")
    assert cmds[-1].language == "ru"


def test_blocked_caller_hears_the_prompt_and_is_hung_up_on(office):
    f = CallFlow(office, "0900555")
    cmds = f.start()
    assert notes(cmds) == [("blocked", "0900555")] and cmds[-1] == Announce(("blocked",), "en")
    cmds = f.played()
    assert cmds[-1] == HangUp() and f.outcome == "blocked"


def test_vip_is_noted(office):
    f = CallFlow(office, "+380441234567")
    assert ("vip", "+380441234567") in notes(f.start())


def test_after_hours(office):
    f = CallFlow(office, open_now=False)
    cmds = f.start()
    assert notes(cmds) == [("after-hours", ""), ("menu", "closed")]
    assert cmds[-1] == Announce(("closed",), "en")
    cmds = f.played()
    assert cmds[-1] == HangUp() and f.outcome == "after-hours"


def test_caller_id_rule_replaces_the_entry_menu(office, tmp_path):
    text = DEMO.read_text(encoding="utf-8") + '\n[[callerid.rule]]\nmatch = "+7*"\nthen = "language:ru"\n'
    p = tmp_path / "office.toml"
    p.write_text(text, encoding="utf-8")
    f = CallFlow(config.load(str(p)), "+74951234567")
    cmds = f.start()
    assert notes(cmds, "language") == [("language", "ru")] and cmds[-1].language == "ru"



def test_a_line_with_a_queue_skips_the_menus(office):
    f = CallFlow(office, "0501234567", queue="support")
    cmds = f.start()
    assert cmds == [Note("end", "queued"), ToQueue("support")] and f.ended and f.outcome == "queued"
    # After hours the office's after-hours path still comes first.
    f = CallFlow(office, queue="support", open_now=False)
    assert notes(f.start())[:2] == [("after-hours", ""), ("menu", "closed")]

# The caller hangs up at each step of a path through the menus.
STEPS = [("entered", ("1", "max")), ("entered", ("2", "max")), ("entered", ("12", "terminator")),
         ("entered", ("4321", "terminator"))]


@pytest.mark.parametrize("at", range(len(STEPS) + 1))
def test_hangup_at_every_step(office, at):
    f = CallFlow(office)
    f.start()
    for name, args in STEPS[:at]:
        getattr(f, name)(*args)
    if f.ended:
        assert f.hung_up() == []
        return
    cmds = f.hung_up()
    assert cmds == [Note("end", "abandoned")] and f.outcome == "abandoned"
    assert f.hung_up() == []
    with pytest.raises(CallFlowError):
        f.entered("1", "max")
    with pytest.raises(CallFlowError):
        f.played()


def test_hangup_after_hours_is_after_hours(office):
    f = CallFlow(office, open_now=False)
    f.start()
    f.hung_up()
    assert f.outcome == "after-hours"


def test_an_event_the_flow_does_not_wait_for(office):
    f = CallFlow(office)
    f.start()
    with pytest.raises(CallFlowError, match="not waiting for announce"):
        f.played()


def test_a_queue_sends_the_caller_on_and_the_flow_resumes(office):
    f = CallFlow(office)
    f.start()
    f.entered("1", "max")
    cmds = f.entered("1", "max")
    assert cmds[-1] == ToQueue("sales") and f.ended
    cmds = f.resume(config.Action("queue", "support"), "full")
    assert notes(cmds) == [("left-queue", "full: queue:support"), ("end", "queued")]
    assert cmds[-1] == ToQueue("support")
    cmds = f.resume(config.Action("menu", "closed"), "timeout")
    assert cmds[-1] == Announce(("closed",), "en") and not f.ended
    assert f.played()[-1] == HangUp() and f.outcome == "completed"
    with pytest.raises(CallFlowError, match="cannot resume"):
        f.resume(config.Action("hangup"), "timeout")


def test_the_after_hours_action_from_a_queue(office):
    f = CallFlow(office)
    f.start()
    f.entered("1", "max")
    f.entered("1", "max")
    cmds = f.resume(config.Action("after-hours"), "empty")
    assert notes(cmds) == [("left-queue", "empty: after-hours"), ("after-hours", ""), ("menu", "closed")]
    assert f.played()[-1] == HangUp() and f.outcome == "after-hours"


def test_resume_is_only_for_a_caller_in_a_queue(office):
    f = CallFlow(office)
    f.start()
    with pytest.raises(CallFlowError, match="cannot resume from a queue: it is waiting for ask"):
        f.resume(config.Action("hangup"), "full")


def test_leaving_a_queue_the_flow_goes_on_from_the_action(office):
    from appliance.config import Action
    f = CallFlow(office, "0501234567")
    f.start()
    f.entered("1", "max")
    cmds = f.entered("1", "max")                        # sales, new order: queued
    assert cmds[-1] == ToQueue("sales") and f.outcome == "queued"
    cmds = f.resume(Action("menu", "support"), "exit-key")      # the queue's exit key
    assert notes(cmds)[:2] == [("left-queue", "exit-key: menu:support"), ("menu", "support")]
    assert plays(cmds) == ("support",) and not f.ended
    cmds = f.entered("#", "max")                        # back goes where the caller came from
    assert notes(cmds, "menu") == [("menu", "sales")]
    with pytest.raises(CallFlowError):
        f.resume(Action("hangup"), "exit-key")          # not in a queue now


def test_callback_action_hands_the_caller_to_the_offer(office):
    from appliance.callflow import ToCallback
    from appliance.config import Action
    f = CallFlow(office, "0501234567")
    f.start()
    f.entered("1", "max")
    f.entered("1", "max")
    cmds = f.resume(Action("callback", "sales"), "timeout")
    assert cmds[-1] == ToCallback("sales") and f.outcome == "queued"


def with_script(tmp_path, then: str = 'then = "menu:main"\n'):
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace('"3" = "menu:hours",', '"3" = "menu:hours", "4" = "menu:lookup",', 1)
    text += (f'\n[menu.lookup]\nagi = "agi://crm.example/lookup?x=1"\nagi_timeout_s = 4\n'
             f'agi_fallback = "operator"\n{then}')
    p = tmp_path / "office.toml"
    p.write_text(text, encoding="utf-8")
    f = CallFlow(config.load(str(p)), "0501234567")
    f.start()
    return f, f.entered("4", "max")


def test_an_agi_menu_hands_the_call_to_its_script(tmp_path):
    f, cmds = with_script(tmp_path)
    assert cmds[-1] == RunScript("agi://crm.example/lookup?x=1", 4.0, "lookup", "en") and f.waiting == "agi"
    with pytest.raises(CallFlowError):
        f.entered("1", "max")
    # Ended with the call up: the menu's then.
    cmds = f.script_ended("done")
    assert ("agi", "done") in notes(cmds) and ("menu", "main") in notes(cmds)


@pytest.mark.parametrize("how,detail,outcome,last", [
    ("failed", "no command within 4 s", "operator", ToOperator()),
    ("queue", "sales", "queued", ToQueue("sales")),
    ("hangup", "", "completed", HangUp()),
])
def test_how_a_script_ends(tmp_path, how, detail, outcome, last):
    f, _ = with_script(tmp_path)
    cmds = f.script_ended(how, detail)
    assert cmds[-1] == last and f.outcome == outcome
    if how == "failed":
        assert notes(cmds, "agi-fallback") == [("agi-fallback", "no command within 4 s: operator")]


def test_a_script_that_ends_with_no_then_hangs_up(tmp_path):
    f, _ = with_script(tmp_path, then="")
    assert f.script_ended("done")[-1] == HangUp() and f.outcome == "completed"


def test_a_collect_menus_entry_is_a_variable_for_scripts(office):
    f = CallFlow(office, "0501234567")
    f.start()
    f.entered("1", "max")
    f.entered("2", "max")
    f.entered("4321", "terminator")
    assert f.variables == {"order": "4321"}
