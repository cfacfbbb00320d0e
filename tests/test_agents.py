"""Agents end to end at audio level on the simulated board: feature codes keyed as DTMF
at an agent's phone and the confirmation heard there; an agent at an outside number
reached on a free line, taking the call with a key and talking to the caller; an agent
at an extension of the PBX behind the lines, reached by a hook-flash transfer that the
exchange side sees."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest

from appliance import config, featurecode
from appliance.box import DEMO_OFFICE, Box
from appliance.featurecode import Refuse, Tell
from appliance.prompts import PromptLibrary
from appliance.sim import identify_prompt, level_dbm0
from tests.test_supervisor import call, run_until

pytestmark = pytest.mark.slow

AT_PHONES = '''
[[agent]]
name = "olena"
phone = "desk1"
pin = "1234"
queues = { sales = 1, support = 2 }

[[agent]]
name = "ivan"
phone = "desk2"
pin = "5678"
queues = { support = 1, sales = 2 }
'''

OUTSIDE = '''
[[agent]]
name = "olena"
phone = "desk1"
queues = { support = 1 }

[[agent]]
name = "maria"
number = "0501112233"
queues = { sales = 1 }
'''

EXTENSION = '''
[[agent]]
name = "olena"
phone = "desk1"
queues = { support = 1 }

[[agent]]
name = "petro"
extension = "204"
busy_s = 40
queues = { sales = 1 }
'''


@pytest.fixture(scope="module")
def library():
    return PromptLibrary()


def office(tmp_path, agents: str) -> config.Office:
    """The demo office with these agents in place of its own."""
    text = DEMO_OFFICE.read_text(encoding="utf-8")
    text = re.sub(r"\n\[\[agent\]\]\n(?:[^\[\n][^\n]*\n)*", "\n", text) + agents
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(str(path))


@pytest.fixture
def make_box(tmp_path, library):
    made = []

    def make(agents: str) -> Box:
        b = Box(office(tmp_path, agents), tmp_path / "calls.db", out=io.StringIO(), library=library)
        b.supervisor.hours_override = True
        keep_events(b)
        made.append(b)
        return b
    yield make
    for b in made:
        b.close()


def keep_events(box: Box) -> None:
    """The box hands its batches to the far ends without keeping the events (it runs for
    days); a test keeps them, to read what each far end saw."""
    feed = box.sim.feed

    def keeping(batch):
        box.sim.events.extend(batch.events)
        return feed(batch)
    box.sim.feed = keeping


def queue_a_caller(box: Box, queue: str, line: str = "line1") -> None:
    """A caller rings and walks the menus to the queue: 1 then 1 for sales, 2 then 1 for support."""
    box.callers[line].ring("0501234567", "PETRENKO O")
    run_until(box, lambda: call(box, line) is not None and call(box, line).flow is not None
              and call(box, line).flow.waiting == "ask")
    for key in ("1", "1") if queue == "sales" else ("2", "1"):
        run_until(box, lambda: box.engine.state(box.ports[line]) in ("playing", "collecting"))
        box.callers[line].press(key)
        box.run(1.0, paced=False)
    run_until(box, lambda: call(box, line).queue == queue, 10)


def the_agents_phone_is_keying(box: Box, phone: str):
    """Dial tone at the phone, the box waiting for keys."""
    def dialling():
        s = box.supervisor.sessions.get(box.ports[phone])
        return s is not None and s.state == "dialling" and box.engine.state(box.ports[phone]) == "playing"
    return dialling


def key_code(box: Box, phone: str, digits: str) -> np.ndarray:
    """The agent lifts the handset, waits for dial tone and keys the code; what the
    phone heard before the first key (if it records)."""
    p = box.phones[phone]
    p.pick_up()
    run_until(box, the_agents_phone_is_keying(box, phone), 5)
    start = len(p.heard())
    box.run(0.5, paced=False)
    p.press(digits)
    return p.heard()[start:]


def is_dial_tone(pcm: np.ndarray, plan_hz: float = 425.0) -> bool:
    """Loud enough, and its power at the plan's dial-tone frequency (Ukraine: 425 Hz)."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * 8000.0 / len(pcm)
    return level_dbm0(pcm) > -25.0 and abs(peak_hz - plan_hz) < 10.0


