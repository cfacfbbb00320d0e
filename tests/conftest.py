"""Shared fixtures: offices on the simulated board, built fresh for each test."""
import pytest

from appliance.engine import Line
from appliance.sim import SimOffice


@pytest.fixture
def office():
    """One line and one phone port, A-law, ITU plan, clean line."""
    with SimOffice(lines=1, phones=1, line=Line()) as o:
        yield o
