"""Recording a call through the engine's tap into a 2-channel WAV file."""
import wave

import numpy as np

from appliance.engine import Play
from appliance.recording import Recorder
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
