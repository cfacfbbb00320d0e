"""The office's configuration: one TOML file, validated into typed objects.

Rules:
  - Every problem is found, not just the first, and each names the file, the line and
    the key: `office.toml:12: menu.main.keys.7: ...`. An unknown key says which known
    key it is probably meant to be.
  - Nothing the file holds gets past as a traceback: binary junk, text that is not
    UTF-8, a file too large to be a configuration, a TOML syntax error, a wrong type,
    a reference to a menu or prompt that does not exist, a loop of menus a caller can
    never leave. All of them are a ConfigError carrying the problems.
  - The objects are frozen: a running box swaps in a new configuration whole, or
    keeps the one it has.
  - No I/O beyond reading the file; prompts' files are checked for existence only
    by the prompt library, when it loads them.

The file, by section (see board/demo-office.toml for a full example):
  [office]        name, timezone, languages (the first is the default), entry menu,
                  operator (the phone port that takes operator calls, or none)
  [[line]]        name, channel, kind (fxo | fxs), law, plan, rings, callerid,
                  callerid_when, queue (fxo only: calls on the line skip the menus
                  and join this queue at once), rx_gain_db and tx_gain_db (DAHDI's
                  gain on what the box hears and sends, -24 to 24)
  [prompts.NAME]  per language: "text to speak", {sound = "pack-name"}, {file = "path"},
                  {say = "text", in = "ru"} (text in another language's voice), or a
                  list of these played one after another
  [menu.NAME]     greeting, short_greeting (a prompt, or a list of prompts played one
                  after another), keys = {"1" = ACTION, ...}, invalid,
                  invalid_tries, invalid_then, no_input, no_input_tries, no_input_then,
                  timeout_s, repeat_key, operator_key, then (after an announcement),
                  collect = {min, max, terminator, interdigit_s, pattern, then};
                  or agi = "agi://host[:port]/script?arg=..." (the call goes to a
                  FastAGI script), agi_timeout_s (to connect, and between the
                  script's commands), agi_fallback = ACTION (a script down, slow or
                  talking nonsense), then (after the script ends with the call up)
  [hours]         mon..sun = "09:00-18:00" (several ranges comma-separated, or
                  "closed"), holidays = ["YYYY-MM-DD", ...], after_hours = ACTION
  [callerid]      blocklist, vip (numbers; a trailing * matches a prefix),
                  blocked_prompt, [[callerid.rule]] match = NUMBER, then = ACTION
  [queue.NAME]    strategy, ring_s, wrapup_s, widen_s, ageing_s, misses_to_pause,
                  music (a music-on-hold piece; ringback tone if none);
                  where callers go instead of waiting on (never to busy):
                  max_callers + when_full, max_wait_s + when_timeout,
                  join_empty / leave_empty + when_empty (empty: no member logged
                  in, or with empty = "paused" none staffed either),
                  service_level_s + overflow (a caller whose estimated wait is
                  longer goes there);
                  announcements: announce_first_s, announce_every_s,
                  announce_position ("yes", "no", "limit"), position_limit,
                  announce_wait, message (a prompt played every message_every_s);
                  keys while waiting: exit_key with exit_to = ACTION (leave the queue
                  for it), callback_key (the callback offer); callback_tries,
                  callback_retry_s, callback_expiry_s, callback_answer_s (how long a
                  called-back party has to press 1), callback_min_digits,
                  callback_max_digits (a plausible number); rejoin_s (a caller who
                  hung up and calls again from the same number within it gets their
                  place back; 0: off). The waiting keys must differ from each other and
                  from the terminator of a menu's collect that leads to the queue (a
                  key pressed after the entry ended would land here).
  [[agent]]       name, queues = {NAME = LEVEL, ...}, wrapup_s, weight, and one of:
                  phone (an fxs line; with pin, the digits for the feature codes),
                  number (an outside number the box dials on a free line), or
                  extension (of the office's PBX behind the lines, reached by a
                  hook-flash transfer; busy_s: how long the agent then counts as busy
                  when the queue has no handle times to go by)
  [features]      the codes agents key at their own phones: login (then the PIN and
                  #), logout, pause (then a reason's key), unpause, status; pause_reasons
                  = {"1" = "lunch", ...}; accept_key (an outside agent takes a call)
  [calllog]       keep_days (calls older than this are pruned; 400 unless set),
                  max_mb (the oldest calls are pruned while the log's pages in use
                  exceed this many MiB; 500 unless set)
  [recordings]    what FastAGI scripts record of callers (RECORD FILE): dir (where
                  the files go, relative to this file's folder unless absolute;
                  unless set, "recordings" beside the call log), max_s (the longest
                  recording, for a script that asks for no timeout or a longer one;
                  600 unless set)
  [ami]           the manager interface CRMs and wallboards speak (appliance/ami.py):
                  enabled (false unless set), bind (the address it listens on,
                  "127.0.0.1" unless set), port (5038); [ami.users.NAME] per user:
                  secret, read and write (lists of permission classes: system, call,
                  agent, user, reporting, originate, ... or "all")
  [board]         the telephony card, for DAHDI's system.conf (appliance/dahdiconf.py):
                  profile (a card profile in board/profiles), modules (each port's
                  module, fxo | fxs | none, where the card differs from its profile),
                  zone (DAHDI's tone zone: the ring cadence of the office's phones),
                  echo_canceller (DAHDI's name, hardware or none; the profile's unless
                  set); [[board.span]] per E1 span, in order: signalling (pri_cpe |
                  pri_net | mfcr2), timing (0: never the clock source; else the
                  order of preference), crc4, coding (hdb3 | ami), lbo (0-7), framing
                  (ccs for ISDN, cas for MFC/R2: implied by the signalling)
ACTION is one of: menu:NAME, back, top, repeat, operator, hangup, language:LANG,
queue:NAME, after-hours (what the office does when closed), callback:QUEUE (the
callback offer for that queue; a queue's own rules may say just callback, for the
queue the caller waits in).
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import ipaddress
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from appliance import agi as agi_
from appliance.ami import CLASSES as AMI_CLASSES
from appliance.tomlpos import Path, Positions

MAX_BYTES = 1 << 20
LANGUAGES = ("en", "ru", "uk")
KINDS = ("fxo", "fxs")
LAWS = ("alaw", "ulaw")
PLANS = ("itu", "ru", "ua", "us")
CALLERID = ("none", "bell202", "v23", "dtmf")
CALLERID_WHEN = ("after-first-ring", "before-first-ring")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTIONS = ("menu", "back", "top", "repeat", "operator", "hangup", "language", "queue", "after-hours",
           "callback")
NAMED = ("menu", "language", "queue")
NAME_OPTIONAL = ("callback",)       # callback:QUEUE, or callback in a queue's own rules
CALLBACK_QUEUE_KEYS = ["exit_key", "exit_to", "callback_key", "callback_tries", "callback_retry_s",
                       "callback_expiry_s", "callback_answer_s", "callback_min_digits", "callback_max_digits",
                       "rejoin_s"]
KEYS = "0123456789*#"
# A queue's rules that send a caller elsewhere: the limit's keys and the destinations'.
QUEUE_RULES = ("max_callers", "when_full", "max_wait_s", "when_timeout", "service_level_s", "overflow",
               "when_empty")
EMPTY = ("logged-out", "paused")
# The zones libtonezone knows (dahdi_cfg refuses any other): tests/test_config.py checks
# this list against the library itself.
TONE_ZONES = ("us", "au", "fr", "nl", "uk", "fi", "es", "jp", "no", "at", "nz", "it", "us-old", "gr", "tw",
              "cl", "se", "be", "sg", "il", "br", "hu", "lt", "pl", "za", "pt", "ee", "mx", "in", "de", "ch",
              "dk", "cz", "cn", "ar", "my", "th", "bg", "ve", "ph", "ru", "tr", "pa", "mo", "cr", "ae")
# DAHDI's software echo cancellers by module name; hardware: the card's own module
# (VPM), which DAHDI uses whatever system.conf names; none: no canceller.
ECHO_CANCELLERS = ("mg2", "oslec", "kb1", "sec", "sec2", "hpec", "hardware", "none")
MODULES = ("fxo", "fxs", "none")
E1_SIGNALLING = ("pri_cpe", "pri_net", "mfcr2")
QUEUE_KEYS = ("strategy", "ring_s", "wrapup_s", "widen_s", "ageing_s", "misses_to_pause", "music", *QUEUE_RULES,
              "join_empty", "leave_empty", "empty", "announce_first_s", "announce_every_s", "announce_position",
              "position_limit", "announce_wait", "message", "message_every_s", *CALLBACK_QUEUE_KEYS)
MENU_KEYS = ("greeting", "short_greeting", "keys", "collect", "invalid", "invalid_tries", "invalid_then",
             "no_input", "no_input_tries", "no_input_then", "timeout_s", "repeat_key", "operator_key", "then",
             "agi", "agi_timeout_s", "agi_fallback")
# The keys each kind of table may hold, by its place in the file ("*" stands for any
# name: a queue's, a menu's, a prompt's); the console completes keys from these.
SECTION_KEYS: Dict[str, Tuple[str, ...]] = {
    "": ("office", "line", "prompts", "menu", "hours", "callerid", "queue", "agent", "features", "calllog",
         "recordings", "board", "ami"),
    "office": ("name", "timezone", "languages", "entry", "operator"),
    "line": ("name", "channel", "kind", "law", "plan", "rings", "callerid", "callerid_when", "queue",
             "rx_gain_db", "tx_gain_db"),
    "prompts.*": LANGUAGES,
    "menu.*": MENU_KEYS,
    "menu.*.collect": ("min", "max", "terminator", "interdigit_s", "pattern", "then"),
    "hours": (*DAYS, "holidays", "after_hours"),
    "callerid": ("blocklist", "vip", "blocked_prompt", "rule"),
    "callerid.rule": ("match", "then"),
    "queue.*": QUEUE_KEYS,
    "agent": ("name", "phone", "number", "extension", "pin", "busy_s", "queues", "wrapup_s", "weight"),
    "features": (),         # filled in below, after the feature codes
    "calllog": ("keep_days", "max_mb"),
    "recordings": ("dir", "max_s"),
    "ami": ("enabled", "bind", "port", "users"),
    "ami.users.*": ("secret", "read", "write"),
    "board": ("profile", "modules", "zone", "echo_canceller", "span"),
    "board.span": ("signalling", "timing", "crc4", "coding", "lbo", "framing"),
}
# The [[...]] arrays of tables; those with a name key are told apart by it.
ARRAY_TABLES = ("line", "agent", "callerid.rule", "board.span")


# -- what the file becomes ------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """What happens next: kind is one of ACTIONS; arg is the menu or language."""
    kind: str
    arg: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


@dataclass(frozen=True)
class Source:
    """One part of a language's version of a prompt: kind is text (spoken), sound (a
    recorded pack's prompt) or file. language, when set, is the voice or pack of another
    language: the English menu offers Russian in Russian."""
    kind: str
    value: str
    language: str = ""


@dataclass(frozen=True)
class Prompt:
    name: str
    by_language: Mapping[str, Tuple[Source, ...]]     # its parts, played one after another


@dataclass(frozen=True)
class Line:
    name: str
    channel: int
    kind: str = "fxo"
    law: str = "alaw"
    plan: str = "itu"
    rings: int = 2
    callerid: str = "v23"
    callerid_when: str = "after-first-ring"
    queue: Optional[str] = None         # calls skip the menus and join it
    # DAHDI's gain tables on the channel: what the box hears, what it sends (dB).
    rx_gain_db: float = 0.0
    tx_gain_db: float = 0.0


@dataclass(frozen=True)
class Collect:
    """Digits a menu takes as one entry (an account number), then `then`."""
    min: int
    max: int
    then: Action
    terminator: str = "#"
    interdigit_s: float = 3.0
    pattern: Optional[str] = None

    def accepts(self, digits: str) -> bool:
        if not self.min <= len(digits) <= self.max:
            return False
        return self.pattern is None or re.fullmatch(self.pattern, digits) is not None


@dataclass(frozen=True)
class Menu:
    name: str
    greeting: Tuple[str, ...] = ()          # on first entry
    short_greeting: Tuple[str, ...] = ()    # on coming back; the greeting if empty
    keys: Mapping[str, Action] = field(default_factory=dict)
    collect: Optional[Collect] = None
    invalid: Optional[str] = None
    invalid_tries: int = 3
    invalid_then: Action = Action("hangup")
    no_input: Optional[str] = None
    no_input_tries: int = 3
    no_input_then: Action = Action("hangup")
    timeout_s: float = 5.0
    repeat_key: str = "*"
    operator_key: Optional[str] = "0"
    then: Optional[Action] = None     # a menu without keys: after its greeting
    agi: Optional[str] = None         # a FastAGI script's address: the call goes to it
    agi_timeout_s: float = 10.0
    agi_fallback: Optional[Action] = None


@dataclass(frozen=True)
class Hours:
    timezone: str = "UTC"
    week: Mapping[str, Tuple[Tuple[dt.time, dt.time], ...]] = field(default_factory=dict)
    holidays: FrozenSet[dt.date] = frozenset()
    after_hours: Optional[Action] = None

    def open_at(self, when: dt.datetime) -> bool:
        """Whether the office is open at this moment (an aware datetime)."""
        local = when.astimezone(zoneinfo.ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(a <= now < b for a, b in self.week.get(DAYS[local.weekday()], ()))


@dataclass(frozen=True)
class NumberMatch:
    """A caller's number, exactly, or as a prefix when written with a trailing *."""
    number: str
    prefix: bool = False

    def matches(self, caller: str) -> bool:
        return caller.startswith(self.number) if self.prefix else caller == self.number


