"""Running, candidate and saved configuration on a real box on the simulated board:
commits checked by the loader itself, commit confirmed rolling back by itself, the
history, save."""
import io
import os
import time

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE, Box
from appliance.commits import KEEP, CommitError, History
from appliance.shell import Shell

WELCOME = "Thank you for calling Demo Trading."


@pytest.fixture
def box(tmp_path):
    f = tmp_path / "office.toml"
    f.write_text(DEMO_OFFICE.read_text(encoding="utf-8"), encoding="utf-8")
    b = Box(config.load(str(f)), tmp_path / "calls.db", out=io.StringIO())
    b.supervisor.hours_override = True
    yield b
    b.close()


def welcome(b: Box) -> str:
    return b.supervisor.office.prompts["welcome"].by_language["en"][0].value


def test_a_commit_puts_the_candidate_in_place_and_save_makes_it_the_startup_file(box, tmp_path):
    conf = box.configuration
    cand = conf.running.set("prompts.welcome.en", "Welcome to the new Demo Trading.")
    said = conf.commit(cand, conf.revision, "ana", 1000.0)
    assert "new calls take it" in said
    assert welcome(box) == "Welcome to the new Demo Trading."
    assert conf.unsaved and WELCOME in (tmp_path / "office.toml").read_text(encoding="utf-8")
    [latest, first] = conf.history.entries()
    assert (latest.user, latest.how, first.how) == ("ana", "commit", "start")
    assert "saved to" in conf.save() and not conf.unsaved
    saved = (tmp_path / "office.toml").read_text(encoding="utf-8")
    assert 'en = "Welcome to the new Demo Trading."' in saved
    assert "# At their desk phones agents key *71" in saved            # its comments kept
    assert config.load(str(tmp_path / "office.toml")).prompts["welcome"].by_language["en"][0].value \
        == "Welcome to the new Demo Trading."
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".office.toml.")]     # no temporary left


def test_a_change_that_fails_validation_is_refused_with_the_reason_and_nothing_changes(box):
    conf = box.configuration
    office, running, revision = box.supervisor.office, conf.running, conf.revision
    entries = len(conf.history.entries())
    cand = (conf.running.set("queue.sales.ring_s", "999").set("menu.main.keys.4", "menu:nowhere")
            .set("prompts.welcome.en", "Changed"))
    with pytest.raises(CommitError) as e:
        conf.commit(cand, conf.revision, "ana", 1000.0)
    said = str(e.value).splitlines()
    assert "queue.sales.ring_s: 999.0 is out of range (5.0 to 120.0)" in said
    assert "menu.main.keys.4: no menu 'nowhere'" in said[0] + said[1]
    assert box.supervisor.office is office and welcome(box) == WELCOME
    assert conf.running is running and conf.revision == revision and len(conf.history.entries()) == entries


def test_a_prompt_that_cannot_load_is_refused_too(box):
    conf = box.configuration
    cand = conf.running.set("prompts.welcome.en", '{file = "/nonexistent/welcome.wav"}')
    with pytest.raises(CommitError, match="welcome.wav"):
        conf.commit(cand, conf.revision, "ana", 1000.0)
    assert welcome(box) == WELCOME


def test_commit_confirmed_rolls_back_by_itself_unless_confirmed(box):
    conf = box.configuration
    conf.commit(conf.running.set("prompts.welcome.en", "Trial greeting."), conf.revision, "ana", 1000.0,
                confirm_minutes=2)
    assert welcome(box) == "Trial greeting."
    assert conf.tick(1000.0 + 119) == [] and welcome(box) == "Trial greeting."
    [notice] = conf.tick(1000.0 + 120)
    assert "not confirmed in time" in notice and welcome(box) == WELCOME
    assert conf.history.entries()[0].how.startswith("rollback: commit confirmed")
    assert conf.tick(2000.0) == []

    conf.commit(conf.running.set("prompts.welcome.en", "Kept greeting."), conf.revision, "ana", 3000.0,
                confirm_minutes=1)
    assert "confirmed" in conf.confirm("ana", 3030.0)
    assert conf.tick(5000.0) == [] and welcome(box) == "Kept greeting."


