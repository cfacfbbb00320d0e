"""The installer's console: the command grammar of both modes, with no I/O.

A terminal (or `appliance run`'s standard input, or a control-socket client) hands a
Shell typed lines and shows what it answers; the Shell carries commands out through
BoxControl, what it needs of the running box. It never reads or writes anything itself.

Rules:
  - Two modes, as on a router: exec (`NAME> `: show, test, agents, reload, restart)
    and configure (`NAME(config)# `: set, delete, show compare, commit, rollback,
    save); `configure` enters, `exit` or `end` leaves, `exit` at exec ends the session.
    The prompt shows what is pending: `(config*)` a candidate with changes not
    committed, `(unsaved)` a running configuration not saved to the startup file.
  - Every word may be shortened to a prefix unique among the words that may stand
    there (`sh q` is `show queues`), names of lines and agents too; a whole word wins
    over a longer one it begins (`line1` over `line10`).
  - `?` after any word, or at the end of a line, lists what may come next with a line
    of help each (help()); Tab completes the word being typed (complete()): words,
    names, configuration paths (a table's path ends in '.', more to come) and values
    from closed sets (strategies, true/false, languages, menus, queues, prompts).
  - A mistake is answered with what was wrong and where, and nothing is done:
    `% unknown word 'shwo' at position 1; did you mean 'show'?`. A line with a control
    character, one longer than 4096 characters or text that is not printable is refused
    whole, saying which and where; no input reaches the box as a traceback.
  - Each Shell has its own mode and candidate; the running configuration, its history
    and the commit-confirmed timer are the box's (commits.Configuration), shared.
  - Replies are text with no trailing prompt; long ones (show, help) are marked for
    the terminal's pager.
  - Things that take time (test line, a test call) answer at once and report as they
    go, as notices for this session from tick().
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from appliance import commits
from appliance.configtree import ConfigTree, TreeError, diff

MAX_LINE = 4096
INTERNAL = "the box could not carry that out (a fault of the firmware)"


@dataclass(frozen=True)
class Reply:
    text: str
    page: bool = False
    quit: bool = False


class BoxControl(Protocol):
    """What the Shell needs of the running box (appliance.box.BoxControlAdapter)."""
    configuration: commits.Configuration
    simulated: bool

    def office_name(self) -> str: ...
    def status(self, now: float) -> List[Tuple[str, str]]: ...
    def version(self) -> List[Tuple[str, str]]: ...
    def lines(self) -> List[Dict[str, Any]]: ...                     # name kind channel state call
    def channels(self) -> List[Dict[str, Any]]: ...                  # channel line kind state law plan
    def calls(self, now: float) -> List[Dict[str, Any]]: ...         # id line caller where since
    def queues(self, now: float) -> List[Dict[str, Any]]: ...        # name strategy staffed logged waiting[]
    def agents(self) -> List[Dict[str, Any]]: ...                    # name state reason calls queues
    def alarms(self) -> List[Tuple[float, str]]: ...
    def log(self, n: int) -> List[Any]: ...                          # calllog.Call
    def events(self, call: Optional[int]) -> Tuple[Optional[int], List[Any]]: ...
    def line_names(self, kind: Optional[str] = None) -> List[str]: ...
    def agent_names(self) -> List[str]: ...
    def agent_do(self, name: str, op: str, reason: str) -> str: ...
    def test_line(self, line: str, session: int) -> str: ...
    def test_call(self, line: str, number: str, name: str, session: int) -> str: ...
    def press(self, digits: str, line: Optional[str]) -> str: ...
    def hangup(self, line: Optional[str]) -> str: ...
    def phone(self, op: str, phone: Optional[str]) -> str: ...
    def hours(self, what: str) -> str: ...
    def reload(self) -> str: ...
    def restart(self, now_please: bool) -> str: ...
    def clock(self) -> Tuple[float, str]: ...                        # epoch seconds, the office's time zone
    def open_session(self, user: str) -> int: ...
    def close_session(self, session: int) -> None: ...
    def tick(self, now: float) -> None: ...
    def notices(self, session: int, after: int) -> Tuple[int, List[str]]: ...


# -- the grammar -----------------------------------------------------------------------

@dataclass
class Node:
    """One word of a command: a fixed word, or a parameter (an upper-case name) whose
    values `values` lists (None: anything the check accepts). `rest` takes the rest of
    the line as it was typed. `run` ends a command here."""
    word: str
    help: str
    then: List["Node"] = field(default_factory=list)
    run: Optional[str] = None
    values: Optional[Callable[["Shell"], List[str]]] = None
    check: Optional[Callable[[str], Optional[str]]] = None      # the error, or None
    rest: bool = False
    complete: Optional[Callable[["Shell", Dict[str, str], str], List[str]]] = None

    @property
    def param(self) -> bool:
        return self.word.isupper() or self.word.startswith("<")


def W(word, help, *then, run=None):
    return Node(word, help, list(then), run)


def P(word, help, *then, run=None, values=None, check=None, rest=False, complete=None):
    return Node(word, help, list(then), run, values, check, rest, complete)


def _int_check(lo: int, hi: int, what: str):
    def check(w: str) -> Optional[str]:
        if not w.isdigit() or not lo <= int(w) <= hi:
            return f"'{w}' is not {what} ({lo} to {hi})"
        return None
    return check


def _digits_check(w: str) -> Optional[str]:
    return None if re.fullmatch(r"[0-9*#]{1,32}", w) else f"'{w}' holds something that is not a key (0-9, *, #)"


def _number_check(w: str) -> Optional[str]:
    return None if re.fullmatch(r"\+?[0-9]{1,20}", w) else f"'{w}' is not a phone number"


def _call_check(w: str) -> Optional[str]:
    return None if w.isdigit() and len(w) < 12 else f"'{w}' is not a call number"


def _path_values(sh: "Shell", args, typed: str) -> List[str]:
    return sh._tree().complete_path(typed)


def _value_values(sh: "Shell", args, typed: str) -> List[str]:
    return sh._tree().complete_value(args.get("PATH", ""), typed)


def _show_words(config_mode: bool) -> List[Node]:
    words = [
        W("status", "the box at a glance: lines, calls, queues, agents, alarms, configuration", run="show_status"),
        W("version", "the firmware, the board, the software under it", run="show_version"),
        W("lines", "each line and phone port, its state and its call", run="show_lines"),
        W("channels", "the board's channels, their state, law and tone plan", run="show_channels"),
        W("calls", "the calls in progress", run="show_calls"),
        W("queues", "each queue, its agents and its waiting callers", run="show_queues"),
        W("agents", "each agent's state", run="show_agents"),
        W("alarms", "the alarms up now", run="show_alarms"),
        W("log", "the latest calls in the call log", P("N", "how many (1 to 1000)", run="show_log",
                                                       check=_int_check(1, 1000, "a number of calls")),
          run="show_log"),
        W("events", "a call's events (the latest call's unless given)",
          P("CALL", "the call's number in the log", run="show_events", check=_call_check), run="show_events"),
        W("running-config", "the running configuration (or one part of it)",
          P("PATH", "a part: office, queue.sales, line.line1 ...", run="show_running", complete=_path_values),
          run="show_running"),
        W("commits", "the configurations kept, newest first: what 'rollback N' takes", run="show_commits"),
        W("clock", "the date and time", run="clock"),
    ]
    if config_mode:
        words += [
            W("compare", "what the candidate changes against the running configuration", run="show_compare"),
            W("candidate", "the candidate configuration (or one part of it)",
              P("PATH", "a part: office, queue.sales, line.line1 ...", run="show_candidate",
                complete=_path_values), run="show_candidate"),
        ]
    return words


def _agent_words() -> List[Node]:
    return [
        W("login", "the agent takes calls", run="agent"),
        W("logout", "the agent takes no calls", run="agent"),
        W("pause", "the agent takes no calls for a while",
          P("REASON", "why (lunch, break ...)", run="agent", rest=True), run="agent"),
        W("unpause", "the agent takes calls again", run="agent"),
    ]


def _sim_words() -> List[Node]:
    def lines(sh):
        return sh.box.line_names("fxo")

    def phones(sh):
        return sh.box.line_names("fxs")

    test_call = P("LINE", "the exchange line the test caller rings",
                  P("NUMBER", "the caller's number (caller ID)",
                    P("NAME", "the caller's name", run="call", rest=True),
                    run="call", check=_number_check),
                  run="call", values=lines)
    return [
        W("call", "a test caller rings a line of the simulated board (as 'test call')", test_call),
        W("press", "the test caller presses keys",
          P("DIGITS", "keys: 0-9 * #",
            W("on", "on the test call of another line", P("LINE", "the line", run="press", values=lines)),
            run="press", check=_digits_check)),
        W("hangup", "the test caller hangs up", P("LINE", "the line", run="hangup", values=lines), run="hangup"),
        W("pickup", "a phone is answered (the operator's unless named)",
          P("PHONE", "the phone port", run="pickup", values=phones), run="pickup"),
        W("drop", "a phone is put down", P("PHONE", "the phone port", run="drop", values=phones), run="drop"),
        W("hours", "answer new calls as open or closed, or by the office hours",
          W("open", "as in business hours", run="hours"), W("closed", "as out of hours", run="hours"),
          W("auto", "by the office hours and the clock", run="hours")),
    ]


def exec_grammar(simulated: bool) -> List[Node]:
    agent = P("NAME", "the agent", *_agent_words(), values=lambda sh: sh.box.agent_names())
    test_call = P("LINE", "the line", P("NUMBER", "the caller's number (caller ID)",
                                        P("NAME", "the caller's name", run="call", rest=True),
                                        run="call", check=_number_check),
                  run="call", values=lambda sh: sh.box.line_names("fxo"))
    words = [
        W("show", "what the box is doing", *_show_words(False)),
        W("configure", "change the configuration: staged, then commit",
          W("terminal", "from this console", run="configure"), run="configure"),
        W("agent", "log an agent in or out, pause or unpause them", agent),
        W("test", "try a line or a call",
          W("line", "off-hook, listen for dial tone and its level, hang up, report",
            P("LINE", "the line, by name or number from 1", run="test_line",
              values=lambda sh: sh.box.line_names("fxo"))),
          *([W("call", "a test call through a line: what the caller hears", test_call)] if simulated else [])),
        W("save", "write the running configuration to the startup file", run="save"),
        W("reload", "read the configuration file again and put it in place", run="reload"),
        W("restart", "stop the box so that its service manager starts it again",
          W("now", "even with calls in progress: they are cut", run="restart"), run="restart"),
        W("clock", "the date and time", run="clock"),
        W("help", "how to use this console", run="help"),
        W("exit", "end this console session", run="quit"),
        W("quit", "end this console session", run="quit"),
        W("logout", "end this console session", run="quit"),
    ]
    if simulated:
        words += _sim_words()
    return words


def config_grammar() -> List[Node]:
    value = P("VALUE", "the value: a word, \"text\", a number, true/false, [a, list]", run="set", rest=True,
              complete=_value_values)
    return [
        W("set", "set a key of the candidate", P("PATH", "the key: office.name, queue.sales.ring_s, "
                                                         "line.line1.rings ...", value, complete=_path_values)),
        W("delete", "remove a key or a table from the candidate",
          P("PATH", "the key or table", run="delete", complete=_path_values)),
        W("show", "the candidate, the difference, or what the box is doing", *_show_words(True)),
        W("commit", "put the candidate in place in the running box",
          W("confirmed", "and roll it back by itself unless confirmed in time",
            P("MINUTES", "how long to wait for 'commit' or 'confirm' (1 to 60)", run="commit",
              check=_int_check(1, commits.MAX_CONFIRM_MINUTES, "a number of minutes"))),
          run="commit"),
        W("confirm", "keep a commit confirmed", run="confirm"),
        W("rollback", "take a configuration kept back as the candidate (0: the running one)",
          P("N", "how many commits back (see 'show commits')", run="rollback",
            check=_int_check(0, commits.KEEP - 1, "a commit kept")), run="rollback"),
        W("save", "write the running configuration to the startup file", run="save"),
        W("exit", "back to exec mode", W("discard", "and drop the candidate's changes", run="exit"), run="exit"),
        W("end", "back to exec mode", W("discard", "and drop the candidate's changes", run="exit"), run="exit"),
        W("help", "how to use this console", run="help"),
    ]


HELP = """\
Type a command; any word may be shortened while it stays unique (sh q = show queues).
Type ? after a word, or after a space, to see what may come next; Tab completes.
In exec mode:  show ...  agent NAME login|logout|pause [REASON]|unpause  test line LINE
               test call LINE [NUMBER [NAME]]  configure  save  reload  restart  clock  exit