@dataclass(frozen=True)
class CallerIdRules:
    blocklist: Tuple[NumberMatch, ...] = ()
    vip: Tuple[NumberMatch, ...] = ()
    blocked_prompt: Optional[str] = None
    rules: Tuple[Tuple[NumberMatch, Action], ...] = ()

    def blocked(self, caller: str) -> bool:
        return bool(caller) and any(m.matches(caller) for m in self.blocklist)

    def is_vip(self, caller: str) -> bool:
        return bool(caller) and any(m.matches(caller) for m in self.vip)

    def route(self, caller: str) -> Optional[Action]:
        for m, action in self.rules:
            if caller and m.matches(caller):
                return action
        return None


@dataclass(frozen=True)
class Queue:
    name: str
    strategy: str = "longest-idle"
    ring_s: float = 15.0
    wrapup_s: float = 10.0
    widen_s: float = 30.0
    ageing_s: float = 60.0
    misses_to_pause: int = 2
    music: Optional[str] = None
    # Where a caller goes instead of waiting on; None: they wait.
    max_callers: Optional[int] = None
    when_full: Optional[Action] = None
    max_wait_s: Optional[float] = None
    when_timeout: Optional[Action] = None
    join_empty: bool = True
    leave_empty: bool = False
    empty: str = "logged-out"
    when_empty: Optional[Action] = None
    service_level_s: Optional[float] = None
    overflow: Optional[Action] = None
    # What waiting callers hear besides the music.
    announce_first_s: float = 5.0
    announce_every_s: float = 45.0
    announce_position: str = "yes"
    position_limit: int = 0
    announce_wait: bool = True
    message: Optional[str] = None
    message_every_s: float = 60.0
    exit_key: Optional[str] = None
    exit_to: Optional[Action] = None
    callback_key: Optional[str] = None
    callback_tries: int = 3
    callback_retry_s: float = 300.0
    callback_expiry_s: float = 3600.0
    callback_answer_s: float = 40.0
    callback_min_digits: int = 5
    callback_max_digits: int = 15
    rejoin_s: float = 120.0


@dataclass(frozen=True)
class Agent:
    name: str
    phone: str
    queues: Mapping[str, int]
    wrapup_s: Optional[float] = None
    weight: float = 1.0
    # Instead of a phone: an outside number, or an extension of the PBX behind the lines.
    number: str = ""
    extension: str = ""
    pin: str = ""               # for the feature codes at their phone; "" for none
    busy_s: float = 180.0       # after a transfer, with no handle times to go by


