"""The FastAGI session fed bytes: the header, splitting as Asterisk splits, every
command's result line, the caller's hangup, and nonsense of every kind."""
from __future__ import annotations

import random

import pytest

from appliance import agi
from appliance.agi import (Assigned, Ended, Failed, GetDigits, HangUpCall, Pause, Play, Record, Say, Session,
                           Transfer, WaitDigit)


def channel(**kw) -> agi.Channel:
    base = dict(target=agi.parse_url("agi://scripts.example:4600/orders/lookup?shop=main&lang=en"),
                channel=3, language="en", uniqueid="1764547200.42", callerid="0501234567",
                calleridname="PETRENKO O", context="lookup", threadid=42)
    base.update(kw)
    return agi.Channel(**base)


def header_of(data: bytes) -> dict:
    text = data.decode()
    assert text.endswith("\n\n")
    out = {}
    for line in text[:-2].split("\n"):
        key, sep, value = line.partition(": ")
        assert sep and key.startswith("agi_") and key not in out, line
        out[key] = value
    return out


def session(recordings: str = "", **kw) -> Session:
    s = Session(channel(**kw), {"order": "4217"}, {"CALLERID(num)": "0501234567"}, frozenset({"sales"}), recordings)
    s.sent(len(s.outgoing()))       # the header
    return s


def ask(s: Session, line: str):
    actions = s.receive(line.encode() + b"\n")
    out = s.outgoing().decode()
    s.sent(len(out.encode()))
    return actions, out


# -- addresses and the header ------------------------------------------------------------

def test_the_address():
    t = agi.parse_url("agi://10.0.0.5/lookup?a=1&b=two%20words")
    assert (t.host, t.port, t.script, t.args) == ("10.0.0.5", 4573, "lookup", ("1", "two words"))
    assert agi.parse_url("agi://h:4600/x").port == 4600


@pytest.mark.parametrize("url", ["http://h/x", "agi:///x", "agi://h:99999/x", "agi://h/x\nagi_x: 1", 5])
def test_addresses_that_cannot_be_used(url):
    with pytest.raises(agi.AgiError):
        agi.parse_url(url)


def test_the_header_names_the_call_as_asterisk_does():
    h = header_of(agi.header(channel()))
    assert h["agi_network"] == "yes" and h["agi_network_script"] == "orders/lookup"
    assert h["agi_request"] == "agi://scripts.example:4600/orders/lookup?shop=main&lang=en"
    assert h["agi_channel"] == "DAHDI/3-1" and h["agi_type"] == "DAHDI" and h["agi_language"] == "en"
    assert h["agi_uniqueid"] == "1764547200.42" and h["agi_threadid"] == "42"
    assert h["agi_callerid"] == "0501234567" and h["agi_calleridname"] == "PETRENKO O"
    assert h["agi_context"] == "lookup" and h["agi_extension"] == "s" and h["agi_priority"] == "1"
    assert h["agi_enhanced"] == "0.0" and h["agi_accountcode"] == "" and h["agi_dnid"] == "unknown"
    assert (h["agi_arg_1"], h["agi_arg_2"]) == ("main", "en")
    assert header_of(agi.header(channel(callerid="", calleridname="")))["agi_callerid"] == "unknown"


@pytest.mark.parametrize("number,name", [
    ("05\r\nagi_context: evil", "EVIL\nagi_arg_1: x"),
    ("0501234567\n\n200 result=1", "\x00\x1b[2J\x7f"),
    ("9" * 5000, "N" * 5000 + "\nagi_network: no"),
    ("050:123", "ACME: sales\r"),
])
def test_nothing_a_caller_sends_adds_a_line_to_the_header(number, name):
    h = header_of(agi.header(channel(callerid=number, calleridname=name)))
    assert len(h) == 21
    assert h["agi_context"] == "lookup" and h["agi_network"] == "yes" and h["agi_arg_1"] == "main"
    for key in ("agi_callerid", "agi_calleridname"):
        assert len(h[key]) <= agi.VALUE_LIMIT
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in h[key])
    assert h["agi_callerid"] == agi.clean(number)


# -- splitting -------------------------------------------------------------------------

