"""The office's configuration file: every broken file in tests/configs/ gives its
expected `file:line: key: message`; nothing any file holds reaches a user as a
traceback; a good file becomes typed objects that answer what the call flow asks."""
from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import config

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
DEMO = HERE.parent / "appliance" / "demo-office.toml"


def expected():
    out = []
    for line in (CONFIGS / "EXPECTED").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, what = line.split("\t")
            out.append((name, what))
    return out


def test_there_are_at_least_thirty_broken_files():
    names = [n for n, _ in expected()]
    assert len(names) >= 30
    on_disk = {p.name for p in CONFIGS.glob("*.toml")} - {"good.toml"}
    assert on_disk == set(names), "every broken file has its expected message, and only those"


@pytest.mark.parametrize("name,what", expected(), ids=[n for n, _ in expected()])
def test_broken_file_names_file_line_and_key(name, what):
    path = str(CONFIGS / name)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    said = [str(p) for p in e.value.problems]
    assert any(s.startswith(f"{path}:{what}") for s in said), said


@pytest.mark.parametrize("name,what", expected()[:8], ids=[n for n, _ in expected()[:8]])
def test_check_config_exits_1_with_the_problems(name, what):
    path = str(CONFIGS / name)
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "check-config", path], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{path}:{what}" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_check_config_accepts_the_demo_office():
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "check-config", str(DEMO)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "7 lines, 6 menus" in r.stdout


def test_all_problems_are_listed_in_file_order(tmp_path):
    text = (CONFIGS / "good.toml").read_text(encoding="utf-8")
    text = text.replace('kind = "fxs"', 'kind = "fxq"').replace('"menu:info"', '"menu:nowhere"')
    text = text.replace('mon = "09:00-18:00"', 'mon = "nine to six"')
    p = tmp_path / "office.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as e:
        config.load(str(p))
    keys = [pr.key for pr in e.value.problems]
    assert keys == ["line[1].kind", "menu.main.keys.1", "hours.mon"]
    assert [pr.line for pr in e.value.problems] == sorted(pr.line for pr in e.value.problems)


# -- what no file may do: reach the user as anything but a ConfigError ---------------------

def junk_cases(tmp_path):
    rng = random.Random(7)
    yield "binary", bytes(rng.randrange(256) for _ in range(4096)), "not UTF-8"
    yield "nul", b'[office]\nname = "a\x00b"\n', "binary data"
    yield "latin-1", '[office]\nname = "Caf\xe9"\n'.encode("latin-1"), "not UTF-8"
    yield "huge", b"# " + b"x" * (config.MAX_BYTES + 10), "larger than"
    yield "empty", b"", "missing key 'office'"
    yield "array-root", b"office = [1, 2]\nline = 3\nmenu = 'x'\n", "must be a table"
    yield "wrong-everything", (b'office = { name = 1, entry = [], languages = "en", timezone = 3 }\n'
                               b'line = [ { name = 2, channel = "1", kind = 5 } ]\nmenu = { main = 7 }\n'
                               b'prompts = 4\nhours = []\ncallerid = { blocklist = "x", rule = 9 }\n'), "must be"


def test_junk_files_give_clear_errors(tmp_path):
    for name, data, said in junk_cases(tmp_path):
        p = tmp_path / f"{name}.toml"
        p.write_bytes(data)
        with pytest.raises(config.ConfigError) as e:
            config.load(str(p))
        assert said in str(e.value), (name, str(e.value))
        assert all(pr.file == str(p) for pr in e.value.problems)


def test_invalid_utf8_is_placed_on_its_line(tmp_path):
    p = tmp_path / "office.toml"
    p.write_bytes(b'[office]\nname = "ok"\nentry = "\xff"\n')
    with pytest.raises(config.ConfigError) as e:
        config.load(str(p))
    assert str(e.value).startswith(f"{p}:3: not UTF-8")


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "none.toml", tmp_path):
        with pytest.raises(config.ConfigError) as e:
            config.load(str(path))
        assert str(e.value).startswith(f"{path}: cannot read")


