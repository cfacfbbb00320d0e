"""The console's grammar: every command, unique prefixes, and mistakes told plainly."""
import pytest

from appliance.console import Command, ConsoleError, parse

LINES = ["line1", "line2", "reception"]


@pytest.mark.parametrize("typed,cmd", [
    ("call line1", Command("call", line="line1")),
    ("call line2 +380501234567 PETRENKO OLENA", Command("call", line="line2", number="+380501234567",
                                                        name="PETRENKO OLENA")),
    ("press 12#", Command("press", digits="12#")),
    ("pr 0 on line2", Command("press", line="line2", digits="0")),
    ("hangup", Command("hangup")),
    ("hang line1", Command("hangup", line="line1")),
    ("pickup", Command("pickup")),
    ("drop", Command("drop")),
    ("hours cl", Command("hours", what="closed")),
    ("sh ca", Command("show", what="calls")),
    ("show log", Command("show", what="log")),
    ("show log 12", Command("show", what="log", call=12)),
    ("agent olena pause lunch break", Command("agent", name="olena", what="pause", args=("lunch", "break"))),
    ("ag ivan logi", Command("agent", name="ivan", what="login")),
    ("sh ag", Command("show", what="agents")),
    ("help", Command("help")),
    ("q", Command("quit")),
])
def test_commands(typed, cmd):
    assert parse(typed, LINES) == cmd


def test_blank_line_is_nothing():
    assert parse("   ", LINES) is None


@pytest.mark.parametrize("typed,said", [
    ("dial line1", "unknown command 'dial'"),
    ("h", "could be hangup or hours or help"),
    ("agent olena", "agent NAME login|logout|pause [REASON]|unpause"),
    ("agent olena logout now", "agent NAME logout takes nothing more"),
    ("agent olena sleep", "unknown agent command 'sleep'"),
    ("call", "call which line?"),
    ("call line9", "no line 'line9'; the lines are line1, line2, reception"),
    ("call line1 12ab", "'12ab' is not a phone number"),
    ("press", "press which keys?"),
    ("press 12x", "'12x' holds something that is not a key"),
    ("press 1 at line1", "press DIGITS [on LINE]"),
    ("show", "show what?"),
    ("show queues", "unknown thing to show 'queues'"),
    ("show log last", "'last' is not a call number"),
    ("hours maybe", "unknown hours setting 'maybe'"),
    ("quit now", "quit takes nothing more"),
])
def test_mistakes(typed, said):
    with pytest.raises(ConsoleError, match=None) as e:
        parse(typed, LINES)
    assert said in str(e.value)