# The feature codes' defaults: the *7x block many PBXs give to queue agents.
FEATURE_CODES = ("login", "logout", "pause", "unpause", "status")
FEATURE_DEFAULTS = {"login": "*71", "logout": "*72", "pause": "*73", "unpause": "*74", "status": "*70"}
SECTION_KEYS["features"] = (*FEATURE_CODES, "pause_reasons", "accept_key")


@dataclass(frozen=True)
class Features:
    """What agents key at their phones; a code of "" is turned off."""
    login: str = "*71"
    logout: str = "*72"
    pause: str = "*73"
    unpause: str = "*74"
    status: str = "*70"
    pause_reasons: Mapping[str, str] = field(default_factory=lambda: {"1": "break", "2": "lunch", "3": "training"})
    accept_key: str = "1"

    def codes(self) -> Dict[str, str]:
        """The codes in use, by what they do."""
        return {k: getattr(self, k) for k in FEATURE_CODES if getattr(self, k)}


@dataclass(frozen=True)
class Retention:
    """How much of the call log the box keeps: by age and by size."""
    keep_days: float = 400.0
    max_mb: float = 500.0


@dataclass(frozen=True)
class Recordings:
    """Where scripts' recordings go ("": beside the call log) and how long one may be."""
    dir: str = ""
    max_s: float = 600.0


@dataclass(frozen=True)
class AmiUser:
    name: str
    secret: str
    read: Tuple[str, ...] = ()
    write: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Ami:
    """The manager interface: off unless enabled, and then on the loopback unless bound
    elsewhere."""
    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = 5038
    users: Tuple[AmiUser, ...] = ()


@dataclass(frozen=True)
class E1Span:
    """One E1 span's line settings, as DAHDI's span= line takes them."""
    signalling: str = "pri_cpe"
    timing: int = 1
    crc4: bool = True
    coding: str = "hdb3"
    lbo: int = 0

    @property
    def framing(self) -> str:
        return "cas" if self.signalling == "mfcr2" else "ccs"


@dataclass(frozen=True)
class Board:
    """The card the office's lines are on; empty values: the profile's own."""
    profile: Optional[str] = None
    modules: Tuple[str, ...] = ()
    zone: Optional[str] = None
    echo_canceller: Optional[str] = None
    spans: Tuple[E1Span, ...] = ()


@dataclass(frozen=True)
class Office:
    name: str
    languages: Tuple[str, ...]
    entry: str
    lines: Tuple[Line, ...]
    prompts: Mapping[str, Prompt]
    menus: Mapping[str, Menu]
    hours: Hours
    callerid: CallerIdRules
    operator: Optional[str] = None
    path: str = ""
    queues: Mapping[str, Queue] = field(default_factory=dict)
    agents: Tuple[Agent, ...] = ()
    features: Features = field(default_factory=Features)
    calllog: Retention = field(default_factory=Retention)
    recordings: Recordings = field(default_factory=Recordings)
    board: Board = field(default_factory=Board)
    ami: Ami = field(default_factory=Ami)

    @property
    def language(self) -> str:
        return self.languages[0]


# -- problems -------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


def load(path: str) -> Office:
    """Reads and validates the file; raises ConfigError listing every problem."""
    return parse(read_file(path, ConfigError), path)


def parse(data: bytes, path: str = "<config>") -> Office:
    doc, text = read_toml(data, path, ConfigError, "a configuration file")
    v = _Validator(path, Positions(text))
    office = v.office(doc)
    if v.problems:
        raise ConfigError(v.problems)
    return office


