"""CSV for spreadsheet apps, which run a cell starting with =, +, -, @, a tab or a carriage return as a formula
(CSV injection): such a cell gets a leading apostrophe, so it is shown as the text it is."""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell: str) -> str:
    """A cell a spreadsheet app shows as text rather than running as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
