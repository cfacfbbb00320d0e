"""Feature codes at an agent's phone, fed key by key as the engine reports them: what
the box is asked to do, the failed tries and their end, and what the agent hears."""
from __future__ import annotations

import pytest

from appliance.config import Features
from appliance.featurecode import (DialTone, Disconnect, FeatureSession, Note, Refuse, Request, StopCollecting,
                                   Tell, offer, prompt)
from appliance.numbers import Recorded, Spoken

F = Features()


def session(pin: str = "0042", features: Features = F) -> FeatureSession:
    s = FeatureSession(features, pin)
    out = s.start()
    assert len(out) == 1 and isinstance(out[0], DialTone) and s.state == "dialling"
    return s


def keys(s: FeatureSession, digits: str):
    """Every key as its digit event; what the last one asked for."""
    out = []
    for d in digits:
        out = s.digit(d)
    return out


def requests(out):
    return [c for c in out if isinstance(c, Request)]


@pytest.mark.parametrize("code,op", [("*72", "logout"), ("*74", "unpause"), ("*70", "status")])
def test_a_code_that_takes_nothing_more_acts_on_its_last_key(code, op):
    s = session()
    assert keys(s, code[:-1]) == []
    out = s.digit(code[-1])
    assert out == [StopCollecting(), Request(op)] and s.state == "acting"
    assert s.digit("5") == [] and s.collected(code, "terminator") == []    # already decided


def test_login_takes_the_pin_and_the_hash():
    s = session()
    assert keys(s, "*710042") == []
    assert s.digit("#") == [StopCollecting(), Request("login")]
    # The collection's own end (# was its terminator) changes nothing more.
    assert s.collected("*710042", "terminator") == []


def test_login_with_the_pin_then_a_pause_is_taken_too():
    s = session()
    keys(s, "*710042")
    assert requests(s.collected("*710042", "timeout")) == [Request("login")]


def test_an_agent_without_a_pin_logs_in_with_the_code_and_hash():
    s = session(pin="")
    assert requests(keys(s, "*71#")) == [Request("login")]


@pytest.mark.parametrize("reason_key,reason", [("1", "break"), ("2", "lunch"), ("3", "training")])
def test_pause_with_a_reason_acts_on_the_reasons_key(reason_key, reason):
    s = session()
    assert keys(s, "*73") == []
    assert requests(s.digit(reason_key)) == [Request("pause", reason)]


def test_pause_with_no_reason_and_two_digit_reasons():
    s = session()
    assert requests(keys(s, "*73#")) == [Request("pause", "paused")]
    f = Features(pause_reasons={"11": "lunch", "12": "meeting"})
    s = session(features=f)
    assert keys(s, "*731") == []
    assert requests(s.digit("2")) == [Request("pause", "meeting")]
    # A configuration without reasons pauses on the code alone.
    s = session(features=Features(pause_reasons={}))
    assert requests(keys(s, "*73")) == [Request("pause", "paused")]


def test_codes_from_the_configuration():
    f = Features(login="*1", logout="*2", pause="", status="")
    s = session(features=f)
    assert requests(keys(s, "*2")) == [Request("logout")]
    s = session(features=f)
    out = keys(s, "*73")            # the default pause code is turned off here
    assert any(isinstance(c, Refuse) and c.why == "wrong-code" for c in out)


@pytest.mark.parametrize("digits,why", [("*79", "wrong-code"), ("5", "wrong-code"), ("*739", "wrong-reason"),
                                        ("*711234#", "wrong-pin"), ("*71#", "wrong-pin"),
                                        ("*710042000000000", "wrong-pin")])
def test_a_failed_try_refuses_then_gives_dial_tone_again(digits, why):
    s = session()
    out = keys(s, digits)
    assert out[0] == StopCollecting() and Refuse(why, last=False) in out
    assert Note(why, "try 1 of 3") in out
    assert s.state == "refusing" and s.digit("1") == []      # keys during the error tone do nothing
    assert s.played() == [DialTone(s._max)] and s.state == "dialling"
    assert requests(keys(s, "*72")) == [Request("logout")]  # and the next try starts afresh


def test_no_pin_digits_leave_the_session():
    s = session()
    out = keys(s, "*719999#")
    assert all("9999" not in c.detail for c in out if isinstance(c, Note))


def test_the_third_wrong_pin_says_so_and_hangs_up():
    s = session()
    for n in (1, 2, 3):
        out = keys(s, "*711111#")
        assert Refuse("wrong-pin", last=n == 3) in out
        after = s.played()
    assert after == [Disconnect()] and s.state == "ended"
    assert s.digit("*") == [] and s.collected("", "timeout") == [] and s.played() == []


def test_silence_at_the_dial_tone_is_a_failed_try():
    s = session()
    assert Refuse("no-input") in s.collected("", "timeout")


def test_a_cancelled_collection_is_not_a_try():
    s = session()
    assert s.collected("", "cancelled") == [] and s.state == "dialling" and s.failures == 0


def test_what_the_acd_said_is_told_then_nothing_until_hangup():
    s = session()
    keys(s, "*73")
    s.digit("2")
    assert s.acted("paused", "lunch") == [Tell("paused", "lunch")]
    assert s.played() == [] and s.state == "done"
    assert s.digit("*") == [] and s.hung_up() == [] and s.state == "closed"


def test_a_refused_request_is_told_as_refused():
    s = session()
    keys(s, "*74")
    assert s.acted("logged-out", refused=True) == [Tell("logged-out", "", True)]


def test_acted_out_of_turn_does_nothing():
    s = session()
    assert s.acted("available") == [] and s.state == "dialling"


def test_hanging_up_mid_code_ends_it():
    s = session()
    keys(s, "*7")
    s.hung_up()
    assert s.digit("2") == [] and s.collected("*72", "timeout") == [] and s.state == "closed"


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_what_the_agent_hears_in_each_language(lang):
    said = prompt(Tell("logged-out"), lang)
    assert len(said) == 1
    if lang == "uk":
        assert isinstance(said[0], Spoken)
    else:
        assert said[0] == Recorded(lang, "agent-loggedoff", said[0].text)
    assert "обед" in prompt(Tell("paused", "обед"), lang)[0].text
    assert len(prompt(Refuse("wrong-pin", last=True), lang)) == 2      # and goodbye
    assert prompt(Refuse("wrong-pin"), lang) != prompt(Refuse("wrong-code"), lang)
    assert prompt(Tell("available"), lang) != prompt(Tell("on-call"), lang)
    assert "7" in offer("sales", "7", lang)[0].text
