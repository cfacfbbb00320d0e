"""Frames keep their time with 50 manager clients connected while 120 calls run.

The scene: the demo office with 120 exchange lines (as test_supervisor_speed builds it),
every line answered and its caller moving through the menus by DTMF, one key every
4 s each. The box runs paced, as `appliance run` runs it, on this thread. Another
process holds 50 manager sessions, logged in, hearing every event, each asking for
Status (120 calls), QueueStatus and a Ping once a second.

What is measured, in one run: first SECONDS of the box without clients (the
baseline), then SECONDS with them. For each frame, how late its work ended against the
pace's deadline (its start plus one frame), and the loop's CPU per frame; the ratio
of the loop's CPU with clients to without is printed.
Target (the product's issue): no frame late by more than one frame.
"""
from __future__ import annotations

import io
import socket
import subprocess
import sys
import time

from appliance import config
from appliance.box import Box
from appliance.engine import FRAME_MS

from bench.test_supervisor_speed import KEYS, LINES, PRESS_EVERY_S, office_of

CLIENTS = 50
SECONDS = 15

CLIENTS_SCRIPT = r'''
import selectors, socket, sys, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"Action: Login\r\nUsername: crm\r\nSecret: crm-secret-1\r\n\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)
print("ready", flush=True)
got = 0
end = time.monotonic() + seconds
next_ask = time.monotonic()
while time.monotonic() < end:
    if time.monotonic() >= next_ask:
        for i, s in enumerate(socks):
            try:
                s.sendall(b"Action: Status\r\nActionID: s%d\r\n\r\nAction: QueueStatus\r\n\r\nAction: Ping\r\n\r\n" % i)
            except BlockingIOError:
                pass
        next_ask += 1.0
    for key, _ in sel.select(0.05):
        try:
            data = key.fileobj.recv(1 << 16)
        except BlockingIOError:
            continue
        got += len(data)
print(got, flush=True)
'''

AMI = '''
[ami]
enabled = true
port = {port}

[ami.users.crm]
secret = "crm-secret-1"
read = ["all"]
write = ["all"]
'''


def test_fifty_manager_clients_while_120_calls_run(benchmark, report, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    office_of(LINES, tmp_path / "base.toml")
    f = tmp_path / "office.toml"
    f.write_text((tmp_path / "base.toml").read_text(encoding="utf-8") + AMI.format(port=port), encoding="utf-8")
    box = Box(config.load(str(f)), tmp_path / "calls.db", out=io.StringIO())
    box.supervisor.hours_override = True
    names = [ln.name for ln in box.office.lines if ln.kind == "fxo"]
    try:
        for n in names:
            box.callers[n].ring("0501234567", "")
        box.run(12, paced=False)
        assert len(box.supervisor.calls) == LINES

        def paced(seconds):
            """(lateness of each frame in ms, the loop's CPU per frame in ms)."""
            late, cpu = [], []
            turn = [0]
            gap_ms = PRESS_EVERY_S / LINES * 1000
            next_press = [box.engine.now_ms]
            t0 = time.monotonic()
            c0 = [time.thread_time()]

            def tick(b):
                if b.engine.now_ms >= next_press[0]:
                    b.callers[names[turn[0] % LINES]].press(KEYS[(turn[0] // LINES) % len(KEYS)])
                    turn[0] += 1
                    next_press[0] += gap_ms
                now = time.monotonic()
                late.append(max(0.0, (now - (t0 + (len(late) + 1) * FRAME_MS / 1000.0)) * 1000.0))
                c = time.thread_time()
                cpu.append((c - c0[0]) * 1000.0)
                c0[0] = c
            box.run(seconds, paced=True, tick=tick)
            return late, cpu

        base_late, base_cpu = paced(SECONDS)
        clients = subprocess.Popen([sys.executable, "-c", CLIENTS_SCRIPT, str(port), str(CLIENTS),
                                    str(SECONDS + 5)], stdout=subprocess.PIPE, text=True)
        try:
            # The clients connect and log in while the box runs: it accepts them from its loop.
            box.run(3, paced=True)
            assert clients.stdout.readline().strip() == "ready"
            box.run(1, paced=True)
            assert len(box.manager.sessions) == CLIENTS
            assert all(s.user is not None for s in box.manager.sessions.values())
            result = {}

            def one_round():
                result["late"], result["cpu"] = paced(SECONDS)
            benchmark.pedantic(one_round, rounds=1, iterations=1)
            sessions = len(box.manager.sessions)
        finally:
            clients.wait(30)
        received = int(clients.stdout.readline())
        late, cpu = result["late"], result["cpu"]
        mean = sum(cpu) / len(cpu)
        base_mean = sum(base_cpu) / len(base_cpu)
        report(f"{CLIENTS} manager clients, {LINES} calls, {SECONDS} s paced: worst frame {max(late):.1f} ms late, "
               f"{sum(x > 0 for x in late)} of {len(late)} frames late at all "
               f"(without clients {max(base_late):.1f} ms); loop CPU {mean:.2f} ms a frame, "
               f"ratio to without clients {mean / base_mean:.2f}; {received / 1e6:.1f} MB sent to the clients")
        assert sessions == CLIENTS, "no client was dropped"
        assert len(box.supervisor.calls) == LINES
        assert received > CLIENTS * SECONDS * 10000, "the clients were answered"
        assert max(late) <= FRAME_MS
    finally:
        box.close()
