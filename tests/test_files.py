"""Files written whole: the new text or the old, the mode kept or given from the first
byte, nothing left beside the file when the write fails."""
from __future__ import annotations

import os
import stat

import pytest

from appliance import files


def test_a_file_is_replaced_whole_and_keeps_its_mode(tmp_path):
    p = tmp_path / "office.toml"
    files.write_whole(p, "one\n")
    assert p.read_text() == "one\n" and stat.S_IMODE(p.stat().st_mode) == 0o644
    os.chmod(p, 0o640)
    files.write_whole(p, "two\n")
    assert p.read_text() == "two\n" and stat.S_IMODE(p.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["office.toml"]


def test_a_secret_is_owner_only_before_its_first_byte(tmp_path, monkeypatch):
    p = tmp_path / "console.passwd"
    seen = []
    real = os.fsync

    def fsync(fd):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    files.write_whole(p, "hash\n", mode=0o600)
    assert seen[0] == 0o600 and stat.S_IMODE(p.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_nothing_beside_it(tmp_path, monkeypatch):
    p = tmp_path / "system.conf"
    p.write_text("old\n")

    def broken(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        files.write_whole(p, "new\n")
    assert p.read_text() == "old\n" and os.listdir(tmp_path) == ["system.conf"]
