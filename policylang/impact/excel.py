"""The comparison as an Excel workbook: a summary sheet, the changed claims, one sheet per
grouping, the settlement lines and the checks and invariants.

Text goes in with `write_string`, never `write`: a string cell is never evaluated, so a claim id
such as `=HYPERLINK(...)` stays text (xlsxwriter's `write` would turn it into a formula).
Amounts are number cells with two decimals, so a finance team can sum them. An xlsx file stores
a number as decimal text; the amount's shortest float text is exactly its decimal text for any
amount below 10^13 (checked per cell: otherwise the amount is written as text).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from policylang.impact.diff import Comparison

_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def write_xlsx(comparison: Comparison, path: Path) -> None:
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False}
    )
    amount = book.add_format({"num_format": "0.00"})
    bold = book.add_format({"bold": True})
    try:
        sheet = book.add_worksheet("summary")
        for row, (key, value) in enumerate(comparison.summary_json().items()):
            sheet.write_string(row, 0, key, bold)
            _cell(
                sheet, row, 1, value if not isinstance(value, dict | list) else str(value), amount
            )
        _table(
            book.add_worksheet("changes"),
            [
                "claim_id",
                "kind",
                "provider",
                "insurer",
                "changed",
                "status before",
                "status after",
                "payable before",
                "payable after",
                "payable change",
                "reason before",
                "source before",
                "reason after",
                "source after",
            ],
            (
                [
                    c.claim_id,
                    c.kind,
                    c.provider,
                    c.insurer,
                    " ".join(c.fields),
                    c.before.status if c.before else None,
                    c.after.status if c.after else None,
                    c.before.payable if c.before else None,
                    c.after.payable if c.after else None,
                    c.payable_change,
                    c.reason_before.message if c.reason_before else None,
                    c.reason_before.source if c.reason_before else None,
                    c.reason_after.message if c.reason_after else None,
                    c.reason_after.source if c.reason_after else None,
                ]
                for c in comparison.changes
            ),
            bold,
            amount,
        )
        used = {"summary", "changes"}
        for name, groups in comparison.groups.items():
            _table(
                book.add_worksheet(_sheet_name(f"by {name}", used)),
                [
                    name,
                    "claims before",
                    "claims after",
                    "claimed before",
                    "claimed after",
                    "payable before",
                    "payable after",
                    "payable change",
                ],
                (
                    [
                        g.key,
                        g.before.claims,
                        g.after.claims,
                        g.before.claimed,
                        g.after.claimed,
                        g.before.payable,
                        g.after.payable,
                        g.payable_change,
                    ]
                    for g in groups
                ),
                bold,
                amount,
            )
        if comparison.lines:
            _table(
                book.add_worksheet("settlement"),
                ["settlement", "party", "item", "before", "after", "change", "source"],
                (
                    [x.settlement, x.party, x.item, x.before, x.after, x.change, x.source]
                    for x in comparison.lines
                ),
                bold,
                amount,
            )
        if comparison.states:
            _table(
                book.add_worksheet("checks and invariants"),
                ["kind", "name", "before", "after", "verdict"],
                ([s.kind, s.name, s.before, s.after, s.verdict] for s in comparison.states),
                bold,
                amount,
            )
    finally:
        book.close()


def _table(sheet: Any, header: list[str], rows: Any, bold: Any, amount: Any) -> None:
    for column, title in enumerate(header):
        sheet.write_string(0, column, title, bold)
    for row, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            _cell(sheet, row, column, value, amount)
    sheet.freeze_panes(1, 0)


def _cell(sheet: Any, row: int, column: int, value: Any, amount: Any) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        exact = float(value)
        if Decimal(repr(exact)) == value:  # the file holds exactly this decimal text
            sheet.write_number(row, column, exact, amount)
        else:
            sheet.write_string(row, column, f"{value:f}")
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, int):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, str(value))


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    base = _SHEET_UNSAFE.sub("_", name)[:31]
    candidate, number = base, 2
    while candidate.lower() in used:
        suffix = f" {number}"
        candidate, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate
