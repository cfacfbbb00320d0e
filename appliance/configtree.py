"""The office's configuration as a tree of keys a person edits one at a time from the
console, and the TOML text it is written back as.

Paths, as the console takes them:
  - Dotted words from the top of the file: `office.name`, `queue.support.wrapup_s`,
    `prompts.welcome.en`, `menu.main.keys.1`, `features.pause_reasons.2`.
  - An entry of an array of tables is named by its `name`: `line.line1.rings`,
    `agent.olena.queues.sales`; entries without names ([[callerid.rule]],
    [[board.span]]) by their place from 1: `callerid.rule.2.match`, `board.span.1.lbo`.
  - A word holds no '.' and no space: a key of the file that does can only be changed
    in the file itself (the box's own keys never do).
  - Setting a key of something that is not there yet makes it: `line.line5.channel`
    adds a [[line]] named line5, `callerid.rule.N` one past the last adds a rule,
    `queue.billing.strategy` a [queue.billing]. A key a known table does not take is
    refused at once, with the nearest known one; everything else about a value (its
    range, a menu it names) is the configuration loader's to judge, at commit.

Values:
  - Read as TOML: "quoted text", numbers, true/false, [lists], {inline tables}.
  - A word that is not TOML is text: `set queue.sales.strategy round-robin`; where a
    key holds text (now, or by its kind) a number typed stays text, so a PIN keeps its
    leading zeros and `set office.name 42` is the name "42".
  - A list of text may be typed as words: `set office.languages en ru`.

Writing: every table and key in the order the tree holds them (the file's own order,
new keys after the old); the sections ([office], [queue.NAME], [[line]] ...) as table
headers, everything below them inline. The comment lines above a header or a key are
kept with it; a comment at the end of a line is not. Reading what is written gives the
same tree (tested on every configuration in the repository).
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from appliance import config
from appliance.tomlpos import Positions

Key = Union[str, int]
Path = Tuple[Key, ...]

NAMESPACES = ("prompts", "menu", "queue")           # [NAMESPACE.NAME] tables
BARE = re.compile(r"[A-Za-z0-9_-]+")


class TreeError(Exception):
    """A path or value the tree cannot take; the message says which and why."""


def _close(word: str, known: Sequence[str]) -> str:
    hit = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{hit[0]}'?" if hit else ""


# -- what each key holds, for typing values and completing them ----------------------

CHOICES: Dict[Tuple[str, str], Tuple[str, ...]] = {
    ("board", "zone"): config.TONE_ZONES, ("board", "echo_canceller"): config.ECHO_CANCELLERS,
    ("board.span", "signalling"): config.E1_SIGNALLING, ("board.span", "coding"): ("hdb3", "ami"),
    ("board.span", "framing"): ("ccs", "cas"),
    ("line", "kind"): config.KINDS, ("line", "law"): config.LAWS, ("line", "plan"): config.PLANS,
    ("line", "callerid"): config.CALLERID, ("line", "callerid_when"): config.CALLERID_WHEN,
    ("queue.*", "announce_position"): ("yes", "no", "limit"), ("queue.*", "empty"): config.EMPTY,
}
BOOLS = {"join_empty", "leave_empty", "announce_wait", "crc4"}
ACTION_KEYS = {"then", "invalid_then", "no_input_then", "after_hours", "when_full", "when_timeout", "when_empty",
               "overflow", "exit_to", "agi_fallback"}
PROMPT_KEYS = {"greeting", "short_greeting", "invalid", "no_input", "message", "blocked_prompt"}
TEXT_LISTS = {("office", "languages"), ("hours", "holidays"), ("callerid", "blocklist"), ("callerid", "vip")}
NUMBERS = {"channel", "rings", "invalid_tries", "no_input_tries", "misses_to_pause", "max_callers", "position_limit",
           "callback_tries", "callback_min_digits", "callback_max_digits", "min", "max", "weight", "keep_days",
           "max_mb", "timing", "lbo"}
# Tables below a section that hold keys of their own choosing.
OPEN_TABLES = {("menu.*", "keys"), ("agent", "queues"), ("features", "pause_reasons")}


def place(path: Path) -> Tuple[str, Path]:
    """Where a path stands in the file's layout: the section pattern of config.SECTION_KEYS
    and the rest of the path within it."""
    if not path:
        return "", ()
    top = path[0]
    if top in NAMESPACES:
        where, rest = f"{top}.*", path[2:]
        if top == "menu" and rest[:1] == ("collect",) and len(path) > 2:
            where, rest = "menu.*.collect", rest[1:]
        return where, rest
    if top in ("line", "agent"):
        return top, path[2:]
    if len(path) >= 2 and f"{top}.{path[1]}" in config.ARRAY_TABLES:      # callerid.rule, board.span
        return f"{top}.{path[1]}", path[3:]
    return str(top), path[1:]


def kind_of(path: Path) -> str:
    """What a key holds: choice, bool, action, prompt, menu, phone, queue, language,
    level, number, text-list, or text."""
    where, rest = place(path)
    if not rest:
        return "table"
    key = rest[0]
    if len(rest) == 2 and (where, key) in OPEN_TABLES:
        return {"keys": "action", "queues": "level"}.get(str(key), "text")
    if len(rest) > 1:
        return "text"
    if (where, key) in CHOICES or (where, key) == ("queue.*", "strategy"):
        return "choice"
    if (where, key) in TEXT_LISTS:
        return "language-list" if key == "languages" else "text-list"
    if key in BOOLS:
        return "bool"
    if key in ACTION_KEYS or (where, key) in (("callerid.rule", "then"), ("menu.*.collect", "then")):
        return "action"
    if key in PROMPT_KEYS:
        return "prompt"
    if (where, key) == ("office", "entry"):
        return "menu"
    if (where, key) in (("office", "operator"), ("agent", "phone")):
        return "phone"
    if (where, key) == ("line", "queue"):
        return "queue"
    if (where, key) == ("office", "timezone"):
        return "timezone"
    if key in NUMBERS or str(key).endswith("_s"):
        return "number"
    if where == "prompts.*":
        return "prompt-text"
    return "text"


def choices(path: Path) -> Tuple[str, ...]:
    where, rest = place(path)
    if (where, rest[:1]) == ("queue.*", ("strategy",)):
        from appliance.acd import STRATEGIES
        return STRATEGIES
    return CHOICES.get((where, rest[0]), ()) if rest else ()


# -- the tree ------------------------------------------------------------------------

@dataclass
class ConfigTree:
    """The configuration's data (as tomllib reads it) and the comments of its file.
    Changes give a new tree; a tree is never changed in place."""
    data: Dict[str, Any]
    comments: Dict[str, List[str]] = field(default_factory=dict)     # by path as shown
    tail: List[str] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> "ConfigTree":
        """A tree from TOML text (the loader has accepted it, or it raises TreeError)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise TreeError(f"not TOML: {e}") from None
        pos = Positions(text)
        tree = cls(data, {}, list(pos.tail))
        for path, block in pos.comments.items():
            try:
                tree.comments[tree.show(path)] = list(block)
            except (KeyError, IndexError, TypeError):
                continue
        return tree

    def text(self) -> str:
        return dumps(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, ConfigTree) and self.data == other.data

    # Paths.

    def show(self, path: Path) -> str:
        """A path as the console shows it: array entries by name."""
        out: List[str] = []
        node: Any = self.data
        for k in path:
            if isinstance(k, int):
                entry = node[k]
                name = entry.get("name") if isinstance(entry, dict) else None
                out.append(name if isinstance(name, str) and _word_ok(name) and _named(path[:len(out)])
                           else str(k + 1))
            else:
                out.append(str(k))
            node = node[k]
        return ".".join(out)

    def resolve(self, text: str, create: bool = False) -> Tuple[Path, bool]:
        """The internal path of a typed path, and whether it is there. With create, the
        entries of arrays of tables that are not there are allowed (set makes them)."""
        words = split_path(text)
        path: Path = ()
        node: Any = self.data
        for i, w in enumerate(words):
            shown = ".".join(words[:i]) or "the configuration"
            if isinstance(node, list) and _is_array_table(path):
                idx = _entry(node, w, _named(path))
                if idx is None:
                    if not create:
                        raise TreeError(f"no {'.'.join(str(x) for x in path)} '{w}'"
                                        f"{_close(w, _entry_names(node, _named(path)))}")
                    return self._new(path, words[i:]), False
                path, node = path + (idx,), node[idx]
                continue
            if isinstance(node, dict):
                if w not in node:
                    new = self._new(path, words[i:])
                    if not create:
                        raise TreeError(f"{shown} has no '{w}' set")
                    return new, False
                path, node = path + (w,), node[w]
                continue
            raise TreeError(f"{shown} is a value, not a table: it has no '{w}'")
        return path, True

    def known_keys(self, path: Path) -> Optional[Tuple[str, ...]]:
        """The keys a table at path (entries as places) may hold; None where any name goes."""
        if len(path) == 1 and path[0] in NAMESPACES:
            return None
        where, rest = place(path)
        if not rest:
            return config.SECTION_KEYS.get(where)
        if len(rest) == 1 and (where, rest[0]) in OPEN_TABLES:
            return None
        return ()

    def _new(self, path: Path, words: List[str]) -> Path:
        """A path that is not there yet: each word must be a key its table may hold."""
        for w in words:
            if not _is_array_table(path):
                known = self.known_keys(self._pattern_path(path))
                if known is not None and w not in known:
                    raise TreeError(f"{self.show_new(path) or 'the configuration'} has no key '{w}'"
                                    f"{_close(w, known)}")
            path = path + (w,)
        return path

    def show_new(self, path: Path) -> str:
        """show() for a path whose end may not be there yet."""
        for i in range(len(path), -1, -1):
            try:
                head = self.show(path[:i])
            except (KeyError, IndexError, TypeError):
                continue
            return ".".join(([head] if head else []) + [str(x) for x in path[i:]])
        return ""

    def get(self, text: str) -> Any:
        path, there = self.resolve(text)
        node: Any = self.data
        for k in path:
            node = node[k]
        return node

    # Changes.

    def set(self, text: str, value_text: str) -> "ConfigTree":
        """The tree with the key at the typed path set to the typed value."""
        if not value_text.strip():
            raise TreeError(f"set {text} to what? set PATH VALUE")
        path, there = self.resolve(text, create=True)
        current = self._at(path) if there else None
        value = parse_value(value_text, kind_of(self._pattern_path(path)), current)
        new = ConfigTree(copy.deepcopy(self.data), dict(self.comments), list(self.tail))
        new._put(path, value)
        return new

    def delete(self, text: str) -> "ConfigTree":
        path, there = self.resolve(text)
        if not path:
            raise TreeError("the whole configuration cannot be deleted")
        new = ConfigTree(copy.deepcopy(self.data), dict(self.comments), list(self.tail))
        shown = self.show(path)
        del new._at(path[:-1])[path[-1]]
        for k in [k for k in new.comments if k == shown or k.startswith(shown + ".")]:
            del new.comments[k]
        return new

    def _at(self, path: Path) -> Any:
        node: Any = self.data
        for k in path:
            node = node[k]
        return node

    def _pattern_path(self, path: Path) -> Path:
        """The path with array entries as places (0): enough for kind_of."""
        return tuple(0 if (i and isinstance(k, str) and _is_array_table(path[:i])) else k
                     for i, k in enumerate(path))

    def _put(self, path: Path, value: Any) -> None:
        node: Any = self.data
        for i, k in enumerate(path[:-1]):
            if isinstance(node, list):
                if isinstance(k, str):          # a new entry, by its name or its place
                    if k.isdigit() and not _named(path[:i]):
                        if int(k) != len(node) + 1:
                            raise TreeError(f"{'.'.join(map(str, path[:i]))} has {len(node)} entries: "
                                            f"the next is {len(node) + 1}")
                        node.append({})
                    else:
                        node.append({"name": k})
                    node = node[-1]
                    continue
                node = node[k]
                continue
            if k not in node:
                node[k] = [] if _is_array_table(path[:i + 1]) else {}
            elif not isinstance(node[k], (dict, list)):
                raise TreeError(f"{'.'.join(map(str, path[:i + 1]))} is a value, not a table")
            node = node[k]
        last = path[-1]
        if isinstance(node, list):
            if isinstance(last, int):
                node[last] = value
            else:
                raise TreeError(f"an entry of {'.'.join(map(str, path[:-1]))} is a table: set its keys")
            return
        node[last] = value

    # Reading it out.

    def leaves(self) -> List[Tuple[str, str]]:
        """Every value as (path as shown, value as TOML), tables descended into."""
        out: List[Tuple[str, str]] = []

        def walk(node: Any, path: Path) -> None:
            if isinstance(node, dict) and (node or not path):
                for k, v in node.items():
                    walk(v, path + (k,))
            elif isinstance(node, list) and _is_array_table(path) and all(isinstance(e, dict) for e in node):
                for i, e in enumerate(node):
                    walk(e, path + (i,))
            else:
                out.append((self.show(path), inline(node)))
        walk(self.data, ())
        return out

    def subtree(self, text: str) -> str:
        """The text of one part: `key = value` lines of its leaves, by path."""
        path, _ = self.resolve(text)
        shown = self.show(path)
        return "\n".join(f"{p} = {v}" for p, v in self.leaves() if p == shown or p.startswith(shown + "."))

    # Completion.

    def complete_path(self, typed: str) -> List[str]:
        """Full paths for a partly typed one; a table's ends with '.' (more to come)."""
        words = typed.split(".")
        head, last = words[:-1], words[-1]
        try:
            path, there = self.resolve(".".join(head), create=True) if head else ((), True)
        except TreeError:
            return []
        node = self._at(path) if there else None
        names: List[str] = []
        if isinstance(node, list) and _is_array_table(path):
            names = _entry_names(node, _named(path))
        else:
            if isinstance(node, dict):
                names = [str(k) for k in node]
            known = self.known_keys(self._pattern_path(path)) if (there or path) else None
            names += [k for k in (known or ()) if k not in names]
        prefix = ".".join(head) + "." if head else ""
        out = []
        for n in names:
            if not n.startswith(last) or not _word_ok(n):
                continue
            sub = path + (n,)
            child = node.get(n) if isinstance(node, dict) else None
            branch = (isinstance(node, list) or isinstance(child, dict) or _is_array_table(sub)
                      or (child is None and self._branch(sub)))
            out.append(prefix + n + ("." if branch else ""))
        return out

    def _branch(self, path: Path) -> bool:
        """Whether a key not set yet is a table by the layout."""
        if len(path) == 1 or (len(path) == 3 and path[0] == "menu" and path[2] == "collect"):
            return True
        where, rest = place(self._pattern_path(path))
        return len(rest) == 1 and ((where, rest[0]) in OPEN_TABLES or (where, rest[0]) == ("menu.*", "collect"))

    def complete_value(self, path_text: str, typed: str) -> List[str]:
        """Values for the key at a typed path where there is a closed set."""
        try:
            path, _ = self.resolve(path_text, create=True)
        except TreeError:
            return []
        kind = kind_of(self._pattern_path(path))
        d = self.data
        menus = list(d.get("menu", {}) or {}) if isinstance(d.get("menu"), dict) else []
        queues = list(d.get("queue", {}) or {}) if isinstance(d.get("queue"), dict) else []
        office = d.get("office") if isinstance(d.get("office"), dict) else {}
        langs = [x for x in office.get("languages", ["en"]) if isinstance(x, str)] if office else ["en"]
        if kind == "choice":
            options = list(choices(self._pattern_path(path)))
        elif kind == "bool":
            options = ["true", "false"]
        elif kind == "action":
            options = ["back", "top", "repeat", "operator", "hangup", "after-hours", "callback"]
            options += [f"menu:{m}" for m in menus] + [f"queue:{q}" for q in queues]
            options += [f"callback:{q}" for q in queues] + [f"language:{x}" for x in langs]
        elif kind == "prompt":
            options = list(d.get("prompts", {}) or {}) if isinstance(d.get("prompts"), dict) else []
        elif kind == "menu":
            options = menus
        elif kind == "queue":
            options = queues
        elif kind == "phone":
            lines = d.get("line") if isinstance(d.get("line"), list) else []
            options = [ln["name"] for ln in lines if isinstance(ln, dict) and ln.get("kind") == "fxs"
                       and isinstance(ln.get("name"), str)]
        elif kind in ("language-list",):
            options = list(config.LANGUAGES)
        elif kind == "timezone":
            import zoneinfo
            options = sorted(zoneinfo.available_timezones())
        elif kind == "level":
            options = [str(i) for i in range(1, 10)]
        else:
            options = []
        return [o for o in options if o.startswith(typed)]


