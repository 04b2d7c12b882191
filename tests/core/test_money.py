"""Amounts as people type them, in cents."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice.core.money import LARGEST, AmountInvalid, as_dollars, parse_amount


@pytest.mark.parametrize("typed, cents", [
    ("75", 7500), ("37.50", 3750), ("37.5", 3750), ("$12.05", 1205), ("$ 1,200", 120000), (" 0.01 ", 1), ("0", 0),
])
def test_amounts_as_typed(typed, cents):
    assert parse_amount(typed) == cents


@pytest.mark.parametrize("typed", ["", "   ", None, "abc", "12.345", "-5", "1,20", "1e3", "12..5", "NaN", "٣"])
def test_what_is_not_an_amount_gets_a_message(typed):
    with pytest.raises(AmountInvalid) as caught:
        parse_amount(typed)
    assert "dollars" in str(caught.value)


def test_an_absurd_amount_is_refused():
    with pytest.raises(AmountInvalid, match="too large"):
        parse_amount("10000000")


@given(st.integers(0, LARGEST))
def test_an_amount_shown_back_reads_the_same(cents):
    assert parse_amount(as_dollars(cents)) == cents
