"""The console's grammar on a real box on the simulated board: words and their
abbreviations, ? help, Tab completion, mistakes told with where, the modes."""
import io
import random

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.shell import MAX_LINE, Shell


@pytest.fixture
def box(tmp_path):
    f = tmp_path / "office.toml"
    f.write_text(DEMO_OFFICE.read_text(encoding="utf-8"), encoding="utf-8")
    b = Box(config.load(str(f)), tmp_path / "calls.db", out=io.StringIO())
    b.supervisor.hours_override = True
    yield b
    b.close()


@pytest.fixture
def sh(box):
    return Shell(box.control, "ana")


def run(sh, line):
    return sh.run(line, sh.box.box.supervisor.now())


@pytest.mark.parametrize("typed,said", [
    ("sh st", "agents     2 of 2 logged in"),
    ("show ver", "appliance 0.1.0"),
    ("sh lin", "desk1        fxs    11  idle            phone of olena"),
    ("sh chan", "   9    9  reception    fxs  idle            alaw  ua"),
    ("sh ca", "no calls in progress"),
    ("sh q", "queue support: round-robin, 2 of 2 agents taking calls, 0 waiting"),
    ("sh ag", "olena        available   -                0  sales (1), support (2)"),
    ("sh al", "no alarms"),
    ("sh lo", "no calls yet"),
    ("sh run queue.sales", 'queue.sales.strategy = "longest-idle"'),
    ("sh comm", "box          start"),
    ("clock", "timedatectl set-time"),
    ("help", "Type ? after a word"),
    ("agent ol pau lunch break", "agent olena: paused (lunch break)"),
    ("ag ivan logo", "agent ivan: logged-out"),
])
def test_commands_and_abbreviations(sh, typed, said):
    assert said in run(sh, typed).text


@pytest.mark.parametrize("typed,said", [
    ("shwo", "% unknown word 'shwo' at position 1; did you mean 'show'?"),
    ("s", "% 's' at position 1 could be show or save"),
    ("show nothing", "% unknown word 'nothing' at position 2"),
    ("show", "is not a whole command; it goes on with: status"),
    ("agent zed login", "% no name 'zed' at position 2; one of: olena, ivan"),
    ("agent olena sleep", "% unknown word 'sleep' at position 3"),
    ("show log many", "% 'many' is not a number of calls (1 to 1000) (position 3)"),
    ("test line line7", "% no line 'line7' at position 3"),
    ("press 12x", "'12x' holds something that is not a key"),
    ("clock now", "'clock' takes nothing more"),
    ("set office.name x", "% unknown word 'set' at position 1"),
])
def test_mistakes_say_what_and_where(sh, typed, said):
    assert said in run(sh, typed).text


def test_question_mark_lists_what_may_come_next(sh):
    top = sh.help("")
    assert "  show             what the box is doing" in top and "  configure" in top
    assert sh.help("sh").startswith("  show ")
    assert "  queues           each queue" in sh.help("show ")
    assert sh.help("show q") == "  queues           each queue, its agents and its waiting callers"
    assert "  NAME             the agent" in sh.help("agent ")
    assert "  <cr>" in sh.help("show log ") and "  N " in sh.help("show log ")
    assert run(sh, "show ?").text == sh.help("show ")            # ? typed at the end of a line
    assert sh.help("shwo ").startswith("% unknown word 'shwo'")


def test_tab_completes_words_names_paths_and_values(sh):
    assert sh.complete("sh") == ["show"]
    assert sh.complete("show q") == ["queues"]
    assert sh.complete("agent o") == ["olena"]
    assert sh.complete("test line ") == ["line1", "line2", "line3", "line4"]
    assert sh.complete("nothing ") == []
    run(sh, "configure")
    assert sh.complete("set queue.s") == ["queue.sales.", "queue.support."]
    assert sh.complete("se queue.sales.strat") == ["queue.sales.strategy"]
    assert sh.complete("set queue.sales.strategy r") == ["ringall", "round-robin", "random"]
    assert sh.complete("set menu.main.keys.4 queue:") == ["queue:sales", "queue:support"]
    assert sh.complete("commit c") == ["confirmed"]