def split_path(text: str) -> List[str]:
    text = text.strip()
    if not text:
        return []
    words = text.split(".")
    for w in words:
        if not w:
            raise TreeError(f"'{text}' has an empty word: words are joined by single dots (queue.sales.ring_s)")
        if not _word_ok(w):
            raise TreeError(f"'{w}' in '{text}' is not a word of a path (letters, digits, _ - # *)")
    return words


def _word_ok(w: str) -> bool:
    return bool(w) and "." not in w and w.isprintable() and not any(c.isspace() for c in w)


def _is_array_table(path: Path) -> bool:
    return ".".join(str(k) for k in path) in config.ARRAY_TABLES


def _named(path: Path) -> bool:
    """Whether the entries of the array of tables at path go by name."""
    return ".".join(str(k) for k in path) in ("line", "agent")


def _entry(entries: List[Any], word: str, named: bool) -> Optional[int]:
    if named:
        for i, e in enumerate(entries):
            if isinstance(e, dict) and e.get("name") == word:
                return i
    if word.isdigit() and 1 <= int(word) <= len(entries):
        return int(word) - 1
    return None


def _entry_names(entries: List[Any], named: bool) -> List[str]:
    out = []
    for i, e in enumerate(entries):
        name = e.get("name") if isinstance(e, dict) else None
        out.append(name if named and isinstance(name, str) and _word_ok(name) else str(i + 1))
    return out


