"""FastAGI scripts an office might own, served over TCP with pyst2's AGI class as it
is (run as its own process: pyst2 sets a signal handler, which only a main thread may).

    python -m tests.agi_scripts MODE      prints the port it listens on, then serves
                                          one connection after another with MODE:

  order     answers, plays a prompt, GET DATA for an order number, says it back
            (SAY NUMBER), sets ORDER and ORDER_STATUS, then EXEC Queue(sales)
  env       sets HEADER to the agi_* keys it was sent and CALLER to agi_callerid,
            then ends (the menus go on)
  slow      reads the header and says nothing
  nonsense  reads the header and sends 1000 lines of garbage
  queueless asks for a queue the office does not have, then hangs up
  record    records the caller to messages/<agi_uniqueid> after the beep until '#'
            (RECORD FILE, as pyst2's record_file sends it), sets RECORDED to the
            result's key, tries to record to ../escaped (REFUSED when refused), then
            ends
  quiet     records the caller to messages/quiet with no timeout until 1 s of
            silence, no beep, and sets RECORDED to the result
"""
from __future__ import annotations

import io
import socket
import sys
import time

from asterisk.agi import AGI, AGIAppError

GARBAGE = [b"\x00\xff\xfe", b"STREAM", b"SAY NUMBER abc \"\"", b"GET DATA", b"\"unterminated", b"SET VARIABLE",
           b"WAIT FOR DIGIT x", "ПРИВІТ".encode(), b"A" * 3000, b"200 result=0", b"\x1b[2J", b"EXEC"]


def order(agi: AGI) -> None:
    agi.answer()
    agi.stream_file("welcome")
    number = agi.get_data("order_number", timeout=5000, max_digits=6)
    agi.set_variable("ORDER", number)
    agi.say_number(int(number))
    agi.set_variable("ORDER_STATUS", "shipped")
    agi.verbose("order looked up")
    agi.appexec("Queue", "sales")


def env(agi: AGI) -> None:
    agi.set_variable("HEADER", ",".join(sorted(agi.env)))
    agi.set_variable("CALLER", agi.env.get("agi_callerid", ""))
    agi.set_variable("CONTEXT", agi.env.get("agi_context", ""))


def record(agi: AGI) -> None:
    agi.answer()
    key = agi.record_file(f"messages/{agi.env['agi_uniqueid']}", format="wav", escape_digits="#", timeout=20000)
    agi.set_variable("RECORDED", str(ord(key)))
    try:
        agi.record_file("../escaped", format="wav", escape_digits="#", timeout=1000, beep="")
    except AGIAppError:
        agi.set_variable("REFUSED", "../escaped")


def quiet(agi: AGI) -> None:
    key = agi.record_file("messages/quiet", format="wav", escape_digits="#", timeout=-1, beep="", silence=1)
    agi.set_variable("RECORDED", str(ord(key)))


def queueless(agi: AGI) -> None:
    try:
        agi.appexec("Queue", "nowhere")
    except AGIAppError:
        agi.set_variable("QUEUE", "refused")
    agi.hangup()


def serve(mode: str) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        f = conn.makefile("rw", encoding="utf-8", newline="\n")
        try:
            if mode in ("slow", "nonsense"):
                while f.readline().strip():
                    pass
                if mode == "slow":
                    time.sleep(3600)
                for i in range(1000):
                    conn.sendall(GARBAGE[i % len(GARBAGE)] + b"\n")
            else:
                agi = AGI(stdin=f, stdout=f, stderr=io.StringIO())
                {"order": order, "env": env, "queueless": queueless, "record": record,
                 "quiet": quiet}[mode](agi)
        except (OSError, AGIAppError):
            pass        # the caller went, or the box gave up on us
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass


if __name__ == "__main__":
    serve(sys.argv[1])
