"""The live demo of `make run`, free-running: every step of the call shows up."""
import io

from appliance import demo


def test_demo_call_runs_through():
    out = io.StringIO()
    demo.run(paced=False, out=out)
    text = out.getvalue()
    print(text)
    for expected in ("line 1: ring 1", "line 1: caller ID 5550142 (IVANOV I)", "box answers on the second ring",
                     "line 1: play-done (interrupted)", "line 1: digit 1", "collected (terminator) '102'",
                     "agent's phone: caller ID 5550142", "caller: tone ringback on", "phone port 1: answered",
                     "line 1: hangup by busy-tone", "demo over"):
        assert expected in text, expected
