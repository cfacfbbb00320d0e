"""The box running: an office's configuration on a board, its prompts, its call log, and
a console on the terminal for test calls.

Rules:
  - On the simulated board each line of the configuration gets a port with a far end
    (the exchange with a test caller on it; the operator's phone); the lines keep their
    order: the first fxo line of the file is the board's first line, and so on.
  - On the dahdi board each line is the DAHDI channel its `channel` names; there are no
    simulated far ends (test calls come from real lines), and DAHDI's timer paces the
    frames. The box says it is ready only once DAHDI's ring debounce after opening
    the channels has passed, so a line that rings from then on is heard from the first
    ring.
  - The engine's clock drives everything; paced, it waits for real time between
    frames, which is the only wall-clock wait. `seconds` stops the box after that much
    engine time; a person stops it with `quit` or Ctrl-C.
  - Everything the box does on a call prints as it happens, with what the caller hears
    (the prompt's name and words). Console lines are read on another thread and carried
    out between frames.
  - A problem at start (the configuration, a prompt, the call log) is a BoxError with
    what to do about it; once running, a console mistake is answered and forgotten.
  - An alarm (a full disk holding the call log's records) prints as it comes up and
    as it goes down, like everything else the box does.
  - `reload` (or SIGHUP) reads the configuration file again: a file with any problem,
    or with other lines, queues or agents, is refused with the reasons and the running configuration
    stays; otherwise new calls take it and calls in progress finish as they began.
  - Under a service manager the box says it is ready after its first frame, pings the
    watchdog from its loop while frames move, and takes SIGTERM as `quit` (agents
    logged out, the call log closed); see appliance/notify.py.
"""
from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Tuple

from dataclasses import dataclass, field

import numpy as np

from appliance import __version__, commits, config, control, notify
from appliance.amiserver import ManagerServer
from appliance.binding import EngineError
from appliance.calllog import CallLog, CallLogError
from appliance.commits import CommitError
from appliance.engine import FRAME_MS, DahdiBoard, DahdiChannel, DahdiError, Engine, Event, Line as LineModel, Play
from appliance.localconsole import LocalConsole
from appliance.prompts import PromptLibrary, PromptLoadError
from appliance.shell import Shell
from appliance.sim import Caller, Phone, SimOffice, level_dbm0
from appliance.supervisor import OPERATOR, Call, PromptBank, Supervisor

DEMO_OFFICE = Path(__file__).resolve().parent / "demo-office.toml"
# The simulated exchange lines: a little loss and hiss, a hybrid's echo.
SIM_LINE = LineModel(loss_db=3.0, noise_dbm0=-60.0, echo_delay_ms=8, echo_return_loss_db=18.0)
NOTICES_KEPT = 200
LINE_TEST_WAIT_MS = 5000.0          # for dial tone, from going off-hook
LINE_TEST_LISTEN_MS = 500.0         # of dial tone, to measure its level
DIAL_TONE_QUIET_DBM0 = -30.0        # quieter than this, a line has too much loss
SLIP_CHECK = 10 * 8000              # samples: how often dropped audio on the cards is reported
RESTART_STATUS = 75                 # the exit status of `restart`: a service manager starts the box again


@dataclass
class LineTest:
    port: int
    far: int
    session: Optional[int]
    began_ms: float
    tone_ms: Optional[float] = None
    heard: List[np.ndarray] = field(default_factory=list)


class BoxError(Exception):
    pass


def default_log() -> Path:
    """The call log's file: systemd's StateDirectory= when run as a service."""
    given = os.environ.get("STATE_DIRECTORY")
    if given:
        return Path(given.split(":")[0]) / "calls.db"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "appliance" / "calls.db"


