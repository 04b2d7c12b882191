"""The identifiers a good-faith estimate names: a provider's NPI, a tax identification number (TIN) and a
service's billing code. Each parse_* takes what a person typed and returns it as stored ("" when left blank),
or raises ValueError with a sentence for that person.
"""
from __future__ import annotations

import re

# An NPI's check digit is the Luhn digit of the nine digits after this prefix (the card issuer prefix the NPI
# standard reserves for health care in the United States).
NPI_PREFIX = "80840"
_SEPARATORS = re.compile(r"[\s-]+")
_SERVICE_CODE = re.compile(r"^[A-Z0-9]{5}$")


def luhn_check_digit(digits: str) -> int:
    """The digit that makes `digits` + it pass the Luhn check."""
    total = 0
    # Walking from the right, the digit next to the (missing) check digit is doubled first.
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    return (len(npi) == 10 and npi.isascii() and npi.isdigit()
            and luhn_check_digit(NPI_PREFIX + npi[:9]) == int(npi[9]))


def parse_npi(text: str | None) -> str:
    npi = _SEPARATORS.sub("", text or "")
    if not npi:
        return ""
    if len(npi) != 10 or not (npi.isascii() and npi.isdigit()):
        raise ValueError("An NPI is 10 digits, for example 1234567893.")
    if not npi_is_valid(npi):
        raise ValueError("This NPI's last digit doesn't match the others. Check it against the NPI registry.")
    return npi


def parse_tin(text: str | None) -> str:
    """Nine digits (an EIN such as 12-3456789, or an SSN): stored as the digits alone."""
    tin = _SEPARATORS.sub("", text or "")
    if not tin:
        return ""
    if len(tin) != 9 or not (tin.isascii() and tin.isdigit()):
        raise ValueError("A tax identification number is 9 digits, for example 12-3456789.")
    return tin


def format_tin(tin: str) -> str:
    """As a TIN is usually written: XX-XXXXXXX (anything else is shown as stored)."""
    return f"{tin[:2]}-{tin[2:]}" if len(tin) == 9 and tin.isdigit() else tin


def parse_service_code(text: str | None) -> str:
    """A CPT or HCPCS code: five letters or digits, such as 90791, 90834 or 90847."""
    code = (text or "").strip().upper()
    if not code:
        return ""
    if not _SERVICE_CODE.match(code):
        raise ValueError("A service code is 5 letters or digits, for example 90791, 90834 or 90847.")
    return code
