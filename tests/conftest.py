"""Shared fixtures: offices on the simulated board, built fresh for each test.

tests/rig (the firmware image booted under qemu) runs only when asked for with --rig
(`make test-rig`): it needs the image built as root and minutes of emulated CPU.
"""
from pathlib import Path

import pytest

from appliance.engine import Line
from appliance.sim import SimOffice

RIG = Path(__file__).resolve().parent / "rig"


def pytest_addoption(parser):
    parser.addoption("--rig", action="store_true",
                     help="also collect tests/rig: boot the firmware image (make image) under qemu")


def pytest_ignore_collect(collection_path, config):
    if not config.getoption("--rig") and (collection_path == RIG or RIG in collection_path.parents):
        return True
    return None


@pytest.fixture
def office():
    """One line and one phone port, A-law, ITU plan, clean line."""
    with SimOffice(lines=1, phones=1, line=Line()) as o:
        yield o