class Box:
    def __init__(self, office: config.Office, log_path: Path, out: TextIO = sys.stdout,
                 library: Optional[PromptLibrary] = None, history: Optional[Path] = None,
                 board: str = "sim", dahdi_dev: str = "/dev/dahdi"):
        self.office = office
        self.out = out
        self.library = library or PromptLibrary()
        self.board_name = board
        self.slips_said = 0
        self.sim: Optional[SimOffice] = None
        self.dahdi: Optional[DahdiBoard] = None
        self.callers: Dict[str, Caller] = {}
        self.phones: Dict[str, Phone] = {}
        if board == "dahdi":
            try:
                self.dahdi = DahdiBoard([DahdiChannel(ln.channel, ln.kind) for ln in office.lines], dahdi_dev)
            except DahdiError as e:
                raise BoxError(f"the dahdi board: {e}") from None
            self.engine = Engine(self.dahdi)
            self.ports: Dict[str, int] = {ln.name: self.dahdi.number[ln.channel] for ln in office.lines}
        else:
            fxo = [ln for ln in office.lines if ln.kind == "fxo"]
            fxs = [ln for ln in office.lines if ln.kind == "fxs"]
            self.sim = SimOffice(lines=len(fxo), phones=len(fxs), line=SIM_LINE)
            self.engine = self.sim.engine
            self.ports = {ln.name: p for ln, p in zip(fxo, self.sim.lines)}
            self.ports.update({ln.name: p for ln, p in zip(fxs, self.sim.phones)})
            self.callers = {ln.name: c for ln, c in zip(fxo, self.sim.callers)}
            self.phones = {ln.name: a for ln, a in zip(fxs, self.sim.agents)}
            for ln in office.lines:
                far = self.ports[ln.name] + 1
                self.engine.configure(far, law=ln.law, plan=ln.plan)
        self.names = {p: n for n, p in self.ports.items()}
        try:
            self.log = CallLog.open(log_path)
        except CallLogError as e:
            self._close_board()
            raise BoxError(str(e)) from None
        try:
            self.bank = PromptBank(office, self.library, self.engine)
        except PromptLoadError as e:
            self.close()
            raise BoxError(str(e)) from None
        try:
            self.supervisor = Supervisor(office, self.engine, self.ports, self.bank, self.log,
                                         wall_offset=time.time(), on_play=self._heard, on_end=self._ended,
                                         library=self.library, on_alarm=self._alarm)
        except EngineError as e:
            # A channel the board cannot set up as the office says (DAHDI's echo
            # canceller missing from system.conf, say): said plainly, not a traceback.
            why = f"{office.path}: the lines cannot be set up: {e}" + self._board_says()
            self.close()
            raise BoxError(why) from None
        if self.dahdi is not None:
            # After the supervisor set each channel's law: the tables are in it.
            try:
                for ln in office.lines:
                    if ln.rx_gain_db or ln.tx_gain_db:
                        self.dahdi.gains(self.ports[ln.name], ln.rx_gain_db, ln.tx_gain_db)
            except DahdiError as e:
                self.close()
                raise BoxError(f"the dahdi board: {e}") from None
        self.test_caller: Optional[str] = None      # the line of the latest test call
        self.running = True
        self.restarting = False
        self.feed: List[tuple] = []             # (seq, session or None for all, text)
        self.seq = 0
        self.sessions: Dict[int, str] = {}
        self.next_session = 1
        self.test_owner: Dict[str, int] = {}    # line -> the session whose test call is on it
        self.line_tests: Dict[str, LineTest] = {}
        self.local: Optional[Shell] = None
        self.server: Optional["ControlServer"] = None
        self.manager = None             # the manager interface (amiserver.py), when [ami] enables it
        try:
            text = config.read_file(office.path).decode("utf-8")
        except (config.ConfigError, UnicodeDecodeError) as e:
            self.close()
            raise BoxError(f"{office.path}: cannot read it again for the console: {e}") from None
        demo = Path(office.path).resolve() == DEMO_OFFICE
        where = Path(office.path)
        self.configuration = commits.Configuration(
            office.path, text,
            commits.History(history or (Path(log_path).parent / "demo-office.commits" if demo
                                        else where.with_name(where.name + ".commits"))),
            self.put_in_place, self.needs_restart, now=self.supervisor.now(),
            savable="the demo office is built into the firmware: run your own office with --config FILE "
                    "to save" if demo else "")
        self.control = BoxControlAdapter(self)
        if office.ami.enabled:
            try:
                self.manager = ManagerServer(self, office.ami)
            except OSError as e:
                self.close()
                raise BoxError(f"[ami] {office.ami.bind}:{office.ami.port}: cannot listen there: "
                               f"{e.strerror or e}") from None
        if self.log.interrupted:
            self.say(f"call log: {self.log.interrupted} call(s) in progress at the last stop closed as interrupted")

    def close(self) -> None:
        try:
            if getattr(self, "server", None) is not None:
                self.server.close()
                self.server = None
            if getattr(self, "manager", None) is not None:
                self.manager.close()
                self.manager = None
            if hasattr(self, "supervisor"):
                self.supervisor.stop()
            self.log.close()
            if self.log.held:
                self.say(f"call log: {self.log.held} held record(s) could not be written before the stop "
                         f"({self.log.trouble}) and are lost")
        finally:
            self._close_board()

    def _board_says(self) -> str:
        said = self.dahdi.error if self.dahdi is not None else ""
        return f" ({said})" if said else ""

    def _close_board(self) -> None:
        if self.sim is not None:
            self.sim.close()
        else:
            self.engine.close()

    @property
    def board_text(self) -> str:
        return "the simulated board" if self.sim is not None else "DAHDI's cards"

    # -- output --------------------------------------------------------------------

    def say(self, text: str, ms: Optional[float] = None) -> None:
        stamp = (ms if ms is not None else self.engine.now_ms) / 1000.0
        print(f"{stamp:8.2f} s  {text}", file=self.out, flush=True)

    def _heard(self, call: Call, names: List[str]) -> None:
        lang = call.flow.language if call.flow else self.office.language
        for n in names:
            words = (call.bank or self.bank).text(n, lang)
            self._tell(call.line.name, f"caller hears {n} [{lang}]" + (f": {words}" if words else ""))

    def _ended(self, call: Call, outcome: str) -> None:
        self._tell(call.line.name, f"call #{call.log_id} ends: {outcome}")
        self.test_owner.pop(call.line.name, None)

    def _alarm(self, alarm, raised: bool) -> None:
        self.post(f"ALARM {alarm.text}" if raised else f"alarm cleared: {alarm.text}")

    def _show_event(self, ev: Event) -> None:
        name = self.names.get(ev.channel)
        if name is None or ev.kind in ("heard", "digits-sent"):
            return
        self._tell(name, ev.describe(), ev.ms)

    # -- the console ---------------------------------------------------------------

    def post(self, text: str, session: Optional[int] = None, say: bool = True) -> None:
        """A notice for the console sessions (all of them, or one), said here too."""
        if say:
            self.say(text)
        self.seq += 1
        self.feed.append((self.seq, session, text))
        if len(self.feed) > NOTICES_KEPT:
            del self.feed[: len(self.feed) - NOTICES_KEPT]

    def _tell(self, line: str, text: str, ms: Optional[float] = None, session: Optional[int] = None) -> None:
        """Something on a line: said here, and a notice to the session testing it."""
        self.say(f"{line}: {text}", ms)
        owner = session if session is not None else self.test_owner.get(line)
        if owner is not None:
            self.post(f"{line}: {text}", owner, say=False)

    def command(self, text: str) -> None:
        """A line typed at the console on this terminal (`appliance run`'s standard input)."""
        if self.local is None:
            self.local = Shell(self.control, user="console")
        reply = self.local.run(text, self.supervisor.now())
        if reply.text:
            print("\n".join("  " + x for x in reply.text.splitlines()), file=self.out, flush=True)
        if reply.quit:
            self.running = False

    def put_in_place(self, new: config.Office) -> None:
        """A configuration in place for new calls, or CommitError (its prompts)."""
        try:
            bank = PromptBank(new, self.library, self.engine)
        except PromptLoadError as e:
            raise CommitError(str(e)) from None
        self.supervisor.swap(new, bank)
        self.office, self.bank = new, bank

    def needs_restart(self, new: config.Office) -> str:
        if new.lines != self.office.lines:
            return "the lines changed"
        if new.queues != self.office.queues or new.agents != self.office.agents:
            return "the queues or agents changed"
        return ""

    def reload(self) -> bool:
        """The configuration file read again and put in place for new calls, or refused
        with the reason, the running configuration kept."""
        return self.reload_file()[0]

    def reload_file(self) -> Tuple[bool, str]:
        """reload(), and what it said."""
        path = self.office.path
        try:
            data = config.read_file(path)
            new = config.parse(data, path)
            later = self.needs_restart(new)
            if later:
                raise BoxError(f"{later}: restart the box to put them in place")
            self.put_in_place(new)
        except (config.ConfigError, CommitError, BoxError) as e:
            head = f"reload of {path} refused; the running configuration stays:"
            self.say(head)
            reasons = [f"  {line}" for line in str(e).splitlines()]
            print("\n".join(reasons), file=self.out, flush=True)
            return False, "\n".join([head] + reasons)
        note = self.configuration.reloaded(data.decode("utf-8"), new, self.supervisor.now())
        said = f"reloaded {path}: new calls take it; calls in progress finish as they began{note}"
        self.post(said)
        return True, said

    # -- testing a line: off-hook, dial tone, on-hook -------------------------------

    def test_line(self, line: str, session: Optional[int]) -> str:
        ln = next((x for x in self.office.lines if x.name == line), None)
        if ln is None or ln.kind != "fxo":
            return f"{line} is not an exchange line"
        port = self.ports[line]
        if line in self.line_tests:
            return f"{line} is being tested already"
        if port in self.supervisor.calls or self.engine.state(port) != "idle":
            return f"{line} is busy ({self.engine.state(port)}): test it when it is idle"
        self.line_tests[line] = LineTest(port, port + 1 if self.sim is not None else 0, session, self.engine.now_ms)
        self.engine.tap(port, True)
        self.engine.seize(port)
        self._tell(line, "test: off-hook, listening for dial tone", session=session)
        return f"testing {line}: the result follows"

    def _line_tests_tick(self, batch) -> None:
        for line, t in list(self.line_tests.items()):
            for ev in batch.events:
                if ev.channel == t.far and ev.kind == "offhook":
                    # The simulated exchange gives dial tone to a line that goes off-hook.
                    self.engine.play(t.far, [Play.of_tone("dial")])
                elif ev.channel == t.port and ev.kind == "tone" and ev.tone == "dial" and ev.b and t.tone_ms is None:
                    t.tone_ms = ev.ms
            if t.tone_ms is not None and batch.taps is not None:
                rows = batch.taps[batch.taps["chan"] == t.port]
                if len(rows):
                    t.heard.append(rows["rx"].reshape(-1).copy())
            now = self.engine.now_ms
            heard_ms = sum(len(x) for x in t.heard) / 8.0
            if (t.tone_ms is not None and heard_ms >= LINE_TEST_LISTEN_MS) or now - t.began_ms > LINE_TEST_WAIT_MS:
                self._line_test_done(line, t)

    def _line_test_done(self, line: str, t: "LineTest") -> None:
        del self.line_tests[line]
        for act in (lambda: self.engine.hangup(t.port), lambda: self.engine.stop(t.far),
                    lambda: self.engine.tap(t.port, False)):
            try:
                act()
            except Exception:       # the port may have changed state under the test: report anyway
                pass
        if t.tone_ms is None:
            result = (f"test: no dial tone within {LINE_TEST_WAIT_MS / 1000:.0f} s; on-hook. "
                      "Check the cable and that the exchange line is live")
        else:
            level = level_dbm0(np.concatenate(t.heard)) if t.heard else float("-inf")
            verdict = "good" if level > DIAL_TONE_QUIET_DBM0 else "too quiet: check the line's loss"
            result = (f"test: dial tone after {(t.tone_ms - t.began_ms) / 1000:.2f} s at {level:.1f} dBm0; "
                      f"on-hook. The line is {verdict}")
        self._tell(line, result, session=t.session)

    # -- running -------------------------------------------------------------------

    def run(self, seconds: Optional[float] = None, paced: bool = True, commands: Optional[queue.Queue] = None,
            tick: Optional[Callable[["Box"], None]] = None) -> None:
        started = time.monotonic()
        start_ms = self.engine.now_ms
        hup, before = _on_sighup()
        term = _on_sigterm(self)
        manager = notify.Notifier.from_environ()

        listening = [self.dahdi is None]

        def ticked(box: "Box") -> None:
            if tick:
                tick(box)
            if not listening[0]:
                if not box.dahdi.settled:
                    return
                listening[0] = True
                box.say(f"{len(box.ports)} channels open on DAHDI and listening for rings")
            manager.frame(box.engine.now_ms, lambda: f"{box.office.name}: {len(box.ports)} lines up")
            if box.dahdi is not None and box.engine.now % SLIP_CHECK == 0:
                slips = box.dahdi.slips
                if slips > box.slips_said:
                    box.say(f"DAHDI: {slips - box.slips_said} audio blocks dropped in the last "
                            f"{SLIP_CHECK // 8000} s: the box fell behind the cards")
                    box.slips_said = slips
        try:
            self._loop(seconds, paced, commands, ticked, hup, started, start_ms)
        finally:
            manager.stopping(f"{self.office.name}: stopping")
            if hup is not None:
                signal.signal(signal.SIGHUP, before)
            if term is not None:
                signal.signal(signal.SIGTERM, term)

    def _loop(self, seconds, paced, commands, tick, hup, started, start_ms) -> None:
        frames = 0
        while self.running and (seconds is None or self.engine.now_ms - start_ms < seconds * 1000):
            batch = self.engine.run(1)
            if self.sim is not None:
                self.sim.feed(batch)
            for ev in batch.events:
                self._show_event(ev)
            if self.line_tests:
                testing = {t.port for t in self.line_tests.values()}
                self.supervisor.handle([e for e in batch.events if e.channel not in testing], batch.taps)
                self._line_tests_tick(batch)
            else:
                self.supervisor.handle(batch.events, batch.taps)
            while commands is not None and not commands.empty():
                self.command(commands.get_nowait())
            if hup and hup.is_set():
                hup.clear()
                self.reload()
            now = self.supervisor.now()
            for said in self.configuration.tick(now):
                self.post(said)
            if self.server is not None:
                self.server.poll(now)
            if self.manager is not None:
                self.manager.poll(now)
            if tick:
                tick(self)
            frames += 1
            # DAHDI's timer has paced the frame already.
            if paced and self.sim is not None:
                delay = started + frames * FRAME_MS / 1000.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)