@pytest.mark.parametrize("line,args", [
    ('STREAM FILE welcome ""', ["STREAM", "FILE", "welcome", ""]),
    ('SET VARIABLE "NAME" "two words"', ["SET", "VARIABLE", "NAME", "two words"]),
    (r'SET VARIABLE X "say \"hi\""', ["SET", "VARIABLE", "X", 'say "hi"']),
    (r'SET VARIABLE X a\ b', ["SET", "VARIABLE", "X", "a b"]),
    ('  NOOP   ', ["NOOP"]),
    ('VERBOSE "unterminated', ["VERBOSE", "unterminated"]),
])
def test_split_as_asterisk_splits(line, args):
    assert agi.split_args(line) == args


# -- commands ----------------------------------------------------------------------------

def test_commands_answered_at_once():
    s = session()
    assert ask(s, "ANSWER") == ([], "200 result=0\n")
    assert ask(s, "NOOP") == ([], "200 result=0\n")
    assert ask(s, 'VERBOSE "looking up" 1') == ([], "200 result=1\n")
    assert ask(s, "CHANNEL STATUS") == ([], "200 result=6\n")
    assert ask(s, 'SET VARIABLE STATUS "shipped today"') == ([Assigned("STATUS", "shipped today")], "200 result=1\n")
    assert s.variables["STATUS"] == "shipped today"
    assert ask(s, "GET VARIABLE STATUS") == ([], "200 result=1 (shipped today)\n")
    assert ask(s, "GET VARIABLE order") == ([], "200 result=1 (4217)\n")     # a collect menu's entry
    assert ask(s, "GET VARIABLE NOPE") == ([], "200 result=0\n")
    assert ask(s, 'GET VARIABLE "CALLERID(num)"') == ([], "200 result=1 (0501234567)\n")
    assert ask(s, 'GET FULL VARIABLE "${order}/${STATUS}"') == ([], "200 result=1 (4217/shipped today)\n")
    assert ask(s, 'SET VARIABLE "CALLERID(num)" 1') [1].startswith("520-")      # read-only


def test_a_variable_set_with_line_breaks_comes_back_on_one_line():
    s = session()
    actions, _ = ask(s, r'SET VARIABLE X "a\
b"')
    # The line ended at the newline: the quote never closed, the value is "a".
    assert actions == [Assigned("X", "a")]
    assert ask(s, "b\"")[1] == "510 Invalid or unknown command\n"


def test_stream_file_and_its_results():
    s = session()
    actions, out = ask(s, 'STREAM FILE welcome "12#" 0')
    assert actions == [Play(("welcome",), "12#")] and out == ""
    assert ask(s, "NOOP") == ([], "")              # waits: one command at a time
    assert s.done(endpos=16000) == []
    assert s.outgoing() == b"200 result=0 endpos=16000\n200 result=0\n"
    s.sent(len(s.outgoing()))
    ask(s, 'STREAM FILE welcome "12#"')
    s.done(digits="2", endpos=4000)
    assert s.outgoing() == b"200 result=50 endpos=4000\n"
    s.sent(len(s.outgoing()))
    ask(s, 'STREAM FILE nowhere ""')
    s.done(missing=True)
    assert s.outgoing() == b"200 result=-1 endpos=0\n"


def test_control_stream_file_get_option_and_exec_playback():
    s = session()
    assert ask(s, 'CONTROL STREAM FILE a&b "#" 3000 * # 0')[0] == [Play(("a", "b"), "#")]
    s.done(endpos=8000)
    assert ask(s, "NOOP")[1] == "200 result=0 endpos=8000\n200 result=0\n"
    assert ask(s, 'GET OPTION menu "123" 4000')[0] == [Play(("menu",), "123", then_wait_ms=4000)]
    s.done(digits="3", endpos=100)
    assert ask(s, "NOOP")[1] == "200 result=51 endpos=100\n200 result=0\n"
    assert ask(s, "EXEC Playback welcome")[0] == [Play(("welcome",))]
    s.done(endpos=10)
    assert ask(s, "NOOP")[1] == "200 result=0\n200 result=0\n"


def test_get_data():
    s = session()
    assert ask(s, "GET DATA order_number 5000 6")[0] == [GetDigits(("order_number",), 5000, 6)]
    s.done(digits="4217")
    assert ask(s, "NOOP")[1] == "200 result=4217\n200 result=0\n"
    assert ask(s, "GET DATA order_number")[0] == [GetDigits(("order_number",), 6000, 32)]
    s.done(digits="", timed_out=True)
    assert ask(s, "NOOP")[1] == "200 result= (timeout)\n200 result=0\n"


