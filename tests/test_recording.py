"""Recording through the engine's tap: a call into a 2-channel WAV file, a caller's take into a
mono one."""
import wave

import numpy as np

from appliance import wav
from appliance.engine import Play
from appliance.recording import Recorder, Take
from appliance.sim import level_dbm0


def test_recording_holds_both_directions(office, tmp_path):
    port = office.lines[0]
    caller = office.call_in()
    rec = Recorder(office.engine)
    path = tmp_path / "call.wav"
    rec.start(port, str(path))
    t = np.arange(8000) / 8000.0
    office.engine.play(port, [Play.of_prompt(office.engine.add_prompt((6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)))])
    caller.send((3000 * np.sin(2 * np.pi * 1300 * t)).astype(np.int16))
    for _ in range(60):
        rec.feed(office.engine.run(1))
    rec.stop(port)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(x) == 60 * 160
    heard, sent = x[1600:7000, 0], x[1600:7000, 1]
    assert level_dbm0(sent) > -15 and level_dbm0(heard) > -20
    # each side carries its own tone: 440 Hz sent, 1300 Hz heard
    for sig, f in ((sent, 440), (heard, 1300)):
        spec = np.abs(np.fft.rfft(sig))
        assert abs(np.argmax(spec) * 8000 / len(sig) - f) < 5


def test_a_take_holds_what_the_caller_said_from_its_start_and_is_cut_at_the_end(office, tmp_path):
    port = office.lines[0]
    caller = office.call_in()
    t = np.arange(8000) / 8000.0
    office.engine.tap(port, True)
    start = office.engine.now + 80           # mid-frame: the take begins where it was asked to
    path = tmp_path / "take.wav"
    take = Take(str(path), port, start)
    caller.send((3000 * np.sin(2 * np.pi * 1300 * t)).astype(np.int16))
    for _ in range(60):
        take.feed(office.engine.run(1).taps)
    assert take.samples == 60 * 160 - 80 and take.quiet >= 160          # the tone ended a while ago
    assert take.close(keep=7000) == 7000
    w = wav.read(str(path))
    assert w.encoding == "linear" and len(w.samples) == 7000
    spec = np.abs(np.fft.rfft(w.samples[2000:6000]))
    assert abs(np.argmax(spec) * 8000 / 4000 - 1300) < 5
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()) == (1, 2, 8000, 7000)
    assert take.close() == 7000             # closed once


def test_a_take_left_whole(tmp_path):
    take = Take(str(tmp_path / "empty.wav"), 3, 0)
    assert take.close() == 0 and len(wav.read(str(tmp_path / "empty.wav")).samples) == 0