class BoxControlAdapter:
    """What a console Shell needs of the box (shell.BoxControl), over the Box."""

    simulated = True

    def __init__(self, box: Box):
        self.box = box
        self.configuration = box.configuration
        self.started = time.time()

    # Views.

    def office_name(self) -> str:
        return self.box.office.name

    def status(self, now: float) -> List[tuple]:
        b, sup = self.box, self.box.supervisor
        fxo = [ln for ln in b.office.lines if ln.kind == "fxo"]
        busy = sum(1 for ln in fxo if b.ports[ln.name] in sup.calls)
        acd = sup.acd
        agents = [a for n, a in (acd.agents.items() if acd else []) if n != OPERATOR]
        waiting = sum(len(acd.waiting(q)) for q in acd.queues) if acd else 0
        hours = {None: "by the office hours", True: "as open (set at the console)",
                 False: "as closed (set at the console)"}[sup.hours_override]
        up = int(time.time() - self.started)
        return [("office", f"{b.office.name} ({b.office.path})"),
                ("firmware", f"appliance {__version__} on {b.board_text}, up {up // 3600}h{up % 3600 // 60:02d}"),
                ("lines", f"{len(fxo)} exchange lines, {busy} with a call; "
                          f"{len(b.office.lines) - len(fxo)} phone ports"),
                ("calls", f"{len(sup.calls)} in progress, {waiting} waiting in queues"),
                ("agents", f"{sum(1 for a in agents if a.state != 'logged-out')} of {len(agents)} logged in, "
                           f"{sum(1 for a in agents if a.state == 'paused')} paused"),
                ("answering", hours),
                ("alarms", f"{len(sup.alarms)} up" if sup.alarms else "none"),
                ("call log", f"{b.log.path}" + (f", {b.log.held} records held ({b.log.trouble})" if b.log.held else ""))]

    def version(self) -> List[tuple]:
        import platform
        return [("firmware", f"appliance {__version__}"), ("board", "simulated (sim)" if self.box.sim is not None else "DAHDI (dahdi)"),
                ("python", platform.python_version()), ("system", f"{platform.system()} {platform.release()}")]

    def lines(self) -> List[dict]:
        b, sup = self.box, self.box.supervisor
        out = []
        for ln in b.office.lines:
            port = b.ports[ln.name]
            call = sup.calls.get(port)
            if ln.name in b.line_tests:
                what = "under test"
            elif call is not None:
                what = f"#{call.log_id} {call.caller or call.presentation or ''}".rstrip()
            elif port in sup.agent_at:
                what = f"phone of {sup.agent_at[port]}"
            else:
                what = "-"
            out.append(dict(name=ln.name, kind=ln.kind, channel=ln.channel, state=b.engine.state(port), call=what))
        return out

    def channels(self) -> List[dict]:
        b = self.box
        return [dict(channel=ln.channel, port=b.ports[ln.name], line=ln.name, kind=ln.kind,
                     state=b.engine.state(b.ports[ln.name]), law=ln.law, plan=ln.plan)
                for ln in sorted(b.office.lines, key=lambda x: x.channel)]

    def calls(self, now: float) -> List[dict]:
        b, sup = self.box, self.box.supervisor
        out = []
        for call in list(sup.calls.values()):
            try:
                began = b.log.call(call.log_id).start
            except CallLogError:
                began = now
            if call.agent:
                where = f"talking with {call.agent}" + (f" (queue {call.queue})" if call.queue else "")
            elif call.queue:
                where = f"waiting in queue {call.queue}"
            elif call.flow is not None and call.flow.menu is not None:
                where = f"menu {call.flow.menu.name} [{call.flow.language}]"
            else:
                where = "ringing"
            out.append(dict(id=call.log_id, line=call.line.name, caller=call.caller or call.presentation,
                            for_s=now - began, where=where))
        return out

    def queues(self, now: float) -> List[dict]:
        sup = self.box.supervisor
        acd = sup.acd
        if acd is None:
            return []
        out = []
        at = sup.clock()
        for name, q in acd.queues.items():
            if name == OPERATOR:
                continue
            waiting = []
            for key in acd.waiting(name):
                c = acd.callers.get(key)
                call = sup.call_of.get(key)
                waiting.append(((call.caller if call else "") or key, at - c.joined if c else 0.0))
            staffed = sum(1 for n, _ in q.members if acd.agents[n].state in ("available", "ringing", "busy",
                                                                                 "wrap-up", "talking"))
            strategy = self.box.office.queues[name].strategy if name in self.box.office.queues else "-"
            out.append(dict(name=name, strategy=strategy, staffed=staffed, members=len(q.members), waiting=waiting))
        return out

    def agents(self) -> List[dict]:
        acd = self.box.supervisor.acd
        if acd is None:
            return []
        return [dict(name=n, state=a.state, reason=a.reason, calls=a.calls,
                     queues=", ".join(f"{q.name} ({lvl})" for q in acd.queues.values() for m, lvl in q.members
                                      if m == n))
                for n, a in acd.agents.items() if n != OPERATOR]

    def alarms(self) -> List[tuple]:
        return [(a.since, a.text) for a in self.box.supervisor.alarms]

    def log(self, n: int) -> list:
        try:
            return self.box.log.calls(limit=n)
        except CallLogError:
            return []

    def events(self, call: Optional[int]):
        log = self.box.log
        if call is None:
            latest = log.calls(limit=1)
            if not latest:
                return None, []
            call = latest[0].id
        try:
            return call, log.events(call)
        except CallLogError:
            return call, []

    def line_names(self, kind: Optional[str] = None) -> List[str]:
        return [ln.name for ln in self.box.office.lines if kind is None or ln.kind == kind]

    def agent_names(self) -> List[str]:
        acd = self.box.supervisor.acd
        return [n for n in acd.agents if n != OPERATOR] if acd else []

    # Doing.

    def agent_do(self, name: str, op: str, reason: str) -> str:
        sup = self.box.supervisor
        # The same path as the feature codes at the agent's phone, and the same agent log.
        state, refused = sup.agent_do(name, op, reason, "console")
        if refused:
            return refused
        a = sup.acd.agents[name]
        self.box.say(f"agent {name}: {a.state}" + (f" ({a.reason})" if a.reason else ""))
        return f"agent {name}: {a.state}" + (f" ({a.reason})" if a.reason else "")

    def test_line(self, line: str, session: int) -> str:
        return self.box.test_line(line, session)

    def test_call(self, line: str, number: str, name: str, session: int) -> str:
        b = self.box
        if b.sim is None:
            return "test calls are for the simulated board: on DAHDI's cards, call the line from a phone"
        if line not in b.callers:
            return f"{line} is a phone port; test calls come in on the lines"
        if line in b.line_tests or b.ports[line] in b.supervisor.calls:
            return f"{line} is busy: place the test call on an idle line ('show lines')"
        b.test_caller = line
        b.test_owner[line] = session
        ln = next(x for x in b.office.lines if x.name == line)
        b.callers[line].ring(number, name, standard=ln.callerid if ln.callerid != "none" else "v23")
        b.say(f"test caller {number or '(no caller ID)'} dials; the exchange rings {line}")
        return (f"test caller {number or '(no caller ID)'} dials; the exchange rings {line}: what the caller "
                "hears follows ('press DIGITS', 'hangup')")

    def press(self, digits: str, line: Optional[str]) -> str:
        line = line or self.box.test_caller
        if line is None or line not in self.box.callers:
            return "no test call: place one with 'test call LINE'"
        self.box.callers[line].press(digits)
        return f"the test caller on {line} presses {digits}"

    def hangup(self, line: Optional[str]) -> str:
        line = line or self.box.test_caller
        if line is None or line not in self.box.callers:
            return "no test call: place one with 'test call LINE'"
        self.box.callers[line].hangup()
        return f"the test caller on {line} hangs up"

    def phone(self, op: str, phone: Optional[str]) -> str:
        name = phone or self.box.office.operator or ""
        p = self.box.phones.get(name)
        if p is None:
            return f"{phone or 'the operator'}: no such phone port"
        p.answer() if op == "pickup" else p.hangup()
        return f"{name}: {'answered' if op == 'pickup' else 'put down'}"

    def hours(self, what: str) -> str:
        self.box.supervisor.hours_override = {"open": True, "closed": False, "auto": None}[what]
        return f"new calls are answered {'by the office hours' if what == 'auto' else 'as ' + what}"

    def reload(self) -> str:
        return self.box.reload_file()[1]

    def restart(self, now_please: bool) -> str:
        calls = len(self.box.supervisor.calls)
        if calls and not now_please:
            return (f"{calls} call(s) in progress would be cut: 'restart now' cuts them, or wait "
                    "('show calls')")
        self.box.post("the box restarts now" + (f": {calls} call(s) cut" if calls else ""))
        self.box.running = False
        self.box.restarting = True
        return "restarting"

    def clock(self) -> tuple:
        return self.box.supervisor.now(), self.box.office.hours.timezone

    # Sessions and their notices.

    def open_session(self, user: str) -> int:
        b = self.box
        n = b.next_session
        b.next_session += 1
        b.sessions[n] = user
        return n

    def close_session(self, session: int) -> None:
        self.box.sessions.pop(session, None)
        for line in [ln for ln, s in self.box.test_owner.items() if s == session]:
            del self.box.test_owner[line]

    def tick(self, now: float) -> None:
        for said in self.configuration.tick(now):
            self.box.post(said)

    def notices(self, session: int, after: int) -> tuple:
        b = self.box
        said = [text for seq, to, text in b.feed if seq > after and (to is None or to == session)]
        return b.seq, said


