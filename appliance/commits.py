"""The box's configuration as the console changes it: running, candidate, saved.

Rules (as on a router: a commit changes the box, a save its startup file):
  - The running configuration is what the last commit put in place; the saved one is
    the file the box reads when it starts. `commit` puts a candidate in place in the
    running box; `save` writes the running configuration to the file, so that it
    survives a restart. Until then the console says "unsaved".
  - Every commit is first read by the configuration loader itself (config.parse on
    the candidate's text), with the office's prompts loaded for it: any problem
    refuses it whole, with every problem's key and reason, and nothing running changes.
  - New calls take a commit at once; calls in progress finish as they began. A commit
    that changes the lines, the queues or the agents is kept as the running
    configuration but put in place only at the next start (the board and the queues
    are built from them): the commit says so, `show status` says so until then, and
    `save` then `restart` brings it up. `commit confirmed` refuses such a change: it
    could not be tried before being kept.
  - `commit confirmed N` puts the candidate in place for N minutes (1 to 60): unless a
    `commit` or `confirm` follows within them, tick() puts back what ran before it, by
    itself, and says so. A second `commit confirmed` within the time extends it and
    still goes back to what ran before the first. The timer belongs to the box, not to
    a console session: closing the session does not stop it.
  - A candidate is taken from the running configuration of a revision; a commit from a
    candidate whose revision another commit (or a rollback) has since overtaken is
    refused, so one person's commit never silently undoes another's.
  - The last 20 configurations committed are kept, each with its time, user and how it
    came (commit, commit confirmed, rollback by itself, start, reload), one file each in
    a directory of their own; `rollback N` takes the Nth back (0: the running one) as a
    new candidate. A history that cannot be written is said, and the commit stands.
  - `save` writes a temporary file beside the configuration, flushes it to the disk,
    renames it over the file and flushes the directory: a power cut leaves the old file
    or the new one, never half of one.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from appliance import config, files
from appliance.configtree import ConfigTree, TreeError

KEEP = 20
MAX_CONFIRM_MINUTES = 60
_HEAD = "# appliance commit "


class CommitError(Exception):
    """A commit, rollback or save refused; the message says why (several lines for
    several problems)."""


@dataclass(frozen=True)
class Commit:
    seq: int
    at: float           # seconds since the epoch
    user: str
    how: str
    text: str


class History:
    """The last KEEP configurations committed, newest first, in a directory."""

    def __init__(self, directory: Path, keep: int = KEEP):
        self.directory = Path(directory)
        self.keep = keep

    def entries(self) -> List[Commit]:
        out = []
        try:
            names = sorted(self.directory.glob("commit-*.toml"), reverse=True)
        except OSError:
            return []
        for f in names:
            try:
                text = f.read_text(encoding="utf-8")
                head, _, body = text.partition("\n")
                meta = json.loads(head[len(_HEAD):]) if head.startswith(_HEAD) else None
                out.append(Commit(int(meta["seq"]), float(meta["at"]), str(meta["user"]), str(meta["how"]), body))
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
                continue        # a damaged entry is skipped, not fatal
        return out

    def add(self, text: str, at: float, user: str, how: str) -> Commit:
        """Raises OSError when the directory cannot be written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        old = self.entries()
        seq = (old[0].seq + 1) if old else 1
        c = Commit(seq, at, user, how, text)
        meta = json.dumps({"seq": seq, "at": at, "user": user, "how": how}, ensure_ascii=True)
        write_atomically(self.directory / f"commit-{seq:08d}.toml", f"{_HEAD}{meta}\n{text}")
        for stale in old[self.keep - 1:]:
            try:
                (self.directory / f"commit-{stale.seq:08d}.toml").unlink()
            except OSError:
                pass
        return c


def write_atomically(path: Path, text: str) -> None:
    """The file whole or not at all, keeping its mode (files.write_whole)."""
    files.write_whole(path, text)


