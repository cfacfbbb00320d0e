"""The traffic file of `appliance simulate`: every broken file in tests/traffic/bad/ gives
the `file:line: key: message` its first line (`# EXPECTED: ...`) states, against the
office of tests/traffic/office.toml; nothing reaches a user as a traceback; a good file
becomes the hours and distributions the simulation draws from."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from appliance import config, traffic

HERE = Path(__file__).resolve().parent / "traffic"
BAD = sorted((HERE / "bad").glob("*.toml"))
GOOD = """seed = 7
start = "09:30"
queue = "support"
[handle]
distribution = "lognormal"
mean_s = 240
cv = 1.0
[patience]
distribution = "exponential"
mean_s = 150
[[hour]]
calls = 60
agents = 4
[[hour]]
calls = 12.5
agents = 0
"""


@pytest.fixture(scope="module")
def office():
    return config.load(str(HERE / "office.toml"))


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# EXPECTED: "), f"{path.name} does not say what it expects"
    return first[len("# EXPECTED: "):]


def test_there_are_broken_files():
    assert len(BAD) >= 10


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_file_names_file_line_and_key(path, office):
    with pytest.raises(traffic.TrafficError) as e:
        traffic.check(traffic.load(str(path)), office)
    said = [str(p) for p in e.value.problems]
    assert any(s.startswith(f"{path}:{expected(path)}") for s in said), said


def test_the_issue_s_example_is_read_as_written(office):
    t = traffic.parse(GOOD.encode(), "day.toml")
    traffic.check(t, office)
    assert t.seed == 7 and t.start == dt.time(9, 30) and t.queue == "support" and t.digits is None
    assert t.handle == traffic.Distribution("lognormal", 240.0, 1.0)
    assert t.patience == traffic.Distribution("exponential", 150.0)
    assert t.answer == traffic.Distribution("fixed", 2.0)       # the default ring before an answer
    assert t.hours == (traffic.Hour(60.0, 4), traffic.Hour(12.5, 0))
    assert t.staffed_queue(office) == "support"


def test_digits_and_the_office_s_only_queue(office):
    t = traffic.parse(GOOD.replace('queue = "support"', 'digits = "2"').encode(), "day.toml")
    traffic.check(t, office)
    assert t.digits == "2" and t.queue is None and t.staffed_queue(office) == "support"


def test_every_problem_is_listed_in_file_order(office):
    text = GOOD.replace('start = "09:30"', 'start = "25:00"').replace('cv = 1.0', 'cv = -1') \
        .replace("agents = 4", "agents = 40")
    with pytest.raises(traffic.TrafficError) as e:
        t = traffic.parse(text.encode(), "day.toml")
    assert [p.key for p in e.value.problems] == ["start", "handle.cv"]
    t = traffic.parse(GOOD.replace("agents = 4", "agents = 40").encode(), "day.toml")
    with pytest.raises(traffic.TrafficError) as e:
        traffic.check(t, office)
    assert [str(p) for p in e.value.problems] == ["day.toml:13: hour[0].agents: 40 agents, but queue 'support' "
                                                  "has 10 members"]


@pytest.mark.parametrize("data,what", [
    (b"\x00\x01\x02", "binary data"),
    (b"\xff\xfe junk", "not UTF-8"),
    (b"seed = [", "TOML syntax"),
    (b"x" * (traffic.MAX_BYTES + 1), "not a traffic file"),
    (b"queue = 'support'\n[handle]\nmean_s = 1\n", "missing key 'hour'"),
    (b"queue = 'support'\nhour = 3\n[handle]\nmean_s = 1\n", "must be [[hour]] tables"),
    (b"hour = []\n[handle]\nmean_s = 1\n", "missing key 'queue'"),
    (b"queue = 'support'\nhandle = 'lognormal'\n[[hour]]\ncalls = 1\nagents = 1\n", "must be a table"),
])
def test_junk_is_a_traffic_error(data, what):
    with pytest.raises(traffic.TrafficError) as e:
        traffic.parse(data, "junk.toml")
    assert what in str(e.value)


def test_a_missing_file_says_so():
    with pytest.raises(traffic.TrafficError) as e:
        traffic.load("/nonexistent/day.toml")
    assert "cannot read" in str(e.value)


def test_an_office_with_several_queues_needs_agents_of(tmp_path):
    demo = config.load(str(Path(config.__file__).parent / "demo-office.toml"))
    t = traffic.parse(GOOD.replace('queue = "support"', 'digits = "1"').replace("agents = 4", "agents = 1").encode(),
                      "day.toml")
    with pytest.raises(traffic.TrafficError) as e:
        traffic.check(t, demo)
    assert "agents_of: the office has several queues" in str(e.value)
    t = traffic.parse(GOOD.replace('queue = "support"', 'digits = "1"\nagents_of = "sales"')
                      .replace("agents = 4", "agents = 1").encode(), "day.toml")
    traffic.check(t, demo)
    assert t.staffed_queue(demo) == "sales"


@pytest.mark.parametrize("dist", [traffic.Distribution("lognormal", 240.0, 1.0),
                                  traffic.Distribution("lognormal", 120.0, 0.5),
                                  traffic.Distribution("exponential", 150.0)])
def test_draws_have_the_mean_and_spread_asked_for(dist):
    x = dist.draw(np.random.default_rng(1), 400_000)
    cv = dist.cv if dist.kind == "lognormal" else 1.0
    assert abs(x.mean() / dist.mean_s - 1) < 0.01
    assert abs(x.std() / x.mean() / cv - 1) < 0.03


def test_fixed_and_none_draw_what_they_say():
    rng = np.random.default_rng(1)
    assert list(traffic.Distribution("fixed", 2.0).draw(rng, 3)) == [2.0, 2.0, 2.0]
    assert np.isinf(traffic.Distribution("none").draw(rng, 2)).all()


def test_an_hour_sets_its_own_means_for_the_file_s_distributions():
    t = traffic.parse((GOOD + "handle_s = 100\npatience_s = 45\n").encode(), "day.toml")
    first, second = t.hours
    assert (first.handle_s, first.patience_s) == (None, None)
    assert (second.handle_s, second.patience_s) == (100.0, 45.0)
    assert t.handle_in(first) == t.handle
    assert t.handle_in(second) == traffic.Distribution("lognormal", 100.0, 1.0)
    assert t.patience_in(second) == traffic.Distribution("exponential", 45.0)