class ControlServer:
    """The control socket served from the box's own loop: non-blocking, polled once a
    tick, every buffer bounded (control.py has the rules)."""

    def __init__(self, box: Box, path: str):
        import socket
        self.box = box
        self.path = path
        self.conns: Dict[int, control.Connection] = {}
        self.socks: Dict[int, "socket.socket"] = {}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                probe.close()
                raise BoxError(f"{path}: another box serves its console there")
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)         # left by a box that stopped without cleaning up
            finally:
                probe.close()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o660)
        self.sock.listen(8)
        self.sock.setblocking(False)

    def close(self) -> None:
        for fd in list(self.socks):
            self._drop(fd, "the box stops")
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def poll(self, now: float) -> None:
        for _ in range(4):
            try:
                s, _addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            s.setblocking(False)
            if len(self.conns) >= control.MAX_SESSIONS:
                try:
                    s.send(control.encode({"error": f"the box takes {control.MAX_SESSIONS} console sessions "
                                                    "at once: try again later"}))
                except OSError:
                    pass
                s.close()
                continue
            self.conns[s.fileno()] = control.Connection(lambda user: Shell(self.box.control, user))
            self.socks[s.fileno()] = s
        for fd, s in list(self.socks.items()):
            conn = self.conns[fd]
            try:
                data = s.recv(control.READ_SIZE)
                if not data:
                    conn.eof(now)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                conn.eof(now)
            else:
                if data:
                    conn.receive(data, now)
            conn.tick(now)
            out = conn.outgoing()
            if out:
                try:
                    sent = s.send(out)
                    conn.sent(sent)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    conn.eof(now)
            if conn.closed and not conn.outgoing():
                self._drop(fd, "")

    def _drop(self, fd: int, why: str) -> None:
        conn = self.conns.pop(fd)
        s = self.socks.pop(fd)
        conn.eof(self.box.supervisor.now())
        s.close()


