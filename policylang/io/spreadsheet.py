"""Cells of CSV output that a spreadsheet shows as text, never runs as a formula.

Finance staff open `--format csv` in Excel or LibreOffice, which run a cell starting with `=`,
`+`, `-` or `@` as a formula (`=HYPERLINK(...)` leaks data, DDE formulas start programs), and
tab and carriage return can hide such a cell behind another. Claim ids, codes and messages
come from claim files that anyone upstream may write. As OWASP recommends ("CSV Injection"),
such a cell gets a leading `'`, which the spreadsheet shows as a text marker and does not
evaluate. A plain number (`-12.50`, `+31`) is left alone: a spreadsheet reads it as the number
it is, and amounts must stay numbers. JSON and JSON Lines keep every value exactly.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(text: str) -> str:
    """`text`, with a `'` in front when a spreadsheet would take it for a formula."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def spreadsheet_row(cells: list[str]) -> list[str]:
    return [spreadsheet_cell(cell) for cell in cells]
