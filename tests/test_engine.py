"""The engine through its Python API: line states, commands, events, bad input."""
import numpy as np
import pytest

from appliance.binding import (ArgumentError, ChannelError, KindError, PlanError, PromptError,
                               StateError)
from appliance.engine import CallerID, ChannelConfig, Engine, Line, Play, SimBoard, tone_plans
from appliance.sim import SimOffice, level_dbm0


def tone(freq, ms, level=8000):
    t = np.arange(int(ms * 8)) / 8000.0
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_plans_known():
    assert set(tone_plans()) >= {"itu", "ru", "ua", "us"}


def test_incoming_call_states(office):
    port, caller = office.lines[0], office.callers[0]
    assert office.engine.state(port) == "idle"
    caller.ring("5551234", "ACME")
    office.run_until(lambda e: e.channel == port and e.kind == "ring")
    assert office.engine.state(port) == "ringing"
    office.run_until(lambda e: e.channel == port and e.kind == "ring" and e.a == 2, timeout_ms=10000)
    office.engine.answer(port)
    office.run(40)
    assert office.engine.state(port) == "offhook"
    assert [e.kind for e in office.of(caller.channel)] == ["offhook"]
    assert office.of(caller.channel)[0].a == 1          # answered while ringing
    pid = office.engine.add_prompt(tone(700, 500))
    office.engine.play(port, [Play.of_prompt(pid)])
    assert office.engine.state(port) == "playing"
    done = office.run_until(lambda e: e.channel == port and e.kind == "play-done")
    assert done.reason == "complete"
    office.engine.collect(port, 3, "#", first_timeout_ms=1000, inter_timeout_ms=1000)
    assert office.engine.state(port) == "collecting"
    ev = office.run_until(lambda e: e.channel == port and e.kind == "collected")
    assert ev.reason == "timeout" and ev.text == ""
    caller.hangup()
    ev = office.run_until(lambda e: e.channel == port and e.kind == "hangup")
    assert ev.cause == "loop-break"
    assert office.engine.state(port) == "hungup"
    office.engine.hangup(port)
    assert office.engine.state(port) == "idle"


def test_ring_timeout_when_caller_gives_up(office):
    port, caller = office.lines[0], office.callers[0]
    caller.ring()
    office.run_until(lambda e: e.channel == port and e.kind == "ring")
    office.run(2000)
    caller.hangup()         # the exchange stops ringing: the caller gave up
    ev = office.run_until(lambda e: e.channel == port and e.kind == "ring-timeout", timeout_ms=20000)
    assert ev is not None
    assert office.engine.state(port) == "idle"


def test_collect_with_terminator_and_max(office):
    port = office.lines[0]
    caller = office.call_in()
    office.engine.collect(port, 4, "#")
    caller.press("12#")
    ev = office.run_until(lambda e: e.channel == port and e.kind == "collected")
    assert (ev.text, ev.reason) == ("12", "terminator")
    office.engine.collect(port, 3, "#")
    office.run_until(lambda e: e.channel == caller.channel and e.kind == "digits-sent")
    caller.press("98765")
    ev = office.run_until(lambda e: e.channel == port and e.kind == "collected")
    assert (ev.text, ev.reason) == ("987", "max")


def test_first_digit_timeout_waits_for_prompt_end(office):
    port = office.lines[0]
    office.call_in()
    pid = office.engine.add_prompt(tone(500, 2000))
    start = office.now_ms
    office.engine.play(port, [Play.of_prompt(pid)])
    office.engine.collect(port, 2, "#", first_timeout_ms=1000, inter_timeout_ms=1000)
    ev = office.run_until(lambda e: e.channel == port and e.kind == "collected")
    assert ev.reason == "timeout"
    assert ev.ms - start == pytest.approx(3000, abs=60)


def test_barge_in_stops_interruptible_prompt(office):
    port = office.lines[0]
    caller = office.call_in()
    pid = office.engine.add_prompt(tone(600, 5000, 3000))
    office.engine.play(port, [Play.of_prompt(pid)], interruptible=True)
    office.engine.collect(port, 1)
    office.run(500)
    caller.press("5")
    ev = office.run_until(lambda e: e.channel == port and e.kind == "play-done")
    assert ev.reason == "interrupted"
    assert office.run_until(lambda e: e.channel == port and e.kind == "collected").text == "5"


def test_uninterruptible_prompt_plays_on(office):
    port = office.lines[0]
    caller = office.call_in()
    pid = office.engine.add_prompt(tone(600, 1500, 3000))
    office.engine.play(port, [Play.of_prompt(pid)])
    office.run(300)
    caller.press("5")
    ev = office.run_until(lambda e: e.channel == port and e.kind == "play-done")
    assert ev.reason == "complete"
    assert [e.digit for e in office.of(port, "digit")] == ["5"]