def _on_sighup():
    """SIGHUP asks for a reload, as it does of any daemon: the flag it sets, and the
    handler it replaces. Only the main thread can take signals; elsewhere (None, None)."""
    if threading.current_thread() is not threading.main_thread():
        return None, None
    flag = threading.Event()
    return flag, signal.signal(signal.SIGHUP, lambda *_: flag.set())


def _on_sigterm(box: Box):
    """SIGTERM (systemctl stop) ends the loop as `quit` does, so the box logs its agents
    out and closes its call log; the handler it replaces, or None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: setattr(box, "running", False))


def _terminal(stream) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def read_lines(stream: TextIO, into: queue.Queue) -> threading.Thread:
    """Console lines from a terminal or a pipe, on a thread of their own."""
    def reader():
        for line in stream:
            into.put(line.rstrip("\n"))
    t = threading.Thread(target=reader, name="console", daemon=True)
    t.start()
    return t


def run(config_path: Optional[str], log_path: Optional[str], seconds: Optional[float], paced: bool = True,
        out: TextIO = sys.stdout, inp: Optional[TextIO] = sys.stdin, control_path: Optional[str] = None,
        board: str = "sim", dahdi_dev: str = "/dev/dahdi") -> int:
    """The box until it stops; its exit status (RESTART_STATUS after `restart`). On a
    terminal the console edits lines as a serial console does (localconsole)."""
    try:
        office = config.load(config_path or str(DEMO_OFFICE))
    except config.ConfigError as e:
        raise BoxError(str(e)) from None
    local = None
    if inp is sys.stdin and out is sys.stdout and _terminal(inp) and _terminal(out):
        local = LocalConsole(inp.fileno(), out.fileno())
        out = local.screen
    box = Box(office, Path(log_path) if log_path else default_log(), out=out, board=board, dahdi_dev=dahdi_dev)
    try:
        where = control_path or control.default_path()
        if where:
            try:
                box.server = ControlServer(box, where)
            except (OSError, BoxError) as e:
                if control_path:
                    raise BoxError(f"--control {control_path}: {getattr(e, 'strerror', None) or e}") from None
                box.say(f"no console socket: {getattr(e, 'strerror', None) or e}")
        if local is not None:
            # Raw mode before the first line: the box's lines then come above the prompt.
            local.start(Shell(box.control, user="console"), box.supervisor.now, lambda: setattr(box, "running", False))
        box.say(f"{office.name}: {len(office.lines)} lines on {box.board_text}, "
                f"languages {', '.join(office.languages)}; type 'help' or ? for the console's commands"
                + (f"; consoles connect at {box.server.path}" if box.server else ""))
        lines = [ln.name for ln in office.lines if ln.kind == "fxo"]
        if not office.hours.open_at(dt.datetime.now(dt.timezone.utc)):
            box.say("the office is closed now by its hours: callers hear the after-hours path; "
                    "type 'hours open' to try the menus as in business hours")
        if box.sim is not None:
            box.say(f"try: test call {lines[0]} 0501234567, then press 1" if lines else "no lines to call")
        if local is not None:
            box.run(seconds, paced=paced, tick=local.poll)
        else:
            commands: queue.Queue = queue.Queue()
            if inp is not None:
                read_lines(inp, commands)
            box.run(seconds, paced=paced, commands=commands)
    except KeyboardInterrupt:
        pass
    finally:
        if local is not None:
            local.close()
        box.close()
    return RESTART_STATUS if box.restarting else 0
