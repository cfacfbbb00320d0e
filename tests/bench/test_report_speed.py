"""How long a monthly `appliance report` takes on a year of a 30-line office's call log.

The scene: tests/traffic/office.toml (30 exchange lines, 10 agents, one queue) and a
call log of one year, about 500,000 calls, written here in the shapes the supervisor
writes (a row per call, its events, the agents' log-ins, pauses and log-outs) from a
queue model: arrivals per hour of the week (a weekday's morning and afternoon peaks, a
quieter Saturday, Sunday closed with after-hours callers), agents staffed to the hour,
FCFS service with exponential patience, talk and wrap-up, rings now and then missed.
The file is cached under build/ by VERSION: change the generator, bump it.

What is measured, in CPU seconds of this thread, the best of three: report.build over
one month (June) plus the text rendering. Baseline, in the same run: one plain SQL pass
reading that month's calls and their events (what any report must read at least).
Ratio = report / baseline. Target: a monthly report within 2 s.
"""
from __future__ import annotations

import heapq
import json
import math
import os
import sqlite3
import time
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from appliance import config, visits
from appliance.calllog import CallLog
from appliance.report_text import render_text

HERE = Path(__file__).resolve().parent.parent / "traffic"
ROOT = Path(__file__).resolve().parents[2]
VERSION = 1
YEAR = 2023
TARGET_S = 2.0
KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
QUEUE = "support"
# Mean calls per hour of a weekday from 08:00 to 19:00 (~1,750 a day).
WEEKDAY = (110, 165, 185, 185, 175, 155, 165, 185, 175, 145, 100)
AHT_S, WRAP_S, PATIENCE_S, RING_S = 140.0, 10.0, 150.0, 15.0


def _agents_for(calls_per_hour: float, n: int) -> int:
    # Enough to hold the offered load with some room, at most the office's agents.
    return max(1, min(n, math.ceil(calls_per_hour * (AHT_S + WRAP_S) / 3600 / 0.85)))


def generate(path: Path, office: config.Office) -> None:
    lines = [ln.name for ln in office.lines if ln.kind == "fxo"]
    agents = [a.name for a in office.agents if QUEUE in a.queues]
    CallLog.open(path).close()          # the schema, as the box makes it
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = OFF")
    rng = np.random.default_rng(2023)
    calls, events, agent_events = [], [], []
    call_id = 0
    numbers = [f"050{k:07d}" for k in range(60_000)]
    day = date(YEAR, 1, 1)
    while day.year == YEAR:
        wd = day.weekday()
        base = datetime.combine(day, datetime.min.time(), KYIV).timestamp()
        if wd == 6:
            hours = [(h, 4.0, 0) for h in range(9, 17)]                 # closed: after-hours callers
        else:
            scale = 0.5 if wd == 5 else 1.0
            hours = [(8 + k, c * scale, _agents_for(c * scale, len(agents))) for k, c in enumerate(WEEKDAY)]
        staffed = max(s for _, _, s in hours)
        on = agents[:staffed]
        if staffed:
            for k, name in enumerate(on):
                login = base + hours[0][0] * 3600 - 300 + k * 7
                agent_events.append((login, name, "login", "", "desk"))
                lunch = base + (12 + k % 3) * 3600 + k * 11
                agent_events.append((lunch, name, "pause", "lunch", "desk"))
                agent_events.append((lunch + 1800, name, "unpause", "", "desk"))
                agent_events.append((base + (hours[-1][0] + 1) * 3600 + 600 + k * 5, name, "logout", "", "desk"))
        free = [(0.0, name) for name in on]        # when each agent is free next
        line_free = [0.0] * len(lines)
        for h, rate, s in hours:
            n = rng.poisson(rate)
            for at in np.sort(rng.uniform(0, 3600, n)) + base + h * 3600:
                at = float(at)
                k = next((i for i, t in enumerate(line_free) if t <= at), None)
                if k is None:
                    continue                        # every line in use: the caller hears busy
                call_id += 1
                number = numbers[int(rng.integers(len(numbers)))] if rng.random() < 0.93 else ""
                ev = [(at + 1.6, "callerid", number or "private"), (at + 5.0, "answer", "")]
                answered = at + 5.0
                if s == 0:
                    end = answered + 12.0
                    ev += [(answered, "after-hours", ""), (end, "hangup", "normal")]
                    outcome, menus, digits = "after-hours", "[]", "[]"
                else:
                    joined = answered + 8.0
                    menus, digits = '["main"]', json.dumps([{"menu": "main", "digits": "2"}])
                    ev += [(answered, "menu", "main"), (joined - 0.5, "digits", "main: 2"), (joined, "queued", QUEUE)]
                    if rng.random() < 0.03:         # hung up in the menus
                        end = joined - 0.2
                        ev = ev[:-2] + [(end, "hangup", "normal")]
                        outcome, digits = "abandoned", "[]"
                    else:
                        start_at, name = free[0] if free[0][0] > joined else (joined, free[0][1])
                        patience = float(rng.exponential(PATIENCE_S))
                        if start_at - joined > patience:
                            end = joined + patience
                            if patience > 30:
                                ev.append((joined + 30, "announce", "position=2 wait=60"))
                            ev.append((end, "hangup", "normal"))
                            outcome = "abandoned"
                        else:
                            ring = start_at
                            if rng.random() < 0.05:     # a missed ring, then another agent
                                ev += [(ring, "ringing", free[-1][1]), (ring + RING_S, "ring-no-answer", free[-1][1])]
                                ring += RING_S + 0.5
                            pick = ring + float(rng.uniform(1, 6))
                            talk = float(rng.exponential(AHT_S))
                            end = pick + talk
                            ev += [(ring, "ringing", name), (pick, "connected", name), (end, "agent-hangup", name),
                                   (end, "wrap-up", f"{name} {WRAP_S:.1f}")]
                            heapq.heapreplace(free, (end + WRAP_S, name))
                            outcome = "answered"
                line_free[k] = end
                calls.append((call_id, lines[k], k + 1, number, "", "" if number else "private", at, answered, end,
                              menus, digits, outcome, "en"))
                events.extend((call_id, i, t, kind, d) for i, (t, kind, d) in enumerate(ev))
        day += timedelta(days=1)
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO calls (id, line, channel, caller, caller_name, presentation, started, answered, "
                         "ended, menus, digits, outcome, language) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", calls)
        conn.executemany("INSERT INTO events (call, seq, at, kind, detail) VALUES (?,?,?,?,?)", events)
        conn.executemany("INSERT INTO agent_events (at, agent, kind, detail, source) VALUES (?,?,?,?,?)",
                         sorted(agent_events))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def year_log(office: config.Office) -> Path:
    folder = ROOT / "build" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-year-v{VERSION}.sqlite"
    if not path.exists():
        tmp = folder / f"report-year-v{VERSION}.part"
        for leftover in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
            if leftover.exists():
                leftover.unlink()
        generate(tmp, office)
        os.rename(tmp, path)
    return path