def test_bridge_carries_audio_both_ways():
    with SimOffice(lines=2, line=Line()) as o:
        a, b = o.lines
        ca = o.call_in(0)
        cb = o.call_in(1)
        o.engine.bridge(a, b)
        assert o.engine.state(a) == "bridged"
        cb.capture()
        ca.send(tone(1000, 1000))
        o.run(1200)
        heard = cb.heard()
        assert level_dbm0(heard[2000:6000]) > -25
        o.engine.unbridge(a)
        assert o.engine.state(b) == "offhook"


def test_hangup_of_bridged_party_frees_the_other():
    with SimOffice(lines=2) as o:
        a, b = o.lines
        ca = o.call_in(0)
        o.call_in(1)
        o.engine.bridge(a, b)
        ca.hangup()
        o.run_until(lambda e: e.channel == a and e.kind == "hangup")
        assert o.engine.state(b) == "offhook"


@pytest.mark.parametrize("signal,cause", [("loop-break", "loop-break"), ("polarity", "polarity"),
                                          ("busy-tone", "busy-tone")])
def test_far_hangup_signals(signal, cause):
    with SimOffice(lines=1, line=Line(hangup=signal)) as o:
        caller = o.call_in()
        caller.hangup()
        ev = o.run_until(lambda e: e.channel == o.lines[0] and e.kind == "hangup", timeout_ms=5000)
        assert ev is not None and ev.cause == cause
        o.engine.hangup(o.lines[0])
        o.run(100)
        assert o.engine.state(caller.channel) == "idle"


def test_ringing_a_phone_with_caller_id_and_answer(office):
    port, agent = office.phones[0], office.agents[0]
    office.engine.configure(agent.channel, ChannelConfig(cid="v23"))
    office.engine.ring(port, CallerID("5550142", "IVANOV"), "v23")
    ev = office.run_until(lambda e: e.channel == agent.channel and e.kind == "callerid", timeout_ms=8000)
    assert (ev.text, ev.text2) == ("5550142", "IVANOV")
    agent.answer()
    ev = office.run_until(lambda e: e.channel == port and e.kind == "offhook")
    assert ev.a == 1
    agent.flash()
    assert office.run_until(lambda e: e.channel == port and e.kind == "flash") is not None
    agent.hangup()
    ev = office.run_until(lambda e: e.channel == port and e.kind == "hangup")
    assert ev.cause == "onhook"


def test_dial_out_and_call_progress(office):
    port, exchange = office.lines[0], office.callers[0]
    exchange.listen(tones=False, digits=True)
    office.engine.seize(port)
    assert office.engine.state(port) == "dialing"
    office.run_until(lambda e: e.channel == exchange.channel and e.kind == "offhook")
    office.engine.play(exchange.channel, [Play.of_tone("dial")])
    ev = office.run_until(lambda e: e.channel == port and e.kind == "tone", timeout_ms=4000)
    assert ev.tone == "dial"
    office.engine.dial(port, "5550199")
    office.run_until(lambda e: e.channel == port and e.kind == "dialed")
    assert "".join(e.digit for e in office.of(exchange.channel, "digit")) == "5550199"
    office.engine.play(exchange.channel, [Play.of_tone("busy")])
    ev = office.run_until(lambda e: e.channel == port and e.kind == "tone" and e.tone == "busy", timeout_ms=4000)
    assert ev is not None
    # Busy tone while dialing is call progress, not a hangup.
    assert office.engine.state(port) == "dialing"


def test_alarm_takes_line_out_of_service_and_back(office):
    port = office.lines[0]
    office.call_in()
    office.board.alarm(port, True)
    office.run(40)
    assert office.engine.state(port) == "out-of-service"
    with pytest.raises(StateError, match="out of service"):
        office.engine.play(port, [Play.of_tone("dial")])
    office.board.alarm(port, False)
    office.run(40)
    assert office.engine.state(port) == "idle"
    assert [e.kind for e in office.of(port)][-2:] == ["alarm", "noalarm"]


def test_recording_tap_hands_frames_to_python(office):
    port = office.lines[0]
    caller = office.call_in()
    office.engine.tap(port, True)
    pid = office.engine.add_prompt(tone(440, 400))
    office.engine.play(port, [Play.of_prompt(pid)])
    batch = office.engine.run(10)
    assert batch.taps is not None and len(batch.taps) == 10
    assert set(batch.taps["chan"]) == {port}
    assert level_dbm0(batch.taps["tx"].reshape(-1)) > -20


# -- bad input: a clear exception, and the engine goes on serving other channels -------