def test_say_number_say_digits_wait_for_digit_and_wait():
    s = session()
    steps = [('SAY NUMBER 4217 ""', Say("number", "4217", ""), {}, "200 result=0"),
             ('SAY DIGITS 0501 "#"', Say("digits", "0501", "#"), {"digits": "#"}, "200 result=35"),
             ("WAIT FOR DIGIT -1", WaitDigit(agi.MAX_WAIT_MS), {"digits": "7"}, "200 result=55"),
             ("WAIT FOR DIGIT 2000", WaitDigit(2000), {"timed_out": True}, "200 result=0"),
             ("EXEC Wait 1.5", Pause(1500), {}, "200 result=0")]
    for line, action, how, result in steps:
        assert ask(s, line) == ([action], "")
        s.done(**how)
        assert s.outgoing().decode() == result + "\n"
        s.sent(len(s.outgoing()))


def test_record_file_and_its_results():
    s = session()
    # As pyst2's record_file sends it: quoted name and keys, offset, beep, s=.
    assert ask(s, 'RECORD FILE "msg/1" wav "#" 20000 0 beep s=3') == ([Record("msg/1.wav", "#", 20000, True, 3)], "")
    assert ask(s, "NOOP") == ([], "")              # waits: one command at a time
    s.done(digits="#", endpos=12000)
    assert s.outgoing() == b"200 result=35 (dtmf) endpos=12000\n200 result=0\n"
    s.sent(len(s.outgoing()))
    assert ask(s, 'RECORD FILE msg WAV "" -1')[0] == [Record("msg.wav", "", 0, False, 0)]
    s.done(timed_out=True, endpos=80000)
    assert ask(s, "NOOP")[1] == "200 result=0 (timeout) endpos=80000\n200 result=0\n"
    assert ask(s, 'RECORD FILE msg wav "" 5000 BEEP')[0] == [Record("msg.wav", "", 5000, True, 0)]
    s.done(unwritable=True)
    assert ask(s, "NOOP")[1] == "200 result=-1 (writefile)\n200 result=0\n"


def test_a_recording_when_the_caller_hangs_up():
    s = session()
    ask(s, 'RECORD FILE msg wav "#" 20000')
    s.hung_up(endpos=4160)
    assert s.outgoing() == b"200 result=-1 (hangup) endpos=4160\nHANGUP\n"


@pytest.mark.parametrize("fmt", ["gsm", "ulaw", "alaw", "sln", "wav49", "g729"])
def test_a_recording_in_a_format_the_box_does_not_write_is_refused(fmt):
    s = session()
    assert ask(s, f'RECORD FILE msg {fmt} "#" 20000') == ([], "200 result=-1 (writefile)\n")
    assert s.waiting_for_script


@pytest.mark.parametrize("name", ["../msg", "a/../../etc/passwd", "/etc/cron.d/x", "/var/lib/appliance/rec/../x",
                                  "/var/lib/appliance/recx/msg", ".hidden", "a//b", "a/", "", "msg\\x",
                                  "a b", "x" * 300, "..", "~root/x"])
def test_a_recording_cannot_be_written_outside_its_directory(name):
    s = session(recordings="/var/lib/appliance/rec")
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    assert ask(s, f'RECORD FILE "{quoted}" wav "#" 20000') == ([], "200 result=-1 (writefile)\n")


def test_a_recording_named_by_its_full_path_inside_its_directory():
    s = session(recordings="/var/lib/appliance/rec")
    assert ask(s, 'RECORD FILE /var/lib/appliance/rec/vm/101/msg0001 wav "#" 9000')[0] == [
        Record("vm/101/msg0001.wav", "#", 9000)]
    assert agi.recording_name("1764547200.42-caller", "") == "1764547200.42-caller.wav"


@pytest.mark.parametrize("line", ['RECORD FILE msg wav "#"', 'RECORD FILE msg wav "#" soon',
                                  'RECORD FILE msg wav "#" 1 2 3 4 5'])
def test_record_file_with_wrong_arguments(line):
    assert ask(session(), line)[1].startswith("520-Invalid command syntax.  Proper usage follows:\nRECORD FILE <")


