"""The raw claim: one input row as text, before the policy's schema types it.

Every reader (CSV, JSON Lines, Parquet, Vektis EI) yields `RawClaim`s. Values stay text here so
that codes keep their leading zeros and a malformed value can be reported with what was written.
A reader that finds a problem with a row it can still identify reports it in `problems`; that row
becomes an `error` decision and every other row is still evaluated.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class RowProblem:
    field: str
    message: str


@attrs.define  # not frozen: one is made per input row; treat as read-only
class RawClaim:
    row: int  # 1-based position in the input (a data row, or a record number for EI files)
    fields: dict[str, str | None]
    problems: tuple[RowProblem, ...] = ()
