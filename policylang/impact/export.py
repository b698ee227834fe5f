"""The per-claim changes as CSV, safe to open in a spreadsheet.

A text cell that starts with = + - @ (or a tab or carriage return) is read as a formula by
Excel and LibreOffice; `neutralise` prefixes it with a `'` so it shows as the text it is, by the
same rule as `check --format csv` (policylang/io/spreadsheet.py). Amounts are written by us
(`-5.00`) and are left alone, so they stay numbers.
"""

from __future__ import annotations

import csv
from typing import IO

from policylang.impact.diff import Comparison
from policylang.impact.run import money
from policylang.io.spreadsheet import spreadsheet_cell

HEADER = [
    "claim_id", "kind", "provider", "insurer", "changed",
    "status_before", "status_after", "payable_before", "payable_after", "payable_change",
    "title_before", "title_after", "funding_before", "funding_after",
    "reason_before", "source_before", "reason_after", "source_after",
]  # fmt: skip


def neutralise(text: str | None) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    return spreadsheet_cell(text or "")


def write_changes_csv(comparison: Comparison, handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(HEADER)
    for change in comparison.changes:
        a, b = change.before, change.after
        ra, rb = change.reason_before, change.reason_after
        writer.writerow(
            [
                neutralise(change.claim_id),
                change.kind,
                neutralise(change.provider),
                neutralise(change.insurer),
                " ".join(change.fields),
                a.status if a else "",
                b.status if b else "",
                money(a.payable) if a else "",
                money(b.payable) if b else "",
                money(change.payable_change),
                neutralise(a.title if a else None),
                neutralise(b.title if b else None),
                neutralise(a.funding if a else None),
                neutralise(b.funding if b else None),
                neutralise(f"{ra.rule}: {ra.message}" if ra else None),
                neutralise(ra.source if ra else None),
                neutralise(f"{rb.rule}: {rb.message}" if rb else None),
                neutralise(rb.source if rb else None),
            ]
        )
