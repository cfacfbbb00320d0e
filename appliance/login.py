"""Logging in at the console: the password kept hashed, the first start that sets it,
and the wait that grows with each wrong one.

Rules:
  - The password is stored only as an scrypt hash, salted, with its cost parameters
    beside it (`scrypt$N$r$p$salt$hash`, salt and hash in base64), one line in a file of
    its own: `$STATE_DIRECTORY/console.passwd` under systemd, else
    ~/.local/state/appliance/console.passwd. The file is written whole or not at all
    (a temporary file renamed over it) and readable by its owner only.
  - With no password stored, the console asks for a new one twice; it must be at least
    MIN_LENGTH characters, and both must match. With one stored, it asks for it.
  - Each wrong password makes the console wait before asking again: 1 s after the
    first, then 2, 4, 8; from the MAX_TRIES-th wrong one in a row on, LOCKOUT seconds.
    What is typed during a wait is thrown away. A right password ends the count.
  - Every failure, every log-in and a password being set give one line for the journal
    naming the port and the time; never the password or anything typed.
  - Login is a state machine without I/O: the runner gives it the stored hash, what
    was typed and the time; it answers with a Step saying what to show, what to ask,
    what to log, what to store and until when to wait.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from appliance import files

MIN_LENGTH = 8
MAX_TRIES = 5
LOCKOUT = 300.0
# 16 MiB of memory and some 50 ms a try: cheap for one person logging in, dear for a
# dictionary run against a stolen file.
COST = {"n": 2 ** 14, "r": 8, "p": 1}
FILE = "console.passwd"


class PasswordFileError(Exception):
    pass


def default_path() -> Path:
    given = os.environ.get("STATE_DIRECTORY")
    if given:
        return Path(given.split(":")[0]) / FILE
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "appliance" / FILE


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * 2 + 1024 * 1024, dklen=32)


def hash_password(password: str, cost: Optional[dict] = None, salt: Optional[bytes] = None) -> str:
    c = cost or COST
    salt = salt if salt is not None else os.urandom(16)
    key = _scrypt(password, salt, c["n"], c["r"], c["p"])
    b64 = base64.b64encode
    return f"scrypt${c['n']}${c['r']}${c['p']}${b64(salt).decode()}${b64(key).decode()}"


def check_stored(stored: str) -> None:
    """A ValueError naming what is wrong with a stored hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not an scrypt hash (scrypt$N$r$p$salt$hash)")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise ValueError("its numbers or base64 are damaged") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n > 2 ** 20 or len(key) != 32:
        raise ValueError("its cost parameters are out of range")


def verify(password: str, stored: str) -> bool:
    check_stored(stored)
    _, n, r, p, salt, key = stored.split("$")
    got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(got, base64.b64decode(key))


def load(path: Path) -> Optional[str]:
    """The stored hash, or None when no password has been set."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise PasswordFileError(f"{path}: {getattr(e, 'strerror', None) or e}") from None
    stored = text.strip()
    try:
        check_stored(stored)
    except ValueError as e:
        raise PasswordFileError(f"{path}:1: {e}; remove the file to set a new password at the console") from None
    return stored


def save(path: Path, stored: str) -> None:
    """The hash to its file, owner-only from its first byte, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_whole(path, stored + "\n", mode=0o600)


def delay(failures: int) -> float:
    """Seconds to wait after this many wrong passwords in a row."""
    if failures >= MAX_TRIES:
        return LOCKOUT
    return float(2 ** (failures - 1))


def stamp(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Step:
    say: str = ""                      # text for the screen
    ask: Optional[str] = None          # a prompt for a secret line
    log: Optional[str] = None          # a line for the journal
    save: Optional[str] = None         # a new hash to store
    until: Optional[float] = None      # read nothing before this time, then call ready()
    done: bool = False                 # logged in


NEW, AGAIN, PASSWORD, WAITING, IN = "new", "again", "password", "waiting", "in"


class Login:
    def __init__(self, source: str, cost: Optional[dict] = None, min_length: int = MIN_LENGTH):
        self.source = source
        self.cost = cost
        self.min_length = min_length
        self.failures = 0
        self.state = PASSWORD
        self._stored: Optional[str] = None
        self._first = ""
        self._until = 0.0

    def start(self, stored: Optional[str], now: float) -> Step:
        """A new log-in, with the hash stored now (None: none set yet). A wait still
        running from wrong passwords before goes on."""
        self._stored = stored
        if now < self._until:
            self.state = WAITING
            return Step(say=f"wait {self._until - now:.0f} s before trying again", until=self._until)
        if stored is None:
            self.state = NEW
            return Step(say="No console password is set. Choose one (at least "
                            f"{self.min_length} characters).", ask="New password: ")
        self.state = PASSWORD
        return Step(ask="Password: ")

    def answer(self, text: str, now: float) -> Step:
        if self.state == NEW:
            if len(text) < self.min_length:
                return Step(say=f"too short: at least {self.min_length} characters", ask="New password: ")
            self._first = text
            self.state = AGAIN
            return Step(ask="Again: ")
        if self.state == AGAIN:
            first, self._first = self._first, ""
            if text != first:
                self.state = NEW
                return Step(say="the two differ; once more", ask="New password: ")
            self.state = IN
            self._stored = hash_password(text, self.cost)
            return Step(say="password set", save=self._stored, done=True,
                        log=f"console password set on {self.source} at {stamp(now)}")
        if self.state == PASSWORD:
            if self._stored is not None and verify(text, self._stored):
                self.failures = 0
                self.state = IN
                return Step(done=True, log=f"console login on {self.source} at {stamp(now)}")
            self.failures += 1
            wait = delay(self.failures)
            self._until = now + wait
            self.state = WAITING
            return Step(say=f"wrong password; wait {wait:.0f} s", until=self._until,
                        log=f"console login failed on {self.source} at {stamp(now)} "
                            f"({self.failures} in a row; next try in {wait:.0f} s)")
        return Step(until=self._until if self.state == WAITING else None)

    def ready(self, now: float) -> Optional[Step]:
        """After a wait: the prompt again, or None while the wait lasts."""
        if self.state != WAITING or now < self._until:
            return None
        return self.start(self._stored, now)

    def logout(self) -> None:
        self.state = PASSWORD