def diff(old: ConfigTree, new: ConfigTree) -> List[str]:
    """What new changes against old, key by key: '- path = value' and '+ path = value'."""
    before = dict(old.leaves())
    after = dict(new.leaves())
    out = []
    for k, v in after.items():
        if k not in before:
            out.append(f"+ {k} = {v}")
        elif before[k] != v:
            out += [f"- {k} = {before[k]}", f"+ {k} = {v}"]
    for k, v in before.items():
        if k not in after:
            out.append(f"- {k} = {v}")
    return out


# -- values --------------------------------------------------------------------------

TEXT_KINDS = {"choice", "action", "prompt", "menu", "phone", "queue", "timezone", "text", "prompt-text"}


def parse_value(text: str, kind: str, current: Any = None) -> Any:
    """A typed value, by the rules above."""
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if kind in ("language-list", "text-list"):
            return [w for w in re.split(r"[\s,]+", text) if w]
        return text
    wants_text = isinstance(current, str) or (current is None and kind in TEXT_KINDS)
    if wants_text and not isinstance(value, (str, list, dict)):
        return text
    if kind in ("language-list", "text-list") and isinstance(value, str) and not text.startswith(("'", '"')):
        return [value]
    return value


def _string(s: str) -> str:
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def key_text(k: Key) -> str:
    k = str(k)
    # A key of digits is text to TOML all the same; quoted, a person reads it so too.
    return k if BARE.fullmatch(k) and not k.isdigit() else _string(k)


