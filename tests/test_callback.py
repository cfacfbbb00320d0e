"""The callback machines fed events alone: the offer with and without caller ID, another
number, wrong keys; a callback's attempts, retries, busy, expiry by time and by hours."""
from __future__ import annotations

import pytest

from appliance.callback import (Answered, Ask, Callback, CallbackError, CallbackOffer, Cancelled, Confirmed,
                                Dial, Digits, Finish, HangUp, Note, Phrase, Retry, Say, dialable, plausible)


def kinds(cmds):
    return [type(c).__name__ for c in cmds]


def notes(cmds):
    return [(c.kind, c.detail) for c in cmds if isinstance(c, Note)]


# -- the offer ----------------------------------------------------------------------------

def test_offer_with_caller_id_says_it_digit_by_digit_and_confirms():
    o = CallbackOffer("0501234567")
    (note, ask) = o.start()
    assert note == Note("callback-offer", "0501234567")
    assert ask.parts == (Phrase("callback_offer"), Digits("0501234567"), Phrase("callback_offer_keys"))
    assert ask.max_digits == 1
    cmds = o.entered("1", "max")
    assert Confirmed("0501234567") in cmds and Say((Phrase("callback_thanks"),)) in cmds
    assert o.played() == [HangUp()]


@pytest.mark.parametrize("caller,presentation", [("", ""), ("", "private"), ("0501234567", "private"),
                                                 ("123", ""), ("12345678901234567890", "")])
def test_no_usable_caller_id_goes_straight_to_keying_in(caller, presentation):
    o = CallbackOffer(caller, presentation, min_digits=5, max_digits=15)
    cmds = o.start()
    assert cmds[-1].parts == (Phrase("callback_enter"),) and cmds[-1].terminator == "#"
    assert o.state == "enter"


def test_another_number_keyed_in_then_confirmed():
    o = CallbackOffer("0501234567")
    o.start()
    cmds = o.entered("2", "max")
    assert cmds[-1].parts[-1] == Phrase("callback_enter")
    cmds = o.entered("12", "terminator")                  # too short: said so, asked again
    assert cmds[-1].parts == (Phrase("callback_bad_number"), Phrase("callback_enter"))
    cmds = o.entered("0442223344", "terminator")
    assert cmds[-1].parts[1] == Digits("0442223344")
    assert Confirmed("0442223344") in o.entered("1", "max")


def test_wrong_keys_and_silence_give_up_the_offer_after_the_tries():
    o = CallbackOffer("0501234567", tries=3)
    o.start()
    assert kinds(o.entered("7", "max")) == ["Note", "Ask"]
    assert kinds(o.entered("", "timeout")) == ["Note", "Ask"]
    cmds = o.entered("9", "max")
    assert cmds[-1] == Cancelled("too many tries") and o.state == "done"
    with pytest.raises(CallbackError):
        o.entered("1", "max")


def test_plus_is_dialled_as_the_international_prefix():
    assert dialable("+380 44 123-45-67") == "00380441234567"
    assert plausible("0501234567", 5, 15) and not plausible("05012a", 5, 15) and not plausible("١٢٣٤٥", 1, 9)
    assert CallbackOffer("+380441234567").number == "00380441234567"


# -- a callback -----------------------------------------------------------------------------

def attempt(cb, at):
    cmds = cb.turn(at)
    assert cmds[-1] == Dial(cb.number)
    (ask,) = cb.dialled(at + 2)
    assert ask.loop and ask.parts == (Phrase("callback_intro"), Phrase("callback_press_1"))
    return ask


def test_answered_on_the_first_attempt():
    cb = Callback("0501234567", 0, tries=3, retry_s=60, expiry_s=3600, answer_s=40)
    ask = attempt(cb, 100)
    assert ask.timeout_s == 40
    assert cb.key("5", "max", 110)[-1].timeout_s == pytest.approx(32)   # other keys: the time that is left
    assert cb.key("1", "max", 111)[-1] == Answered()
    assert notes(cb.connected(115)) == [("callback-connected", "")]
    assert cb.ended(300) == [Finish("answered")] and cb.outcome == "answered"


def test_no_answer_retries_then_gives_up_after_the_tries():
    cb = Callback("0501234567", 0, tries=2, retry_s=60, expiry_s=3600, answer_s=40)
    attempt(cb, 10)
    cmds = cb.key("", "timeout", 52)
    assert HangUp() in cmds and cmds[-1] == Retry(112) and cb.state == "waiting"
    assert ("callback-failed", "attempt 1: no answer") in notes(cmds)
    assert cb.tick(100) == []
    attempt(cb, 112)
    cmds = cb.busy(113)
    assert ("callback-failed", "attempt 2: busy") in notes(cmds)
    assert cmds[-1] == Finish("no-answer") and cb.done


def test_the_answer_time_runs_out_on_the_clock():
    cb = Callback("0501234567", 0, tries=3, retry_s=60, answer_s=40)
    attempt(cb, 0)                                          # dialled at 2: answer by 42
    assert cb.tick(41.9) == []
    cmds = cb.tick(42)
    assert ("callback-failed", "attempt 1: no answer") in notes(cmds) and cmds[-1] == Retry(102)


def test_expiry_while_waiting_by_time_and_by_hours():
    cb = Callback("0501234567", 0, expiry_s=600)
    assert cb.tick(599) == []
    assert cb.tick(600)[-1] == Finish("expired")
    cb = Callback("0501234567", 0, expiry_s=600)
    cmds = cb.tick(10, open_now=False)
    assert notes(cmds) == [("callback-expired", "out of hours")] and cb.outcome == "expired"


def test_an_attempt_under_way_is_let_finish_and_a_retry_past_expiry_expires():
    cb = Callback("0501234567", 0, tries=5, retry_s=300, expiry_s=600, answer_s=40)
    attempt(cb, 100)
    assert cb.tick(130, open_now=False) == []            # under way: not cut off
    cmds = cb.hung_up(420)                                # retry at 720 > expiry at 600
    assert cmds[-1] == Finish("expired") and cb.attempts == 1


def test_the_customer_hanging_up_before_the_agent_answers_is_abandoned():
    cb = Callback("0501234567", 0)
    attempt(cb, 0)
    cb.key("1", "max", 5)
    assert cb.hung_up(20) == [Finish("abandoned")]


def test_events_out_of_place_are_refused():
    cb = Callback("0501234567", 0)
    for bad in (lambda: cb.dialled(0), lambda: cb.key("1", "max", 0), lambda: cb.connected(0),
                lambda: cb.ended(0), lambda: cb.busy(0), lambda: cb.hung_up(0)):
        with pytest.raises(CallbackError):
            bad()
    with pytest.raises(ValueError):
        Callback("+380", 0)


def test_every_phrase_the_machines_name_is_built_in_in_every_language():
    from appliance.callback import PHRASES
    from appliance.numbers import LANGUAGES
    o = CallbackOffer("")
    named = {p.name for c in o.start() + o.entered("12", "terminator") + o.entered("0501234567", "terminator")
             + o.entered("1", "max") if isinstance(c, (Ask, Say)) for p in c.parts if isinstance(p, Phrase)}
    cb = Callback("0501234567", 0)
    cb.turn(0)
    named |= {p.name for c in cb.dialled(1) for p in c.parts if isinstance(p, Phrase)}
    assert named | {"queue_welcome_back"} == set(PHRASES)
    for name, by_lang in PHRASES.items():
        assert set(by_lang) == set(LANGUAGES), name