def test_mutated_files_never_escape_as_anything_else():
    """Five hundred damaged copies of a good file: a byte changed, a line dropped or
    repeated, a value swapped for one of another type. Each loads or is refused with a
    ConfigError whose problems all name the file."""
    good = (CONFIGS / "good.toml").read_bytes()
    lines = good.split(b"\n")
    rng = random.Random(2026)
    values = [b"1", b'"x"', b"[]", b"{}", b"true", b"1979-05-27", b"-0.5", b'"menu:"', b'"\xd0"']
    for i in range(500):
        how = i % 4
        if how == 0:
            data = bytearray(good)
            data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        elif how == 1:
            k = rng.randrange(len(lines))
            data = b"\n".join(lines[:k] + lines[k + 1:])
        elif how == 2:
            k = rng.randrange(len(lines))
            data = b"\n".join(lines[:k] + [lines[k]] + lines[k:])
        else:
            k = rng.randrange(len(lines))
            ln = lines[k]
            data = b"\n".join(lines[:k] + [ln.split(b"=")[0] + b"= " + rng.choice(values) if b"=" in ln else ln]
                              + lines[k + 1:])
        try:
            config.parse(data, "mutant.toml")
        except config.ConfigError as e:
            assert e.problems and all(p.file == "mutant.toml" for p in e.problems)


# -- what a good file becomes ------------------------------------------------------------

def test_demo_office_objects():
    office = config.load(str(DEMO))
    assert office.languages == ("en", "ru", "uk") and office.language == "en"
    assert [ln.name for ln in office.lines if ln.kind == "fxo"] == ["line1", "line2", "line3", "line4"]
    assert office.operator == "reception"
    main = office.menus[office.entry]
    assert main.keys["1"] == config.Action("menu", "sales")
    assert main.keys["9"] == config.Action("language", "uk")
    assert main.invalid_then == config.Action("operator")
    order = office.menus["order"].collect
    assert order.accepts("12345") and not order.accepts("123") and not order.accepts("123456789")
    assert office.prompts["invalid"].by_language["en"] == (config.Source("sound", "pm-invalid-option"),)
    assert office.prompts["welcome"].by_language["uk"][0].kind == "text"
    assert office.prompts["main_options"].by_language["en"][1] == config.Source("text", "Для русского языка нажмите 8.", "ru")


def test_business_hours_and_holidays():
    hours = config.load(str(DEMO)).hours
    kyiv = dt.timezone(dt.timedelta(hours=2))
    monday_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=kyiv)
    assert hours.open_at(monday_10)
    assert not hours.open_at(monday_10.replace(hour=18))            # closes at 18:00
    assert hours.open_at(monday_10.astimezone(dt.timezone.utc))     # the same moment in UTC
    assert not hours.open_at(dt.datetime(2026, 12, 6, 12, 0, tzinfo=kyiv))    # Sunday
    assert hours.open_at(dt.datetime(2026, 12, 5, 13, 59, tzinfo=kyiv))       # Saturday
    assert not hours.open_at(dt.datetime(2026, 12, 25, 10, 0, tzinfo=kyiv))   # a holiday
    assert hours.after_hours == config.Action("menu", "closed")


def test_caller_id_rules(tmp_path):
    text = (CONFIGS / "good.toml").read_text(encoding="utf-8") + (
        '\n[callerid]\nblocklist = ["0900*", "+380501111111"]\nvip = ["+38044*"]\n'
        '[[callerid.rule]]\nmatch = "+7*"\nthen = "language:ru"\n')
    p = tmp_path / "office.toml"
    p.write_text(text, encoding="utf-8")
    cid = config.load(str(p)).callerid
    assert cid.blocked("0900123") and cid.blocked("+380501111111") and not cid.blocked("+3805011111112")
    assert not cid.blocked("")
    assert cid.is_vip("+380441234567") and not cid.is_vip("+380501234567")
    assert cid.route("+74951234567") == config.Action("language", "ru") and cid.route("+380") is None


def test_agents_reached_three_ways_and_the_feature_codes(tmp_path):
    """An agent at a phone with a PIN, one at an outside number, one at an extension of
    the PBX behind the lines; the codes and reasons as the file gives them, the rest as
    the defaults."""
    text = (CONFIGS / "agent-no-phone.toml").read_text(encoding="utf-8").split("[[agent]]")[0] + '''
[features]
pause = "*75"
pause_reasons = { "1" = "lunch", "2" = "training" }

[[agent]]
name = "olena"
phone = "desk1"
pin = "0042"
queues = { sales = 1 }

[[agent]]
name = "ivan"
number = "0501234567"
queues = { sales = 2 }

[[agent]]
name = "petro"
extension = "204"
busy_s = 300
queues = { sales = 2 }
'''
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    office = config.load(str(path))
    olena, ivan, petro = office.agents
    assert (olena.phone, olena.pin, olena.number, olena.extension) == ("desk1", "0042", "", "")
    assert (ivan.phone, ivan.number, ivan.pin) == ("", "0501234567", "")
    assert (petro.extension, petro.busy_s) == ("204", 300.0)
    f = office.features
    assert f.codes() == {"login": "*71", "logout": "*72", "pause": "*75", "unpause": "*74", "status": "*70"}
    assert dict(f.pause_reasons) == {"1": "lunch", "2": "training"} and f.accept_key == "1"
    # Without a [features] table the *7x block and three reasons are there all the same.
    assert config.load(str(CONFIGS / "good.toml")).features == config.Features()


