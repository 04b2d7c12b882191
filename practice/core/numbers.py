"""Reading a whole number someone typed or a link carried: one rule for every form field and query argument."""
from __future__ import annotations

MAX_DIGITS = 18  # below 2**63: fits every id and count column, and int() never meets a 5,000-digit string


def whole_number(value: object, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The number in `value` ("42", " 42 "), or None when it is not plain ASCII digits of at most `max_digits`.

    str.isdigit alone lets through digits int() refuses (a superscript two) and other scripts' digits; a huge
    string of digits would be read at length. Neither is a number anyone meant to give here.
    """
    text = str(value if value is not None else "").strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