def inline(v: Any, width: int = 100) -> str:
    """A value as TOML on one line (a long list over several)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        parts = [inline(x, width) for x in v]
        one = "[" + ", ".join(parts) + "]"
        if len(one) <= width or len(parts) < 2:
            return one
        return "[\n" + "".join(f"    {p},\n" for p in parts) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{key_text(k)} = {inline(x, 10 ** 9)}" for k, x in v.items()) + " }"
    raise TreeError(f"cannot write {type(v).__name__} as TOML")


# -- the writer ----------------------------------------------------------------------

def _header_path(path: Path) -> str:
    return ".".join(key_text(k) for k in path)


def dumps(tree: ConfigTree) -> str:
    """The tree as TOML text, by the rules above."""
    out: List[str] = []

    def comments(path: Path) -> None:
        for c in tree.comments.get(tree.show(path), []):
            out.append(c)

    def section(path: Path, v: Any) -> bool:
        if isinstance(v, list):
            return _is_array_table(path) and bool(v) and all(isinstance(e, dict) for e in v)
        return isinstance(v, dict) and (len(path) == 1 or (len(path) == 2 and path[0] in NAMESPACES))

    def table(path: Path, t: Dict[str, Any], header: Optional[str]) -> None:
        simple = [(k, v) for k, v in t.items() if not section(path + (k,), v)]
        subs = [(k, v) for k, v in t.items() if section(path + (k,), v)]
        if header is not None and (simple or not subs or header.startswith("[[")):
            if out:
                out.append("")
            comments(path)
            out.append(header)
        for k, v in simple:
            comments(path + (k,))
            out.append(f"{key_text(k)} = {inline(v)}")
        for k, v in subs:
            sub = path + (k,)
            if isinstance(v, list):
                for i, e in enumerate(v):
                    table(sub + (i,), e, f"[[{_header_path(sub)}]]")
            else:
                table(sub, v, f"[{_header_path(sub)}]")

    table((), tree.data, None)
    if tree.tail:
        out += [""] + tree.tail
    return "\n".join(out) + "\n"
