"""The terminal fed bytes: what a VT100 screen shows after its output, the events, and
how it takes what is not a key."""
import re

from hypothesis import given, settings, strategies as st

from appliance import terminal
from appliance.terminal import (Complete, EndOfInput, Help, Idle, Interrupt, Line, MORE, Terminal)


class Screen:
    """The part of a VT100 that the terminal may use: printable characters, CR, LF,
    backspace, erase to end of line, cursor right and left. Anything else fails the test."""

    def __init__(self, width=80):
        self.width = width
        self.lines = [[]]
        self.col = 0
        self.bells = 0

    def feed(self, data: bytes):
        text = data.decode("utf-8")
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\x1b":
                m = re.match(r"\x1b\[(\d*)([CDK])", text[i:])
                assert m, f"unexpected escape {text[i:i + 8]!r}"
                n = int(m.group(1) or 1)
                if m.group(2) == "C":
                    self.col += n
                elif m.group(2) == "D":
                    self.col = max(0, self.col - n)
                else:
                    del self.row[self.col:]
                i += m.end()
                continue
            if c == "\r":
                self.col = 0
            elif c == "\n":
                self.lines.append([])
                self.col = 0
            elif c == "\b":
                self.col = max(0, self.col - 1)
            elif c == "\a":
                self.bells += 1
            else:
                assert c.isprintable(), f"control character {c!r} sent to the screen"
                row = self.row
                while len(row) < self.col:
                    row.append(" ")
                if self.col < len(row):
                    row[self.col] = c
                else:
                    row.append(c)
                self.col += 1
                for _ in range(terminal.char_width(c) - 1):      # a wide character's second column
                    if self.col < len(row):
                        row[self.col] = ""
                    else:
                        row.append("")
                    self.col += 1
            i += 1
        assert all(len(r) <= self.width for r in self.lines[-1:])

    @property
    def row(self):
        return self.lines[-1]

    def text(self, n=-1):
        return "".join(self.lines[n]).rstrip()

    def all(self):
        return ["".join(r).rstrip() for r in self.lines]


def term(**kw):
    t = Terminal(**kw)
    s = Screen(t.width)
    return t, s


def typed(t, s, data, now=0.0):
    t.receive(data if isinstance(data, bytes) else data.encode(), now)
    s.feed(t.output())
    return t.events()


def test_a_line_typed_is_echoed_and_entered():
    t, s = term()
    t.read_line("box> ")
    assert typed(t, s, "show status\r") == [Line("show status")]
    assert s.all() == ["box> show status", ""]


def test_editing_in_the_middle_of_the_line():
    t, s = term()
    t.read_line("> ")
    typed(t, s, "shw status")
    typed(t, s, "\x1b[D" * 8 + "o")             # left 8, insert
    assert s.text() == "> show status" and s.col == 2 + 3
    typed(t, s, "\x01")                           # Ctrl-A: home
    assert s.col == 2
    typed(t, s, "\x05\x17")                       # Ctrl-E, Ctrl-W: the last word goes
    assert s.text() == "> show"
    typed(t, s, "\x1b[H\x1b[3~")                  # Home, Delete
    assert s.text() == "> how"
    typed(t, s, "\x06\x06\x0b")                   # right, right, Ctrl-K
    assert s.text() == "> ho"
    typed(t, s, "\x02\x7f")                       # left, Backspace
    assert s.text() == "> o"
    typed(t, s, "\x05\x15")                       # Ctrl-E, Ctrl-U
    assert s.text() == ">"
    assert typed(t, s, "x\r") == [Line("x")]


def test_history_up_and_down_keeps_the_line_being_typed():
    t, s = term()
    for line in ("one", "two"):
        t.read_line("> ")
        typed(t, s, line + "\r")
    t.read_line("> ")
    typed(t, s, "thr")
    typed(t, s, "\x1b[A")
    assert s.text() == "> two"
    typed(t, s, "\x1bOA")                         # application-mode arrows too
    assert s.text() == "> one"
    typed(t, s, "\x1b[A")
    assert s.bells == 1 and s.text() == "> one"
    typed(t, s, "\x1b[B\x1b[B")
    assert s.text() == "> thr"
    assert typed(t, s, "\x10\r") == [Line("two")]
    assert t.history == ["one", "two"]            # the same line twice is kept once


def test_escape_sequences_split_across_reads():
    t, s = term()
    t.read_line("> ")
    typed(t, s, "ab")
    for b in b"\x1b[D":
        assert typed(t, s, bytes([b])) == []
    typed(t, s, "X")
    assert s.text() == "> aXb"
    typed(t, s, b"\x1b[3")
    typed(t, s, b"~")
    assert s.text() == "> aX"