def test_configure_mode_stages_commits_and_says_what_is_pending(sh, box):
    name = "demo-trading-ltd"
    assert sh.prompt == f"{name}> "
    run(sh, "conf t")
    assert sh.prompt == f"{name}(config)# "
    assert run(sh, "set prompts.welcome.en Hello from the console.").text == ""
    assert sh.prompt == f"{name}(config*)# "
    assert run(sh, "sh comp").text.splitlines()[1:] == [
        '- prompts.welcome.en = "Thank you for calling Demo Trading."',
        '+ prompts.welcome.en = "Hello from the console."']
    assert "has changes not committed" in run(sh, "end").text
    assert "new calls take it" in run(sh, "commit").text
    assert box.supervisor.office.prompts["welcome"].by_language["en"][0].value == "Hello from the console."
    assert sh.prompt == f"{name}(config)# "
    run(sh, "exit")
    assert sh.prompt == f"{name} (unsaved)> "
    assert "saved to" in run(sh, "save").text and sh.prompt == f"{name}> "
    run(sh, "configure")
    run(sh, "set queue.sales.ring_s 999")
    said = run(sh, "commit").text
    assert said == "% queue.sales.ring_s: 999.0 is out of range (5.0 to 120.0)"
    run(sh, "rollback 0")
    assert run(sh, "show compare").text.startswith("no changes")
    assert run(sh, "exit").text == "" and sh.prompt == f"{name}> "


def test_a_second_session_sees_the_first_ones_commit(box):
    a, b = Shell(box.control, "ana"), Shell(box.control, "bob")
    run(b, "configure")
    run(a, "configure")
    run(a, "set prompts.blocked.en Goodbye.")
    run(a, "commit")
    assert run(b, "show candidate prompts.blocked.en").text == 'prompts.blocked.en = "Goodbye."'
    run(b, "set prompts.welcome.en Mine.")
    run(a, "set prompts.hours.en Open always.")
    run(a, "commit")
    assert "changed since this candidate" in run(b, "commit").text


def test_test_line_reports_dial_tone_and_its_level(sh, box):
    assert "testing line2" in run(sh, "test line 2").text
    assert "busy" in run(sh, "test call line2").text
    box.run(6, paced=False)
    said = sh.tick(box.supervisor.now())
    [result] = [n for n in said if "on-hook" in n]
    assert result.startswith("line2: test: dial tone after") and "dBm0" in result and result.endswith("good")
    assert box.engine.state(box.ports["line2"]) == "idle"


def test_test_call_shows_what_the_caller_hears_to_its_session_only(box):
    a, b = Shell(box.control, "ana"), Shell(box.control, "bob")
    assert "dials; the exchange rings line1" in run(a, "test call line1 0501234567 PETRENKO").text
    box.run(8, paced=False)
    run(a, "press 1")
    box.run(3, paced=False)
    mine = a.tick(box.supervisor.now())
    assert "line1: caller hears welcome [en]: Thank you for calling Demo Trading." in mine
    assert any(n.startswith("line1: caller hears sales [en]") for n in mine)
    assert b.tick(box.supervisor.now()) == []
    run(a, "hangup")
    box.run(1, paced=False)
    assert any("ends: abandoned" in n for n in a.tick(box.supervisor.now()))


def test_restart_asks_before_cutting_calls(sh, box):
    box.callers["line1"].ring("0501234567", "")
    box.run(8, paced=False)
    assert "1 call(s) in progress would be cut" in run(sh, "restart").text and box.running
    assert run(sh, "restart now").text == "restarting" and not box.running and box.restarting


def test_exit_ends_the_session(sh):
    r = run(sh, "exit")
    assert r.quit


def test_hostile_lines_are_refused_whole(sh):
    assert "character that is not text (U+001B) at column 5" in run(sh, "show\x1b[A").text
    assert f"at most {MAX_LINE}" in run(sh, "show " + "x" * 10000).text
    assert "not text" in run(sh, "sh\udc80ow").text
    assert sh.complete("sh\x00") == [] and "not text" in sh.help("\x07")


# --- hostile input while the box serves calls ---