def test_bad_channel_numbers(office):
    with pytest.raises(ChannelError, match="channel 99 does not exist"):
        office.engine.answer(99)
    with pytest.raises(ChannelError, match="channel 0 does not exist"):
        office.engine.hangup(0)
    with pytest.raises(ChannelError):
        office.engine.state(-3)


def test_commands_in_wrong_state(office):
    port = office.lines[0]
    with pytest.raises(StateError, match=f"channel {port}: cannot answer while idle"):
        office.engine.answer(port)
    with pytest.raises(StateError, match="cannot play while idle"):
        office.engine.play(port, [Play.of_tone("dial")])
    with pytest.raises(StateError, match="cannot collect digits while idle"):
        office.engine.collect(port, 4)
    with pytest.raises(KindError, match="cannot ring on a FXO line"):
        office.engine.ring(port)
    with pytest.raises(KindError, match="cannot answer on a FXS port"):
        office.engine.answer(office.phones[0])


def test_unknown_tone_plan_and_bad_config(office):
    port = office.lines[0]
    with pytest.raises(PlanError, match="unknown tone plan 'xx'"):
        office.engine.configure(port, ChannelConfig(plan="xx"))
    with pytest.raises(ArgumentError, match="unknown law"):
        office.engine.configure(port, ChannelConfig(law="slinear"))
    with pytest.raises(ArgumentError, match="ring timeout"):
        office.engine.configure(port, ChannelConfig(ring_timeout_ms=5))
    with pytest.raises(ArgumentError, match="twist"):
        office.engine.configure(port, ChannelConfig(dtmf_twist=50))
    with pytest.raises(ArgumentError, match="echo canceller length 100 is not a multiple of 8"):
        office.engine.configure(port, ChannelConfig(echocan_taps=100))
    with pytest.raises(KindError, match="only the box's ports have an echo canceller"):
        office.engine.configure(office.callers[0].channel, ChannelConfig(echocan_taps=128))
    # After all that the port still works, with its canceller off or on.
    office.engine.configure(port, ChannelConfig(echocan_taps=0))
    office.engine.configure(port, ChannelConfig(echocan_taps=256))


def test_echo_canceller_on_an_echo_line():
    """The port hears its own prompt come back 12 dB down without the canceller, and
    at least 20 dB less of it with it, once the canceller has learnt the line."""
    noise = np.random.default_rng(7).normal(0, 3000, 8000 * 4).astype(np.int16)
    heard = {}
    for taps in (0, 128):
        o = SimOffice(lines=1, line=Line(noise_dbm0=-70.0, echo_delay_ms=8, echo_return_loss_db=12.0),
                      port_config=ChannelConfig(echocan_taps=taps))
        with o:
            o.call_in()
            port = o.lines[0]
            o.engine.tap(port)
            o.engine.play(port, [Play.of_prompt(o.engine.add_prompt(noise))])
            rx = []
            for _ in range(200):
                batch = o.engine.run(1)
                if batch.taps is not None:
                    rx.append(batch.taps[batch.taps["chan"] == port]["rx"].reshape(-1))
            heard[taps] = level_dbm0(np.concatenate(rx)[-8000 * 2:])
    print(f"\nprompt's echo heard by the port: {heard[0]:.1f} dBm0 without the canceller, "
          f"{heard[128]:.1f} dBm0 with it")
    assert heard[0] - heard[128] >= 20.0


def test_bad_play_lists_and_prompts(office):
    port = office.lines[0]
    office.call_in()
    with pytest.raises(PromptError, match="prompt 77, which does not exist"):
        office.engine.play(port, [Play.of_prompt(77)])
    with pytest.raises(ArgumentError, match="unknown tone"):
        office.engine.play(port, [Play.of_tone("whistle")])
    with pytest.raises(ArgumentError, match="only the last tone"):
        office.engine.play(port, [Play.of_tone("dial"), Play.of_silence(100)])
    with pytest.raises(ArgumentError, match="digits must be"):
        office.engine.play(port, [Play.of_digits("12x")])
    with pytest.raises(ArgumentError):
        office.engine.play(port, [])
    with pytest.raises(Exception, match="1 sample to 1 hour"):
        office.engine.add_prompt(np.zeros(0, dtype=np.int16))
    pid = office.engine.add_prompt(tone(500, 1000))
    office.engine.play(port, [Play.of_prompt(pid)])
    with pytest.raises(PromptError, match=f"prompt {pid} is playing"):
        office.engine.remove_prompt(pid)
    office.engine.stop(port)
    office.engine.remove_prompt(pid)


