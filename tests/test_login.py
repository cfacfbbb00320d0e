"""Logging in: the stored hash, the first start, the growing waits and the journal lines."""
import os
import stat

import pytest

from appliance import login
from appliance.login import LOCKOUT, Login, PasswordFileError

CHEAP = {"n": 2 ** 4, "r": 1, "p": 1}      # the same code at a cost tests can afford a thousand times
NOW = 1_700_000_000.0


def test_hash_is_salted_and_carries_its_parameters():
    a = login.hash_password("correct horse", CHEAP)
    b = login.hash_password("correct horse", CHEAP)
    assert a != b and a.startswith("scrypt$16$1$1$")
    assert login.verify("correct horse", a) and login.verify("correct horse", b)
    assert not login.verify("correct hors", a)


def test_the_default_cost_is_what_is_stored():
    stored = login.hash_password("correct horse")
    assert stored.split("$")[1:4] == ["16384", "8", "1"]
    assert login.verify("correct horse", stored)


def test_file_is_written_whole_and_owner_only(tmp_path):
    path = tmp_path / "state" / "console.passwd"
    assert login.load(path) is None
    stored = login.hash_password("s3cret-pass", CHEAP)
    login.save(path, stored)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert login.load(path) == stored
    login.save(path, login.hash_password("another-one", CHEAP))
    assert os.listdir(path.parent) == ["console.passwd"]


def test_a_damaged_file_is_named_with_what_to_do(tmp_path):
    path = tmp_path / "console.passwd"
    path.write_text("plain-text-password\n")
    with pytest.raises(PasswordFileError, match=r"console.passwd:1: not an scrypt hash.*remove the file"):
        login.load(path)
    path.write_text("scrypt$3$8$1$AAAA$AAAA\n")
    with pytest.raises(PasswordFileError, match="cost parameters"):
        login.load(path)


def test_default_path_follows_systemd_state_directory(monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/appliance:/other")
    assert str(login.default_path()) == "/var/lib/appliance/console.passwd"


def test_first_start_asks_twice_and_stores_the_hash():
    m = Login("ttyS0", cost=CHEAP)
    step = m.start(None, NOW)
    assert step.ask == "New password: " and "No console password" in step.say
    step = m.answer("short", NOW)
    assert "too short" in step.say and step.ask == "New password: "
    assert m.answer("long-enough", NOW).ask == "Again: "
    step = m.answer("long-enougH", NOW)
    assert "differ" in step.say and step.ask == "New password: "
    m.answer("long-enough", NOW)
    step = m.answer("long-enough", NOW)
    assert step.done and login.verify("long-enough", step.save)
    assert step.log == "console password set on ttyS0 at 2023-11-14T22:13:20Z"
    assert "long-enough" not in repr(step.log)


def test_wrong_passwords_wait_longer_each_time_then_lock():
    stored = login.hash_password("right-password", CHEAP)
    m = Login("ttyS0", cost=CHEAP)
    now = NOW
    waits = []
    for _ in range(6):
        assert m.start(stored, now).ask == "Password: "
        step = m.answer("wrong-password", now)
        assert not step.done and step.save is None
        assert "failed on ttyS0 at" in step.log and "wrong-password" not in step.log
        waits.append(step.until - now)
        assert m.ready(step.until - 0.5) is None
        assert m.answer("right-password", step.until - 0.5).done is False     # typed during the wait: ignored
        now = step.until
        assert m.ready(now).ask == "Password: "
    assert waits == [1, 2, 4, 8, LOCKOUT, LOCKOUT]
    assert m.answer("right-password", now).done
    m.logout()
    m.start(stored, now)
    assert m.answer("wrong-password", now).until == now + 1      # a right password ended the count


def test_a_new_login_does_not_cut_a_wait_short():
    stored = login.hash_password("right-password", CHEAP)
    m = Login("ttyUSB0", cost=CHEAP)
    m.start(stored, NOW)
    m.answer("nope", NOW)
    step = m.start(stored, NOW + 0.2)
    assert step.ask is None and step.until == NOW + 1
