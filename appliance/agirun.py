"""FastAGI scripts of the calls in progress: the sockets, and the steps on the line.

The supervisor hands a call to a menu's script (callflow.RunScript); this connects to
it, feeds its bytes to the call's agi.Session and carries out what the session asks
on the engine, telling it how each step ended. The box is not asyncio: every socket
is non-blocking and polled once a tick from the supervisor, as the console's are.

Rules:
  - Never dead air: while the box waits for the script (connecting, or the script
    thinking) for more than HOLD_AFTER_S, the caller hears ringback until the next
    step plays.
  - Never stuck: no connection within the menu's agi_timeout_s, no command within it
    while the box waits for one, a refused or broken connection, or a session that
    failed on nonsense sends the call to the menu's agi_fallback (callflow), with
    the reason in the call log.
  - Each step on the line: sounds play through; a key in the step's escape digits
    stops them (other keys do nothing), so the script learns the key and how far it
    got (endpos, in samples). GET DATA plays, any key cutting the files short, and
    takes keys to '#', the maximum or the timeout; WAIT FOR DIGIT takes one key.
  - Sound names (STREAM FILE and the like): the office's own prompt of that name,
    else the recorded pack's in the call's language, else in English; missing, the
    script is told so and no sound plays.
  - A variable the script sets is a call-log event: kind agi-var, detail NAME=value.
  - RECORD FILE: the beep (the pack's "beep" in the call's language; none if the pack
    has none) plays first if asked (a key among the escape digits then ends it with
    nothing recorded), then what the line receives goes into the file (recording.Take)
    under the office's recordings directory ([recordings] dir; else "recordings"
    beside the call log), subfolders made as needed. It ends at a key among the
    escape digits (cut where the key's sound began), at the script's timeout or
    [recordings] max_s, whichever is shorter, after the script's s= seconds of silence
    (cut to the first SILENCE_KEPT_MS of it), or at the caller's hangup. A file that
    cannot be opened is "(writefile)" to the script. Each recording made is a
    call-log event: kind recorded, detail "<file name relative to the directory>
    <seconds> s".
  - The caller hanging up: the script is sent HANGUP (as far as the socket takes it
    at once) and the connection is closed.
  - A host name is looked up off the box's loop, on a thread of its own, when the call
    reaches the script; the frames go on meanwhile, and a name server slower than the
    menu's agi_timeout_s is a script that did not answer. An address is used as given.
"""
from __future__ import annotations

import ipaddress
import math
import os
import socket
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, TYPE_CHECKING

from appliance import agi, recording
from appliance.binding import EngineError
from appliance.calllog import CallLogError
from appliance.callflow import RunScript
from appliance.engine import SAMPLE_RATE, Play
from appliance.numbers import say_digits, say_number
from appliance.prompts import PromptLoadError

if TYPE_CHECKING:       # the supervisor imports this module
    from appliance.supervisor import Call, Supervisor

HOLD_AFTER_S = 1.0
READ_SIZE = 16384
RINGBACK = Play.of_tone("ringback")
SAMPLES_PER_MS = 8
SILENCE_KEPT_MS = 500


@dataclass
class Run:
    """One call's script: its socket, its session and the step on the line."""
    call: "Call"
    session: agi.Session
    sock: socket.socket
    timeout_s: float
    connected: bool = False
    waiting_since: float = 0.0      # engine seconds: the box began waiting for the script
    holding: bool = False           # ringback plays while the script thinks
    stale_stops: int = 0            # play-done (stopped) events of plays replaced by a step
    step: Optional[object] = None
    started_ms: float = 0.0
    samples: int = 0                # what the step's sounds last
    key: str = ""                   # an escape key stopped them
    playing: bool = False
    collecting: bool = False
    escape: str = ""
    then_wait_ms: int = 0
    take: Optional[recording.Take] = None     # RECORD FILE: the file being written
    take_name: str = ""
    take_limit: int = 0             # samples: the recording's longest
    lookup: Optional["Lookup"] = None       # the host name being looked up


