"""`appliance simulate` end to end: the command on a small office (tests/traffic/
office-small.toml: three lines, two agents in one queue) writes one JSON line per call,
prints its summary, keeps the call log with --db, runs the same with the same seed,
answers and queues every caller while a line is free (nobody hears busy, whoever is
logged in), staffs the queue hour by hour, walks the menus with digits, and says what is
wrong with a bad traffic file."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from appliance import cli, config, simulate, traffic
from appliance.calllog import CallLog

HERE = Path(__file__).resolve().parent / "traffic"
SMALL = HERE / "office-small.toml"
FIELDS = {"id", "arrival_s", "queue", "position", "agents_staffed", "agents_busy", "announced_wait_s",
          "announced_at_s", "spoken_wait_s", "wait_s", "outcome", "talk_s", "agent"}
OUTCOMES = {"answered", "abandoned", "callback", "overflow", "menu_only", "blocked"}


def traffic_file(tmp_path, hours, queue='queue = "support"', handle="exponential", handle_s=90,
                 patience='distribution = "exponential"\nmean_s = 60', seed=5, name="day.toml") -> Path:
    text = (f'seed = {seed}\nstart = "09:00"\n{queue}\n[handle]\ndistribution = "{handle}"\nmean_s = {handle_s}\n'
            f'[patience]\n{patience}\n' + "".join(f"[[hour]]\ncalls = {c}\nagents = {a}\n" for c, a in hours))
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def simulate_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "simulate", *map(str, args)],
                          capture_output=True, text=True)


def read(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_in_process(office_path: Path, traffic_path: Path, watch=None, seed=None):
    sim = simulate.Simulation(config.load(str(office_path)), traffic.load(str(traffic_path)), seed=seed, watch=watch)
    try:
        return sim.run()
    finally:
        sim.close()


def in_use(calls, t: float):
    """The calls on the lines at time t."""
    return [c for c in calls if c["arrival_s"] <= t <= c["ended_s"]]


def test_a_run_writes_its_calls_its_summary_and_its_call_log(tmp_path):
    day = traffic_file(tmp_path, [(40, 2)])
    out, db = tmp_path / "calls.jsonl", tmp_path / "calls.db"
    r = simulate_cli("--config", SMALL, "--traffic", day, "--out", out, "--db", db)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    calls = read(out)
    assert len(calls) > 20
    for c in calls:
        assert FIELDS <= set(c), c
        assert c["outcome"] in OUTCOMES, c
    queued = [c for c in calls if c["queue"]]
    assert queued and all(c["queue"] == "support" and c["position"] >= 1 for c in queued)
    answered = [c for c in calls if c["outcome"] == "answered"]
    abandoned = [c for c in calls if c["outcome"] == "abandoned"]
    assert answered and abandoned
    for c in answered:
        assert c["agent"] in ("olena", "ivan")
        # The agent talks for the caller's drawn handle time, to a frame or two.
        assert c["talk_s"] == pytest.approx(c["handle_s"], abs=0.1)
        assert c["patience_s"] is None or c["wait_s"] <= c["patience_s"] + 0.1
    for c in abandoned:
        # A caller gives up at their patience, never later, never sooner.
        assert c["wait_s"] == pytest.approx(c["patience_s"], abs=0.1), c
        assert c["agent"] is None and c["talk_s"] is None
    for c in calls:
        if c["announced_wait_s"] is not None:
            assert c["spoken_wait_s"] >= c["announced_wait_s"] and 0 <= c["announced_at_s"] <= c["wait_s"]

    # The summary: the counts of the file, and what the service level means.
    said = r.stdout
    assert f"calls {len(calls)}:" in said
    assert "service level: answered within 20 s of joining the queue, over calls offered to the queue" in said
    row = next(line for line in said.splitlines() if line.startswith("support"))
    offered, ans, ab = (int(x) for x in row.split()[1:4])
    assert (offered, ans, ab) == (len(queued), len(answered), len(abandoned))
    within = sum(1 for c in answered if c["wait_s"] <= 20)
    assert f"{within / offered * 100:.1f}%" in row

    # The call log: one row per call that reached the box, ending as the file says.
    log = CallLog.open(db)
    try:
        rows = {row.id: row for row in log.calls()}
    finally:
        log.close()
    reached = [c for c in calls if c["outcome"] != "blocked"]
    assert sorted(rows) == sorted(c["id"] for c in reached)
    for c in reached:
        assert rows[c["id"]].outcome == c["outcome"], c
        assert rows[c["id"]].line == c["line"]


def test_the_same_seed_is_the_same_run(tmp_path):
    day = traffic_file(tmp_path, [(30, 1)], seed=9)
    outs = []
    for n, seed in enumerate([None, 9, 10]):
        out = tmp_path / f"calls{n}.jsonl"
        args = ["simulate", "--config", str(SMALL), "--traffic", str(day), "--out", str(out)]
        if seed is not None:
            args += ["--seed", str(seed)]
        with redirect_stdout(io.StringIO()):
            assert cli.main(args) == 0
        outs.append(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1], "the file's seed, and the same one given on the command line"
    assert outs[0] != outs[2], "another seed is another day"


def test_with_every_agent_logged_out_every_caller_is_answered_and_queued(tmp_path):
    """Nobody to take the calls: while a line is free, every caller is still answered by
    the box and waits in the queue to ringback; nobody hears busy, nobody is blocked."""
    day = traffic_file(tmp_path, [(20, 0), (20, 0)])
    tones = []

    def watch(events):
        tones.extend(ev.tone for ev in events if ev.kind == "heard" and ev.tone)

    calls = run_in_process(SMALL, day, watch)
    reached = [c for c in calls if c["outcome"] != "blocked"]
    assert len(reached) > 20
    assert all(c["outcome"] == "abandoned" and c["queue"] == "support" for c in reached), reached
    assert all(c["agents_staffed"] == 0 and c["announced_wait_s"] is None for c in reached)
    for b in calls:
        if b["outcome"] == "blocked":
            assert len(in_use(reached, b["arrival_s"])) == 3, "blocked only with every line in use"
    assert "ringback" in tones, "the callers' far ends report the tones they hear"
    assert "busy" not in tones and "congestion" not in tones


def test_the_call_log_shows_answered_and_queued_with_every_agent_away(tmp_path):
    day = traffic_file(tmp_path, [(15, 0)])
    out, db = tmp_path / "calls.jsonl", tmp_path / "calls.db"
    r = simulate_cli("--config", SMALL, "--traffic", day, "--out", out, "--db", db)
    assert r.returncode == 0, r.stderr
    blocked = sum(1 for c in read(out) if c["outcome"] == "blocked")
    assert f"blocked (every line in use) {blocked}," in r.stdout
    log = CallLog.open(db)
    try:
        rows = log.calls()
        assert rows and all(row.answer is not None for row in rows)
        for row in rows:
            kinds = [e.kind for e in log.events(row.id)]
            assert "queued" in kinds and "error" not in kinds, kinds
    finally:
        log.close()


def test_callers_find_every_line_in_use_only_when_it_is(tmp_path):
    """Long calls, patient callers, three lines: the fourth caller at once is blocked, and
    only then."""
    day = traffic_file(tmp_path, [(40, 2)], handle="fixed", handle_s=900, patience='distribution = "none"')
    calls = run_in_process(SMALL, day)
    blocked = [c for c in calls if c["outcome"] == "blocked"]
    assert blocked
    reached = [c for c in calls if c["outcome"] != "blocked"]
    for b in blocked:
        assert b["id"] is None and b["queue"] is None
        assert len(in_use(reached, b["arrival_s"])) == 3, b
    assert any(len(in_use(reached, c["arrival_s"])) < 3 for c in reached)
    assert all(c["outcome"] == "answered" for c in reached)


def test_the_queue_is_staffed_hour_by_hour(tmp_path):
    """One agent, then two, then one: the second takes calls only in the second hour,
    and is logged out after the call they are on when it ends."""
    day = traffic_file(tmp_path, [(30, 1), (30, 2), (30, 1)], handle_s=60, seed=3)
    calls = run_in_process(SMALL, day)
    connects = [(c["joined_s"] + c["wait_s"], c["agent"]) for c in calls if c["outcome"] == "answered"]
    assert {a for t, a in connects if 3600 <= t < 7200} == {"olena", "ivan"}
    assert {a for t, a in connects if t < 3600 or t >= 7200} == {"olena"}
    ivan_gone = max(c["ended_s"] for c in calls if c["agent"] == "ivan")
    for c in calls:
        if c["queue"] and c["joined_s"] > 1:
            hour = int(c["joined_s"] // 3600)
            if hour < 2 or c["joined_s"] > ivan_gone:
                assert c["agents_staffed"] == (1, 2, 1)[hour], c
            else:       # ivan finishes the call he is on before he is logged out
                assert c["agents_staffed"] == 2 and c["joined_s"] < ivan_gone, c


def test_digits_walk_the_menus_to_the_queue(tmp_path):
    day = traffic_file(tmp_path, [(20, 2)], queue='digits = "2"')
    out, db = tmp_path / "calls.jsonl", tmp_path / "calls.db"
    r = simulate_cli("--config", SMALL, "--traffic", day, "--out", out, "--db", db)
    assert r.returncode == 0, r.stderr
    calls = read(out)
    assert calls and all(c["queue"] == "support" for c in calls if c["outcome"] != "blocked")
    log = CallLog.open(db)
    try:
        for row in log.calls():
            assert row.menus == ("main",) and row.digits == (("main", "2"),)
    finally:
        log.close()


def test_a_key_the_menu_does_not_know_ends_in_the_menus(tmp_path):
    day = traffic_file(tmp_path, [(10, 2)], queue='digits = "7"')
    calls = run_in_process(SMALL, day)
    assert calls and all(c["outcome"] == "menu_only" and c["queue"] is None for c in calls)


def test_callers_a_queue_sends_on_are_overflow(tmp_path):
    """A queue that lets callers wait 30 s at most, then says goodbye: those it sends on
    leave the queues as overflow, after their 30 s; nobody is answered by nobody."""
    text = SMALL.read_text(encoding="utf-8").replace('strategy = "linear"\n',
                                                     'strategy = "linear"\nmax_wait_s = 30\nwhen_timeout = "hangup"\n')
    office = tmp_path / "office.toml"
    office.write_text(text, encoding="utf-8")
    day = traffic_file(tmp_path, [(20, 0)], patience='distribution = "none"')
    calls = run_in_process(office, day)
    reached = [c for c in calls if c["outcome"] != "blocked"]
    assert reached and all(c["outcome"] == "overflow" and c["queue"] == "support" for c in reached), reached
    assert all(c["wait_s"] == pytest.approx(30, abs=1.1) for c in reached)


def test_lines_of_the_office_itself_keep_their_menus(tmp_path):
    """`queue` in the traffic file changes a copy of the office, not the office."""
    office = config.load(str(SMALL))
    copy = simulate.office_for(office, "support")
    assert all(ln.queue == "support" for ln in copy.lines if ln.kind == "fxo")
    assert all(ln.queue is None for ln in copy.lines if ln.kind == "fxs")
    assert all(ln.queue is None for ln in office.lines)


BAD = sorted((HERE / "bad").glob("*.toml"))[:4]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_a_bad_traffic_file_is_named_line_and_key(tmp_path, path):
    expected = path.read_text(encoding="utf-8").splitlines()[0][len("# EXPECTED: "):]
    r = simulate_cli("--config", HERE / "office.toml", "--traffic", path, "--out", tmp_path / "calls.jsonl")
    assert r.returncode == 1
    assert f"{path}:{expected}" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "calls.jsonl").exists()


@pytest.mark.parametrize("args,said", [
    (["--seed", "-1"], "a seed is a whole number from 0"),
    (["--config", "/nonexistent/office.toml"], "cannot read"),
    (["--traffic", "/nonexistent/day.toml"], "cannot read"),
    (["--out", "/nonexistent/dir/calls.jsonl"], "No such file or directory"),
])
def test_other_mistakes_are_one_line_each(tmp_path, args, said):
    day = traffic_file(tmp_path, [(5, 1)])
    given = {"--config": str(SMALL), "--traffic": str(day), "--out": str(tmp_path / "calls.jsonl")}
    extra = []
    for k, v in zip(args[::2], args[1::2]):
        if k in given:
            given[k] = v
        else:
            extra += [k, v]
    r = simulate_cli(*[x for kv in given.items() for x in kv], *extra)
    assert r.returncode == 1
    assert said in r.stderr and "Traceback" not in r.stderr


def test_an_hour_s_own_handle_time_is_what_its_callers_talk(tmp_path):
    day = traffic_file(tmp_path, [(20, 2), (20, 2)], handle="fixed", handle_s=30, patience="distribution = \"none\"")
    day.write_text(day.read_text(encoding="utf-8") + "handle_s = 70\n", encoding="utf-8")
    calls = [c for c in run_in_process(SMALL, day) if c["outcome"] == "answered"]
    first = [c["talk_s"] for c in calls if c["arrival_s"] < 3600]
    second = [c["talk_s"] for c in calls if c["arrival_s"] >= 3600]
    assert first and second
    assert all(t == pytest.approx(30, abs=0.1) for t in first)
    assert all(t == pytest.approx(70, abs=0.1) for t in second)
