"""FastAGI end to end on the simulated board: the demo office's main menu gets a key 4
that hands the call to a script served over TCP by pyst2's own AGI class (tests/
agi_scripts.py, its own process). The caller keys an order number as DTMF audio, hears
it said back, the script's variables land in the call log, and the call is queued;
a script that is down, slow or talks nonsense sends the call to the fallback within
the timeout, a hostile caller ID cannot add a line to what the script is told, and a
script records what the caller says to a WAV file, up to the '#' that ends it."""
from __future__ import annotations

import io
import math
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from appliance import config, scan, wav
from appliance.box import DEMO_OFFICE, Box
from appliance.numbers import say_number
from appliance.prompts import PromptLibrary
from appliance.sim import identify_prompt
from tests.test_supervisor import call, run_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def library():
    return PromptLibrary()


def serve(mode: str):
    p = subprocess.Popen([sys.executable, "-m", "tests.agi_scripts", mode], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True)
    port = int(p.stdout.readline())
    return p, port


@pytest.fixture
def make_box(tmp_path, library):
    made, servers = [], []

    def make(mode: str = "order", url: str = "", timeout_s: float = 3.0) -> Box:
        if not url:
            server, port = serve(mode)
            servers.append(server)
            url = f"agi://127.0.0.1:{port}/lookup?who=demo&x=1"
        text = DEMO_OFFICE.read_text(encoding="utf-8")
        text = text.replace('"3" = "menu:hours",', '"3" = "menu:hours", "4" = "menu:lookup",', 1)
        text += (f'\n[menu.lookup]\nagi = "{url}"\nagi_timeout_s = {timeout_s}\n'
                 f'agi_fallback = "operator"\nthen = "menu:main"\n')
        path = tmp_path / f"office{len(made)}.toml"
        path.write_text(text, encoding="utf-8")
        b = Box(config.load(str(path)), tmp_path / f"calls{len(made)}.db", out=io.StringIO(), library=library)
        b.supervisor.hours_override = True
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
    for s in servers:
        s.kill()
        s.wait()


def step(box: Box, seconds: float = 0.1) -> None:
    """The engine's clock runs free; while the box waits on a script, it waits for the
    script's reply a little in real time, so a quick script is quick on this clock too."""
    runs = list(box.supervisor.scripts.runs.values())
    socks = [r.sock for r in runs if r.session.waiting_for_script]
    if socks:
        select.select(socks, [], [], 0.05)
    for r in runs:
        if r.lookup is not None:        # a host name being looked up: as long in real time too
            r.lookup.done.wait(0.05)
    box.run(seconds, paced=False)


def until(box: Box, cond, limit_s: float = 40.0) -> None:
    end = box.engine.now_ms + limit_s * 1000
    while box.engine.now_ms < end:
        step(box)
        if cond():
            return
    raise AssertionError(f"not within {limit_s} s; the box said:\n{box.out.getvalue()[-3000:]}")


def to_script(box: Box, number: str = "0501234567", name: str = "PETRENKO O", raw=None):
    box.callers["line1"].ring(number, name)
    until(box, lambda: (c := call(box)) is not None and c.flow is not None and c.flow.waiting == "ask")
    if raw is not None:
        call(box).caller, call(box).name = raw
    until(box, lambda: box.engine.state(box.ports["line1"]) in ("playing", "collecting"))
    box.callers["line1"].press("4")
    until(box, lambda: "lookup" in call(box).flow.seen, 10)
    return call(box)


def events(box: Box, row: int):
    return [(e.kind, e.detail) for e in box.log.events(row)]


def test_an_order_script_in_pyst2_reads_digits_says_them_back_and_queues(make_box, library):
    box = make_box("order")
    c = to_script(box)
    caller = box.callers["line1"]
    caller.capture()
    until(box, lambda: "order_number" in c.heard, 20)
    box.run(1.0, paced=False)
    caller.press("4217#")
    until(box, lambda: c.queue == "sales", 30)
    heard = caller.heard()
    # The number said back is what the caller heard, as sound, after the prompt.
    said = np.concatenate([p.pcm for p in library.say(say_number("en", 4217))])
    other = np.concatenate([p.pcm for p in library.say(say_number("en", 7124))])
    name, score = identify_prompt(heard[-len(said) - 8000 * 6:], {"4217": said, "7124": other})
    assert name == "4217", (name, score)
    ev = events(box, c.log_id)
    assert ("agi-var", "ORDER=4217") in ev and ("agi-var", "ORDER_STATUS=shipped") in ev
    assert ("queued", "sales") in ev
    assert c.flow.variables["ORDER"] == "4217"
    assert not box.supervisor.scripts.runs