def baseline(path: Path, start: float, end: float) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT * FROM calls WHERE started >= ? AND started < ? ORDER BY started, id",
                            (start, end)).fetchall()
        ids = [r[0] for r in rows]
        n = len(conn.execute("SELECT call, at, kind, detail FROM events WHERE call BETWEEN ? AND ? ORDER BY call, seq",
                             (min(ids), max(ids))).fetchall())
        return len(rows) + n
    finally:
        conn.close()


def best_of(n, fn):
    best, out = math.inf, None
    for _ in range(n):
        t0 = time.thread_time()
        out = fn()
        best = min(best, time.thread_time() - t0)
    return best, out


def test_a_monthly_report_on_a_year_of_thirty_lines(benchmark, report, tmp_path):   # noqa: F811
    add = report
    from appliance import report as report_
    office = config.load(str(HERE / "office.toml"))
    w0 = time.perf_counter()
    path = year_log(office)
    made = time.perf_counter() - w0
    n_calls = sqlite3.connect(path).execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    start = report_.day_start(date(YEAR, 6, 1), KYIV)
    end = report_.day_start(date(YEAR, 7, 1), KYIV)

    # The generated log reads as sensible visits: one per queued caller, answered or not.
    month = list(visits.read(str(path), start, end))
    outcomes = {}
    for lc in month:
        for v in lc.visits:
            outcomes[v.outcome] = outcomes.get(v.outcome, 0) + 1
    assert outcomes.keys() == {"answered", "abandoned"} and outcomes["answered"] > 5 * outcomes["abandoned"]

    result = {}

    def monthly():
        r = report_.build(str(path), start, end, office=office)
        return r, render_text(r)

    def one_round():
        result["report"] = best_of(3, monthly)
        result["base"] = best_of(3, lambda: baseline(path, start, end))

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    took, (r, text) = result["report"]
    base, rows = result["base"]
    ratio = took / base
    mb = os.path.getsize(path) / 1e6
    total = r.queues[-1]
    met = took <= TARGET_S
    add(f"monthly report on a year of 30 lines: {n_calls} calls in the log ({mb:.0f} MB"
        f"{f', made in {made:.0f} s' if made > 1 else ''}); June: {total.offered} offered, {len(month)} calls, "
        f"{rows} rows; report {took:.2f} CPU s, plain SQL pass {base:.2f} s, ratio {ratio:.1f}; "
        f"target {TARGET_S:.0f} s {'met' if met else 'NOT met'}")
    benchmark.extra_info.update(calls=n_calls, report_s=round(took, 3), base_s=round(base, 3), ratio=round(ratio, 1),
                                db_mb=round(mb))
    assert 450_000 <= n_calls <= 550_000
    assert total.offered > 30_000 and len(r.agents) >= 8 and len(r.lines) == 30
    assert all(len(line) <= 80 for line in text.splitlines())
    assert ratio < 30