def problems_text(e: config.ConfigError, tree: ConfigTree) -> str:
    """The loader's problems by key as the console writes paths (line.line1.rings); the
    file's line numbers are the candidate's, which nobody sees, so they are left out."""
    out = []
    for p in e.problems:
        key = p.key
        if key:
            parts: list = []
            for m in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", key):
                parts.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
            try:
                key = tree.show(tuple(parts))
            except (KeyError, IndexError, TypeError):
                pass
        out.append(f"{key}: {p.message}" if key else p.message)
    return "\n".join(out)


class Configuration:
    """One box's configuration under the console; shared by every session.

    put_in_place(office) puts an office in place for new calls or raises CommitError;
    needs_restart(office) says why an office can only come up at a start ("" if it
    can now). Both are the box's."""

    def __init__(self, path: str, text: str, history: History,
                 put_in_place: Callable[[config.Office], None], needs_restart: Callable[[config.Office], str],
                 now: float, savable: str = ""):
        self.path = path
        self.history = history
        self.put_in_place = put_in_place
        self.needs_restart = needs_restart
        self.savable = savable          # "" or why save is refused (the bundled demo office)
        self.running = ConfigTree.from_text(text)
        self.running_text = text
        self.saved_text = text
        self.revision = 0
        self.pending_restart = ""
        self.confirm_by: Optional[float] = None
        self.confirm_back: Optional[ConfigTree] = None
        self.trouble = ""               # the history's, when it cannot be written
        entries = history.entries()
        if not entries or entries[0].text != text:
            self._remember(text, now, "box", "start")

    # -- state, for the console ------------------------------------------------------

    @property
    def unsaved(self) -> bool:
        return self.running_text != self.saved_text

    def state(self, now: float) -> List[str]:
        out = []
        if self.pending_restart:
            out.append(f"committed, to come up at the next start: {self.pending_restart}")
        if self.confirm_by is not None:
            left = max(0.0, self.confirm_by - now)
            out.append(f"commit confirmed: rolls back in {int(left // 60)} min {int(left % 60)} s unless confirmed")
        if self.unsaved:
            out.append("the running configuration is not saved: 'save' makes it the startup one")
        if self.trouble:
            out.append(f"commit history: {self.trouble}")
        return out

    # -- commit ------------------------------------------------------------------------

    def validate(self, tree: ConfigTree) -> config.Office:
        """The candidate as the box would load it, or CommitError with every problem."""
        try:
            text = tree.text()
        except TreeError as e:
            raise CommitError(str(e)) from None
        try:
            return config.parse(text.encode("utf-8"), self.path)
        except config.ConfigError as e:
            raise CommitError(problems_text(e, tree)) from None

    def commit(self, candidate: ConfigTree, revision: int, user: str, now: float,
               confirm_minutes: Optional[int] = None) -> str:
        """Puts the candidate in place; the message to show. Raises CommitError."""
        if revision != self.revision:
            raise CommitError("the running configuration changed since this candidate was taken from it "
                              "(another commit, or a rollback): 'show compare' shows the difference now; "
                              "'rollback 0' starts again from the running one")
        if confirm_minutes is not None and not 1 <= confirm_minutes <= MAX_CONFIRM_MINUTES:
            raise CommitError(f"commit confirmed takes 1 to {MAX_CONFIRM_MINUTES} minutes, not {confirm_minutes}")
        if candidate == self.running:
            if self.confirm_by is not None and confirm_minutes is None:
                return self.confirm(user, now)
            if confirm_minutes is None:
                return "no changes to commit"
        office = self.validate(candidate)
        later = self.needs_restart(office)
        if later and confirm_minutes is not None:
            raise CommitError(f"{later}: that comes up only at a start, so it cannot be tried for "
                              f"{confirm_minutes} min and rolled back; use plain 'commit'")
        text = candidate.text()
        if later:
            self._take(candidate, text, later)
            how = "commit (at the next start)"
            said = (f"committed; {later}: it comes up at the next start, nothing of it before. "
                    "'save' makes it the startup configuration, then 'restart'")
        else:
            self.put_in_place(office)
            before = self.running
            self._take(candidate, text, "")
            if confirm_minutes is not None:
                if self.confirm_by is None:
                    self.confirm_back = before
                self.confirm_by = now + confirm_minutes * 60.0
                how = f"commit confirmed {confirm_minutes}"
                said = (f"committed: new calls take it. It rolls back by itself in {confirm_minutes} min "
                        "unless you 'commit' or 'confirm' before")
            else:
                how = "commit"
                said = "committed: new calls take it; calls in progress finish as they began"
                if self.confirm_by is not None:
                    self.confirm_by, self.confirm_back = None, None
                    said += " (the commit confirmed before it is kept)"
        return said + self._remember(text, now, user, how)

    def confirm(self, user: str, now: float) -> str:
        if self.confirm_by is None:
            return "no commit waits to be confirmed"
        self.confirm_by, self.confirm_back = None, None
        return "confirmed: the commit stays" + self._remember(self.running_text, now, user, "confirm")

    def tick(self, now: float) -> List[str]:
        """What happened by itself by now: a commit confirmed rolled back."""
        if self.confirm_by is None or now < self.confirm_by or self.confirm_back is None:
            return []
        back = self.confirm_back
        self.confirm_by, self.confirm_back = None, None
        try:
            office = self.validate(back)
            self.put_in_place(office)
        except CommitError as e:
            return [f"commit confirmed was not confirmed, but what ran before it cannot be put back: {e}"]
        text = back.text()
        self._take(back, text, "")
        note = self._remember(text, now, "box", "rollback: commit confirmed not confirmed in time")
        return ["commit confirmed was not confirmed in time: the configuration before it is back in place "
                "for new calls" + note]

    def rollback(self, n: int) -> ConfigTree:
        """The Nth configuration back (0: the latest commit), as a candidate."""
        entries = self.history.entries()
        if not 0 <= n < len(entries):
            have = f"0 to {len(entries) - 1}" if entries else "none"
            raise CommitError(f"no rollback {n}: the history holds {have}")
        try:
            return ConfigTree.from_text(entries[n].text)
        except TreeError as e:
            raise CommitError(f"rollback {n} is damaged: {e}") from None

    def reloaded(self, text: str, office: config.Office, now: float) -> str:
        """The file was read again and put in place (appliance reload, SIGHUP)."""
        tree = ConfigTree.from_text(text)
        self._take(tree, text, "")
        self.saved_text = text
        self.confirm_by, self.confirm_back = None, None
        return self._remember(text, now, "box", "reload")

    def save(self) -> str:
        if self.savable:
            raise CommitError(self.savable)
        try:
            write_atomically(Path(self.path), self.running_text)
        except OSError as e:
            raise CommitError(f"cannot write {self.path}: {e.strerror or e}") from None
        self.saved_text = self.running_text
        return f"saved to {self.path}: the box starts with it"

    # -- inside --------------------------------------------------------------------------

    def _take(self, tree: ConfigTree, text: str, later: str) -> None:
        self.running, self.running_text = tree, text
        self.revision += 1
        self.pending_restart = later

    def _remember(self, text: str, now: float, user: str, how: str) -> str:
        try:
            self.history.add(text, now, user, how)
            self.trouble = ""
            return ""
        except OSError as e:
            self.trouble = f"cannot write {self.history.directory}: {e.strerror or e}"
            return f" (not kept in the history: {self.trouble})"


def describe(c: Commit, n: int) -> str:
    return f"{n:>3}  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(c.at))}  {c.user:<12} {c.how}"


def history_lines(entries: Sequence[Commit]) -> List[str]:
    return [describe(c, i) for i, c in enumerate(entries)]
