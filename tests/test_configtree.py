"""The configuration as a tree of paths: reading, setting, deleting, completing, and
writing it back as TOML that reads the same."""
import tomllib
from pathlib import Path

import pytest

from appliance import config
from appliance.box import DEMO_OFFICE
from appliance.configtree import ConfigTree, TreeError, diff, parse_value

REPO = Path(__file__).resolve().parent.parent
ALL_TOML = sorted({*REPO.glob("tests/**/*.toml"), *REPO.glob("appliance/*.toml"), *REPO.glob("board/*.toml")})


@pytest.fixture
def demo():
    return ConfigTree.from_text(DEMO_OFFICE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", ALL_TOML, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_in_the_repository_is_written_back_as_it_reads(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ConfigTree.from_text(text)
    except TreeError:
        pytest.skip("not TOML (a file of the configuration tests)")
    assert tomllib.loads(tree.text()) == tree.data


def test_the_demo_office_written_back_loads_as_the_same_office_with_its_comments(demo):
    again = config.parse(demo.text().encode(), str(DEMO_OFFICE))
    assert again == config.load(str(DEMO_OFFICE))
    text = demo.text()
    assert text.startswith("# The demo office that `make run` starts")
    assert "# Callers from Russia hear the menus in Russian from the start.\n[[callerid.rule]]" in text
    assert "[queue.sales]" in text and "[[agent]]" in text and 'keys = { "1" = "menu:sales"' in text


def test_paths_name_array_entries_by_name_or_place(demo):
    assert demo.get("line.line2.channel") == 3
    assert demo.get("agent.olena.queues.sales") == 1
    assert demo.get("callerid.rule.1.then") == "language:ru"
    assert demo.get("menu.main.keys.1") == "menu:sales"


@pytest.mark.parametrize("path,said", [
    ("queue.support.wrapup", "queue.support has no key 'wrapup'; did you mean 'wrapup_s'?"),
    ("line.line9.rings", "no line 'line9'; did you mean 'line4'?"),
    ("menu..x", "has an empty word"),
    ("office.name.x", "office.name is a value, not a table"),
    ("offise.name", "the configuration has no key 'offise'; did you mean 'office'?"),
    ("callerid.rule.5.match", "no callerid.rule '5'"),
])
def test_a_path_that_is_not_there_says_what_is_wrong(demo, path, said):
    with pytest.raises(TreeError) as e:
        demo.get(path)
    assert said in str(e.value)


def test_set_types_values_by_what_the_key_holds(demo):
    t = (demo.set("queue.support.wrapup_s", "20").set("agent.olena.pin", "0042").set("agent.ivan.pin", "5678")
         .set("office.languages", "en ru").set("office.name", "42").set("queue.sales.join_empty", "false")
         .set("prompts.welcome.en", "Hello, and welcome")
         .set("prompts.blocked.en", '{sound = "pm-goodbye"}').set("hours.holidays", "2027-01-01, 2027-05-01"))
    assert t.get("queue.support.wrapup_s") == 20
    assert t.get("agent.olena.pin") == "0042" and t.get("agent.ivan.pin") == "5678"
    assert t.get("office.languages") == ["en", "ru"] and t.get("office.name") == "42"
    assert t.get("queue.sales.join_empty") is False
    assert t.get("prompts.welcome.en") == "Hello, and welcome"
    assert t.get("prompts.blocked.en") == {"sound": "pm-goodbye"}
    assert t.get("hours.holidays") == ["2027-01-01", "2027-05-01"]
    assert demo.get("queue.support") == {"strategy": "round-robin", "music": "macroform-the_simplicity"}  # untouched


def test_set_makes_entries_and_tables_that_are_not_there(demo):
    t = (demo.set("line.line5.channel", "15").set("line.line5.plan", "ua").set("queue.billing.strategy", "ringall")
         .set("callerid.rule.2.match", "+380*").set("callerid.rule.2.then", "language:uk"))
    assert t.get("line.line5") == {"name": "line5", "channel": 15, "plan": "ua"}
    assert t.get("queue.billing.strategy") == "ringall"
    assert t.get("callerid.rule.2") == {"match": "+380*", "then": "language:uk"}
    with pytest.raises(TreeError, match="the next is 3"):
        t.set("callerid.rule.7.match", "1")
    with pytest.raises(TreeError, match="line.line6 has no key 'ring'; did you mean 'rings'"):
        t.set("line.line6.ring", "3")
    assert "[[line]]\nname = \"line5\"\nchannel = 15" in t.text()


def test_delete_and_diff(demo):
    t = demo.delete("agent.ivan").delete("queue.sales.music").set("queue.support.ring_s", "20")
    assert [a["name"] for a in t.data["agent"]] == ["olena"]
    assert diff(demo, t) == [
        '+ queue.support.ring_s = 20',
        '- queue.sales.music = "macroform-cold_day"',
        '- agent.ivan.name = "ivan"', '- agent.ivan.phone = "desk2"', '- agent.ivan.pin = "5678"',
        '- agent.ivan.queues.support = 1', '- agent.ivan.queues.sales = 2']
    assert diff(demo, demo) == []
    with pytest.raises(TreeError):
        demo.delete("queue.nothing")


def test_completion_of_paths_and_values(demo):
    assert demo.complete_path("que") == ["queue."]
    assert demo.complete_path("queue.s") == ["queue.sales.", "queue.support."]
    assert demo.complete_path("queue.sales.wr") == ["queue.sales.wrapup_s"]
    assert "line.desk1." in demo.complete_path("line.")
    assert "agent.olena.queues." in demo.complete_path("agent.olena.")
    assert "menu.main.collect." in demo.complete_path("menu.main.c")
    assert demo.complete_path("nothing.at.all") == []
    assert demo.complete_value("queue.sales.strategy", "r") == ["ringall", "round-robin", "random"]
    assert demo.complete_value("queue.sales.join_empty", "") == ["true", "false"]
    assert "menu:sales" in demo.complete_value("menu.main.keys.4", "menu:")
    assert demo.complete_value("office.operator", "") == ["reception", "desk1", "desk2"]
    assert demo.complete_value("line.line1.kind", "") == ["fxo", "fxs"]
    assert demo.complete_value("office.timezone", "Europe/Ky") == ["Europe/Kyiv"]
    assert demo.complete_value("office.name", "") == []


def test_values_as_typed():
    assert parse_value('"quoted 42"', "text") == "quoted 42"
    assert parse_value("12", "number") == 12
    assert parse_value("12", "text") == "12"
    assert parse_value("[1, 2]", "text") == [1, 2]
    assert parse_value("en", "language-list") == ["en"]
    assert parse_value("true", "bool") is True


def test_board_spans_go_by_place_and_complete_their_closed_sets(demo):
    t = demo.set("board.profile", "te110").set("board.span.1.signalling", "pri_cpe").set("board.span.1.crc4", "true")
    assert t.get("board.span.1") == {"signalling": "pri_cpe", "crc4": True}
    assert "[[board.span]]\nsignalling = \"pri_cpe\"" in t.text()
    assert t.complete_value("board.span.1.signalling", "pri") == ["pri_cpe", "pri_net"]
    assert t.complete_value("board.zone", "u") == ["us", "uk", "us-old"]
    assert "board.span.1.lbo" in t.complete_path("board.span.1.")
    config.parse(t.text().encode(), "office.toml")