def test_bad_digits_and_caller_id(office):
    caller = office.callers[0]
    with pytest.raises(ArgumentError, match="longer than 32"):
        caller.ring("1" * 40)
    with pytest.raises(ArgumentError, match="caller ID number"):
        caller.ring("55\n51")
    office.call_in()
    with pytest.raises(ArgumentError, match="digits must be"):
        caller.press("12Z")
    with pytest.raises(ArgumentError):
        caller.press("1", level_dbm0=20)


def test_engine_serves_other_channels_after_errors():
    with SimOffice(lines=2) as o:
        a, b = o.lines
        cb = o.call_in(1)
        for bad in (lambda: o.engine.answer(a), lambda: o.engine.play(a, [Play.of_prompt(5)]),
                    lambda: o.engine.bridge(a, a), lambda: o.engine.collect(b, 0)):
            with pytest.raises(Exception):
                bad()
        o.engine.collect(b, 2)
        cb.press("42")
        ev = o.run_until(lambda e: e.channel == b and e.kind == "collected")
        assert ev.text == "42"


def test_board_misuse():
    with pytest.raises(ArgumentError):
        SimBoard(1)
    b = SimBoard(4)
    with pytest.raises(ChannelError, match="two different channels"):
        b.connect(1, 1)
    with pytest.raises(ArgumentError, match="unknown port kind"):
        b.connect(1, 2, "e1")
    with pytest.raises(ArgumentError, match="line parameters"):
        b.connect(1, 2, "fxo", Line(loss_db=-5))
    b.connect(1, 2, "fxo")
    with pytest.raises(StateError, match="already connected"):
        b.connect(2, 3, "fxo")
    e = Engine(b)
    with pytest.raises(ArgumentError, match="before the engine starts"):
        b.connect(3, 4, "fxs")
    e.close()


# -- the signalling-only board ------------------------------------------------------------

def test_signalling_only_call():
    cfg = ChannelConfig(cid="v23")
    with SimOffice(lines=1, audio=False, port_config=cfg, line=Line(hangup="busy-tone")) as o:
        port, caller = o.lines[0], o.callers[0]
        caller.ring("5550001", "SIG")
        ev = o.run_until(lambda e: e.channel == port and e.kind == "callerid", timeout_ms=8000)
        assert (ev.text, ev.text2) == ("5550001", "SIG")
        o.run_until(lambda e: e.channel == port and e.kind == "ring" and e.a == 2, timeout_ms=8000)
        o.engine.answer(port)
        o.run_until(lambda e: e.channel == caller.channel and e.kind == "offhook")
        pid = o.engine.add_prompt(np.zeros(8000, dtype=np.int16))
        t0 = o.now_ms
        o.engine.play(port, [Play.of_prompt(pid)], interruptible=True)
        o.engine.collect(port, 3, "#")
        ev = o.run_until(lambda e: e.channel == caller.channel and e.kind == "heard")
        assert ev.describe() == f"heard prompt {pid}"
        done = o.run_until(lambda e: e.channel == port and e.kind == "play-done")
        assert done.ms - t0 == pytest.approx(1000, abs=20)     # a prompt takes as long as its audio
        caller.press("12#")
        ev = o.run_until(lambda e: e.channel == port and e.kind == "collected")
        assert (ev.text, ev.reason) == ("12", "terminator")
        caller.hangup()             # the exchange plays busy tone, and the port hears it
        ev = o.run_until(lambda e: e.channel == port and e.kind == "hangup")
        assert ev.cause == "busy-tone"


def test_events_read_from_a_batch_as_c_wrote_them():
    """The batch is unpacked from its bytes: every field and text as the C structs hold
    them, read as cffi reads them, with unknown types by number."""
    from appliance.binding import ffi
    from appliance.engine import EVENTS, Event, _events

    evs = ffi.new("engine_event_t[]", 4)
    evs[0].type, evs[0].chan, evs[0].sample = 7, 3, 2 ** 40
    evs[0].a, evs[0].b, evs[0].c = ord("5"), -5, -2 ** 31
    evs[1].type, evs[1].text, evs[1].text2 = 3, b"5551234", b"N" * 39
    evs[2].type, evs[2].text, evs[2].text2 = 99, b"x" * 40, bytes([0xE9, 0x41])
    evs[3].type = 8
    got = _events(evs, 4)
    for ev, raw in zip(got, evs):
        want = Event(EVENTS.get(raw.type, str(raw.type)), raw.chan, raw.sample, raw.a, raw.b, raw.c,
                     ffi.string(raw.text).decode("ascii", "replace"),
                     ffi.string(raw.text2).decode("ascii", "replace"))
        assert ev == want and hash(ev) == hash(want) and repr(ev) == repr(want)
    assert got[0].digit == "5" and got[2].kind == "99" and got[2].text == "x" * 40
    with pytest.raises(AttributeError):
        got[0].a = 1        # still frozen