def test_a_queues_keys_while_waiting_and_callback_settings():
    text = DEMO.read_text(encoding="utf-8").replace(
        'music = "macroform-cold_day"\n',
        'music = "macroform-cold_day"\nexit_key = "0"\nexit_to = "menu:support"\ncallback_key = "1"\n'
        'callback_tries = 2\ncallback_retry_s = 120\nrejoin_s = 0\n', 1)
    office = config.parse(text.encode(), "office.toml")
    q = office.queues["sales"]
    assert (q.exit_key, q.exit_to, q.callback_key) == ("0", config.Action("menu", "support"), "1")
    assert (q.callback_tries, q.callback_retry_s, q.rejoin_s) == (2, 120.0, 0.0)
    s = office.queues["support"]
    assert (s.exit_key, s.callback_key, s.rejoin_s, s.callback_expiry_s) == (None, None, 120.0, 3600.0)


def test_the_call_logs_retention(tmp_path):
    assert config.load(str(DEMO)).calllog == config.Retention(keep_days=400.0, max_mb=500.0)
    f = tmp_path / "office.toml"
    f.write_text(DEMO.read_text(encoding="utf-8") + "\n[calllog]\nkeep_days = 90\nmax_mb = 64\n", encoding="utf-8")
    assert config.load(str(f)).calllog == config.Retention(keep_days=90.0, max_mb=64.0)


def test_where_recordings_go(tmp_path):
    assert config.load(str(DEMO)).recordings == config.Recordings(dir="", max_s=600.0)
    f = tmp_path / "office.toml"
    f.write_text(DEMO.read_text(encoding="utf-8") + '\n[recordings]\ndir = "rec/../voice"\nmax_s = 120\n',
                 encoding="utf-8")
    assert config.load(str(f)).recordings == config.Recordings(dir=str(tmp_path / "voice"), max_s=120.0)
    f.write_text(DEMO.read_text(encoding="utf-8") + '\n[recordings]\ndir = "/srv/rec"\nmax_s = 0\n',
                 encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"office\.toml:\d+: recordings\.max_s: 0\.0 is out of range"):
        config.load(str(f))


def test_the_board_section(tmp_path):
    assert config.load(str(DEMO)).board == config.Board()
    f = tmp_path / "office.toml"
    f.write_text(DEMO.read_text(encoding="utf-8") + '\n[board]\nprofile = "te220"\nzone = "ru"\n'
                 'echo_canceller = "oslec"\n[[board.span]]\nsignalling = "pri_cpe"\n'
                 '[[board.span]]\nsignalling = "mfcr2"\ntiming = 0\nlbo = 2\n', encoding="utf-8")
    b = config.load(str(f)).board
    assert (b.profile, b.zone, b.echo_canceller, b.modules) == ("te220", "ru", "oslec", ())
    assert b.spans == (config.E1Span("pri_cpe", timing=1, crc4=True), config.E1Span("mfcr2", timing=0, crc4=False,
                                                                                     lbo=2))
    assert [s.framing for s in b.spans] == ["ccs", "cas"]


def test_the_tone_zones_are_libtonezones():
    """board.zone takes exactly the zones dahdi_cfg's defaultzone= finds in libtonezone."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("tonezone")
    if name is None:
        pytest.skip("libtonezone is not installed (sh tools/install-deps installs dahdi, which brings it)")
    lib = ctypes.CDLL(name)
    lib.tone_zone_find.restype = ctypes.c_void_p
    lib.tone_zone_find.argtypes = [ctypes.c_char_p]
    assert len(config.TONE_ZONES) == 46
    assert all(lib.tone_zone_find(z.encode()) for z in config.TONE_ZONES)
    assert not any(lib.tone_zone_find(z.encode()) for z in ("ua", "itu", "kz", "by"))
