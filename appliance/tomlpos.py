"""Where each key of a TOML file stands: the line a configuration error points at.

tomllib gives values without positions, so this reads the same text once more and
notes, for every table header and every `key =`, the line it is on and the full path
of the key, array tables numbered as tomllib numbers them.

Rules:
  - Only text that tomllib has accepted comes here: the scan can rely on valid TOML
    and only needs to skip strings, comments and values spanning several lines.
  - A path is a tuple of keys and array indexes, as the parsed data is indexed.
  - A key inside an inline table or a multi-line value, which this does not descend
    into, is placed at the line of the nearest key above it that was noted
    (`Positions.line`).
  - The comment lines right above a table header or a key (blank lines between them
    kept) are noted against its path, and those after the last key as the file's tail,
    so a program that writes the file again can keep them (`Positions.comments`).
"""
from __future__ import annotations

from typing import Dict, List, Tuple, Union

Path = Tuple[Union[str, int], ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class Positions:
    def __init__(self, text: str):
        self._line: Dict[Path, int] = {}
        self.comments: Dict[Path, List[str]] = {}
        self.tail: List[str] = []
        self._scan(text)

    def line(self, path: Path) -> int:
        """The line of the key at path, or of its nearest noted parent; 0 if none."""
        p = tuple(path)
        while p:
            if p in self._line:
                return self._line[p]
            p = p[:-1]
        return 0

    # -- the scan ------------------------------------------------------------------------

    def _scan(self, text: str) -> None:
        table: Path = ()
        counts: Dict[Path, int] = {}
        lines = text.splitlines()
        above: List[str] = []
        i = 0
        while i < len(lines):
            raw = lines[i]
            s = raw.strip()
            n = i + 1
            i += 1
            if s.startswith("#") or (not s and above):
                above.append(s)
                continue
            if not s:
                continue
            if s.startswith("[["):
                keys, _ = _keys(s, 2)
                base = _resolve(tuple(keys), counts)
                counts[base] = counts.get(base, -1) + 1
                table = base + (counts[base],)
                self._line.setdefault(base, n)
                self._line[table] = n
                above = self._note(table, above)
                continue
            if s.startswith("["):
                keys, _ = _keys(s, 1)
                table = _resolve(tuple(keys), counts)
                self._line[table] = n
                above = self._note(table, above)
                continue
            keys, rest = _keys(s, 0)
            if not keys or not rest.lstrip().startswith("="):
                continue
            path = table + tuple(keys)
            for k in range(1, len(keys) + 1):
                self._line.setdefault(table + tuple(keys[:k]), n)
            self._line[path] = n
            above = self._note(path, above)
            i = _skip_value(lines, i, rest.lstrip()[1:])
        self.tail = _trimmed(above)

    def _note(self, path: Path, above: List[str]) -> List[str]:
        block = _trimmed(above)
        if block:
            self.comments[path] = block
        return []


def _trimmed(block: List[str]) -> List[str]:
    """A comment block without blank lines at either end."""
    lo, hi = 0, len(block)
    while lo < hi and not block[lo]:
        lo += 1
    while hi > lo and not block[hi - 1]:
        hi -= 1
    return block[lo:hi]


def _resolve(keys: Path, counts: Dict[Path, int]) -> Path:
    """A header's keys with the index of every array table they pass through."""
    out: Path = ()
    for k in keys:
        out = out + (k,)
        if out in counts and out != keys:
            out = out + (counts[out],)
    return out


def _keys(s: str, skip: int) -> Tuple[List[str], str]:
    """The dotted key at the start of s (after `skip` bracket characters), and the rest."""
    keys: List[str] = []
    j = skip
    while True:
        while j < len(s) and s[j] in " \t":
            j += 1
        if j >= len(s):
            return keys, ""
        if s[j] in "\"'":
            q = s[j]
            k = j + 1
            buf = []
            while k < len(s) and s[k] != q:
                if q == '"' and s[k] == "\\" and k + 1 < len(s):
                    buf.append(s[k + 1])
                    k += 2
                    continue
                buf.append(s[k])
                k += 1
            keys.append("".join(buf))
            j = k + 1
        else:
            k = j
            while k < len(s) and s[k] in _BARE:
                k += 1
            if k == j:
                return keys, s[j:]
            keys.append(s[j:k])
            j = k
        while j < len(s) and s[j] in " \t":
            j += 1
        if j < len(s) and s[j] == ".":
            j += 1
            continue
        return keys, s[j:]


def _skip_value(lines: List[str], i: int, value: str) -> int:
    """The index of the line after the value that starts with `value` (the rest of the
    line before it): arrays and inline tables may open brackets across lines, and
    multi-line strings run to their closing quotes."""
    depth = 0
    text = value
    while True:
        j = 0
        while j < len(text):
            c = text[j]
            if text.startswith('"""', j) or text.startswith("'''", j):
                q = text[j:j + 3]
                end = text.find(q, j + 3)
                while end < 0:
                    if i >= len(lines):
                        return i
                    text = lines[i]
                    i += 1
                    j = -3
                    end = text.find(q)
                j = end + 3
                continue
            if c in "\"'":
                k = j + 1
                while k < len(text) and text[k] != c:
                    k += 2 if (c == '"' and text[k] == "\\") else 1
                j = k + 1
                continue
            if c == "#":
                break
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
            j += 1
        if depth <= 0 or i >= len(lines):
            return i
        text = lines[i]
        i += 1