WORDS = ["show", "sh", "status", "lines", "calls", "queues", "agents", "alarms", "log", "events", "running-config",
         "commits", "clock", "configure", "conf", "t", "set", "delete", "commit", "confirmed", "confirm", "rollback",
         "save", "agent", "olena", "ivan", "login", "pause", "unpause", "test", "line", "call", "line1", "line3",
         "press", "hours", "open", "auto", "pickup", "drop", "help", "?", "office.name", "queue.sales.ring_s",
         "line.line1.rings", "prompts.welcome.en", "menu.main.keys.1", "agent.olena.queues.sales", "999", "-1",
         "1", "0", "true", "[", "{", '"', "'", "\\", "..", ".", "%s", "%n", "$(reboot)", ";", "|", "&&", "*", "#",
         "queue:", "menu:", "é", "😀", "Ω", "\u202e", "\u200b"]
ESCAPES = ["\x1b", "\x1b[", "\x1b[A", "\x1b[1;5", "\x1bO", "\x1b]0;", "\x9b", "\x7f", "\x08", "\r", "\x00", "\x03"]


def hostile_lines(seed: int, n: int):
    rnd = random.Random(seed)
    for _ in range(n):
        kind = rnd.randrange(6)
        if kind == 0:       # bytes that are not UTF-8, as a terminal would pass them on
            raw = bytes(rnd.randrange(256) for _ in range(rnd.randrange(80)))
            yield raw.decode("utf-8", "surrogateescape")
        elif kind == 1:     # control characters and partial escape sequences among words
            yield " ".join(rnd.choice(WORDS + ESCAPES) for _ in range(rnd.randrange(1, 8)))
        elif kind == 2:     # very long lines
            yield rnd.choice(WORDS) + " " + rnd.choice("x?. é") * rnd.randrange(1000, 70000)
        elif kind == 3:     # latin-1 junk: every byte a character
            yield bytes(rnd.randrange(256) for _ in range(rnd.randrange(40))).decode("latin-1")
        else:               # word salad of real words, prefixes and values
            words = [rnd.choice(WORDS) for _ in range(rnd.randrange(1, 7))]
            yield " ".join(w[:rnd.randrange(1, len(w) + 1)] if rnd.random() < 0.3 else w for w in words) \
                + rnd.choice(["", " ", "?", " ?"])


def test_ten_thousand_hostile_lines_leave_the_console_answering_and_the_box_serving_calls(box):
    sh = Shell(box.control, "fuzz")
    ended = []
    shown = box.supervisor.on_end
    box.supervisor.on_end = lambda call, outcome: (ended.append(outcome), shown(call, outcome))
    driver = {ln: 0.0 for ln in ("line2", "line4")}
    for i, line in enumerate(hostile_lines(20240601, 10_000)):
        op = i % 3
        if op == 0:
            r = sh.run(line, box.supervisor.now())
            assert isinstance(r.text, str) and "could not carry that out" not in r.text, (line, r.text)
        elif op == 1:
            h = sh.help(line)
            assert isinstance(h, str) and "could not carry that out" not in h, (line, h)
        else:
            c = sh.complete(line)
            assert isinstance(c, list) and all(isinstance(x, str) for x in c)
        if i % 100 == 99:
            # Callers on two lines all along: each rings, is answered, and hangs up.
            for ln, since in driver.items():
                port = box.ports[ln]
                if box.engine.state(port) == "idle" and port not in box.supervisor.calls:
                    box.callers[ln].ring("0501234567", "")
                    driver[ln] = box.engine.now_ms
                elif box.engine.now_ms - since > 12000:
                    box.callers[ln].hangup()
            box.run(1.0, paced=False)
            assert all(isinstance(n, str) for n in sh.tick(box.supervisor.now()))
        if i % 2000 == 1999:
            sh.run("exit discard", box.supervisor.now())       # back to exec mode, whatever the salad did
    assert box.running
    assert len(ended) >= 5, "calls stopped being answered and ended"
    calls = box.log.calls()
    assert sum(1 for c in calls if c.answer is not None) >= 5
    assert not any(c.answer is None and c.outcome not in (None, "abandoned") for c in calls)
    sh.run("exit discard", box.supervisor.now())
    assert "office     Demo Trading Ltd" in sh.run("show status", box.supervisor.now()).text
    print(f"\n10000 hostile lines; {len(ended)} calls ended meanwhile, "
          f"{sum(1 for c in calls if c.answer is not None)} answered")
