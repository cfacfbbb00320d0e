"""A stand-in for the box's control server, speaking the control protocol (JSON objects,
one a line, over a Unix socket) with a few scripted answers, for console tests that are
about the terminal and the link rather than the shell."""
from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import List


class ControlDouble:
    def __init__(self, path: Path):
        self.path = path
        self.requests: List[dict] = []
        self.conns: List[socket.socket] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        if self.path.exists():
            os.unlink(self.path)

    def notify(self, text: str):
        for c in list(self.conns):
            try:
                c.sendall(json.dumps({"notice": text}).encode() + b"\n")
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self._answer(conn)
        except OSError:         # the console went away mid-answer: as the box, carry on
            pass
        conn.close()

    def _answer(self, conn):
        mode = "exec"
        f = conn.makefile("rb")
        for raw in f:
            try:
                req = json.loads(raw)
            except ValueError:
                conn.sendall(b'{"error": "not JSON"}\n')
                continue
            self.requests.append(req)
            prompt = "office> " if mode == "exec" else "office(config)# "
            op, line = req.get("op"), str(req.get("line", "")).strip()
            if op == "open":
                reply = {"prompt": prompt, "text": "Demo Trading Ltd: the box's shell"}
            elif op == "help":
                reply = {"prompt": prompt, "text": "  show       what the box is doing\n  configure  change it"}
            elif op == "complete":
                reply = {"candidates": [w for w in ("show", "configure", "commit") if w.startswith(line.split(" ")[-1])]}
            elif op == "close":
                break
            elif line == "show status":
                reply = {"prompt": prompt, "text": "4 lines up, 0 calls"}
            elif line == "show long":
                reply = {"prompt": prompt, "text": "\n".join(f"row {i}" for i in range(60)), "page": True}
            elif line == "configure":
                mode = "config"
                reply = {"prompt": "office(config)# ", "text": ""}
            elif line == "exit" and mode == "config":
                mode = "exec"
                reply = {"prompt": "office> ", "text": ""}
            elif line == "exit":
                reply = {"prompt": prompt, "text": "", "quit": True}
            else:
                reply = {"prompt": prompt, "error": f"unknown command: {line[:40]}"}
            conn.sendall(json.dumps(reply).encode() + b"\n")
