"""A console's terminal without I/O: the bytes a person's keyboard sends in, the bytes
their screen is sent out, and events for whoever runs the commands.

Rules:
  - Bytes in (`receive`), bytes out (`output`), events out (`events`): a line entered,
    `?` pressed (a help request), Tab (a completion request), Ctrl-C, Ctrl-D on an empty
    line, and the session idle too long. Nothing here reads a clock or a device.
  - One line is read at a time (`read_line`); what is typed while no line is being read
    (the box is answering) waits, up to TYPEAHEAD characters, and is read next.
  - VT100 mode edits the line in place with only carriage return, backspace, `ESC[K`
    (erase to end of line) and `ESC[nC` / `ESC[nD` (cursor right, left); a line wider
    than the screen scrolls sideways rather than wrapping, so the cursor never has to
    climb a row. It never asks the terminal anything (no cursor-position requests,
    which cost a round trip on a slow serial link).
  - Dumb mode sends no escape sequences at all: typed characters are echoed, the cursor
    is always at the end, Backspace rubs out with backspace-space-backspace, and a line
    ending in `?` asks for help instead of running.
  - Whatever arrives is taken safely: bytes that are not UTF-8 are dropped,
    escape sequences may be split across reads and unknown ones are skipped whole,
    control characters without a meaning here are ignored, a line stops growing at
    max_line characters (one bell), and text sent to the screen has its control
    characters removed so nothing shown can drive the terminal.
  - Long output asked to be paged stops every screenful at `--More--`: space shows the
    next screen, Enter the next line, q (or Ctrl-C) drops the rest.
  - `?` inside an open double quote is a character of the text, not a help request.
"""
from __future__ import annotations

import codecs
import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import Deque, List, Optional

DEFAULT_WIDTH = 80
DEFAULT_HEIGHT = 24
MAX_LINE = 1024
TYPEAHEAD = 4096
HISTORY = 100
MORE = "--More--"
# An escape sequence longer than this is noise, not a key.
MAX_ESCAPE = 16

BELL = "\a"
ERASE_LINE = "\x1b[K"

EDIT, WAIT, PAGE = "edit", "wait", "page"


@dataclass(frozen=True)
class Line:
    text: str


@dataclass(frozen=True)
class Help:
    text: str          # the line up to the cursor, where `?` was pressed


@dataclass(frozen=True)
class Complete:
    text: str          # the line up to the cursor, where Tab was pressed


@dataclass(frozen=True)
class Interrupt:
    pass


@dataclass(frozen=True)
class EndOfInput:
    pass


@dataclass(frozen=True)
class Idle:
    pass


def char_width(ch: str) -> int:
    """Columns a character takes on a terminal: East Asian wide ones take two."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text) -> int:
    return sum(char_width(c) for c in text)


def printable(ch: str) -> bool:
    """A character that may go into a line: not a control, format, surrogate, private-use
    or unassigned code point, nor a combining mark (which would sit on the character
    before it and put the cursor arithmetic out)."""
    cat = unicodedata.category(ch)
    return not (cat[0] == "C" or cat in ("Mn", "Me", "Zl", "Zp") or ch == "\ufffd")


def clean(text: str) -> str:
    """Text for the screen with every control character gone but newline, and tabs as
    spaces: a caller's name or a configuration value cannot move the cursor."""
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    return "".join(c for c in text if c == "\n" or printable(c) or c == " ")


def in_quotes(text: str) -> bool:
    """Whether the end of text is inside an open double-quoted string."""
    inside = False
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\" and inside:
            escaped = True
        elif c == '"':
            inside = not inside
    return inside