In configure mode:  set PATH VALUE  delete PATH  show compare  show candidate [PATH]
               commit  commit confirmed MINUTES  confirm  rollback N  save  exit
Paths name keys of the configuration file: office.name, queue.sales.wrapup_s,
line.line1.rings, agent.olena.queues.sales, prompts.welcome.en, menu.main.keys.1.
A commit puts the candidate in place for new calls; save makes it the startup file."""


class ParseError(Exception):
    pass


@dataclass
class Parsed:
    node: Optional[Node]                 # where the words led
    args: Dict[str, str]
    words: List[str]                     # the fixed words as they were matched


def _words(line: str) -> List[Tuple[str, int]]:
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", line)]


def _shown(w: str) -> str:
    return w if len(w) <= 40 else w[:37] + "..."


# -- the shell ---------------------------------------------------------------------------

class Shell:
    def __init__(self, box: BoxControl, user: str = "installer"):
        self.box = box
        self.user = user
        self.mode = "exec"
        self.candidate: Optional[ConfigTree] = None
        self.base_revision = 0
        self.session = box.open_session(user)
        self.cursor = 0
        self.closed = False
        self._base: Optional[ConfigTree] = None      # the running tree the candidate was taken from
        self._exec = exec_grammar(box.simulated)
        self._config = config_grammar()

    # -- the API -----------------------------------------------------------------------

    @property
    def prompt(self) -> str:
        name = re.sub(r"[^a-z0-9-]+", "-", self.box.office_name().lower()).strip("-")[:24] or "box"
        if self.mode == "config":
            self._follow_running()
            star = "*" if self.candidate is not None and self.candidate != self.box.configuration.running else ""
            return f"{name}(config{star})# "
        unsaved = " (unsaved)" if self.box.configuration.unsaved else ""
        return f"{name}{unsaved}> "

    def run(self, line: str, now: float) -> Reply:
        try:
            return self._run(line, now)
        except Exception as e:      # the box keeps serving calls whatever a console line meets
            return Reply(f"% {INTERNAL}: {type(e).__name__}: {e}")

    def _run(self, line: str, now: float) -> Reply:
        bad = self._refuse(line)
        if bad:
            return Reply(bad)
        if line.rstrip().endswith("?"):
            return Reply(self.help(line.rstrip()[:-1]), page=True)
        if not line.strip():
            return Reply("")
        try:
            parsed = self._parse(line, complete_only=False)
        except ParseError as e:
            return Reply(f"% {e}")
        node = parsed.node
        if node is None or node.run is None:
            nxt = ", ".join(n.word for n in (node.then if node else []))
            return Reply(f"% '{line.strip()}' is not a whole command; it goes on with: {nxt} (type ? to see them)")
        try:
            return getattr(self, "_do_" + node.run)(parsed, now)
        except (commits.CommitError, TreeError) as e:
            lines = str(e).splitlines() or ["refused"]
            return Reply("\n".join(["% " + lines[0]] + ["  " + x for x in lines[1:]]))

    def help(self, line: str) -> str:
        try:
            return self._help(line)
        except Exception as e:      # as in run()
            return f"% {INTERNAL}: {type(e).__name__}: {e}"

    def _help(self, line: str) -> str:
        bad = self._refuse(line)
        if bad:
            return bad
        words = _words(line)
        ends_in_space = not line or line[-1].isspace()
        head = line if ends_in_space else line[:words[-1][1]] if words else ""
        typed = "" if ends_in_space or not words else words[-1][0]
        try:
            parsed = self._parse(head, complete_only=True)
        except ParseError as e:
            return f"% {e}"
        node = parsed.node
        options = self._roots() if node is None else node.then
        if node is not None and node.rest and not ends_in_space:
            options = []
        out = []
        for n in options:
            if n.param:
                out.append(f"  {n.word:<16} {n.help}")
            elif n.word.startswith(typed.lower()):
                out.append(f"  {n.word:<16} {n.help}")
        if node is not None and node.rest and head.strip():
            out.append(f"  {node.word:<16} {node.help} (the rest of the line)")
        if node is not None and node.run and (not typed or node.rest):
            out.append(f"  {'<cr>':<16} carry it out")
        if not out:
            return f"% nothing here starts with '{_shown(typed)}'"
        return "\n".join(out)

    def complete(self, line: str) -> List[str]:
        try:
            return self._complete(line)
        except Exception:           # as in run(): no candidates
            return []

    def _complete(self, line: str) -> List[str]:
        if self._refuse(line):
            return []
        words = _words(line)
        ends_in_space = not line or line[-1].isspace()
        head = line if ends_in_space else line[:words[-1][1]] if words else ""
        typed = "" if ends_in_space or not words else words[-1][0]
        try:
            parsed = self._parse(head, complete_only=True)
        except ParseError:
            return []
        node = parsed.node
        if node is not None and node.rest and head.strip() and node.complete is None:
            return []
        options = self._roots() if node is None else node.then
        out: List[str] = []
        try:
            for n in options:
                if not n.param:
                    if n.word.startswith(typed.lower()):
                        out.append(n.word)
                elif n.complete is not None:
                    out += n.complete(self, parsed.args, typed)
                elif n.values is not None:
                    out += [v for v in n.values(self) if v.startswith(typed)]
        except TreeError:
            return []
        return list(dict.fromkeys(out))

    def tick(self, now: float) -> List[str]:
        if self.closed:
            return []
        self.box.tick(now)
        self.cursor, said = self.box.notices(self.session, self.cursor)
        return said

    def close(self, now: float) -> None:
        """The session ended: its candidate goes; a commit confirmed keeps its timer."""
        if not self.closed:
            self.closed = True
            self.candidate = None
            self.box.close_session(self.session)

    # -- parsing -----------------------------------------------------------------------

    def _roots(self) -> List[Node]:
        return self._config if self.mode == "config" else self._exec

    @staticmethod
    def _refuse(line: str) -> str:
        if len(line) > MAX_LINE:
            return f"% the line is {len(line)} characters long; at most {MAX_LINE} are taken"
        for i, c in enumerate(line):
            if c == "\t":
                continue
            if not c.isprintable():
                return (f"% the line holds a character that is not text (U+{ord(c):04X}) at column {i + 1}; "
                        "nothing was done")
        return ""

    def _parse(self, line: str, complete_only: bool) -> Parsed:
        words = _words(line)
        options = self._roots()
        node: Optional[Node] = None
        args: Dict[str, str] = {}
        fixed: List[str] = []
        for i, (w, at) in enumerate(words):
            pos = i + 1
            if node is not None and node.rest:
                break
            fixed_opts = [n for n in options if not n.param]
            exact = [n for n in fixed_opts if n.word == w.lower()]
            hits = exact or [n for n in fixed_opts if n.word.startswith(w.lower())]
            if len(hits) > 1:
                raise ParseError(f"'{_shown(w)}' at position {pos} could be "
                                 f"{' or '.join(n.word for n in hits)}")
            if hits:
                node = hits[0]
                fixed.append(node.word)
                options = node.then
                continue
            params = [n for n in options if n.param]
            if not params:
                if not options:
                    raise ParseError(f"'{_shown(w)}' at position {pos}: "
                                     f"'{' '.join(fixed)}' takes nothing more")
                near = difflib.get_close_matches(w.lower(), [n.word for n in fixed_opts], n=1, cutoff=0.5)
                hint = f"; did you mean '{near[0]}'?" if near else f"; one of: {', '.join(n.word for n in fixed_opts)}"
                raise ParseError(f"unknown word '{_shown(w)}' at position {pos}{hint}")
            p = params[0]
            if p.rest:
                args[p.word] = line[at:].strip()
                node = p
                options = p.then
                break
            value = self._param_value(p, w, pos)
            args[p.word] = value
            node = p
            options = p.then
        return Parsed(node, args, fixed)

    def _param_value(self, p: Node, w: str, pos: int) -> str:
        if p.check is not None:
            err = p.check(w)
            if err:
                raise ParseError(f"{err} (position {pos})")
        if p.values is not None:
            known = p.values(self)
            if w in known:
                return w
            hits = [k for k in known if k.startswith(w)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise ParseError(f"'{_shown(w)}' at position {pos} could be {' or '.join(hits)}")
            if p.word == "LINE" and w.isdigit() and 1 <= int(w) <= len(known):
                return known[int(w) - 1]
            near = difflib.get_close_matches(w, known, n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else f"; one of: {', '.join(known) or 'none'}"
            raise ParseError(f"no {p.word.lower()} '{_shown(w)}' at position {pos}{hint}")
        return w

    # -- the configuration -------------------------------------------------------------

    def _tree(self) -> ConfigTree:
        if self.mode == "config" and self.candidate is not None:
            return self.candidate
        return self.box.configuration.running

    def _follow_running(self) -> None:
        """A candidate with no changes of its own follows the running configuration."""
        conf = self.box.configuration
        if self.candidate is not None and self._base is not None and self.base_revision != conf.revision and self.candidate == self._base:
            self.candidate, self.base_revision, self._base = conf.running, conf.revision, conf.running

    def _changes(self) -> bool:
        return self.candidate is not None and self.candidate != self.box.configuration.running

    # -- commands ----------------------------------------------------------------------

    def _do_help(self, p: Parsed, now: float) -> Reply:
        return Reply(HELP, page=True)

    def _do_quit(self, p: Parsed, now: float) -> Reply:
        return Reply("bye", quit=True)

    def _do_configure(self, p: Parsed, now: float) -> Reply:
        conf = self.box.configuration
        self.mode = "config"
        self.candidate, self.base_revision, self._base = conf.running, conf.revision, conf.running
        said = ["configuring: changes are staged in a candidate; 'show compare' shows them, 'commit' puts "
                "them in place, 'exit' leaves"]
        said += conf.state(now)
        return Reply("\n".join(said))

    def _do_exit(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        if self._changes() and "discard" not in p.words:
            return Reply("% the candidate has changes not committed: 'commit' them, or 'exit discard' to drop them")
        self.mode, self.candidate = "exec", None
        return Reply("")

    def _do_set(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        self.candidate = self._tree().set(p.args["PATH"], p.args["VALUE"])
        return Reply("")

    def _do_delete(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        self.candidate = self._tree().delete(p.args["PATH"])
        return Reply("")

    def _do_show_compare(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        running = self.box.configuration.running
        lines = diff(running, self._tree())
        head = "candidate against the running configuration ('commit' puts it in place):"
        if not lines:
            return Reply("no changes: the candidate is the running configuration")
        return Reply("\n".join([head] + lines), page=True)

    def _do_show_candidate(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        return self._show_tree(self._tree(), p.args.get("PATH"))

    def _do_show_running(self, p: Parsed, now: float) -> Reply:
        return self._show_tree(self.box.configuration.running, p.args.get("PATH"))

    def _show_tree(self, tree: ConfigTree, path: Optional[str]) -> Reply:
        if path:
            text = tree.subtree(path)
            return Reply(text or f"{path}: nothing set", page=True)
        return Reply(tree.text().rstrip("\n"), page=True)

    def _do_commit(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        conf = self.box.configuration
        minutes = int(p.args["MINUTES"]) if "MINUTES" in p.args else None
        said = conf.commit(self._tree(), self.base_revision, self.user, now, minutes)
        self.candidate, self.base_revision, self._base = conf.running, conf.revision, conf.running
        if conf.unsaved:
            said += "\nnot saved: 'save' makes it the startup configuration"
        return Reply(said)

    def _do_confirm(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.configuration.confirm(self.user, now))

    def _do_rollback(self, p: Parsed, now: float) -> Reply:
        self._follow_running()
        n = int(p.args.get("N", "0"))
        self.candidate = self.box.configuration.rollback(n)
        changes = diff(self.box.configuration.running, self.candidate)
        return Reply(f"rollback {n} is the candidate now: {len(changes)} line(s) of difference "
                     "('show compare'; 'commit' puts it in place)")

    def _do_save(self, p: Parsed, now: float) -> Reply:
        said = self.box.configuration.save()
        if self._changes():
            said += "\nthe candidate's changes are not committed, so not saved either"
        return Reply(said)

    def _do_show_commits(self, p: Parsed, now: float) -> Reply:
        entries = self.box.configuration.history.entries()
        if not entries:
            return Reply("no configurations kept")
        return Reply("\n".join(["  N  time                 user         how"] + commits.history_lines(entries)),
                     page=True)

    def _do_show_status(self, p: Parsed, now: float) -> Reply:
        rows = self.box.status(now)
        width = max(len(k) for k, _ in rows)
        out = [f"{k:<{width}}  {v}" for k, v in rows]
        out += self.box.configuration.state(now)
        return Reply("\n".join(out), page=True)

    def _do_show_version(self, p: Parsed, now: float) -> Reply:
        rows = self.box.version()
        return Reply("\n".join(f"{k:<10} {v}" for k, v in rows), page=True)

    def _do_show_lines(self, p: Parsed, now: float) -> Reply:
        rows = self.box.lines()
        out = [f"{'line':<12} {'kind':<4} {'chan':>4}  {'state':<15} call"]
        out += [f"{r['name']:<12} {r['kind']:<4} {r['channel']:>4}  {r['state']:<15} {r['call']}" for r in rows]
        return Reply("\n".join(out), page=True)

    def _do_show_channels(self, p: Parsed, now: float) -> Reply:
        rows = self.box.channels()
        out = [f"{'chan':>4} {'port':>4}  {'line':<12} {'kind':<4} {'state':<15} {'law':<5} plan"]
        out += [f"{r['channel']:>4} {r['port']:>4}  {r['line']:<12} {r['kind']:<4} {r['state']:<15} "
                f"{r['law']:<5} {r['plan']}" for r in rows]
        return Reply("\n".join(out), page=True)

    def _do_show_calls(self, p: Parsed, now: float) -> Reply:
        rows = self.box.calls(now)
        if not rows:
            return Reply("no calls in progress")
        out = [f"{'call':<6} {'line':<10} {'caller':<16} {'for':>6}  where"]
        out += [f"#{r['id']:<5} {r['line']:<10} {r['caller'] or '-':<16} {_dur(r['for_s']):>6}  {r['where']}"
                for r in rows]
        return Reply("\n".join(out), page=True)

    def _do_show_queues(self, p: Parsed, now: float) -> Reply:
        rows = self.box.queues(now)
        if not rows:
            return Reply("this office has no queues")
        out = []
        for q in rows:
            out.append(f"queue {q['name']}: {q['strategy']}, {q['staffed']} of {q['members']} agents "
                       f"taking calls, {len(q['waiting'])} waiting")
            for i, (who, waited) in enumerate(q["waiting"], 1):
                out.append(f"  {i:>3}. {who or '-':<16} waiting {_dur(waited)}")
        return Reply("\n".join(out), page=True)

    def _do_show_agents(self, p: Parsed, now: float) -> Reply:
        rows = self.box.agents()
        if not rows:
            return Reply("this office has no agents")
        out = [f"{'agent':<12} {'state':<11} {'reason':<12} {'calls':>5}  queues"]
        out += [f"{r['name']:<12} {r['state']:<11} {r['reason'] or '-':<12} {r['calls']:>5}  {r['queues']}"
                for r in rows]
        return Reply("\n".join(out), page=True)

    def _do_show_alarms(self, p: Parsed, now: float) -> Reply:
        rows = self.box.alarms()
        if not rows:
            return Reply("no alarms")
        return Reply("\n".join(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(at))}  {text}"
                               for at, text in rows), page=True)

    def _do_show_log(self, p: Parsed, now: float) -> Reply:
        calls = self.box.log(int(p.args.get("N", "20")))
        if not calls:
            return Reply("no calls yet")
        out = [f"#{c.id:<5} {c.line:<10} {c.caller or c.presentation or '-':<16} "
               f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(c.start))} "
               f"{(c.outcome or 'in progress'):<12} {' > '.join(c.menus)}" for c in calls]
        return Reply("\n".join(out), page=True)

    def _do_show_events(self, p: Parsed, now: float) -> Reply:
        call, events = self.box.events(int(p.args["CALL"]) if "CALL" in p.args else None)
        if call is None:
            return Reply("no calls yet")
        if not events:
            return Reply(f"no events of call #{call}")
        return Reply("\n".join(f"#{call} {time.strftime('%H:%M:%S', time.localtime(e.at))}"
                               f".{int(e.at * 1000) % 1000:03d} {e.kind:<10} {e.detail}" for e in events), page=True)

    def _do_clock(self, p: Parsed, now: float) -> Reply:
        at, zone = self.box.clock()
        utc = dt.datetime.fromtimestamp(at, dt.timezone.utc)
        try:
            import zoneinfo
            local = utc.astimezone(zoneinfo.ZoneInfo(zone))
        except Exception:       # an unknown zone: show UTC alone
            local = utc
        return Reply(f"{local:%A %Y-%m-%d %H:%M:%S} {zone} ({utc:%H:%M:%S} UTC)\n"
                     "The box keeps the system's clock; it is set by NTP, or by root with "
                     "'timedatectl set-time \"YYYY-MM-DD HH:MM:SS\"'.")

    def _do_agent(self, p: Parsed, now: float) -> Reply:
        op = next(w for w in p.words if w in ("login", "logout", "pause", "unpause"))
        return Reply(self.box.agent_do(p.args["NAME"], op, p.args.get("REASON", "")))

    def _do_test_line(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.test_line(p.args["LINE"], self.session))

    def _do_call(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.test_call(p.args["LINE"], p.args.get("NUMBER", ""), p.args.get("NAME", ""),
                                        self.session))

    def _do_press(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.press(p.args["DIGITS"], p.args.get("LINE")))

    def _do_hangup(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.hangup(p.args.get("LINE")))

    def _do_pickup(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.phone("pickup", p.args.get("PHONE")))

    def _do_drop(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.phone("drop", p.args.get("PHONE")))

    def _do_hours(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.hours(p.words[-1]))

    def _do_reload(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.reload())

    def _do_restart(self, p: Parsed, now: float) -> Reply:
        return Reply(self.box.restart("now" in p.words))


def _dur(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}"