def test_a_second_commit_confirmed_extends_and_goes_back_to_before_the_first(box):
    conf = box.configuration
    conf.commit(conf.running.set("prompts.welcome.en", "One."), conf.revision, "ana", 0.0, confirm_minutes=1)
    conf.commit(conf.running.set("prompts.welcome.en", "Two."), conf.revision, "ana", 50.0, confirm_minutes=1)
    assert conf.tick(61.0) == [] and welcome(box) == "Two."
    assert conf.tick(111.0) and welcome(box) == WELCOME


def test_commit_confirmed_rolls_back_on_the_running_box_end_to_end(box):
    """Through a console session, on the box's own clock; a caller after the rollback
    hears the greeting from before it."""
    sh = Shell(box.control, "ana")
    now = box.supervisor.now()
    for line in ("configure", "set prompts.welcome.en Trial greeting.", "commit confirmed 1", "end"):
        assert not sh.run(line, now).text.startswith("%"), line
    box.callers["line1"].ring("0501234567", "")
    box.run(8, paced=False)
    assert "line1: caller hears welcome [en]: Trial greeting." in box.out.getvalue()
    box.callers["line1"].hangup()
    box.run(60, paced=False)
    notices = sh.tick(box.supervisor.now())
    assert any("not confirmed in time" in n for n in notices)
    box.callers["line2"].ring("0501234568", "")
    box.run(8, paced=False)
    assert f"line2: caller hears welcome [en]: {WELCOME}" in box.out.getvalue()


def test_lines_queues_and_agents_come_up_at_the_next_start(box):
    conf = box.configuration
    cand = conf.running.set("queue.support.wrapup_s", "20")
    with pytest.raises(CommitError, match="cannot be tried"):
        conf.commit(cand, conf.revision, "ana", 0.0, confirm_minutes=5)
    said = conf.commit(cand, conf.revision, "ana", 0.0)
    assert "the queues or agents changed: it comes up at the next start" in said
    assert box.supervisor.office.queues["support"].wrapup_s == 10.0
    assert conf.pending_restart and any("next start" in x for x in conf.state(0.0))
    # Going back to what the box runs needs no start.
    conf.commit(conf.running.delete("queue.support.wrapup_s"), conf.revision, "ana", 1.0)
    assert conf.pending_restart == ""


def test_a_candidate_overtaken_by_another_commit_is_refused(box):
    conf = box.configuration
    rev = conf.revision
    mine = conf.running.set("prompts.welcome.en", "Mine.")
    conf.commit(conf.running.set("prompts.blocked.en", "Theirs."), rev, "bob", 0.0)
    with pytest.raises(CommitError, match="changed since this candidate"):
        conf.commit(mine, rev, "ana", 1.0)


def test_rollback_takes_a_kept_configuration_and_the_history_keeps_twenty(box):
    conf = box.configuration
    for i in range(KEEP + 5):
        conf.commit(conf.running.set("prompts.welcome.en", f"Greeting {i}."), conf.revision, "ana", float(i))
    entries = conf.history.entries()
    assert len(entries) == KEEP and entries[0].text == conf.running_text
    back = conf.rollback(3)
    assert back.get("prompts.welcome.en") == f"Greeting {KEEP + 5 - 4}."
    conf.commit(back, conf.revision, "ana", 100.0)
    assert welcome(box) == f"Greeting {KEEP + 5 - 4}."
    with pytest.raises(CommitError, match="no rollback 20"):
        conf.rollback(20)


def test_a_history_that_cannot_be_written_is_said_and_the_commit_stands(box, tmp_path):
    conf = box.configuration
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    conf.history = History(blocker / "commits")
    said = conf.commit(conf.running.set("prompts.welcome.en", "Still."), conf.revision, "ana", 0.0)
    assert "not kept in the history" in said and welcome(box) == "Still."


def test_the_demo_office_is_not_saved_over(tmp_path):
    b = Box(config.load(str(DEMO_OFFICE)), tmp_path / "calls.db", out=io.StringIO())
    try:
        with pytest.raises(CommitError, match="built into the firmware"):
            b.configuration.save()
        assert (tmp_path / "demo-office.commits").is_dir()
    finally:
        b.close()