def test_a_script_that_is_down_sends_the_call_to_the_fallback(make_box):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                   # nobody listens there now
    box = make_box(url=f"agi://127.0.0.1:{port}/lookup", timeout_s=3)
    c = to_script(box)
    until(box, lambda: c.queue == "operator", 4)
    kinds = [k for k, _ in events(box, c.log_id)]
    assert "agi-error" in kinds and "agi-fallback" in kinds


@pytest.mark.parametrize("mode", ["slow", "nonsense"])
def test_a_slow_or_nonsense_script_sends_the_call_to_the_fallback_within_the_timeout(make_box, mode):
    box = make_box(mode, timeout_s=3)
    c = to_script(box)
    began = box.engine.now_ms
    until(box, lambda: c.queue == "operator", 4)
    assert box.engine.now_ms - began <= 3500
    why = [d for k, d in events(box, c.log_id) if k == "agi-error"]
    assert why and ("within 3 s" in why[0] if mode == "slow" else "bad commands" in why[0]), why
    if mode == "slow":
        # Not dead air meanwhile: ringback while the script thinks.
        assert box.engine.state(box.ports["line1"]) != "idle"
    # The box serves the next call as ever.
    box.callers["line1"].hangup()
    until(box, lambda: call(box) is None, 5)
    box.callers["line1"].ring("0501234567")
    until(box, lambda: (c2 := call(box)) is not None and c2.flow is not None and c2.flow.waiting == "ask")


def test_a_script_named_by_host_name_is_looked_up_off_the_frames(make_box):
    """A name is looked up on a thread: the script on 'localhost' serves the call; and a
    name server slower than the timeout leaves the frames running and the caller at the
    fallback, not stuck while it answers."""
    server, port = serve("order")
    try:
        box = make_box(url=f"agi://localhost:{port}/lookup", timeout_s=3)
        c = to_script(box)
        until(box, lambda: "order_number" in c.heard, 20)
        assert "agi-error" not in [k for k, _ in events(box, c.log_id)]
    finally:
        server.kill()
        server.wait()