def test_exec_queue_hangup_and_unknown_applications():
    s = session()
    assert ask(s, "EXEC Dial DAHDI/1") == ([], "200 result=-2\n")
    assert ask(s, 'EXEC Queue "nowhere"') == ([], "200 result=-1\n")
    assert ask(s, 'EXEC Queue "sales,t"') == ([Transfer("sales")], "200 result=0\n")
    assert s.over and ask(s, "NOOP") == ([], "")
    s = session()
    assert ask(s, "HANGUP") == ([HangUpCall()], "200 result=1\n")
    s = session()
    assert ask(s, "EXEC Hangup") == ([HangUpCall()], "200 result=0\n")


def test_the_script_closing_with_the_call_up():
    s = session()
    assert s.eof() == [Ended()]
    assert s.receive(b"NOOP\n") == []


def test_the_caller_hanging_up():
    s = session()
    ask(s, "GET DATA order_number 5000 6")
    s.hung_up()
    assert s.outgoing() == b"200 result=-1\nHANGUP\n"
    s.sent(len(s.outgoing()))
    assert ask(s, 'STREAM FILE welcome ""') == ([], agi.DEAD.decode())
    assert s.done() == [] and s.eof() == []


def test_unknown_commands_and_usage():
    s = session()
    assert ask(s, "SEND TEXT hello") == ([], "510 Invalid or unknown command\n")
    out = ask(s, "SAY NUMBER twelve \"\"")[1]
    assert out == ("520-Invalid command syntax.  Proper usage follows:\nSAY NUMBER <number> <escape digits> "
                   "[gender]\n520 End of proper usage.\n")
    assert ask(s, "STREAM FILE")[1].startswith("520-")
    assert ask(s, "stream file welcome \"\"")[0] == [Play(("welcome",), "")]     # any case, as Asterisk


def test_a_few_unknown_commands_are_forgiven():
    s = session()
    for _ in range(agi.BAD_LINES - 1):
        ask(s, "DATABASE GET a b")
    assert ask(s, "NOOP") == ([], "200 result=0\n")
    for _ in range(agi.BAD_LINES - 1):
        ask(s, "DATABASE GET a b")
    assert not s.over


def test_nonsense_fails_the_session():
    s = session()
    fails = [a for _ in range(agi.BAD_LINES) for a in ask(s, "\x00\xff garbage")[0]]
    assert len(fails) == 1 and isinstance(fails[0], Failed) and s.over
    s = session()
    assert isinstance(s.receive(b"A" * (agi.LINE_LIMIT + 1))[0], Failed)
    s = session()
    assert isinstance(s.receive(b"NOOP " + b"x" * agi.LINE_LIMIT + b"\n")[0], Failed)
    s = session()
    assert s.fail("no command within 3 s") == [Failed("no command within 3 s")] and s.fail("again") == []


def test_a_thousand_malformed_replies():
    """Whatever comes, in whatever pieces: the session answers or fails, never raises,
    never writes anything but whole result lines."""
    rng = random.Random(7)
    pieces = [b"\x00", b"\xff\xfe", b"\r", b"\n", b" ", b'"', b"\\", b"STREAM FILE ", b"GET DATA ", b"SAY NUMBER ",
              b"EXEC ", b"SET VARIABLE ", b"200 result=", b"HANGUP", b"x" * 700, "ї".encode(), b"\x1b[",
              b"WAIT FOR DIGIT ", b"-1", b"99999999999", b"&&&", b"${", b"}"]
    failed = 0
    for n in range(1000):
        s = session()
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) + b"\n"
        actions = []
        for i in range(0, len(data), rng.randint(1, 64)):
            actions += s.receive(data[i:i + 64])
            while s.pending is not None:
                actions += s.done(digits=rng.choice(["", "1", "#"]), endpos=rng.randint(0, 9999))
        failed += any(isinstance(a, Failed) for a in actions)
        for line in s.outgoing().split(b"\n")[:-1]:
            assert line[:3] in (b"200", b"510", b"520", b"End", b"HAN") or not line.startswith(b"5"), line
            assert all(b >= 32 for b in line), line
        assert s.outgoing().endswith(b"\n") or not s.outgoing()
    assert failed > 0
