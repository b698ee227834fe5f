"""Whether the bundled NZa lists know a code: what "no payment title for code X" tells the user.

A code no payment title covers is either unknown to NZa (a typing error, a made-up code) or a
real code these rules do not fund; a claims department handles the two differently. The lists
are the bundled zorgproducten (DBC-pakket 2025) and zorgactiviteiten (RZ17, with validity).
Both engines say the same: the interpreter through `no_title_message`, the batch SQL through
the `nza_codes` rows and the same texts (evaluate/batch/plan.py).
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache

from policylang.data.nza import reference_table_path

ZORGPRODUCT, ACTIVITY_VALID, ACTIVITY_OTHER_DATE = 1, 2, 3
KNOWN_TEXT = {
    None: "the code is in none of the NZa lists bundled with policylang (zorgproducten "
    "DBC-pakket 2025, zorgactiviteiten RZ17)",
    ZORGPRODUCT: "the code is a zorgproduct of the NZa list (DBC-pakket 2025), but no payment "
    "title of these rules covers it",
    ACTIVITY_VALID: "the code is an NZa zorgactiviteit valid on that date, but no payment title "
    "of these rules covers it",
    ACTIVITY_OTHER_DATE: "the code is an NZa zorgactiviteit, but not one valid on that date",
}


@cache
def nza_codes() -> tuple[tuple[str, int, dt.date | None, dt.date | None], ...]:
    """(code, kind, valid_from, valid_to) rows: kind 1 a zorgproduct (no dates: the list's),
    kind 2 a zorgactiviteit with its closed validity period (valid_to None: open)."""
    rows: list[tuple[str, int, dt.date | None, dt.date | None]] = []
    with reference_table_path("zorgproducten_2025").open(encoding="utf-8-sig", newline="") as f:
        rows += [(r["zorgproductcode"], ZORGPRODUCT, None, None) for r in csv.DictReader(f)]
    with reference_table_path("zorgactiviteiten").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            end = dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else None
            rows.append((r["code"], ACTIVITY_VALID, dt.date.fromisoformat(r["valid_from"]), end))
    return tuple(rows)


@cache
def _by_code() -> dict[str, list[tuple[int, dt.date | None, dt.date | None]]]:
    index: dict[str, list[tuple[int, dt.date | None, dt.date | None]]] = {}
    for code, kind, start, end in nza_codes():
        index.setdefault(code, []).append((kind, start, end))
    return index


def nza_status(code: str, day: dt.date) -> int | None:
    """What the NZa lists know of `code` on `day`: ZORGPRODUCT, ACTIVITY_VALID,
    ACTIVITY_OTHER_DATE, or None (unknown); the first of these that applies."""
    found = [
        ZORGPRODUCT
        if kind == ZORGPRODUCT
        else ACTIVITY_VALID
        if start is not None and start <= day <= (end or dt.date.max)
        else ACTIVITY_OTHER_DATE
        for kind, start, end in _by_code().get(code, ())
    ]
    return min(found) if found else None


def no_title_message(code: str, day: dt.date) -> str:
    return (
        f"no payment title for code `{code}` on {day.isoformat()}: "
        f"{KNOWN_TEXT[nza_status(code, day)]}"
    )


KNOWN_COLUMNS = ("code", "kind", "from1", "to1", "from2", "to2")


@cache
def known_rows() -> tuple[
    tuple[str, int, dt.date | None, dt.date | None, dt.date | None, dt.date | None], ...
]:
    """One row per code for the SQL engines (`nza_known`, KNOWN_COLUMNS): its kind and its
    validity merged into at most two spans (the bundled lists have no code with more)."""
    spans: dict[str, list[list[dt.date | None]]] = {}
    kinds: dict[str, int] = {}
    for code, kind, start, end in sorted(nza_codes(), key=lambda r: (r[0], r[2] or dt.date.min)):
        kinds[code] = min(kinds.get(code, kind), kind)
        if kind == ZORGPRODUCT:
            continue
        merged = spans.setdefault(code, [])
        last = merged[-1] if merged else None
        if (
            last is not None
            and last[1] is not None
            and start is not None
            and (last[1] + dt.timedelta(days=1) >= start)
        ):
            last[1] = end
        else:
            merged.append([start, end])
    rows = []
    for code, kind in kinds.items():
        merged = spans.get(code, [])
        assert len(merged) <= 2, code
        flat = [d for span in merged for d in span] + [None] * (4 - 2 * len(merged))
        rows.append((code, kind, *flat))
    return tuple(rows)  # type: ignore[return-value]