def heard(box: Box, phone: str, library, what, lang: str = "en", since: int = 0):
    """Which of the things an agent can be told the phone heard since sample `since`."""
    known = {}
    for name, cmd in (("logged-in", Tell("available")), ("logged-in-busy", Tell("busy")),
                      ("logged-out", Tell("logged-out")),
                      ("paused-lunch", Tell("paused", "lunch")), ("wrong-pin", Refuse("wrong-pin")),
                      ("wrong-code", Refuse("wrong-code"))):
        known[name] = np.concatenate([p.pcm for p in library.say(featurecode.prompt(cmd, lang))])
    audio = box.phones[phone].heard()[since:]
    name, score = identify_prompt(audio, {k: v for k, v in known.items()})
    return name == what, (name, score)


def test_feature_codes_log_out_pause_and_back_at_the_agents_phone(make_box, library):
    box = make_box(AT_PHONES)
    acd = box.supervisor.acd
    desk1 = box.phones["desk1"]
    desk1.capture()
    before_keys = key_code(box, "desk1", "*72")
    run_until(box, lambda: acd.agents["olena"].state == "logged-out", 5)
    assert is_dial_tone(before_keys)
    box.run(3.0, paced=False)                             # the confirmation is said
    ok, why = heard(box, "desk1", library, "logged-out")
    assert ok, why
    desk1.hangup()

    # Ivan pauses for lunch with the reason's key; the console shows it.
    box.phones["desk2"].capture()
    key_code(box, "desk2", "*732")
    run_until(box, lambda: acd.agents["ivan"].state == "paused", 5)
    box.run(3.0, paced=False)
    ok, why = heard(box, "desk2", library, "paused-lunch")
    assert ok, why
    box.phones["desk2"].hangup()
    box.command("show agents")
    assert re.search(r"ivan\s+paused\s+lunch", box.out.getvalue())

    # Logged out and paused: a caller waits, and neither phone rings.
    queue_a_caller(box, "sales")
    box.run(5.0, paced=False)
    assert box.engine.state(box.ports["desk1"]) == "idle" and box.engine.state(box.ports["desk2"]) == "idle"
    assert acd.waiting("sales") == [call(box).key]

    # Olena logs in with her PIN: logged in, with a call (the caller waiting); she is
    # rung for it once she puts the phone down.
    start = len(desk1.heard())
    key_code(box, "desk1", "*711234#")
    run_until(box, lambda: acd.agents["olena"].state == "ringing", 5)
    box.run(6.0, paced=False)
    ok, why = heard(box, "desk1", library, "logged-in-busy", since=start)
    assert ok, why
    assert box.phones["desk1"].state != "ringing"
    desk1.hangup()
    run_until(box, lambda: desk1.state == "ringing", 5)
    desk1.answer()
    run_until(box, lambda: call(box).agent == "olena", 5)

    # Ivan comes back with the unpause code.
    key_code(box, "desk2", "*74")
    run_until(box, lambda: acd.agents["ivan"].state == "available", 5)
    box.phones["desk2"].hangup()
    kinds = [(e.agent, e.kind, e.detail, e.source) for e in box.log.agent_events() if e.source != "start"]
    assert kinds == [("olena", "logout", "", "desk1"), ("ivan", "pause", "lunch", "desk2"),
                     ("olena", "login", "", "desk1"), ("ivan", "unpause", "", "desk2")]


def test_three_wrong_pins_are_told_and_the_phone_is_hung_up(make_box, library):
    box = make_box(AT_PHONES)
    acd = box.supervisor.acd
    box.supervisor.agent_do("olena", "logout", source="console")
    desk1 = box.phones["desk1"]
    desk1.capture()
    key_code(box, "desk1", "*710000#")
    for _ in range(2):
        box.run(1.0, paced=False)                         # error tone, "login incorrect", dial tone again
        run_until(box, the_agents_phone_is_keying(box, "desk1"), 10)
        box.run(0.5, paced=False)
        desk1.press("*719999#")
    run_until(box, lambda: any(e.kind == "hangup" for e in desk1.events()), 15)
    ok, why = heard(box, "desk1", library, "wrong-pin")
    assert ok, why
    assert acd.agents["olena"].state == "logged-out"
    assert [e.kind for e in box.log.agent_events("olena")] == ["login", "logout"] + ["wrong-pin"] * 3
    assert not box.supervisor.sessions
    desk1.hangup()
    # Put down, the phone takes the next lift afresh.
    box.run(0.5, paced=False)
    key_code(box, "desk1", "*711234#")
    run_until(box, lambda: acd.agents["olena"].state == "available", 5)


