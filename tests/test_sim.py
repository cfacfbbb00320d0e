"""The scripted far ends: what a caller hears, and telling which prompt it was."""
import numpy as np

from appliance.engine import ChannelConfig, Line, Play
from appliance.sim import SimOffice, identify_prompt, level_dbm0


def warble(seed, ms=1500):
    """A prompt-like sound: bursts of tones with a rhythm of its own."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(o) for o in out) < ms * 8:
        n = int(rng.integers(400, 1600))
        f = rng.uniform(300, 2500)
        t = np.arange(n) / 8000.0
        out.append(rng.uniform(1000, 8000) * np.sin(2 * np.pi * f * t) * np.hanning(n))
        out.append(np.zeros(int(rng.integers(80, 800))))
    return np.concatenate(out)[: ms * 8].astype(np.int16)


def test_caller_identifies_prompt_through_noisy_line():
    prompts = {f"p{i}": warble(i) for i in range(5)}
    line = Line(loss_db=6, noise_dbm0=-45, echo_delay_ms=8, echo_return_loss_db=12)
    for law in ("alaw", "ulaw"):
        with SimOffice(lines=1, line=line, port_config=ChannelConfig(law=law)) as o:
            ids = {name: o.engine.add_prompt(pcm) for name, pcm in prompts.items()}
            caller = o.call_in()
            for name in ("p3", "p0", "p4"):
                caller.capture()
                o.engine.play(o.lines[0], [Play.of_prompt(ids[name])])
                o.run_until(lambda e: e.channel == o.lines[0] and e.kind == "play-done")
                o.run(100)
                got, score = identify_prompt(caller.heard(), prompts)
                print(law, name, got, round(score, 3))
                assert got == name


def test_silence_is_no_prompt():
    prompts = {"p": warble(7)}
    with SimOffice(lines=1, line=Line(noise_dbm0=-50)) as o:
        caller = o.call_in()
        caller.capture()
        o.run(2000)
        assert level_dbm0(caller.heard()) < -45
        assert identify_prompt(caller.heard(), prompts)[0] is None


def test_far_end_hears_line_loss():
    with SimOffice(lines=1, line=Line(loss_db=10)) as o:
        caller = o.call_in()
        caller.capture()
        o.engine.play(o.lines[0], [Play.of_tone("dial", 1000)])
        o.run(1100)
        # dial tone at -10 dBm0 minus 10 dB of loss
        assert abs(level_dbm0(caller.heard()[1600:7000]) - (-20)) < 0.7
