"""Shared by the payment tests: a counselor with a paid couple trial ($75) and hours every day."""
import pytest

from tests.factories import make_counselor
from tests.scheduling.helpers import give_hours


@pytest.fixture
def counselor(app):
    c = make_counselor(slug="ana", name="Ana Counselor", timezone="America/New_York", licenses=("NY",))
    give_hours(c, {d: [("08:00", "20:00")] for d in range(7)})
    return c
