"""One reading of a typed or carried whole number (practice.core.numbers)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practice.core.numbers import MAX_DIGITS, whole_number


@given(st.integers(min_value=0, max_value=10**MAX_DIGITS - 1), st.sampled_from(["", " ", "\t"]))
def test_plain_digits_are_read_as_they_are(number, space):
    assert whole_number(f"{space}{number}{space}") == number


@pytest.mark.parametrize("value", [
    None, "", "  ", "-5", "+5", "5.0", "1e3", "12a", "²", "١٢", "５", "1_000", "1 000", "9" * (MAX_DIGITS + 1),
    "9" * 5000,
])
def test_anything_else_is_none(value):
    assert whole_number(value) is None


def test_a_field_may_allow_fewer_digits():
    assert whole_number("100", max_digits=3) == 100 and whole_number("0100", max_digits=3) is None