def test_a_slow_name_server_does_not_hold_up_the_box(make_box, monkeypatch):
    import socket
    import threading
    import time
    answered = threading.Event()
    real = socket.getaddrinfo

    def slow(host, *args, **kw):
        if host == "agi.example.net":
            time.sleep(3.0)         # real seconds: longer than the engine takes to time out
            answered.set()
            raise socket.gaierror(-2, "Name or service not known")
        return real(host, *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    box = make_box(url="agi://agi.example.net/lookup", timeout_s=1)
    c = to_script(box)
    began = box.engine.now_ms
    until(box, lambda: c.queue == "operator", 3)
    assert box.engine.now_ms - began <= 1500 and not answered.is_set()
    why = [d for k, d in events(box, c.log_id) if k == "agi-error"]
    assert why and "no connection" in why[0], why


def test_a_hostile_caller_id_cannot_forge_a_line_of_the_header(make_box):
    box = make_box("env")
    # What the simulated exchange can send: printable, with ':' and at the limit.
    c = to_script(box, "0501234567", "agi_context: evil: x" + "Y" * 12)
    header, caller, context = script_saw(box, c)
    assert caller == "CALLER=0501234567" and context == "CONTEXT=lookup"
    box.callers["line1"].hangup()
    until(box, lambda: call(box) is None, 5)
    # What a line card passing raw bytes could hand the box: CR, LF, very long.
    raw = ("05\r\nagi_context: evil\n" + "9" * 500, "EVIL\nagi_arg_1: x:y\r\n\n200 result=1")
    c = to_script(box, raw=raw)
    header, caller, context = script_saw(box, c)
    assert caller == "CALLER=" + ("05agi_context: evil" + "9" * 500)[:80]
    assert context == "CONTEXT=lookup"


def script_saw(box: Box, c):
    """The agi_* keys the script was told, its agi_callerid and agi_context, as it set
    them in variables (which the call log holds)."""
    until(box, lambda: c.script is None, 10)
    header = next(d for k, d in events(box, c.log_id) if k == "agi-var" and d.startswith("HEADER="))
    assert header.split("=", 1)[1].split(",") == sorted(
        ["agi_network", "agi_network_script", "agi_request", "agi_channel", "agi_language", "agi_type",
         "agi_uniqueid", "agi_version", "agi_callerid", "agi_calleridname", "agi_callingpres", "agi_dnid",
         "agi_rdnis", "agi_context", "agi_extension", "agi_priority", "agi_enhanced", "agi_accountcode",
         "agi_threadid", "agi_arg_1", "agi_arg_2"])
    caller = next(d for k, d in events(box, c.log_id) if k == "agi-var" and d.startswith("CALLER="))
    context = next(d for k, d in events(box, c.log_id) if k == "agi-var" and d.startswith("CONTEXT="))
    # The script ended with the call up: the menus go on (then = menu:main).
    until(box, lambda: call(box).flow.menu.name == "main", 5)
    return header, caller, context


def test_the_caller_hanging_up_during_the_script_tells_it_and_ends_the_call(make_box):
    box = make_box("order")
    c = to_script(box)
    until(box, lambda: "order_number" in c.heard, 20)
    run = c.script
    box.callers["line1"].hangup()
    until(box, lambda: call(box) is None, 5)
    assert box.log.call(c.log_id).outcome == "abandoned"
    assert c.script is None and not box.supervisor.scripts.runs and run.sock.fileno() == -1
    assert run.session.dead and run.session.outgoing() == b""       # HANGUP went out


def test_a_script_records_what_the_caller_says_until_hash(make_box, tmp_path):
    box = make_box("record")
    c = to_script(box)
    until(box, lambda: c.script is not None and c.script.take is not None and not c.script.playing, 10)
    caller = box.callers["line1"]
    t = np.arange(16000) / 8000.0
    caller.send((4000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16))      # two seconds of the caller's voice
    box.run(2.5, paced=False)
    caller.press("#")
    until(box, lambda: any(k == "agi-var" and d.startswith("RECORDED=") for k, d in events(box, c.log_id)), 10)
    ev = events(box, c.log_id)
    assert ("agi-var", "RECORDED=35") in ev                 # result=35 (dtmf): '#'
    path = tmp_path / "recordings" / "messages" / f"{math.floor(box.log.call(c.log_id).start)}.{c.log_id}.wav"
    got = wav.read(str(path))
    assert got.encoding == "linear"
    seconds = len(got.samples) / 8000
    assert 2.3 <= seconds <= 2.8, seconds                   # from the beep's end to where '#' began
    assert ("recorded", f"messages/{path.name} {seconds:.1f} s") in ev
    # The caller's tone is in it, loud; the key that ended it is not.
    voice = got.samples[:16000].astype(np.float64)
    spec = np.abs(np.fft.rfft(voice))
    assert abs(np.argmax(spec) * 8000 / len(voice) - 700) < 5
    assert np.sqrt(np.mean(voice ** 2)) > 1000
    assert not [d for d in scan.scan(got) if d.digit == "#"]
    # A script cannot write outside the directory.
    until(box, lambda: ("agi-var", "REFUSED=../escaped") in events(box, c.log_id), 10)
    assert not (tmp_path / "escaped.wav").exists()


def test_a_recording_ends_with_the_callers_hangup_and_keeps_what_was_said(make_box, tmp_path):
    box = make_box("record")
    c = to_script(box)
    until(box, lambda: c.script is not None and c.script.take is not None and not c.script.playing, 10)
    run = c.script
    t = np.arange(8000) / 8000.0
    box.callers["line1"].send((4000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16))
    box.run(1.5, paced=False)
    box.callers["line1"].hangup()
    until(box, lambda: call(box) is None, 5)
    assert run.take is None and run.session.dead
    assert run.session.outgoing() == b""            # "200 result=-1 (hangup) endpos=N" and HANGUP went out
    path = next((tmp_path / "recordings" / "messages").glob("*.wav"))
    seconds = len(wav.read(str(path)).samples) / 8000
    assert 1.3 <= seconds <= 1.8, seconds
    assert ("recorded", f"messages/{path.name} {seconds:.1f} s") in events(box, c.log_id)


def test_a_recording_ends_after_the_silence_the_script_allows(make_box, tmp_path):
    box = make_box("quiet")
    c = to_script(box)
    until(box, lambda: c.script is not None and c.script.take is not None, 10)
    t = np.arange(8000) / 8000.0
    box.callers["line1"].send((4000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16))
    until(box, lambda: ("agi-var", "RECORDED=0") in events(box, c.log_id), 5)       # result=0 (timeout)
    seconds = len(wav.read(str(tmp_path / "recordings" / "messages" / "quiet.wav")).samples) / 8000
    assert 1.4 <= seconds <= 1.7, seconds           # the second of voice and half a second of the silence
