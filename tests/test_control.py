"""The control protocol: its framing fed bytes, and real sockets on a box running on the
simulated board: sessions, replies, notices, and garbage that hurts nobody."""
import io
import json
import socket
import subprocess
import sys
import time

import pytest

from appliance import config, control
from appliance.box import DEMO_OFFICE, Box, ControlServer


def test_framing_whole_lines_too_long_lines_and_bad_requests():
    f = control.Framer()
    assert f.feed(b'{"op": "run", "li') == []
    assert f.feed(b'ne": "x"}\n{"op"') == [b'{"op": "run", "line": "x"}']
    assert f.feed(b"x" * (control.MAX_LINE + 10)) == ["a line longer than 64 KiB"]
    assert f.feed(b"yyy\n" + b'{"op": "close"}\n') == [b'{"op": "close"}']
    for line, said in [(b"\xff\xfe", "not UTF-8"), (b"{nope", "not JSON"), (b"[1]", "a JSON object"),
                       (b'{"op": "reboot"}', "unknown op 'reboot'"), (b'{"op": "run"}', 'run needs a "line"'),
                       (b'{"op": "open", "user": 5}', '"user" must be'), (b"[" * 100000, "not JSON")]:
        with pytest.raises(ValueError, match=said):
            control.request(line)


@pytest.fixture
def served(tmp_path):
    f = tmp_path / "office.toml"
    f.write_text(DEMO_OFFICE.read_text(encoding="utf-8"), encoding="utf-8")
    box = Box(config.load(str(f)), tmp_path / "calls.db", out=io.StringIO())
    box.supervisor.hours_override = True
    box.server = ControlServer(box, str(tmp_path / "run" / "control.sock"))
    yield box
    box.close()


class Client:
    def __init__(self, box, path):
        self.box = box
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.setblocking(False)
        self.buf = b""
        self.notices = []

    def send(self, obj_or_bytes):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else (json.dumps(obj_or_bytes) + "\n").encode()
        self.s.sendall(data)

    def replies(self, n=1, limit_s=5.0):
        """The next n replies (notices put aside), running the box meanwhile."""
        out = []
        end = self.box.engine.now_ms + limit_s * 1000
        while len(out) < n and self.box.engine.now_ms < end:
            self.box.run(0.02, paced=False)
            try:
                chunk = self.s.recv(1 << 16)
                if not chunk:
                    break
                self.buf += chunk
            except BlockingIOError:
                pass
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                obj = json.loads(line)
                (self.notices if "notice" in obj else out).append(obj)
        return out

    def ask(self, obj):
        self.send(obj)
        [r] = self.replies()
        return r


def test_a_session_over_the_socket(served):
    c = Client(served, served.server.path)
    r = c.ask({"op": "open", "user": "ana", "source": "ttyS0"})
    assert r["prompt"] == "demo-trading-ltd> " and "ana on ttyS0" in r["text"]
    r = c.ask({"op": "run", "line": "sh ag"})
    assert "olena        available" in r["text"] and r["page"] is True and r["quit"] is False
    assert c.ask({"op": "help", "line": "show q"})["text"].startswith("  queues")
    assert c.ask({"op": "complete", "line": "agent i"}) == {"candidates": ["ivan"]}
    assert c.ask({"op": "run", "line": "conf t"})["prompt"] == "demo-trading-ltd(config)# "
    r = c.ask({"op": "run", "line": "set queue.sales.ring_s 999"})
    assert r["prompt"] == "demo-trading-ltd(config*)# "
    assert c.ask({"op": "run", "line": "commit"})["text"].startswith("% queue.sales.ring_s: 999.0 is out of range")


def test_two_sessions_have_their_own_modes_and_notices_reach_them(served):
    a, b = Client(served, served.server.path), Client(served, served.server.path)
    a.ask({"op": "open", "user": "ana", "source": "ttyS0"})
    b.ask({"op": "open", "user": "bob", "source": "pts/1"})
    a.ask({"op": "run", "line": "configure"})
    assert b.ask({"op": "run", "line": "show clock"})["prompt"] == "demo-trading-ltd> "
    a.ask({"op": "run", "line": "set prompts.welcome.en Trial."})
    assert "rolls back by itself in 1 min" in a.ask({"op": "run", "line": "commit confirmed 1"})["text"]
    a.replies(n=1, limit_s=62)          # nothing to reply to: the box runs past the minute
    b.replies(n=1, limit_s=0.5)
    for c in (a, b):
        assert any("not confirmed in time" in n["notice"] for n in c.notices), c.notices


def test_garbage_frames_hurt_neither_the_session_nor_the_box(served):
    c = Client(served, served.server.path)
    c.send(b"not json\n")
    assert "not JSON" in c.replies()[0]["error"]
    c.send(b"\xff\xfe\x00\n")
    c.send(b"x" * (200 * 1024) + b"\n")
    errors = c.replies(2)
    assert "not UTF-8" in errors[0]["error"] and "longer than 64 KiB" in errors[1]["error"]
    assert "open the session first" in c.ask({"op": "run", "line": "show status"})["error"]
    r = c.ask({"op": "open", "user": "ana", "source": "ttyS0"})
    assert "prompt" in r
    assert "office" in c.ask({"op": "run", "line": "show status"})["text"]
    # Garbage again and again: that client is closed, the box goes on.
    c.send(b"{\n" * control.MAX_ERRORS)
    errs = c.replies(control.MAX_ERRORS)
    assert "closing" in errs[-1]["error"]
    served.run(0.2, paced=False)
    assert c.s.recv(10) == b""
    d = Client(served, served.server.path)
    assert "prompt" in d.ask({"op": "open", "user": "bob", "source": "x"})
    served.callers["line1"].ring("0501234567", "")
    served.run(8, paced=False)
    assert "line1: caller hears welcome [en]" in served.out.getvalue()


def test_a_client_that_goes_away_mid_line_closes_only_its_session(served):
    c = Client(served, served.server.path)
    c.ask({"op": "open", "user": "ana", "source": "ttyS0"})
    c.send(b'{"op": "run", "line": "sh')
    c.s.close()
    served.run(0.5, paced=False)
    assert served.server.conns == {} and served.sessions == {}


def test_appliance_run_serves_the_socket_it_is_given(tmp_path):
    sock = tmp_path / "c.sock"
    p = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--for", "30", "--log", str(tmp_path / "calls.db"),
                          "--control", str(sock)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert time.monotonic() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else ""
            time.sleep(0.1)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(str(sock))
        f = s.makefile("rwb")
        for req in ({"op": "open", "user": "ana", "source": "test"}, {"op": "run", "line": "show lines"},
                    {"op": "run", "line": "exit"}):
            f.write((json.dumps(req) + "\n").encode())
            f.flush()
            reply = json.loads(f.readline())
            assert "prompt" in reply
        assert reply["quit"] is True
        assert oct(sock.stat().st_mode & 0o777) == "0o660"
        s.close()
    finally:
        p.terminate()
        p.wait(30)