class Lookup:
    """getaddrinfo on a thread: a name server must not hold up the frames."""

    def __init__(self, host: str, port: int, family: int):
        self.addr: Optional[tuple] = None
        self.error: Optional[str] = None
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(host, port, family), name="agi-lookup", daemon=True).start()

    def _run(self, host: str, port: int, family: int) -> None:
        try:
            self.addr = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]
        except OSError as e:
            self.error = e.strerror or str(e)
        self.done.set()


class Scripts:
    def __init__(self, sup: "Supervisor"):
        self.sup = sup
        self.runs: Dict[int, Run] = {}      # by port

    # -- from the supervisor ---------------------------------------------------------

    def start(self, call: "Call", cmd: RunScript, ev) -> None:
        sup = self.sup
        target = agi.parse_url(cmd.url)
        flow = call.flow
        start = sup.now(ev)
        try:
            start = sup.log.call(call.log_id).start
        except CallLogError:    # the log's own trouble: the id still names the call
            pass
        ch = agi.Channel(target, channel=call.line.channel, language=cmd.language,
                         uniqueid=f"{math.floor(start)}.{call.log_id}", callerid=call.caller,
                         calleridname=call.name, context=cmd.menu, threadid=call.log_id)
        builtins = {"CALLERID(num)": agi.clean(call.caller), "CALLERID(name)": agi.clean(call.name),
                    "CHANNEL": f"DAHDI/{call.line.channel}-1", "LANGUAGE": cmd.language,
                    "UNIQUEID": ch.uniqueid}
        session = agi.Session(ch, flow.variables, builtins, frozenset(sup.office.queues), self.recordings())
        sup.log.event(call.log_id, sup.now(ev), "agi", f"to {agi.clean(cmd.url, agi.LINE_LIMIT)}")
        try:
            sock = socket.socket(socket.AF_INET6 if ":" in target.host else socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            self._ended(call, None, [agi.Failed(f"no socket: {e.strerror}")], ev)
            return
        sock.setblocking(False)
        run = Run(call, session, sock, cmd.timeout_s, waiting_since=sup.clock(ev))
        call.script = run
        self.runs[call.port] = run
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            run.lookup = Lookup(target.host, target.port, sock.family)
            return
        self._connect(run, (target.host, target.port), ev)

    def _connect(self, run: Run, addr: tuple, ev) -> None:
        target = run.session.channel.target
        try:
            rc = run.sock.connect_ex(addr)
        except OSError as e:
            self._fail(run, f"cannot reach {target.host}:{target.port}: {e.strerror or e}", ev)
            return
        if rc not in (0, 115, 36, 10035, 11):       # EINPROGRESS / EWOULDBLOCK on the platforms
            self._fail(run, f"cannot connect to {target.host}:{target.port}: {_strerror(rc)}", ev)

    def event(self, call: "Call", ev) -> None:
        """A line event of a call whose script has it (not its hangup: hung_up)."""
        run = call.script
        k = ev.kind
        e, port = self.sup.engine, call.port
        if k == "play-done":
            if ev.reason == "stopped" and run.stale_stops:
                run.stale_stops -= 1
                return
            if not run.playing:
                return
            run.playing = False
            if run.then_wait_ms and not run.key and ev.reason == "complete":
                if self._try(run, lambda: e.collect(port, 1, "", run.then_wait_ms, run.then_wait_ms), ev):
                    run.collecting = True
                return
            if isinstance(run.step, agi.GetDigits):
                return      # the collection ends the step
            if isinstance(run.step, agi.Record):
                if run.key:
                    self._recorded(run, ev, digits=run.key, keep=0)
                else:
                    self._listen(run, ev)
                return
            self._done(run, ev, digits=run.key, endpos=self._endpos(run, ev))
        elif k == "digit" and run.take is not None and not run.playing and ev.digit in run.escape:
            self._recorded(run, ev, digits=ev.digit, keep=ev.sample - run.take.start)
        elif k == "digit" and run.playing and run.escape and ev.digit in run.escape and not run.key:
            run.key = ev.digit
            self._try(run, lambda: e.stop(port), ev)
        elif k == "collected" and run.collecting and ev.reason != "cancelled":
            run.collecting = False
            if run.playing:         # the keys came before the sounds' end
                run.playing = False
                run.stale_stops += 1
                if not self._try(run, lambda: e.stop(port), ev):
                    return
            text = ev.text
            if run.then_wait_ms:
                key = text[:1] if text[:1] in run.escape else ""
                self._done(run, ev, digits=key, endpos=run.samples)
            else:
                self._done(run, ev, digits=text, timed_out=ev.reason == "timeout")

    def recordings(self) -> str:
        """The directory RECORD FILE writes in."""
        return self.sup.office.recordings.dir or os.path.join(os.path.dirname(self.sup.log.path), "recordings")

    def taps(self, taps) -> None:
        """A batch's tapped frames, before its events (a key's event cuts what came
        before it): the recordings running take what is theirs. Their time and silence
        limits are looked at after the events (poll), so the call log's times of a
        batch keep their order."""
        for run in self.runs.values():
            if run.take is not None and not run.playing:
                run.take.feed(taps)

    def hung_up(self, call: "Call", ev=None) -> None:
        run = self.runs.pop(call.port, None)
        call.script = None
        if run is None:
            return
        run.session.hung_up(self._stop_take(run, ev))
        self._flush(run)
        run.sock.close()

    def drop(self, call: "Call", ev=None) -> None:
        """The call ended some other way (an engine error): the connection goes."""
        run = self.runs.pop(call.port, None)
        call.script = None
        if run is not None:
            self._stop_take(run, ev)
            run.sock.close()

    def poll(self) -> None:
        for run in list(self.runs.values()):
            if self.runs.get(run.call.port) is run and run.take is not None and not run.playing:
                self._take_limits(run)
            if self.runs.get(run.call.port) is run:
                self._poll(run)

    def _take_limits(self, run: Run) -> None:
        take, silence_s = run.take, run.step.silence_s
        if take.samples >= run.take_limit:
            self._recorded(run, None, timed_out=True, keep=run.take_limit)
        elif silence_s and take.quiet >= silence_s * SAMPLE_RATE:
            self._recorded(run, None, timed_out=True, keep=take.samples - take.quiet + SILENCE_KEPT_MS * SAMPLES_PER_MS)

    # -- the socket ------------------------------------------------------------------

    def _poll(self, run: Run) -> None:
        sup = self.sup
        now = sup.clock()
        s = run.sock
        if run.lookup is not None and run.lookup.done.is_set():
            lookup, run.lookup = run.lookup, None
            target = run.session.channel.target
            if lookup.error is not None:
                self._fail(run, f"cannot reach {target.host}:{target.port}: {lookup.error}", None)
                return
            self._connect(run, lookup.addr, None)
            if self.runs.get(run.call.port) is not run:
                return
        if run.lookup is None and not run.connected:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._fail(run, f"cannot connect to {run.session.channel.target.host}:"
                                f"{run.session.channel.target.port}: {_strerror(err)}", None)
                return
            try:
                s.getpeername()
                run.connected = True
            except OSError:
                pass
        if run.connected:
            if not self._flush(run):
                return
            for _ in range(4):
                try:
                    data = s.recv(READ_SIZE)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:
                    self._fail(run, f"the connection broke: {e.strerror or e}", None)
                    return
                actions = run.session.receive(data) if data else run.session.eof()
                if data:
                    run.waiting_since = now
                self._carry_out(run, actions, None)
                if self.runs.get(run.call.port) is not run or not data:
                    return
            if not self._flush(run):
                return
        if run.session.waiting_for_script or not run.connected:
            if now - run.waiting_since > run.timeout_s:
                what = "no command" if run.connected else "no connection"
                self._fail(run, f"{what} within {run.timeout_s:g} s", None)
            elif now - run.waiting_since > HOLD_AFTER_S and not run.holding:
                run.holding = self._try(run, lambda: sup.engine.play(run.call.port, [RINGBACK]), None)

    def _flush(self, run: Run) -> bool:
        out = run.session.outgoing()
        if not out:
            return True
        try:
            run.session.sent(run.sock.send(out))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            if self.runs.get(run.call.port) is run:
                self._fail(run, f"the connection broke: {e.strerror or e}", None)
            return False
        return True

    # -- the steps -------------------------------------------------------------------

    def _carry_out(self, run: Run, actions, ev) -> None:
        sup, call = self.sup, run.call
        for a in actions:
            if isinstance(a, agi.Assigned):
                sup.log.event(call.log_id, sup.now(ev), "agi-var", f"{a.name}={a.value}")
            elif isinstance(a, (agi.Ended, agi.HangUpCall, agi.Transfer, agi.Failed)):
                self._flush(run)
                self.runs.pop(call.port, None)
                call.script = None
                run.sock.close()
                self._ended(call, run, [a], ev)
                return
            else:
                self._step(run, a, ev)
                if self.runs.get(call.port) is not run:
                    return

    def _step(self, run: Run, a, ev) -> None:
        sup, call = self.sup, run.call
        e, port = sup.engine, call.port
        run.step, run.key, run.escape, run.then_wait_ms = a, "", "", 0
        run.started_ms = sup.engine.now_ms if ev is None else ev.ms
        lang = call.flow.language
        if isinstance(a, agi.Record):
            self._record(run, a, ev)
            return
        if isinstance(a, agi.Pause):
            if a.ms <= 0:
                self._done(run, ev)
                return
            items = [Play.of_silence(a.ms)]
        elif isinstance(a, agi.WaitDigit):
            if self._quiet(run) and self._try(run, lambda: e.collect(port, 1, "", a.timeout_ms, a.timeout_ms), ev):
                run.collecting = True
            return
        else:
            try:
                if isinstance(a, agi.Say):
                    said = say_number(lang, int(a.value)) if a.what == "number" else say_digits(lang, a.value)
                    prompts = sup.library.say(said)
                    ids = sup.library.register(e, prompts)
                    names = [p.name for p in prompts]
                else:
                    ids, names = self._sounds(call, a.files, lang)
            except (PromptLoadError, ValueError, AttributeError, KeyError):
                ids, names = None, []
            if not ids:
                if isinstance(a, agi.GetDigits):
                    items = []      # nothing to play: only the keys, as Asterisk does
                else:
                    self._done(run, ev, missing=True)
                    return
            else:
                items = [Play.of_prompt(i) for i in ids]
                call.heard.extend(names)
                if sup.on_play:
                    sup.on_play(call, names)
            run.samples = sum(e.prompt_samples(i) for i in ids or [])
            if isinstance(a, agi.GetDigits):
                ok = self._quiet(run) and self._try(run, lambda: (
                    e.play(port, items, interruptible=True) if items else None,
                    e.collect(port, a.max_digits, "#", a.timeout_ms, a.timeout_ms)), ev)
                run.playing, run.collecting = bool(items) and ok, ok
                return
            run.escape = a.escape
            run.then_wait_ms = getattr(a, "then_wait_ms", 0)
        run.playing = self._quiet(run) and self._try(run, lambda: e.play(port, items), ev)

    def _record(self, run: Run, a: agi.Record, ev) -> None:
        sup, call = self.sup, run.call
        path = os.path.join(self.recordings(), a.name)
        at = int((sup.engine.now_ms if ev is None else ev.ms) * SAMPLES_PER_MS)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            run.take = recording.Take(path, call.port, at)
        except OSError as e:
            sup.log.event(call.log_id, sup.now(ev), "agi-error", f"cannot record to {path}: {e.strerror or e}")
            self._done(run, ev, unwritable=True)
            return
        run.take_name = a.name
        longest = sup.office.recordings.max_s * 1000
        run.take_limit = int(min(a.timeout_ms or longest, longest) * SAMPLES_PER_MS)
        run.escape = a.escape
        ids = self._sounds(call, ("beep",), call.flow.language)[0] if a.beep else None
        if not self._quiet(run):
            return
        if ids:
            run.playing = self._try(run, lambda: sup.engine.play(call.port, [Play.of_prompt(i) for i in ids]), ev)
        else:
            self._listen(run, ev)

    def _listen(self, run: Run, ev) -> None:
        """The recording proper begins: the line's audio from now on goes to the file."""
        run.take.start = int((self.sup.engine.now_ms if ev is None else ev.ms) * SAMPLES_PER_MS)
        self._try(run, lambda: self.sup.engine.tap(run.call.port, True), ev)

    def _stop_take(self, run: Run, ev, keep: Optional[int] = None) -> int:
        """Closes the recording (if one runs) and logs it; how many samples it holds."""
        take, run.take = run.take, None
        if take is None:
            return 0
        sup, call = self.sup, run.call
        try:
            sup.engine.tap(call.port, False)
        except EngineError:
            pass        # the line is gone already: the file is closed all the same
        try:
            n = take.close(keep)
        except OSError as e:
            sup.log.event(call.log_id, sup.now(ev), "agi-error", f"cannot finish {take.path}: {e.strerror or e}")
            return 0
        sup.log.event(call.log_id, sup.now(ev), "recorded", f"{run.take_name} {n / SAMPLE_RATE:.1f} s")
        return n

    def _recorded(self, run: Run, ev, keep: int, digits: str = "", timed_out: bool = False) -> None:
        n = self._stop_take(run, ev, max(0, keep))
        self._done(run, ev, digits=digits, timed_out=timed_out, endpos=n)

    def _quiet(self, run: Run) -> bool:
        """The ringback of the wait gives way to the step; its end is no step's end."""
        if run.holding:
            run.holding = False
            run.stale_stops += 1
            return self._try(run, lambda: self.sup.engine.stop(run.call.port), None)
        return True

    def _sounds(self, call: "Call", files, lang: str):
        """The engine's ids of sound files by name (module rules); None if one is nowhere."""
        sup = self.sup
        ids: List[int] = []
        for f in files:
            if call.bank.has(f, lang):
                ids += call.bank.ids(f, lang)
                continue
            for voice in dict.fromkeys((lang, "en")):
                try:
                    ids += sup.library.register(sup.engine, [sup.library.recorded(voice, f)])
                    break
                except PromptLoadError:
                    continue
            else:
                return None, []
        return ids, list(files)

    def _endpos(self, run: Run, ev) -> int:
        if not run.key:
            return run.samples
        at = self.sup.engine.now_ms if ev is None else ev.ms
        return min(run.samples, int((at - run.started_ms) * SAMPLES_PER_MS))

    def _done(self, run: Run, ev, **how) -> None:
        run.step, run.playing, run.collecting = None, False, False
        run.waiting_since = self.sup.clock(ev)
        actions = run.session.done(**how)
        self._flush(run)
        self._carry_out(run, actions, ev)

    def _try(self, run: Run, fn, ev) -> bool:
        ok = self.sup._try(run.call, ev, fn)
        if not ok:
            self.drop(run.call)
        return ok

    def _fail(self, run: Run, why: str, ev) -> None:
        self._carry_out(run, run.session.fail(why), ev)

    def _ended(self, call: "Call", run: Optional[Run], actions, ev) -> None:
        """The script is over for this call: the menus go on from the flow."""
        sup = self.sup
        a = actions[0]
        if run is not None and run.holding:
            try:
                sup.engine.stop(call.port)
            except EngineError:
                pass
        if isinstance(a, agi.Failed):
            sup.log.event(call.log_id, sup.now(ev), "agi-error", a.why)
            how, detail = "failed", a.why
        elif isinstance(a, agi.Transfer):
            how, detail = "queue", a.queue
        elif isinstance(a, agi.HangUpCall):
            how, detail = "hangup", ""
        else:
            how, detail = "done", ""
        sup._carry_out(call, call.flow.script_ended(how, detail), ev)


def _strerror(code: int) -> str:
    return os.strerror(code) if code else "refused"