def test_unknown_and_broken_escape_sequences_type_nothing():
    t, s = term()
    t.read_line("> ")
    typed(t, s, "\x1b[99;99;99;99;99;99;99;99;99;99;99;99z")   # over-long: swallowed whole
    typed(t, s, "\x1b[5~\x1b[Z\x1bOP")                           # page up, back-tab, F1
    assert s.text() == ">"
    typed(t, s, "a\x1b[\x01b")                                    # broken off by Ctrl-A
    assert s.text() == "> ba" and s.col == 3


def test_bytes_that_are_not_utf8_are_dropped_and_split_utf8_is_joined():
    t, s = term()
    t.read_line("> ")
    typed(t, s, b"a\xff\xfeb\xc3")
    typed(t, s, b"\xa9\r")
    assert t.history == ["abé"]


def test_control_characters_type_nothing():
    t, s = term()
    t.read_line("> ")
    events = typed(t, s, "".join(chr(c) for c in range(32) if chr(c) not in "\r\n\x03\x04\t\x1b") + "\x85\u200b\u0301ok\r")
    assert events == [Line("ok")]


def test_a_long_line_stops_at_the_cap_with_one_bell_and_scrolls_sideways():
    t, s = term(max_line=100)
    t.read_line("> ")
    typed(t, s, "x" * 300)
    assert s.bells == 1
    assert len(s.text()) <= 79
    typed(t, s, "\x01")
    assert s.text().startswith("> xxx") and s.col == 2
    assert typed(t, s, "\r") == [Line("x" * 100)]


def test_question_mark_asks_for_help_and_the_line_is_kept():
    t, s = term()
    t.read_line("r1# ")
    assert typed(t, s, "show ?") == [Help("show ")]
    t.show_help("  status   the box's state\n  calls    the latest calls")
    s.feed(t.output())
    assert s.all()[-3:] == ["  status   the box's state", "  calls    the latest calls", "r1# show"]
    assert typed(t, s, "st\r") == [Line("show st")]


def test_question_mark_inside_quotes_is_text():
    t, s = term()
    t.read_line("> ")
    assert typed(t, s, 'set greeting "How can we help?" ') == []
    assert typed(t, s, "?") == [Help('set greeting "How can we help?" ')]


def test_tab_completes_a_word_or_lists_the_candidates():
    t, s = term()
    t.read_line("> ")
    assert typed(t, s, "sh\t") == [Complete("sh")]
    t.show_completions(["show"])
    s.feed(t.output())
    assert s.text() == "> show"
    assert typed(t, s, "c\t") == [Complete("show c")]
    t.show_completions(["calls", "channels", "compare"])
    s.feed(t.output())
    assert s.text(-2) == "calls     channels  compare" and s.text() == "> show c"
    assert typed(t, s, "o\t") == [Complete("show co")]
    t.show_completions(["config", "compare"])
    s.feed(t.output())
    assert typed(t, s, "\t") == [Complete("show co")]
    t.show_completions(["compare"])
    s.feed(t.output())
    assert typed(t, s, "\r") == [Line("show compare ")]


def test_what_is_typed_while_the_box_answers_is_read_next():
    t, s = term()
    t.read_line("> ")
    assert typed(t, s, "one\rtwo\rthr") == [Line("one")]
    t.read_line("> ")
    assert t.events() == [Line("two")]
    t.read_line("> ")
    s.feed(t.output())
    assert s.text() == "> thr"


def test_crlf_is_one_enter_even_across_reads():
    t, s = term()
    t.read_line("> ")
    assert typed(t, s, "a\r") == [Line("a")]
    t.read_line("> ")
    assert typed(t, s, "\nb\n") == [Line("b")]


def test_ctrl_c_and_ctrl_d():
    t, s = term()
    t.read_line("> ")
    assert typed(t, s, "abc\x03") == [Interrupt()]
    t.read_line("> ")
    assert typed(t, s, "x\x01\x04") == []         # Ctrl-D on a line deletes under the cursor
    assert s.text() == ">"
    assert typed(t, s, "\x04") == [EndOfInput()]


def test_secret_lines_are_not_echoed_nor_kept():
    t, s = term()
    t.read_line("Password: ", secret=True)
    assert typed(t, s, "s3cret?\t\x1b[Dx\x7f\r") == [Line("s3cret?")]
    assert "s3cret" not in "".join(s.all()) and t.history == []


