"""The box running: an office's configuration on a board, its prompts, its call log, and
a console on the terminal for test calls.

Rules:
  - On the simulated board each line of the configuration gets a port with a far end
    (the exchange with a test caller on it; the operator's phone); the lines keep their
    order: the first fxo line of the file is the board's first line, and so on.
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
from typing import Callable, Dict, List, Optional, TextIO

from appliance import config, console
from appliance.calllog import CallLog, CallLogError
from appliance.engine import FRAME_MS, Event, Line as LineModel
from appliance.prompts import PromptLibrary, PromptLoadError
from appliance.sim import Caller, Phone, SimOffice
from appliance.supervisor import Call, PromptBank, Supervisor

DEMO_OFFICE = Path(__file__).resolve().parent / "demo-office.toml"
# The simulated exchange lines: a little loss and hiss, a hybrid's echo.
SIM_LINE = LineModel(loss_db=3.0, noise_dbm0=-60.0, echo_delay_ms=8, echo_return_loss_db=18.0)


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
                 library: Optional[PromptLibrary] = None):
        self.office = office
        self.out = out
        self.library = library or PromptLibrary()
        fxo = [ln for ln in office.lines if ln.kind == "fxo"]
        fxs = [ln for ln in office.lines if ln.kind == "fxs"]
        self.sim = SimOffice(lines=len(fxo), phones=len(fxs), line=SIM_LINE)
        self.engine = self.sim.engine
        self.ports: Dict[str, int] = {ln.name: p for ln, p in zip(fxo, self.sim.lines)}
        self.ports.update({ln.name: p for ln, p in zip(fxs, self.sim.phones)})
        self.callers: Dict[str, Caller] = {ln.name: c for ln, c in zip(fxo, self.sim.callers)}
        self.phones: Dict[str, Phone] = {ln.name: a for ln, a in zip(fxs, self.sim.agents)}
        self.names = {p: n for n, p in self.ports.items()}
        for ln in office.lines:
            far = self.ports[ln.name] + 1
            self.engine.configure(far, law=ln.law, plan=ln.plan)
        try:
            self.log = CallLog.open(log_path)
        except CallLogError as e:
            self.sim.close()
            raise BoxError(str(e)) from None
        try:
            self.bank = PromptBank(office, self.library, self.engine)
        except PromptLoadError as e:
            self.close()
            raise BoxError(str(e)) from None
        self.supervisor = Supervisor(office, self.engine, self.ports, self.bank, self.log,
                                     wall_offset=time.time(), on_play=self._heard, on_end=self._ended,
                                     library=self.library, on_alarm=self._alarm)
        self.test_line: Optional[str] = None
        self.running = True
        if self.log.interrupted:
            self.say(f"call log: {self.log.interrupted} call(s) in progress at the last stop closed as interrupted")

    def close(self) -> None:
        try:
            if hasattr(self, "supervisor"):
                self.supervisor.stop()
            self.log.close()
            if self.log.held:
                self.say(f"call log: {self.log.held} held record(s) could not be written before the stop "
                         f"({self.log.trouble}) and are lost")
        finally:
            self.sim.close()

    # -- output --------------------------------------------------------------------

    def say(self, text: str, ms: Optional[float] = None) -> None:
        stamp = (ms if ms is not None else self.engine.now_ms) / 1000.0
        print(f"{stamp:8.2f} s  {text}", file=self.out, flush=True)

    def _heard(self, call: Call, names: List[str]) -> None:
        lang = call.flow.language if call.flow else self.office.language
        for n in names:
            words = (call.bank or self.bank).text(n, lang)
            self.say(f"{call.line.name}: caller hears {n} [{lang}]" + (f": {words}" if words else ""))

    def _ended(self, call: Call, outcome: str) -> None:
        self.say(f"{call.line.name}: call #{call.log_id} ends: {outcome}")

    def _alarm(self, alarm, raised: bool) -> None:
        self.say(f"ALARM {alarm.text}" if raised else f"alarm cleared: {alarm.text}")

    def _show_event(self, ev: Event) -> None:
        name = self.names.get(ev.channel)
        if name is None or ev.kind in ("heard", "digits-sent"):
            return
        self.say(f"{name}: {ev.describe()}", ev.ms)

    # -- the console ---------------------------------------------------------------

    def command(self, text: str) -> None:
        try:
            cmd = console.parse(text, [ln.name for ln in self.office.lines])
        except console.ConsoleError as e:
            print(f"  {e}", file=self.out, flush=True)
            return
        if cmd is None:
            return
        v = cmd.verb
        if v == "help":
            print(console.HELP, file=self.out, flush=True)
        elif v == "quit":
            self.running = False
        elif v == "call":
            if cmd.line not in self.callers:
                print(f"  {cmd.line} is a phone port; test calls come in on the lines", file=self.out)
                return
            self.test_line = cmd.line
            ln = next(x for x in self.office.lines if x.name == cmd.line)
            self.say(f"test caller {cmd.number or '(no caller ID)'} dials; the exchange rings {cmd.line}")
            self.callers[cmd.line].ring(cmd.number, cmd.name, standard=ln.callerid if ln.callerid != "none" else "v23")
        elif v in ("press", "hangup"):
            line = cmd.line or self.test_line
            if line is None or line not in self.callers:
                print("  no test call: place one with 'call LINE'", file=self.out, flush=True)
                return
            if v == "press":
                self.callers[line].press(cmd.digits)
            else:
                self.callers[line].hangup()
        elif v in ("pickup", "drop"):
            phone = self.phones.get(cmd.line or self.office.operator or "")
            if phone is None:
                print(f"  {cmd.line or 'the operator'}: no such phone port", file=self.out, flush=True)
                return
            phone.answer() if v == "pickup" else phone.hangup()
        elif v == "hours":
            self.supervisor.hours_override = {"open": True, "closed": False, "auto": None}[cmd.what]
            print(f"  new calls are answered {'by the office hours' if cmd.what == 'auto' else 'as ' + cmd.what}",
                  file=self.out, flush=True)
        elif v == "agent":
            self._agent(cmd)
        elif v == "reload":
            self.reload()
        elif v == "show":
            self._show(cmd)

    def _agent(self, cmd: console.Command) -> None:
        sup = self.supervisor
        if sup.acd is None or cmd.name not in sup.acd.agents:
            names = ", ".join(sup.acd.agents) if sup.acd else "none"
            print(f"  no agent '{cmd.name}'; the agents are: {names}", file=self.out, flush=True)
            return
        # The same path as the feature codes at the agent's phone, and the same agent log.
        _, refused = sup.agent_do(cmd.name, cmd.what, " ".join(cmd.args), "console")
        if refused:
            print(f"  {refused}", file=self.out, flush=True)
            return
        a = sup.acd.agents[cmd.name]
        self.say(f"agent {cmd.name}: {a.state}" + (f" ({a.reason})" if a.reason else ""))

    def reload(self) -> bool:
        """The configuration file read again and put in place for new calls, or refused
        with the reason, the running configuration kept."""
        path = self.office.path
        try:
            new = config.load(path)
            if new.lines != self.office.lines:
                raise BoxError("the lines changed: restart the box to put them in place")
            if new.queues != self.office.queues or new.agents != self.office.agents:
                raise BoxError("the queues or agents changed: restart the box to put them in place")
            bank = PromptBank(new, self.library, self.engine)
        except (config.ConfigError, PromptLoadError, BoxError) as e:
            self.say(f"reload of {path} refused; the running configuration stays:")
            for line in str(e).splitlines():
                print(f"  {line}", file=self.out, flush=True)
            return False
        self.supervisor.swap(new, bank)
        self.office, self.bank = new, bank
        self.say(f"reloaded {path}: new calls take it; calls in progress finish as they began")
        return True

    def _show(self, cmd: console.Command) -> None:
        out = self.out
        if cmd.what == "agents":
            acd = self.supervisor.acd
            if acd is None:
                print("  this office has no queues", file=out)
            else:
                for name, a in acd.agents.items():
                    queues = ", ".join(f"{q.name} ({lvl})" for q in acd.queues.values()
                                       for n, lvl in q.members if n == name)
                    print(f"  {name:<12} {a.state:<11} {a.reason:<12} calls {a.calls:<4} {queues}", file=out)
                for q in acd.queues:
                    print(f"  queue {q}: {len(acd.waiting(q))} waiting", file=out)
        elif cmd.what == "calls":
            calls = self.log.calls(limit=20)
            if not calls:
                print("  no calls yet", file=out)
            for c in calls:
                print(f"  #{c.id:<5} {c.line:<10} {c.caller or c.presentation or '-':<16} "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(c.start))} "
                      f"{(c.outcome or 'in progress'):<12} {' > '.join(c.menus)}", file=out)
        else:
            calls = self.log.calls(limit=1) if cmd.call is None else []
            call = cmd.call if cmd.call is not None else (calls[0].id if calls else None)
            if call is None:
                print("  no calls yet", file=out)
                return
            try:
                events = self.log.events(call)
            except CallLogError as e:
                print(f"  {e}", file=out)
                return
            for e in events:
                print(f"  #{call} {time.strftime('%H:%M:%S', time.localtime(e.at))}"
                      f".{int(e.at * 1000) % 1000:03d} {e.kind:<10} {e.detail}", file=out)
        out.flush()

    # -- running -------------------------------------------------------------------

    def run(self, seconds: Optional[float] = None, paced: bool = True, commands: Optional[queue.Queue] = None,
            tick: Optional[Callable[["Box"], None]] = None) -> None:
        started = time.monotonic()
        start_ms = self.engine.now_ms
        hup, before = _on_sighup()
        try:
            self._loop(seconds, paced, commands, tick, hup, started, start_ms)
        finally:
            if hup is not None:
                signal.signal(signal.SIGHUP, before)

    def _loop(self, seconds, paced, commands, tick, hup, started, start_ms) -> None:
        frames = 0
        while self.running and (seconds is None or self.engine.now_ms - start_ms < seconds * 1000):
            batch = self.engine.run(1)
            self.sim.feed(batch)
            for ev in batch.events:
                self._show_event(ev)
            self.supervisor.handle(batch.events)
            while commands is not None and not commands.empty():
                self.command(commands.get_nowait())
            if hup and hup.is_set():
                hup.clear()
                self.reload()
            if tick:
                tick(self)
            frames += 1
            if paced:
                delay = started + frames * FRAME_MS / 1000.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)


def _on_sighup():
    """SIGHUP asks for a reload, as it does of any daemon: the flag it sets, and the
    handler it replaces. Only the main thread can take signals; elsewhere (None, None)."""
    if threading.current_thread() is not threading.main_thread():
        return None, None
    flag = threading.Event()
    return flag, signal.signal(signal.SIGHUP, lambda *_: flag.set())


def read_lines(stream: TextIO, into: queue.Queue) -> threading.Thread:
    """Console lines from a terminal or a pipe, on a thread of their own."""
    def reader():
        for line in stream:
            into.put(line.rstrip("\n"))
    t = threading.Thread(target=reader, name="console", daemon=True)
    t.start()
    return t


def run(config_path: Optional[str], log_path: Optional[str], seconds: Optional[float], paced: bool = True,
        out: TextIO = sys.stdout, inp: Optional[TextIO] = sys.stdin) -> int:
    try:
        office = config.load(config_path or str(DEMO_OFFICE))
    except config.ConfigError as e:
        raise BoxError(str(e)) from None
    box = Box(office, Path(log_path) if log_path else default_log(), out=out)
    try:
        box.say(f"{office.name}: {len(office.lines)} lines on the simulated board, "
                f"languages {', '.join(office.languages)}; type 'help' for the console's commands")
        lines = [ln.name for ln in office.lines if ln.kind == "fxo"]
        if not office.hours.open_at(dt.datetime.now(dt.timezone.utc)):
            box.say("the office is closed now by its hours: callers hear the after-hours path; "
                    "type 'hours open' to try the menus as in business hours")
        box.say(f"try: call {lines[0]} 0501234567, then press 1" if lines else "no lines to call")
        commands: queue.Queue = queue.Queue()
        if inp is not None:
            read_lines(inp, commands)
        box.run(seconds, paced=paced, commands=commands)
    except KeyboardInterrupt:
        pass
    finally:
        box.close()
    return 0