def test_a_wrong_code_then_the_right_one(make_box, library):
    box = make_box(AT_PHONES)
    desk2 = box.phones["desk2"]
    desk2.capture()
    key_code(box, "desk2", "*79")
    box.run(5.0, paced=False)
    ok, why = heard(box, "desk2", library, "wrong-code")
    assert ok, why
    run_until(box, the_agents_phone_is_keying(box, "desk2"), 5)
    box.run(0.5, paced=False)
    desk2.press("*72")
    run_until(box, lambda: box.supervisor.acd.agents["ivan"].state == "logged-out", 5)
    assert [e.kind for e in box.log.agent_events("ivan")] == ["login", "wrong-code", "logout"]


def exchange(box: Box, line: str):
    far = box.callers[line]
    far.listen(tones=True, digits=True)
    far.capture()
    return far


def digits_seen(far) -> str:
    return "".join(e.digit for e in far.events("digit"))


def test_an_outside_agent_takes_the_call_with_a_key_and_talks(make_box, library):
    box = make_box(OUTSIDE)
    acd = box.supervisor.acd
    far = exchange(box, "line4")                          # the box dials out on the last free line
    queue_a_caller(box, "sales")
    run_until(box, lambda: digits_seen(far) == "0501112233", 10)
    assert acd.agents["maria"].state == "ringing" and box.supervisor.legs["maria"].port == box.ports["line4"]
    box.run(6.0, paced=False)                             # maria picks up and hears the offer
    offer = np.concatenate([p.pcm for p in library.say(featurecode.offer("sales", "1", "en"))])
    name, score = identify_prompt(far.heard(), {"offer": offer})
    assert name == "offer", score
    assert call(box).agent is None                        # no answer signal: not connected yet
    far.press("1")
    run_until(box, lambda: call(box).agent == "maria", 5)
    run_until(box, lambda: box.engine.state(box.ports["line1"]) == "bridged", 2)
    # The caller speaks; maria hears them across the two lines.
    before = len(far.heard())
    t = np.arange(8000) / 8000.0
    box.callers["line1"].send((3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    box.run(1.2, paced=False)
    assert level_dbm0(far.heard()[before:]) > -35.0
    # Maria hangs up: the caller is hung up on, the line goes back, she wraps up.
    far.hangup()
    run_until(box, lambda: call(box) is None, 5)
    run_until(box, lambda: box.engine.state(box.ports["line4"]) == "idle", 5)
    assert box.log.calls(limit=1)[0].outcome == "answered"
    assert acd.agents["maria"].state in ("wrap-up", "available") and not box.supervisor.legs
    kinds = [e.kind for e in box.log.events(box.log.calls(limit=1)[0].id)]
    assert "dial-out" in kinds and "connected" in kinds and "agent-hangup" in kinds


def test_an_outside_agent_who_never_presses_is_a_ring_no_answer(make_box, library):
    box = make_box(OUTSIDE)
    acd = box.supervisor.acd
    far = exchange(box, "line4")
    queue_a_caller(box, "sales")
    run_until(box, lambda: acd.agents["maria"].state == "ringing", 10)
    # A voicemail picks up and records: no key, so it never takes the call. After the
    # ring time the line goes back, and the caller keeps their place.
    run_until(box, lambda: far.events("hangup"), 20)
    assert acd.agents["maria"].misses == 1
    assert call(box).agent is None and acd.waiting("sales") == [call(box).key]
    # Rung again, missed again: paused for no answer, the line back, the caller waiting.
    run_until(box, lambda: acd.agents["maria"].state == "paused", 40)
    box.run(0.5, paced=False)
    assert acd.agents["maria"].reason == "no answer" and len(far.events("hangup")) == 2
    assert box.engine.state(box.ports["line4"]) == "idle" and not box.supervisor.legs
    assert ("maria", "pause", "no answer", "acd") in [(e.agent, e.kind, e.detail, e.source)
                                                      for e in box.log.agent_events()]
    assert acd.waiting("sales") == [call(box).key]
    row = call(box).log_id
    box.callers["line1"].hangup()
    run_until(box, lambda: call(box) is None, 5)
    # The log says which rings went unanswered, for the agents' report.
    assert [e.detail for e in box.log.events(row) if e.kind == "ring-no-answer"] == ["maria", "maria"]


def test_a_caller_who_hangs_up_while_the_outside_agent_is_offered_frees_the_line(make_box):
    box = make_box(OUTSIDE)
    far = exchange(box, "line4")
    queue_a_caller(box, "sales")
    run_until(box, lambda: digits_seen(far) == "0501112233", 10)
    box.callers["line1"].hangup()
    run_until(box, lambda: call(box) is None, 5)
    run_until(box, lambda: box.engine.state(box.ports["line4"]) == "idle", 5)
    assert box.supervisor.acd.agents["maria"].state == "available" and not box.supervisor.legs


def test_no_free_line_the_outside_agent_is_rung_when_one_frees(make_box):
    box = make_box(OUTSIDE)
    sup = box.supervisor
    # Lines 2 to 4 are busy with callers for support, whom olena does not take.
    sup.agent_do("olena", "pause", "meeting")
    for ln in ("line2", "line3", "line4"):
        queue_a_caller(box, "support", line=ln)
    far3 = exchange(box, "line3")
    queue_a_caller(box, "sales")
    run_until(box, lambda: sup.acd.agents["maria"].state == "ringing", 5)
    box.run(2.0, paced=False)
    assert not sup.legs and "maria" in sup.deferred
    assert "no-line" in [e.kind for e in box.log.events(call(box).log_id)]
    box.callers["line3"].hangup()                          # a line frees within the ring time
    run_until(box, lambda: digits_seen(far3) == "0501112233", 10)
    assert sup.legs["maria"].port == box.ports["line3"]


def test_an_extension_agent_is_reached_by_a_hook_flash_transfer(make_box):
    box = make_box(EXTENSION)
    acd = box.supervisor.acd
    far = exchange(box, "line1")
    queue_a_caller(box, "sales")
    run_until(box, lambda: call(box) is None, 10)
    box.run(0.2, paced=False)
    # The exchange side (the office's PBX) saw the flash, then the extension keyed,
    # then the box hang up.
    flash = far.events("flash")
    assert len(flash) == 1
    after = [e.digit for e in far.events("digit") if e.sample > flash[0].sample]
    assert "".join(after) == "204"
    assert far.events("hangup") and far.events("hangup")[-1].sample > flash[0].sample
    row = box.log.calls(limit=1)[0]
    assert row.outcome == "transferred"
    assert ("transferred", "204") in [(e.kind, e.detail) for e in box.log.events(row.id)]
    # The box cannot see the call end: petro is busy for his busy_s (no history yet),
    # then wraps up, then is available.
    t0 = box.engine.now_ms
    assert acd.agents["petro"].state == "on-call"
    box.run(35.0, paced=False)
    assert acd.agents["petro"].state == "on-call"
    run_until(box, lambda: acd.agents["petro"].state != "on-call", 10)
    assert 39.0 <= (box.engine.now_ms - t0) / 1000 <= 41.0
    assert acd.agents["petro"].state == "wrap-up"
    run_until(box, lambda: acd.agents["petro"].state == "available", 15)
    assert box.engine.state(box.ports["line1"]) == "idle"


def test_after_a_transfer_the_agent_is_busy_for_the_queues_handle_time(make_box):
    box = make_box(EXTENSION)
    for _ in range(12):
        box.supervisor.waits["sales"].handled(20.0)
    queue_a_caller(box, "sales")
    run_until(box, lambda: call(box) is None, 10)
    t0 = box.engine.now_ms
    run_until(box, lambda: box.supervisor.acd.agents["petro"].state != "on-call", 30)
    assert 19.0 <= (box.engine.now_ms - t0) / 1000 <= 21.0


def test_a_second_caller_waits_for_the_transferred_agent(make_box):
    box = make_box(EXTENSION)
    far2 = exchange(box, "line2")
    queue_a_caller(box, "sales")
    run_until(box, lambda: call(box) is None, 10)
    queue_a_caller(box, "sales", line="line2")
    box.run(10.0, paced=False)
    assert call(box, "line2").agent is None and not far2.events("flash")
    run_until(box, lambda: call(box, "line2") is None, 60)   # busy 40 s, wrap-up 10 s: then his
    assert far2.events("flash") and box.log.calls(limit=1)[0].outcome == "transferred"


def test_agents_logged_in_at_start_and_at_a_clean_stop_are_in_the_agent_log(make_box):
    """Reports count logged-in time from the agent log: a session the box began at its
    start, and one a clean stop ended, are there like any other."""
    box = make_box(OUTSIDE)
    started = [(e.agent, e.kind, e.source) for e in box.log.agent_events()]
    names = sorted(n for n in box.supervisor.acd.agents if n in {a.name for a in box.office.agents})
    assert sorted(a for a, k, s in started if (k, s) == ("login", "start")) == names
    box.supervisor.agent_do(names[0], "logout")
    box.supervisor.stop()
    box.supervisor.stop()                       # the box's close after a stop adds nothing
    stopped = [e.agent for e in box.log.agent_events() if (e.kind, e.source) == ("logout", "stop")]
    assert sorted(stopped) == names[1:]