def test_the_pager_stops_every_screen():
    t, s = term(height=5)
    t.write("\n".join(f"row {i}" for i in range(10)), page=True)
    t.read_line("> ")
    s.feed(t.output())
    assert s.all() == ["row 0", "row 1", "row 2", "row 3", MORE]
    typed(t, s, " ")
    assert s.all()[4:] == ["row 4", "row 5", "row 6", "row 7", MORE]
    typed(t, s, "\r")
    assert s.all()[8:] == ["row 8", MORE]
    typed(t, s, "\x1b[Bz")                         # other keys do nothing
    typed(t, s, "q")
    assert s.all()[9:] == [">"]
    assert typed(t, s, "ok\r") == [Line("ok")]


def test_the_pager_counts_wrapped_rows_and_lets_short_output_through():
    t, s = term(width=20, height=4)
    t.write("a" * 50, page=True)
    s.feed(t.output())
    assert s.all() == ["a" * 20, "a" * 20, "a" * 10, ""]
    t.write("b" * 70, page=True)
    s.feed(t.output())
    assert s.all()[-1] == MORE


def test_a_notice_while_typing_goes_above_the_line():
    t, s = term()
    t.read_line("> ")
    typed(t, s, "show st\x1b[D")
    t.write("alarm: line2 out of service")
    s.feed(t.output())
    assert s.all()[-2:] == ["alarm: line2 out of service", "> show st"] and s.col == 8
    assert typed(t, s, "\r") == [Line("show st")]


def test_text_from_the_box_cannot_drive_the_terminal():
    t, s = term()
    t.write("caller \x1b[2J\x1b]0;owned\x07 name\x9b")
    s.feed(t.output())
    assert s.all()[0] == "caller [2J]0;owned name"


def test_idle_is_told_once_after_the_time_with_nothing_typed():
    t, s = term(idle=900)
    t.read_line("> ")
    t.tick(0)
    typed(t, s, "a", now=100)
    t.tick(999)
    assert t.events() == []
    t.tick(1000)
    t.tick(1200)
    assert t.events() == [Idle()]


def test_dumb_mode_sends_no_escapes_and_helps_at_the_end_of_a_line():
    t, s = term(dumb=True)
    t.read_line("> ")
    out = []
    t.receive(b"shw\x7fow\x1b[D\x1b[A ?\r", 0)
    out.append(t.output())
    assert t.events() == [Help("show ")]
    t.show_help("  status")
    out.append(t.output())
    t.receive(b'status\r', 0)
    out.append(t.output())
    assert t.events() == [Line("show status")]
    assert b"\x1b" not in b"".join(out)
    for o in out:
        s.feed(o)
    assert s.all()[-3:] == ["  status", "> show status", ""]


def test_a_wide_character_takes_two_columns():
    t, s = term()
    t.read_line("> ")
    typed(t, s, "日本\x1b[D")
    assert s.col == 4
    typed(t, s, "\x7f")
    assert s.text() == "> 本" and s.col == 2


def test_a_size_not_reported_is_80_by_24():
    t = Terminal(width=0, height=None)
    assert (t.width, t.height) == (80, 24)


KEYS = st.sampled_from(["a", "b", " ", "é", "日", "\x01", "\x02", "\x05", "\x06", "\x0b", "\x15", "\x17",
                        "\x7f", "\x1b[D", "\x1b[C", "\x1b[H", "\x1b[F", "\x1b[3~", "\x1b[A", "\x1b[B", "\x04"])


@settings(max_examples=300, deadline=None)
@given(st.lists(KEYS, max_size=120), st.integers(min_value=20, max_value=60))
def test_the_screen_always_shows_the_line_and_cursor_being_edited(keys, width):
    t = Terminal(width=width, history=10)
    t.history = ["previous command", "日本語 words"]
    s = Screen(width)
    t.read_line("r# ")
    for k in keys:
        t.receive(k.encode(), 0)
        s.feed(t.output())
        if t.events():
            return
        buf, cur, off = "".join(t._buf), t._cur, t._offset
        shown = "".join(s.row)
        assert shown.startswith("r# ")
        assert buf[off:].startswith(shown[3:].rstrip(" "))
        assert s.col == 3 + terminal.text_width(buf[off:cur])
        assert s.col <= width - 1


def test_long_text_is_cut_at_spaces_where_it_can_be():
    assert terminal.rows("the installer's console; type ? for help", 20) == ["the installer's", "console; type ? for", "help"]
    assert terminal.rows("x" * 45, 20) == ["x" * 20, "x" * 20, "x" * 5]


def test_a_line_that_scrolled_sideways_is_written_whole_when_entered():
    t = Terminal(width=30)
    t.read_line("> ")
    t.receive(("word " * 12).encode(), 0)
    t.output()
    t.receive(b"\r", 0)
    assert t.output() == ("\r> " + "word " * 12 + "\x1b[K\r\n").encode()