def rows(text: str, width: int) -> List[str]:
    """Text cut into screen rows of at most width columns."""
    out: List[str] = []
    for line in clean(text).split("\n"):
        row, w = [], 0
        for c in line:
            cw = char_width(c)
            if w + cw > width:
                # Cut at the last space of the row's second half, if it has one.
                cut = next((i for i in range(len(row) - 1, len(row) // 2, -1) if row[i] == " "), None)
                if cut is None or c == " ":
                    out.append("".join(row))
                    row = []
                else:
                    out.append("".join(row[:cut]))
                    row = row[cut + 1:]
                w = text_width(row)
                if c == " " and not row:
                    continue
            row.append(c)
            w += cw
        out.append("".join(row))
    return out


class Terminal:
    def __init__(self, *, dumb: bool = False, echo: bool = True, newline: str = "\r\n",
                 width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT, max_line: int = MAX_LINE,
                 history: int = HISTORY, idle: Optional[float] = None):
        self.dumb = dumb
        self.echo = echo
        self.newline = newline
        self.width, self.height = DEFAULT_WIDTH, DEFAULT_HEIGHT
        self.resize(width, height)
        self.max_line = max_line
        self.history_size = history
        self.idle = idle
        self.history: List[str] = []
        self.state = WAIT
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: Deque[str] = deque()
        self._esc = ""
        self._cr = False
        self._out: List[str] = []
        self._events: List[object] = []
        self._prompt = ""
        self._secret = False
        self._buf: List[str] = []
        self._cur = 0
        self._offset = 0          # first character shown when the line scrolls sideways
        self._rang = False        # the bell for a full line has rung
        self._hpos: Optional[int] = None
        self._draft = ""          # the line being typed while history is browsed
        self._pager: Deque[str] = deque()
        self._next: Optional[tuple] = None   # a read_line waiting for the pager
        self._last = None
        self._idle_told = False

    # -- what the runner calls -------------------------------------------------------

    def resize(self, width: Optional[int], height: Optional[int]) -> None:
        """The screen's size; a size the terminal does not report (0 or None) is 80x24."""
        self.width = width if width and width >= 20 else DEFAULT_WIDTH
        self.height = height if height and height >= 2 else DEFAULT_HEIGHT

    def receive(self, data: bytes, now: float) -> None:
        self._last = now
        self._idle_told = False
        text = self._decoder.decode(data)
        room = TYPEAHEAD - len(self._pending)
        if len(text) > room:
            text = text[:max(room, 0)]
        self._pending.extend(text)
        self._process()

    def tick(self, now: float) -> None:
        """The clock: an Idle event once the person has typed nothing for `idle` seconds
        while the console waited for them."""
        if self._last is None:
            self._last = now
        if (self.idle is not None and not self._idle_told and self.state != WAIT
                and now - self._last >= self.idle):
            self._idle_told = True
            self._events.append(Idle())

    def events(self) -> List[object]:
        out, self._events = self._events, []
        return out

    def output(self) -> bytes:
        out = "".join(self._out)
        self._out = []
        return out.encode("utf-8")

    def read_line(self, prompt: str, secret: bool = False) -> None:
        """Show the prompt and edit a new line; secret lines are not echoed nor kept."""
        if self.state == PAGE:
            self._next = (prompt, secret)
            return
        self._prompt = clean(prompt).replace("\n", " ")
        self._secret = secret
        self._buf, self._cur, self._offset = [], 0, 0
        self._hpos, self._draft = None, ""
        self._rang = False
        self.state = EDIT
        self._send(self._prompt)
        self._process()

    def write(self, text: str, page: bool = False) -> None:
        """Text for the screen, paged with --More-- when asked. While a line is being
        edited (a notice from the box) it goes above the line, which is drawn again."""
        lines = rows(text, self.width)
        if self.state == PAGE:
            self._pager.extend(lines)
            return
        editing = self.state == EDIT
        if editing:
            self._send("\r" + ERASE_LINE if not self.dumb else self.newline)
        if page and len(lines) > self.height - 1:
            self._pager.extend(lines)
            self._more(self.height - 1)
            if self.state == PAGE:
                if editing:
                    self._next = (self._prompt, self._secret, self._buf, self._cur)
                return
        else:
            self._send("".join(r + self.newline for r in lines))
        if editing:
            self._redraw()

    def show_help(self, text: str) -> None:
        """The answer to a Help event: shown under the line, which is then edited on."""
        if self.state != WAIT:
            return
        self._send("".join(r + self.newline for r in rows(text, self.width)))
        self._resume()

    def show_completions(self, candidates: List[str]) -> None:
        """The answer to a Complete event: the word is finished if only one candidate
        fits, taken as far as they agree if several do, and listed if that adds nothing."""
        if self.state != WAIT:
            return
        before = "".join(self._buf[:self._cur])
        word = "" if before.endswith(" ") else before.split(" ")[-1]
        fits = [c for c in candidates if c.startswith(word)]
        self.state = EDIT
        common = fits[0] if fits else ""
        for c in fits[1:]:
            while not c.startswith(common):
                common = common[:-1]
        add = common[len(word):] + (" " if len(fits) == 1 else "")
        if not fits:
            self._send(BELL)
        elif add:
            for ch in add:
                self._insert(ch)
        else:
            self._send(self.newline + self._columns(sorted(fits)) + self._prompt)
            self._offset = 0
            self._redraw(prompt_shown=True)
        self._process()

    def bell(self) -> None:
        self._send(BELL)

    def set_prompt(self, prompt: str) -> None:
        """A new prompt for the line being edited (the box came back, the mode changed)."""
        if self.state == EDIT:
            self._prompt = clean(prompt).replace("\n", " ")
            self._send("\r" + ERASE_LINE if not self.dumb else self.newline)
            self._send(self._prompt)
            self._redraw(prompt_shown=True)

    def discard(self) -> None:
        """Throw away what was typed and not yet read (typed during a wait at login)."""
        self._pending.clear()
        self._esc = ""

    def wants_input(self) -> bool:
        """Whether there is room for more typed-ahead input: a runner that stops reading
        when there is none leaves the rest in the port's own buffer instead of losing it."""
        return len(self._pending) < TYPEAHEAD

    # -- input -------------------------------------------------------------------------

    def _process(self) -> None:
        while self._pending and self.state in (EDIT, PAGE):
            ch = self._pending.popleft()
            if ch == "\n" and self._cr:
                self._cr = False
                continue
            self._cr = ch == "\r"
            key = self._escape(ch)
            if not key:
                continue
            if self.state == PAGE:
                self._pager_key(key)
            else:
                self._edit_key(key)

    def _escape(self, ch: str) -> Optional[str]:
        """A key from characters: itself, or the name of an escape sequence once it is
        whole (`up`, `home`...); None while a sequence is under way or was not a key."""
        seq = self._esc
        if not seq:
            if ch == "\x1b":
                self._esc = ch
                return None
            return ch
        if seq == "\x1b":
            if ch in "[O":
                self._esc = seq + ch
                return None
            if ch == "\x1b":
                return None
            self._esc = ""
            # ESC then a letter is the Meta key (Alt-b, Alt-f move by words).
            return {"b": "word-left", "f": "word-right"}.get(ch, ch)
        if seq == "\x1bO":
            self._esc = ""
            return {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end"}.get(ch, "")
        code = ord(ch)
        if 0x20 <= code <= 0x3F:
            # An over-long sequence is still swallowed whole, up to its final byte.
            if len(seq) < MAX_ESCAPE:
                self._esc = seq + ch
            return None
        self._esc = ""
        if 0x40 <= code <= 0x7E:
            params = seq[2:]
            if ch == "~":
                return {"1": "home", "7": "home", "4": "end", "8": "end", "3": "delete"}.get(params, "")
            if params in ("", "1"):
                return {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end"}.get(ch, "")
            return ""
        # A sequence broken off by something that is not part of one: the sequence is
        # dropped and what broke it is a key of its own.
        if ch == "\x1b":
            self._esc = ch
            return None
        return ch

    def _pager_key(self, key: str) -> None:
        if key == " ":
            self._more(self.height - 1)
        elif key in ("\r", "\n"):
            self._more(1)
        elif key in ("q", "Q", "\x03"):
            self._pager.clear()
            self._more(0)

    def _more(self, n: int) -> None:
        if self.state == PAGE:
            self._send("\r" + (ERASE_LINE if not self.dumb else " " * len(MORE) + "\r"))
        shown = [self._pager.popleft() for _ in range(min(n, len(self._pager)))]
        self._send("".join(r + self.newline for r in shown))
        if self._pager:
            self.state = PAGE
            self._send(MORE)
            return
        self.state = WAIT
        nxt, self._next = self._next, None
        if nxt is not None:
            if len(nxt) == 4:      # a line that was being edited when a notice was paged
                self._prompt, self._secret, self._buf, self._cur = nxt
                self._resume()
            else:
                self.read_line(*nxt)

    def _edit_key(self, key: str) -> None:
        if len(key) > 1:
            return self._named_key(key)
        if key in ("\r", "\n"):
            return self._enter()
        code = ord(key)
        if key == "\x03":
            self._send("^C" + self.newline)
            self._finish(Interrupt())
        elif key == "\x04":
            if not self._buf:
                self._send(self.newline)
                self._finish(EndOfInput())
            else:
                self._delete()
        elif key in ("\x7f", "\x08"):
            self._backspace()
        elif self._secret:
            if printable(key) or key == " ":
                self._insert(key)
            elif key == "\x15":
                self._buf, self._cur = [], 0
        elif key == "\t":
            self._ask(Complete)
        elif key == "?" and not self.dumb and not in_quotes("".join(self._buf[:self._cur])):
            self._send(("?" if self._cur == len(self._buf) else "") + self.newline)
            self._ask(Help)
        elif key == "\x15":
            self._kill(0, self._cur)
        elif key == "\x0b":
            self._kill(self._cur, len(self._buf))
        elif key == "\x17":
            self._kill(self._word_start(), self._cur)
        elif key in ("\x0c", "\x12"):
            self._send(self.newline)
            self._redraw(full=True)
        elif key == "\x01":
            self._move(0)
        elif key == "\x05":
            self._move(len(self._buf))
        elif key == "\x02":
            self._move(self._cur - 1)
        elif key == "\x06":
            self._move(self._cur + 1)
        elif key == "\x10":
            self._browse(-1)
        elif key == "\x0e":
            self._browse(1)
        elif code >= 0x20 and (printable(key) or key == " "):
            self._insert(key)

    def _named_key(self, key: str) -> None:
        if self._secret:
            return
        if key == "left":
            self._move(self._cur - 1)
        elif key == "right":
            self._move(self._cur + 1)
        elif key == "home":
            self._move(0)
        elif key == "end":
            self._move(len(self._buf))
        elif key == "word-left":
            self._move(self._word_start())
        elif key == "word-right":
            i = self._cur
            while i < len(self._buf) and self._buf[i] == " ":
                i += 1
            while i < len(self._buf) and self._buf[i] != " ":
                i += 1
            self._move(i)
        elif key == "delete":
            self._delete()
        elif key == "up":
            self._browse(-1)
        elif key == "down":
            self._browse(1)

    def _enter(self) -> None:
        text = "".join(self._buf)
        if self.echo and not self.dumb and not self._secret and (
                self._offset or text_width(text) > self._room()):
            # A line that scrolled sideways is written out whole, wrapping as it will,
            # so what was run stays readable above.
            self._send("\r" + self._prompt + text + ERASE_LINE)
        if self.echo:
            self._send(self.newline)
        if self.dumb and not self._secret and text.endswith("?") and not in_quotes(text[:-1]):
            self._buf, self._cur = self._buf[:-1], len(self._buf) - 1
            return self._ask(Help)
        if not self._secret and text.strip() and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-self.history_size]
        self._finish(Line(text))

    def _finish(self, event) -> None:
        self.state = WAIT
        self._buf, self._cur = [], 0
        self._events.append(event)

    def _ask(self, kind) -> None:
        """A Help or Complete event: the line waits, kept, for the answer."""
        self.state = WAIT
        self._events.append(kind("".join(self._buf[:self._cur])))

    def _resume(self, quiet: bool = False) -> None:
        self.state = EDIT
        if not quiet:
            self._offset = 0
            self._send(self._prompt)
            self._redraw(prompt_shown=True)
        self._process()

    # -- editing -----------------------------------------------------------------------

    def _insert(self, ch: str) -> None:
        if len(self._buf) >= self.max_line:
            if not self._rang:
                self._rang = True
                self._send(BELL)
            return
        self._buf.insert(self._cur, ch)
        self._cur += 1
        if self._secret or not self.echo:
            return
        if self.dumb:
            self._send(ch)
        elif self._cur == len(self._buf) and self._fits():
            self._send(ch)
        else:
            self._redraw()

    def _backspace(self) -> None:
        if self._cur == 0:
            return
        ch = self._buf.pop(self._cur - 1)
        self._cur -= 1
        self._rang = False
        if self._secret or not self.echo:
            return
        w = char_width(ch)
        if self.dumb or (self._cur == len(self._buf) and self._cur > self._offset):
            self._send("\b" * w + " " * w + "\b" * w)
        else:
            self._redraw()

    def _delete(self) -> None:
        if self._cur < len(self._buf):
            del self._buf[self._cur]
            self._rang = False
            self._redraw()

    def _kill(self, start: int, end: int) -> None:
        if start >= end:
            return
        removed = self._buf[start:end]
        del self._buf[start:end]
        self._cur = start
        self._rang = False
        if self.dumb:
            w = text_width(removed)
            if self.echo:
                self._send("\b" * w + " " * w + "\b" * w)
        else:
            self._redraw()

    def _word_start(self) -> int:
        i = self._cur
        while i > 0 and self._buf[i - 1] == " ":
            i -= 1
        while i > 0 and self._buf[i - 1] != " ":
            i -= 1
        return i

    def _move(self, to: int) -> None:
        if self.dumb:
            return
        to = max(0, min(to, len(self._buf)))
        if to == self._cur:
            return
        before = self._cur
        self._cur = to
        if self._offset <= to and self._fits():
            if to < before:
                w = text_width(self._buf[to:before])
                self._send("\b" * w if w <= 4 else f"\x1b[{w}D")
            else:
                w = text_width(self._buf[before:to])
                self._send(f"\x1b[{w}C" if w > 1 else "\x1b[C")
        else:
            self._redraw()

    def _browse(self, step: int) -> None:
        if self.dumb or not self.history:
            return
        if self._hpos is None:
            if step > 0:
                return
            self._draft = "".join(self._buf)
            pos = len(self.history) - 1
        else:
            pos = self._hpos + step
        if pos < 0:
            return self._send(BELL)
        if pos >= len(self.history):
            self._hpos, text = None, self._draft
        else:
            self._hpos, text = pos, self.history[pos]
        self._buf = list(text[:self.max_line])
        self._cur = len(self._buf)
        self._redraw()

    # -- the screen ----------------------------------------------------------------------

    def _room(self) -> int:
        """Columns for the line after the prompt; the last column is kept free so the
        terminal never wraps."""
        return max(self.width - 1 - text_width(self._prompt), 8)

    def _fits(self) -> bool:
        """Whether the cursor is still within the part of the line shown."""
        return text_width(self._buf[self._offset:self._cur]) <= self._room()

    def _redraw(self, full: bool = False, prompt_shown: bool = False) -> None:
        if self._secret or (not self.echo and not prompt_shown):
            if full:
                self._send(self._prompt)
            return
        if self.dumb or not self.echo:
            if not prompt_shown:
                self._send(self._prompt)
            self._send("".join(self._buf))
            return
        room = self._room()
        if self._cur < self._offset or not self._fits():
            # The cursor goes half way across: typing on then scrolls the line once every
            # half a screen, not at every key (a full line is 80 bytes, 83 ms at 9600 baud).
            i, w = self._cur, 0
            while i > 0 and w + char_width(self._buf[i - 1]) <= room // 2:
                i -= 1
                w += char_width(self._buf[i])
            self._offset = i
        shown, w = [], 0
        for c in self._buf[self._offset:]:
            w += char_width(c)
            if w > room:
                break
            shown.append(c)
        back = text_width(shown[self._cur - self._offset:])
        self._send(("" if prompt_shown else "\r" + self._prompt) + "".join(shown) + ERASE_LINE
                   + (f"\x1b[{back}D" if back else ""))

    def _columns(self, words: List[str]) -> str:
        cell = max(text_width(w) for w in words) + 2
        per_row = max(1, self.width // cell)
        lines = []
        for i in range(0, len(words), per_row):
            lines.append("".join(w + " " * (cell - text_width(w)) for w in words[i:i + per_row]).rstrip())
        return "".join(line + self.newline for line in lines)

    def _send(self, text: str) -> None:
        if text:
            self._out.append(text)