def read_file(path: str, error=ConfigError) -> bytes:
    """A file's bytes, at most one more than MAX_BYTES so that parse can refuse it."""
    try:
        with open(path, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        raise error([Problem(path, 0, "", f"cannot read: {e.strerror or e}")]) from None


def read_toml(data: bytes, path: str, error=ConfigError, what: str = "a configuration file"):
    """The TOML document and its text, or `error` naming the line of the first thing that
    stops it being one: too large, not UTF-8, binary, a syntax error. Shared by every
    file the box reads in TOML (the office, a traffic file)."""
    if len(data) > MAX_BYTES:
        raise error([Problem(path, 0, "", f"larger than {MAX_BYTES // 1024} KiB: not {what}")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise error([Problem(path, line, "", f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})")]) \
            from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise error([Problem(path, line, "", "binary data (a NUL byte): not a TOML file")])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(m.group(1)) if m else 0
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "not valid TOML"
        raise error([Problem(path, line, "", f"TOML syntax: {msg}")]) from None
    return doc, text


# -- validation -----------------------------------------------------------------------

def _dotted(path: Path) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _hint(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table",
               float: "a number"}


def _type_name(v: Any) -> str:
    for t, name in ((bool, "true or false"), (int, "an integer"), (float, "a number"), (str, "a string"),
                    (list, "a list"), (dict, "a table")):
        if isinstance(v, t):
            return name
    return type(v).__name__


class _Validator:
    def __init__(self, file: str, pos: Positions):
        self.file = file
        self.pos = pos
        self.problems: List[Problem] = []

    def bad(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.pos.line(path), _dotted(path), message))

    # Typed readers: a wrong value is a problem and the default is used, so the rest of
    # the file is still checked.

    def table(self, doc: Any, path: Path, known: Sequence[str], required: Sequence[str] = ()) -> Dict[str, Any]:
        if not isinstance(doc, dict):
            self.bad(path, f"must be a table, not {_type_name(doc)}")
            return {}
        for k in doc:
            if k not in known:
                self.bad(path + (k,), f"unknown key{_hint(k, known)}")
        for k in required:
            if k not in doc:
                self.bad(path, f"missing key '{k}'")
        return doc

    def get(self, doc: Dict[str, Any], path: Path, key: str, kind: type, default: Any) -> Any:
        if key not in doc:
            return default
        v = doc[key]
        ok = isinstance(v, kind) and not (kind in (int, float) and isinstance(v, bool))
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v, ok = float(v), True
        if not ok:
            self.bad(path + (key,), f"must be {_TYPE_NAMES[kind]}, not {_type_name(v)}")
            return default
        return v

    def choice(self, doc, path, key, options: Sequence[str], default: str) -> str:
        v = self.get(doc, path, key, str, default)
        if v not in options:
            self.bad(path + (key,), f"'{v}' is not one of {', '.join(options)}{_hint(v, options)}")
            return default
        return v

    def number(self, doc, path, key, kind: type, default, lo, hi):
        v = self.get(doc, path, key, kind, default)
        if v is not None and not lo <= v <= hi:
            self.bad(path + (key,), f"{v} is out of range ({lo} to {hi})")
            return default
        return v

    def action(self, v: Any, path: Path) -> Optional[Action]:
        if not isinstance(v, str):
            self.bad(path, f"an action must be a string such as 'menu:sales', not {_type_name(v)}")
            return None
        kind, _, arg = v.partition(":")
        if kind not in ACTIONS:
            forms = [f"{a}:" if a in NAMED else a for a in ACTIONS]
            self.bad(path, f"unknown action '{v}'; one of: menu:NAME, back, top, repeat, operator, hangup, "
                           f"language:LANG, queue:NAME, after-hours, callback:QUEUE{_hint(kind, list(ACTIONS) + forms)}")
            return None
        if kind in NAMED and not arg:
            self.bad(path, f"'{kind}' needs a name: '{kind}:NAME'")
            return None
        if kind not in NAMED and kind not in NAME_OPTIONAL and arg:
            self.bad(path, f"'{kind}' takes no name")
            return None
        return Action(kind, arg)

    def numbers(self, doc, path, key) -> Tuple[NumberMatch, ...]:
        v = self.get(doc, path, key, list, [])
        out = []
        for i, n in enumerate(v):
            m = self.number_match(n, path + (key, i))
            if m:
                out.append(m)
        return tuple(out)

    def number_match(self, n: Any, path: Path) -> Optional[NumberMatch]:
        if not isinstance(n, str) or not re.fullmatch(r"\+?[0-9]+\*?|\+?\*", n) or n in ("*", "+*"):
            self.bad(path, f"{n!r} is not a phone number (digits, an optional leading +, a trailing * "
                           f"for a prefix)")
            return None
        return NumberMatch(n.rstrip("*"), n.endswith("*"))

    # Sections.

    def office(self, doc: Dict[str, Any]) -> Office:
        top = self.table(doc, (), SECTION_KEYS[""], ["office", "line", "menu"])
        o = self.table(top.get("office", {}), ("office",), SECTION_KEYS["office"],
                       ["name", "entry"])
        name = self.get(o, ("office",), "name", str, "")
        langs = self.get(o, ("office",), "languages", list, ["en"])
        languages = []
        for i, lang in enumerate(langs):
            if lang not in LANGUAGES:
                self.bad(("office", "languages", i), f"{lang!r} is not one of {', '.join(LANGUAGES)}")
            elif lang in languages:
                self.bad(("office", "languages", i), f"'{lang}' is listed twice")
            else:
                languages.append(lang)
        if not languages:
            self.bad(("office", "languages"), "needs at least one language")
            languages = ["en"]
        timezone = self.get(o, ("office",), "timezone", str, "UTC")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.bad(("office", "timezone"), f"unknown time zone {timezone!r} (an IANA name such as 'Europe/Kyiv')")
            timezone = "UTC"
        lines = self.lines(top.get("line", []))
        prompts = self.prompts(top.get("prompts", {}), languages)
        menus = self.menus(top.get("menu", {}))
        hours = self.hours(top.get("hours", {}), timezone)
        cid = self.callerid(top.get("callerid", {}))
        operator = self.get(o, ("office",), "operator", str, None)
        entry = self.get(o, ("office",), "entry", str, "")
        queues = self.queues(top.get("queue", {}))
        agents = self.agents(top.get("agent", []))
        features = self.features(top.get("features", {}))
        retention = self.retention(top.get("calllog", {}))
        recordings = self.recordings(top.get("recordings", {}))
        board = self.board(top.get("board", {}))
        ami = self.ami(top.get("ami", {}))
        office = Office(name=name, languages=tuple(languages), entry=entry, lines=lines, prompts=prompts,
                        menus=menus, hours=hours, callerid=cid, operator=operator, path=self.file,
                        queues=queues, agents=agents, features=features, calllog=retention,
                        recordings=recordings, board=board, ami=ami)
        self.references(office, top)
        return office

    def queues(self, doc: Any) -> Dict[str, Queue]:
        from appliance.acd import STRATEGIES

        doc = self.table(doc, ("queue",), list(doc) if isinstance(doc, dict) else [])
        out = {}
        for name, t in doc.items():
            p: Path = ("queue", name)
            t = self.table(t, p, QUEUE_KEYS)
            rules = self.queue_rules(t, p)
            out[name] = Queue(
                name=name,
                strategy=self.choice(t, p, "strategy", STRATEGIES, "longest-idle"),
                ring_s=self.number(t, p, "ring_s", float, 15.0, 5.0, 120.0),
                wrapup_s=self.number(t, p, "wrapup_s", float, 10.0, 0.0, 600.0),
                widen_s=self.number(t, p, "widen_s", float, 30.0, 0.0, 3600.0),
                ageing_s=self.number(t, p, "ageing_s", float, 60.0, 1.0, 3600.0),
                misses_to_pause=self.number(t, p, "misses_to_pause", int, 2, 1, 20),
                music=self.get(t, p, "music", str, None),
                join_empty=self.get(t, p, "join_empty", bool, True),
                leave_empty=self.get(t, p, "leave_empty", bool, False),
                empty=self.choice(t, p, "empty", EMPTY, "logged-out"),
                announce_first_s=self.number(t, p, "announce_first_s", float, 5.0, 0.0, 600.0),
                announce_every_s=self.number(t, p, "announce_every_s", float, 45.0, 15.0, 3600.0),
                announce_position=self.choice(t, p, "announce_position", ("yes", "no", "limit"), "yes"),
                position_limit=self.number(t, p, "position_limit", int, 0, 0, 1000),
                announce_wait=self.get(t, p, "announce_wait", bool, True),
                message=self.get(t, p, "message", str, None),
                message_every_s=self.number(t, p, "message_every_s", float, 60.0, 15.0, 3600.0),
                **rules,
                **self.waiting_keys(t, p),
            )
            q = out[name]
            if q.announce_position == "limit" and q.position_limit < 1:
                self.bad(p + ("position_limit",), "announce_position 'limit' needs a position_limit from 1")
            if not (q.join_empty and not q.leave_empty) and q.when_empty is None:
                self.bad(p, "missing key 'when_empty': where callers go when nobody can answer "
                            "(join_empty = false or leave_empty = true)")
        return out

    def queue_rules(self, t: Dict[str, Any], p: Path) -> Dict[str, Any]:
        """A queue's limits and where each sends a caller; a limit without its
        destination is an error, since the box never answers a caller with busy."""
        out: Dict[str, Any] = {}
        limits = {"max_callers": (int, 1, 10000), "max_wait_s": (float, 10.0, 86400.0),
                  "service_level_s": (float, 1.0, 3600.0)}
        for limit, then in (("max_callers", "when_full"), ("max_wait_s", "when_timeout"),
                            ("service_level_s", "overflow")):
            kind, lo, hi = limits[limit]
            out[limit] = self.number(t, p, limit, kind, None, lo, hi)
            out[then] = self.action(t[then], p + (then,)) if then in t else None
            if limit in t and then not in t:
                self.bad(p + (limit,), f"needs '{then}': where a caller goes then (the box never gives busy)")
            if then in t and limit not in t:
                self.bad(p + (then,), f"needs '{limit}': when a caller goes there")
        out["when_empty"] = self.action(t["when_empty"], p + ("when_empty",)) if "when_empty" in t else None
        return out

    def waiting_keys(self, t: Dict[str, Any], p: Path) -> Dict[str, Any]:
        """A queue's keys while waiting, its callback and rejoin settings."""
        exit_key = self.key(t, p, "exit_key", None)
        callback_key = self.key(t, p, "callback_key", None)
        exit_to = self.action(t["exit_to"], p + ("exit_to",)) if "exit_to" in t else None
        if exit_key and callback_key and exit_key == callback_key:
            self.bad(p + ("callback_key",), f"'{callback_key}' is also this queue's exit_key")
        if exit_key and "exit_to" not in t:
            self.bad(p + ("exit_key",), "needs exit_to: where a caller who presses it goes")
        if "exit_to" in t and not exit_key:
            self.bad(p + ("exit_to",), "there is no exit_key to reach it")
        lo = self.number(t, p, "callback_min_digits", int, 5, 1, 20)
        hi = self.number(t, p, "callback_max_digits", int, 15, 1, 20)
        if hi < lo:
            self.bad(p + ("callback_max_digits",), f"{hi} is below callback_min_digits ({lo})")
            hi = lo
        return dict(exit_key=exit_key, exit_to=exit_to, callback_key=callback_key,
                    callback_tries=self.number(t, p, "callback_tries", int, 3, 1, 10),
                    callback_retry_s=self.number(t, p, "callback_retry_s", float, 300.0, 10.0, 86400.0),
                    callback_expiry_s=self.number(t, p, "callback_expiry_s", float, 3600.0, 60.0, 7 * 86400.0),
                    callback_answer_s=self.number(t, p, "callback_answer_s", float, 40.0, 10.0, 180.0),
                    callback_min_digits=lo, callback_max_digits=hi,
                    rejoin_s=self.number(t, p, "rejoin_s", float, 120.0, 0.0, 86400.0))

    def agents(self, doc: Any) -> Tuple[Agent, ...]:
        if not isinstance(doc, list):
            self.bad(("agent",), "must be [[agent]] tables, one per agent")
            return ()
        out = []
        for i, t in enumerate(doc):
            p: Path = ("agent", i)
            t = self.table(t, p, SECTION_KEYS["agent"], ["name", "queues"])
            qs = {}
            for q, lvl in self.get(t, p, "queues", dict, {}).items():
                if isinstance(lvl, bool) or not isinstance(lvl, int) or not 1 <= lvl <= 9:
                    self.bad(p + ("queues", q), f"a level is a whole number from 1 (first) to 9, not {lvl!r}")
                else:
                    qs[q] = lvl
            reach = self.agent_reach(t, p)
            out.append(Agent(name=self.get(t, p, "name", str, f"agent{i + 1}"), phone=reach.get("phone", ""),
                             queues=qs, wrapup_s=self.number(t, p, "wrapup_s", float, None, 0.0, 600.0),
                             weight=self.number(t, p, "weight", float, 1.0, 0.01, 100.0),
                             number=reach.get("number", ""), extension=reach.get("extension", ""),
                             pin=reach.get("pin", ""), busy_s=self.number(t, p, "busy_s", float, 180.0, 10.0, 7200.0)))
        return tuple(out)

    def agent_reach(self, t: Dict[str, Any], p: Path) -> Dict[str, str]:
        """How the box reaches an agent: exactly one of phone, number and extension; a
        pin only with a phone (the codes are keyed there), busy_s only with an extension."""
        out: Dict[str, str] = {}
        ways = [k for k in ("phone", "number", "extension") if k in t]
        if len(ways) != 1:
            self.bad(p + ((ways[1],) if len(ways) > 1 else ()),
                     "give exactly one of phone (an fxs line), number (an outside number) and extension "
                     f"(of the PBX behind the lines){'; this agent has ' + ' and '.join(ways) if ways else ''}")
        for k in ways[:1]:
            v = self.get(t, p, k, str, "")
            if k == "phone":
                out[k] = v
            elif k == "number" and not re.fullmatch(r"[0-9*#]{1,31}", v):
                self.bad(p + (k,), f"{v!r} is not a number the box can dial (1 to 31 of 0-9, *, #)")
            elif k == "extension" and not re.fullmatch(r"[0-9*#]{1,8}", v):
                self.bad(p + (k,), f"{v!r} is not an extension (1 to 8 of 0-9, *, #)")
            else:
                out[k] = v
        if "pin" in t:
            v = t["pin"]
            if not isinstance(v, str):
                self.bad(p + ("pin",), f"must be a string of digits in quotes (\"0042\": a number loses its "
                                       f"leading zeros), not {_type_name(v)}")
            elif not re.fullmatch(r"[0-9]{1,12}", v):
                self.bad(p + ("pin",), f"{v!r} is not a PIN: 1 to 12 digits, no * or #")
            elif "phone" not in t:
                self.bad(p + ("pin",), "a PIN is for the feature codes keyed at the agent's own phone: "
                                       "this agent has no phone")
            else:
                out["pin"] = v
        if "busy_s" in t and "extension" not in t:
            self.bad(p + ("busy_s",), "busy_s is for an agent reached by transfer to an extension")
        return out

    def retention(self, doc: Any) -> Retention:
        """The call log's keep: at least a day (today's calls are never pruned by age)
        and a megabyte (a few thousand calls)."""
        p: Path = ("calllog",)
        t = self.table(doc, p, SECTION_KEYS["calllog"])
        return Retention(keep_days=self.number(t, p, "keep_days", float, Retention.keep_days, 1.0, 36500.0),
                         max_mb=self.number(t, p, "max_mb", float, Retention.max_mb, 1.0, 1 << 20))

    def recordings(self, doc: Any) -> Recordings:
        p: Path = ("recordings",)
        t = self.table(doc, p, SECTION_KEYS["recordings"])
        folder = self.get(t, p, "dir", str, "")
        if folder and any(ord(ch) < 32 for ch in folder):
            self.bad(p + ("dir",), "must be a folder's path on one line")
            folder = ""
        if folder and not os.path.isabs(folder):
            base = os.path.dirname(os.path.abspath(self.file)) if self.file else os.getcwd()
            folder = os.path.join(base, folder)
        return Recordings(dir=os.path.normpath(folder) if folder else "",
                          max_s=self.number(t, p, "max_s", float, Recordings.max_s, 1.0, 86400.0))

    def ami(self, doc: Any) -> Ami:
        """The manager interface's address and users; a user's secret is at least 8
        characters (it guards the office's calls), their classes Asterisk's."""
        p: Path = ("ami",)
        t = self.table(doc, p, SECTION_KEYS["ami"])
        enabled = self.get(t, p, "enabled", bool, False)
        bind = self.get(t, p, "bind", str, Ami.bind)
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            self.bad(p + ("bind",), f"{bind!r} is not an IP address (such as \"127.0.0.1\", or \"0.0.0.0\" for all)")
            bind = Ami.bind
        port = self.number(t, p, "port", int, Ami.port, 1, 65535)
        users = []
        raw = self.get(t, p, "users", dict, {})
        for name, u in raw.items():
            up: Path = p + ("users", name)
            if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,32}", name):
                self.bad(up, f"{name!r} is not a user name (1 to 32 of letters, digits, _ . @ -)")
                continue
            u = self.table(u, up, SECTION_KEYS["ami.users.*"], ["secret"])
            secret = self.get(u, up, "secret", str, "")
            if "secret" in u and isinstance(u["secret"], str) and (len(secret) < 8 or not secret.isprintable()):
                self.bad(up + ("secret",), "must be at least 8 printable characters")
            perms = {}
            for k in ("read", "write"):
                got = []
                for i, c in enumerate(self.get(u, up, k, list, [])):
                    if not isinstance(c, str) or (c != "all" and c not in AMI_CLASSES):
                        self.bad(up + (k, i), f"{c!r} is not a permission class: one of all, "
                                              f"{', '.join(AMI_CLASSES)}{_hint(str(c), AMI_CLASSES)}")
                    else:
                        got.append(c)
                perms[k] = tuple(got)
            users.append(AmiUser(name, secret, perms["read"], perms["write"]))
        if enabled and not users:
            self.bad(p + ("enabled",), "the manager interface is enabled with no users: add [ami.users.NAME]")
        return Ami(enabled=enabled, bind=bind, port=port, users=tuple(users))

    def board(self, doc: Any) -> Board:
        """The card's settings as written; whether they fit the card is the card
        profile's business (appliance/cards.py), checked where system.conf is made."""
        p: Path = ("board",)
        t = self.table(doc, p, SECTION_KEYS["board"])
        profile = self.get(t, p, "profile", str, None)
        if profile is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", profile):
            self.bad(p + ("profile",), f"{profile!r} is not a profile's name (lower-case letters, digits, - and _)")
            profile = None
        modules = []
        for i, m in enumerate(self.get(t, p, "modules", list, [])):
            if m not in MODULES:
                self.bad(p + ("modules", i), f"{m!r} is not one of {', '.join(MODULES)}")
            else:
                modules.append(m)
        zone = self.get(t, p, "zone", str, None)
        if zone is not None and zone not in TONE_ZONES:
            extra = " (DAHDI has no zone for Ukraine: choose the one whose ring cadence the phones should " \
                    "use, such as 'ru')" if zone == "ua" else _hint(zone, TONE_ZONES)
            self.bad(p + ("zone",), f"'{zone}' is not one of DAHDI's tone zones{extra}")
            zone = None
        spans = []
        raw = self.get(t, p, "span", list, [])
        for i, s in enumerate(raw):
            sp: Path = p + ("span", i)
            s = self.table(s, sp, SECTION_KEYS["board.span"], ["signalling"])
            sig = self.choice(s, sp, "signalling", E1_SIGNALLING, "pri_cpe")
            span = E1Span(signalling=sig,
                          timing=self.number(s, sp, "timing", int, 0 if sig == "pri_net" else i + 1, 0, 255),
                          crc4=self.get(s, sp, "crc4", bool, sig != "mfcr2"),
                          coding=self.choice(s, sp, "coding", ("hdb3", "ami"), "hdb3"),
                          lbo=self.number(s, sp, "lbo", int, 0, 0, 7))
            framing = self.choice(s, sp, "framing", ("ccs", "cas"), span.framing)
            if framing != span.framing:
                self.bad(sp + ("framing",), f"'{framing}' does not go with signalling '{sig}', which takes "
                                            f"'{span.framing}'")
            spans.append(span)
        timings: Dict[int, int] = {}
        for i, span in enumerate(spans):
            if span.timing and span.timing in timings:
                self.bad(p + ("span", i, "timing"), f"{span.timing} is already span {timings[span.timing] + 1}'s: "
                                                    "each span the clock may come from needs its own preference")
            timings.setdefault(span.timing, i)
        return Board(profile=profile, modules=tuple(modules), zone=zone,
                     echo_canceller=self.choice(t, p, "echo_canceller", ECHO_CANCELLERS, None)
                     if "echo_canceller" in t else None,
                     spans=tuple(spans))

    def features(self, doc: Any) -> Features:
        """The feature codes: keys of a phone's keypad, # left out (it ends a PIN);
        no two the same and none the start of another, or the box could not tell
        which was meant; the pause reasons' keys likewise among themselves."""
        p: Path = ("features",)
        t = self.table(doc, p, SECTION_KEYS["features"])
        codes: Dict[str, str] = {}
        for k in FEATURE_CODES:
            v = self.get(t, p, k, str, FEATURE_DEFAULTS[k])
            if v and not re.fullmatch(r"[0-9*]{1,8}", v):
                self.bad(p + (k,), f"{v!r} is not a feature code: 1 to 8 of 0-9 and * (# ends a PIN; "
                                   "\"\" turns the code off)")
                v = ""
            codes[k] = v
        used = [k for k in FEATURE_CODES if codes[k]]
        told = set()        # one problem a code is enough: '*7' clashes with the whole *7x block
        for i, a in enumerate(used):
            for b in used[i + 1:]:
                if not (codes[a].startswith(codes[b]) or codes[b].startswith(codes[a])):
                    continue
                at = b if b in t else a         # the file's own key: the defaults never clash
                other = a if at == b else b
                if at in told:
                    continue
                told.add(at)
                mine, theirs = codes[at], codes[other]
                if mine == theirs:
                    self.bad(p + (at,), f"'{mine}' is already the {other} code")
                elif mine.startswith(theirs):
                    self.bad(p + (at,), f"'{mine}' starts with the {other} code '{theirs}': the box would "
                                        f"take it for that")
                else:
                    self.bad(p + (at,), f"'{mine}' is the start of the {other} code '{theirs}': the box "
                                        "could not tell them apart")
        reasons: Dict[str, str] = {}
        raw = self.get(t, p, "pause_reasons", dict, None)
        for key, why in (raw or {}).items():
            rp = p + ("pause_reasons", key)
            if not re.fullmatch(r"[0-9]{1,2}", key):
                self.bad(rp, f"'{key}' is not a reason's key: 1 or 2 digits")
            elif not isinstance(why, str) or not why.strip():
                self.bad(rp, f"a reason is a word or two such as \"lunch\", not {why!r}")
            elif any(key != k and (key.startswith(k) or k.startswith(key)) for k in reasons):
                clash = next(k for k in reasons if key.startswith(k) or k.startswith(key))
                self.bad(rp, f"'{key}' and '{clash}': one starts the other, so the box could not tell them apart")
            else:
                reasons[key] = why.strip()
        accept = self.key(t, p, "accept_key", "1") or "1"
        d = Features()
        return Features(pause_reasons=reasons if raw is not None else d.pause_reasons, accept_key=accept,
                        **{k: codes[k] for k in FEATURE_CODES})

    def lines(self, doc: Any) -> Tuple[Line, ...]:
        if not isinstance(doc, list):
            self.bad(("line",), "must be [[line]] tables, one per line or phone port")
            return ()
        out: List[Line] = []
        names: Dict[str, int] = {}
        channels: Dict[int, int] = {}
        for i, t in enumerate(doc):
            p: Path = ("line", i)
            t = self.table(t, p, SECTION_KEYS["line"], ["name", "channel"])
            ln = Line(
                name=self.get(t, p, "name", str, f"line{i + 1}"),
                channel=self.number(t, p, "channel", int, i + 1, 1, 4096),
                kind=self.choice(t, p, "kind", KINDS, "fxo"),
                law=self.choice(t, p, "law", LAWS, "alaw"),
                plan=self.choice(t, p, "plan", PLANS, "itu"),
                rings=self.number(t, p, "rings", int, 2, 0, 20),
                callerid=self.choice(t, p, "callerid", CALLERID, "v23"),
                callerid_when=self.choice(t, p, "callerid_when", CALLERID_WHEN, "after-first-ring"),
                queue=self.get(t, p, "queue", str, None),
                rx_gain_db=self.number(t, p, "rx_gain_db", float, 0.0, -24.0, 24.0),
                tx_gain_db=self.number(t, p, "tx_gain_db", float, 0.0, -24.0, 24.0),
            )
            if ln.name in names:
                self.bad(p + ("name",), f"'{ln.name}' is already the name of line {names[ln.name] + 1}")
            if ln.channel in channels and "channel" in t:
                self.bad(p + ("channel",), f"channel {ln.channel} is already line {channels[ln.channel] + 1}'s")
            names.setdefault(ln.name, i)
            channels.setdefault(ln.channel, i)
            out.append(ln)
        if not out:
            self.bad(("line",), "needs at least one line")
        return tuple(out)

    def prompts(self, doc: Any, languages: Sequence[str]) -> Dict[str, Prompt]:
        doc = self.table(doc, ("prompts",), list(doc) if isinstance(doc, dict) else [])
        out = {}
        for name, t in doc.items():
            p: Path = ("prompts", name)
            t = self.table(t, p, LANGUAGES)
            by = {}
            for lang, v in t.items():
                if lang not in LANGUAGES:
                    continue
                parts = v if isinstance(v, list) else [v]
                srcs = [self.source(x, p + (lang,)) for x in parts]
                if not parts:
                    self.bad(p + (lang,), "an empty list: nothing to play")
                elif all(srcs):
                    by[lang] = tuple(srcs)
            for lang in languages:
                if lang not in t:
                    self.bad(p, f"has no '{lang}' version, and the office speaks {', '.join(languages)}")
            out[name] = Prompt(name, by)
        return out

    def source(self, v: Any, path: Path) -> Optional[Source]:
        if isinstance(v, str):
            if not v.strip():
                self.bad(path, "empty text")
                return None
            return Source("text", v)
        if isinstance(v, dict):
            t = self.table(v, path, ["sound", "file", "say", "in"])
            kinds = [k for k in ("sound", "file", "say") if k in t]
            if len(kinds) != 1:
                self.bad(path, "give one of: \"text to speak\", {sound = \"pack-name\"}, {file = \"path\"}, "
                               "{say = \"text\", in = \"LANG\"}")
                return None
            value = self.get(t, path, kinds[0], str, "")
            lang = self.get(t, path, "in", str, "")
            if lang and lang not in LANGUAGES:
                self.bad(path + ("in",), f"{lang!r} is not one of {', '.join(LANGUAGES)}")
                return None
            if lang and kinds[0] == "file":
                self.bad(path + ("in",), "a file is played as it is: 'in' is for text and pack sounds")
                return None
            if not value.strip():
                self.bad(path + (kinds[0],), "empty")
                return None
            return Source("text" if kinds[0] == "say" else kinds[0], value, lang)
        self.bad(path, f"must be text to speak or a table {{sound = ...}} / {{file = ...}}, not {_type_name(v)}")
        return None

    def menus(self, doc: Any) -> Dict[str, Menu]:
        doc = self.table(doc, ("menu",), list(doc) if isinstance(doc, dict) else [])
        out = {}
        known = MENU_KEYS
        for name, t in doc.items():
            p: Path = ("menu", name)
            t = self.table(t, p, known)
            keys = {}
            kt = self.get(t, p, "keys", dict, {})
            for key, v in kt.items():
                if key not in KEYS or len(key) != 1:
                    self.bad(p + ("keys", key), f"'{key}' is not a key of a phone's keypad (0-9, *, #)")
                    continue
                a = self.action(v, p + ("keys", key))
                if a:
                    keys[key] = a
            repeat_key = self.key(t, p, "repeat_key", "*")
            operator_key = self.key(t, p, "operator_key", "0")
            for special in (repeat_key, operator_key):
                if special and special in keys:
                    self.bad(p + ("keys", special), f"'{special}' is also this menu's "
                             f"{'repeat' if special == repeat_key else 'operator'} key")
            m = Menu(
                name=name,
                greeting=self.prompt_list(t, p, "greeting"),
                short_greeting=self.prompt_list(t, p, "short_greeting"),
                keys=keys,
                collect=self.collect(t.get("collect"), p + ("collect",)) if "collect" in t else None,
                invalid=self.get(t, p, "invalid", str, None),
                invalid_tries=self.number(t, p, "invalid_tries", int, 3, 1, 10),
                invalid_then=self.action(t["invalid_then"], p + ("invalid_then",)) or Action("hangup")
                if "invalid_then" in t else Action("hangup"),
                no_input=self.get(t, p, "no_input", str, None),
                no_input_tries=self.number(t, p, "no_input_tries", int, 3, 1, 10),
                no_input_then=self.action(t["no_input_then"], p + ("no_input_then",)) or Action("hangup")
                if "no_input_then" in t else Action("hangup"),
                timeout_s=self.number(t, p, "timeout_s", float, 5.0, 1.0, 60.0),
                repeat_key=repeat_key,
                operator_key=operator_key,
                then=self.action(t["then"], p + ("then",)) if "then" in t else None,
                **self.agi(t, p),
            )
            if m.agi is not None:
                for k in ("keys", "collect"):
                    if k in t:
                        self.bad(p + (k,), "a menu with agi hands the call to its script: it takes no keys")
            elif not m.keys and not m.collect and m.then is None and "keys" not in t:
                self.bad(p, "has no keys, no collect and no 'then': a caller would have nothing to do")
            out[name] = m
        return out

    def agi(self, t, p: Path) -> Dict[str, Any]:
        """A menu's FastAGI script: its address, timeout and fallback, all or none."""
        url = self.get(t, p, "agi", str, None)
        timeout = self.number(t, p, "agi_timeout_s", float, 10.0, 0.5, 60.0)
        fallback = self.action(t["agi_fallback"], p + ("agi_fallback",)) if "agi_fallback" in t else None
        if url is None:
            for k in ("agi_timeout_s", "agi_fallback"):
                if k in t:
                    self.bad(p + (k,), "only a menu with agi has it")
            return {}
        try:
            agi_.parse_url(url)
        except agi_.AgiError as e:
            self.bad(p + ("agi",), str(e))
        if "agi_fallback" not in t:
            self.bad(p, "has agi but no agi_fallback: where a call goes when the script is down, slow or "
                        "talks nonsense")
        return {"agi": url, "agi_timeout_s": timeout, "agi_fallback": fallback}

    def prompt_list(self, t, p, name: str) -> Tuple[str, ...]:
        v = t.get(name, [])
        if isinstance(v, str):
            return (v,)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return tuple(v)
        self.bad(p + (name,), f"must be a prompt's name or a list of them, not {_type_name(v)}")
        return ()

    def key(self, t, p, name: str, default: Optional[str]) -> Optional[str]:
        v = self.get(t, p, name, str, default)
        if v == "":
            return None
        if v is not None and (len(v) != 1 or v not in KEYS):
            self.bad(p + (name,), f"'{v}' is not a key of a phone's keypad (0-9, *, #; \"\" for none)")
            return default
        return v

    def collect(self, v: Any, p: Path) -> Optional[Collect]:
        t = self.table(v, p, SECTION_KEYS["menu.*.collect"], ["max", "then"])
        if not t:
            return None
        lo = self.number(t, p, "min", int, 1, 1, 32)
        hi = self.number(t, p, "max", int, lo, 1, 32)
        if hi < lo:
            self.bad(p + ("max",), f"max ({hi}) is below min ({lo})")
            hi = lo
        term = self.get(t, p, "terminator", str, "#")
        if term not in ("", *KEYS) or len(term) > 1:
            self.bad(p + ("terminator",), f"'{term}' is not a key (0-9, *, #; \"\" for none)")
            term = "#"
        pattern = self.get(t, p, "pattern", str, None)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as e:
                self.bad(p + ("pattern",), f"not a regular expression: {e}")
                pattern = None
        then = self.action(t["then"], p + ("then",)) if "then" in t else None
        if then is None:
            return None
        return Collect(min=lo, max=hi, then=then, terminator=term,
                       interdigit_s=self.number(t, p, "interdigit_s", float, 3.0, 1.0, 30.0), pattern=pattern)

    def hours(self, doc: Any, timezone: str) -> Hours:
        p: Path = ("hours",)
        t = self.table(doc, p, SECTION_KEYS["hours"])
        week = {}
        for day in DAYS:
            v = self.get(t, p, day, str, "closed" if t else "00:00-24:00")
            week[day] = self.ranges(v, p + (day,))
        holidays = set()
        for i, d in enumerate(self.get(t, p, "holidays", list, [])):
            if isinstance(d, dt.date) and not isinstance(d, dt.datetime):
                holidays.add(d)
            elif isinstance(d, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", d):
                try:
                    holidays.add(dt.date.fromisoformat(d))
                except ValueError:
                    self.bad(p + ("holidays", i), f"{d!r} is not a date")
            else:
                self.bad(p + ("holidays", i), f"{d!r} is not a date (YYYY-MM-DD)")
        after = self.action(t["after_hours"], p + ("after_hours",)) if "after_hours" in t else None
        if t and after is None and "after_hours" not in t:
            self.bad(p, "missing key 'after_hours': what callers hear when the office is closed")
        return Hours(timezone=timezone, week=week, holidays=frozenset(holidays), after_hours=after)

    def ranges(self, v: str, p: Path) -> Tuple[Tuple[dt.time, dt.time], ...]:
        if v.strip() == "closed":
            return ()
        out = []
        for part in v.split(","):
            m = re.fullmatch(r"\s*(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)\s*", part)
            if not m:
                self.bad(p, f"{part.strip()!r} is not a range such as '09:00-18:00' (or 'closed')")
                continue
            h1, m1, h2, m2 = (int(x) for x in m.groups())
            if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
                self.bad(p, f"{part.strip()!r} is not a time of day")
                continue
            a = dt.time(h1, m1)
            b = dt.time.max if h2 == 24 else dt.time(h2, m2)
            if b <= a:
                self.bad(p, f"{part.strip()!r} ends before it starts")
                continue
            out.append((a, b))
        return tuple(out)

    def callerid(self, doc: Any) -> CallerIdRules:
        p: Path = ("callerid",)
        t = self.table(doc, p, SECTION_KEYS["callerid"])
        rules = []
        for i, r in enumerate(self.get(t, p, "rule", list, [])):
            rp = p + ("rule", i)
            r = self.table(r, rp, SECTION_KEYS["callerid.rule"], ["match", "then"])
            m = self.number_match(r["match"], rp + ("match",)) if "match" in r else None
            a = self.action(r["then"], rp + ("then",)) if "then" in r else None
            if m and a:
                rules.append((m, a))
        return CallerIdRules(blocklist=self.numbers(t, p, "blocklist"), vip=self.numbers(t, p, "vip"),
                             blocked_prompt=self.get(t, p, "blocked_prompt", str, None), rules=tuple(rules))

    # Across sections.

    def references(self, office: Office, top: Dict[str, Any]) -> None:
        menus, prompts = office.menus, office.prompts
        if office.entry and office.entry not in menus:
            self.bad(("office", "entry"), f"no menu '{office.entry}'{_hint(office.entry, list(menus))}")
        kind_unknown = any(p.key.startswith("line[") and p.key.endswith(".kind") for p in self.problems)
        if (office.operator is not None and not kind_unknown
                and office.operator not in [ln.name for ln in office.lines if ln.kind == "fxs"]):
            phones = [ln.name for ln in office.lines if ln.kind == "fxs"]
            self.bad(("office", "operator"), f"'{office.operator}' is not a phone port (an fxs line)"
                     f"{_hint(office.operator, phones)}")

        def check_action(a: Optional[Action], path: Path) -> None:
            if a is None:
                return
            if a.kind == "menu" and a.arg not in menus:
                self.bad(path, f"no menu '{a.arg}'{_hint(a.arg, list(menus))}")
            if a.kind == "language" and a.arg not in office.languages:
                self.bad(path, f"the office does not speak '{a.arg}' (office.languages)")
            if a.kind == "operator" and office.operator is None:
                self.bad(path, "there is no operator (office.operator)")
            if a.kind == "queue" and a.arg not in office.queues:
                self.bad(path, f"no queue '{a.arg}'{_hint(a.arg, list(office.queues))}")
            if a.kind == "after-hours" and office.hours.after_hours is None:
                self.bad(path, "the office has no after-hours path (hours.after_hours)")
            if a.kind == "callback":
                self.check_callback(office, a, path)

        def check_prompt(name: Optional[str], path: Path) -> None:
            if name is not None and name not in prompts:
                self.bad(path, f"no prompt '{name}'{_hint(name, list(prompts))}")

        for m in menus.values():
            p: Path = ("menu", m.name)
            for key, a in m.keys.items():
                check_action(a, p + ("keys", key))
            for k in ("greeting", "short_greeting"):
                for i, name in enumerate(getattr(m, k)):
                    check_prompt(name, p + (k, i) if len(getattr(m, k)) > 1 else p + (k,))
            for k in ("invalid", "no_input"):
                check_prompt(getattr(m, k), p + (k,))
            check_action(m.invalid_then, p + ("invalid_then",))
            check_action(m.no_input_then, p + ("no_input_then",))
            check_action(m.then, p + ("then",))
            check_action(m.agi_fallback, p + ("agi_fallback",))
            if m.collect:
                check_action(m.collect.then, p + ("collect", "then"))
            raw = top.get("menu", {})
            raw = raw.get(m.name, {}) if isinstance(raw, dict) else {}
            if m.operator_key and office.operator is None and isinstance(raw, dict) and "operator_key" in raw:
                self.bad(p + ("operator_key",), "there is no operator (office.operator)")
        check_action(office.hours.after_hours, ("hours", "after_hours"))
        if office.hours.after_hours is not None and office.hours.after_hours.kind == "after-hours":
            self.bad(("hours", "after_hours"), "'after-hours' cannot be the after-hours action itself")
        for q in office.queues.values():
            for key in ("when_full", "when_timeout", "when_empty", "overflow"):
                a = getattr(q, key)
                check_action(a, ("queue", q.name, key))
                if a is not None and a.kind in ("back", "top", "repeat", "language"):
                    self.bad(("queue", q.name, key), f"'{a}' means nothing once a caller has left the menus: "
                                                     "use menu:NAME, queue:NAME, operator, after-hours or hangup")
                if a is not None and a.kind == "queue" and a.arg == q.name:
                    self.bad(("queue", q.name, key), "sends callers back to the queue they leave")
            check_prompt(q.message, ("queue", q.name, "message"))
            check_action(q.exit_to, ("queue", q.name, "exit_to"))
            self.check_waiting_keys(office, q)
        if office.operator is not None:
            # The operator is the box's own queue and agent of that name (supervisor.py).
            if "operator" in office.queues:
                self.bad(("queue", "operator"), "'operator' is the name of the operator's own queue: choose another")
            for i, ag in enumerate(office.agents):
                if ag.name == "operator":
                    self.bad(("agent", i, "name"), "'operator' is the name of the operator's own agent: choose another")
        phones = {ln.name for ln in office.lines if ln.kind == "fxs"}
        phones_of: Dict[str, str] = {}
        seen: Dict[str, int] = {}
        for i, ag in enumerate(office.agents):
            if ag.name in seen:
                self.bad(("agent", i, "name"), f"'{ag.name}' is already agent {seen[ag.name] + 1}")
            seen.setdefault(ag.name, i)
            if ag.phone and ag.phone not in phones:
                self.bad(("agent", i, "phone"), f"'{ag.phone}' is not a phone port (an fxs line)"
                                               f"{_hint(ag.phone, sorted(phones))}")
            if ag.phone and ag.phone == office.operator:
                self.bad(("agent", i, "phone"), f"'{ag.phone}' is the operator's phone")
            if ag.phone and ag.phone in phones_of:
                self.bad(("agent", i, "phone"), f"'{ag.phone}' is already {phones_of[ag.phone]}'s phone")
            if ag.phone:
                phones_of.setdefault(ag.phone, ag.name)
            for q in ag.queues:
                if q not in office.queues:
                    self.bad(("agent", i, "queues", q), f"no queue '{q}'{_hint(q, list(office.queues))}")
        self.line_queues(office)
        check_prompt(office.callerid.blocked_prompt, ("callerid", "blocked_prompt"))
        for i, (_, a) in enumerate(office.callerid.rules):
            check_action(a, ("callerid", "rule", i, "then"))
        self.trapped(office)

    def check_callback(self, office: Office, a: Action, path: Path) -> None:
        if a.arg and a.arg not in office.queues:
            self.bad(path, f"no queue '{a.arg}'{_hint(a.arg, list(office.queues))}")
        elif not a.arg and path[0] != "queue":
            self.bad(path, "'callback' needs the queue whose place the caller keeps here: 'callback:QUEUE'")
        elif not any(ln.kind == "fxo" for ln in office.lines):
            self.bad(path, "the office has no line (kind fxo) to call back on")

    def check_waiting_keys(self, office: Office, q: Queue) -> None:
        p: Path = ("queue", q.name)
        if q.callback_key and not any(ln.kind == "fxo" for ln in office.lines):
            self.bad(p + ("callback_key",), "the office has no line (kind fxo) to call back on")
        if q.exit_to is not None and q.exit_to == Action("queue", q.name):
            self.bad(p + ("exit_to",), f"leads back into queue '{q.name}', the one the caller leaves")
        for m in office.menus.values():
            c = m.collect
            if c is None or c.then != Action("queue", q.name) or not c.terminator:
                continue
            for name in ("exit_key", "callback_key"):
                if getattr(q, name) == c.terminator:
                    self.bad(p + (name,), f"'{c.terminator}' ends the entry of menu '{m.name}', which leads "
                                          f"here: one pressed after its entry ended would land in the queue")

    def line_queues(self, office: Office) -> None:
        """A line's queue: one the office has, on a line callers ring."""
        for i, ln in enumerate(office.lines):
            if ln.queue is None:
                continue
            if ln.queue not in office.queues:
                self.bad(("line", i, "queue"), f"no queue '{ln.queue}'{_hint(ln.queue, list(office.queues))}")
            elif ln.kind != "fxo":
                self.bad(("line", i, "queue"), "only an exchange line (fxo) takes calls to queue")

    def trapped(self, office: Office) -> None:
        """Menus from which nothing a caller does or fails to do ever leads out: a loop
        with no way out. The ways out are hangup and the operator. From a menu, menu:NAME
        leads to that menu; top and language:LANG (which starts the menus again in that
        language) to the entry menu; back to a menu that leads here."""
        menus = office.menus
        exits = {"hangup", "operator", "queue", "after-hours", "callback"}

        def edges(m: Menu) -> List[Action]:
            if m.agi is not None:
                return [a for a in (m.agi_fallback, m.then or Action("hangup")) if a is not None]
            if not m.keys and not m.collect:
                # An announcement takes no keys: only what follows it.
                return [m.then] if m.then else []
            out = list(m.keys.values()) + [m.invalid_then, m.no_input_then]
            if m.then:
                out.append(m.then)
            if m.collect:
                out.append(m.collect.then)
            if m.operator_key and office.operator:
                out.append(Action("operator"))
            return out

        free = {n for n, m in menus.items() if any(a.kind in exits for a in edges(m))}
        changed = True
        while changed:
            changed = False
            for n, m in menus.items():
                if n in free:
                    continue
                for a in edges(m):
                    if ((a.kind == "menu" and a.arg in free)
                            or (a.kind in ("top", "language") and office.entry in free)
                            or (a.kind == "back" and any(
                                f in free and Action("menu", n) in edges(menus[f]) for f in menus))):
                        free.add(n)
                        changed = True
                        break
        # Only a menu a caller can reach can hold one.
        starts = [office.entry, *(a.arg for a in [office.hours.after_hours, *(r for _, r in office.callerid.rules)]
                                  if a is not None and a.kind == "menu")]
        reached, todo = set(), [n for n in starts if n in menus]
        while todo:
            n = todo.pop()
            if n not in reached:
                reached.add(n)
                todo += [a.arg for a in edges(menus[n]) if a.kind == "menu" and a.arg in menus]
        for n in menus:
            if n in reached and n not in free:
                self.bad(("menu", n), "a caller who gets here can never leave: no key, timeout or invalid entry "
                                      "leads, through any menus, to hangup or the operator")


def describe(office: Office) -> str:
    """A short summary for a person: what check-config prints for a good file."""
    return (f"{office.path}: {office.name}: {len(office.lines)} lines, {len(office.menus)} menus, "
            f"{len(office.prompts)} prompts, languages {', '.join(office.languages)}")
