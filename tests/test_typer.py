"""The generated claim typer (io/claims.py) against a plain reading of the schema.

The typer is Python generated per schema for speed; `slow_type` below is the obvious loop over
the same parsers. Both must give the same values and the same problems for any text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang.io.claims import ClaimRow, FieldError, value_parser
from policylang.io.raw import RawClaim, RowProblem

POLICY = policylang.loads(
    """
policy "Typer"
enum Referrer { huisarts, specialist }
claim {
  referrer: Referrer?
  seh_visit: bool = false
  days_admitted: days?
  weight: decimal?
  share: percent?
  location: code?
}
"""
)


def slow_type(raw: RawClaim) -> ClaimRow:
    program = POLICY.program
    values: dict[str, Any] = {}
    problems = list(raw.problems)
    for field in program.claim_fields:
        text = raw.fields.get(field.name)
        text = text.strip() if text else text
        if not text:
            if field.has_default:
                values[field.name] = field.default
            elif field.optional:
                values[field.name] = None
            else:
                problems.append(RowProblem(field.name, f"missing field `{field.name}`"))
            continue
        try:
            values[field.name] = value_parser(field.type, program.enums)(text)
        except FieldError as error:
            problems.append(RowProblem(field.name, f"field `{field.name}`: {error}"))
    if values.get("end_date") is None and "start_date" in values:
        values["end_date"] = values["start_date"]
    claim_id = values.get("claim_id") or (raw.fields.get("claim_id") or "").strip()
    return ClaimRow(raw.row, claim_id or f"row {raw.row}", values, tuple(problems))


TEXTS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "12.50",
            " 12.5\n",
            "12,50",
            "1.234",
            "\u00a07\t",
            "-3",
            "²",
            "٣",
            "2025-02-29",
            "2024-02-29",
            "2025-1-1",
            "TRUE",
            "nee",
            "huisarts",
            "Huisarts",
            "10%",
            "0.5",
        ]
    ),
)
FIELDS = [f.name for f in POLICY.program.claim_fields]


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({name: TEXTS for name in FIELDS}), st.booleans())
def test_generated_typer_equals_the_plain_reading(
    fields: dict[str, str | None], broken: bool
) -> None:
    problems = (RowProblem("row", "the row has 3 columns, the header has 9"),) if broken else ()
    raw = RawClaim(7, fields, problems)
    assert POLICY.typer.type(raw) == slow_type(raw)


def test_any_surrounding_whitespace_is_trimmed_as_the_batch_engine_does() -> None:
    raw = RawClaim(
        1,
        {
            "claim_id": " c1",
            "provider": "1",
            "insurer": "1",
            "patient": "p",
            "code": "\u00a0190153\n",
            "start_date": "2025-01-02\r",
            "amount": "\t12.5 ",
        },
    )
    row = POLICY.typer.type(raw)
    assert row.problems == ()
    assert row.claim_id == "c1"
    assert row.values["code"] == "190153"
    assert row.values["amount"] == Decimal("12.5")
    assert str(row.values["start_date"]) == "2025-01-02"
    assert row.values["end_date"] == row.values["start_date"]


def test_problems_name_the_field_and_keep_the_schema_order() -> None:
    raw = RawClaim(3, {"claim_id": "c", "code": "1", "start_date": "2025-13-01", "amount": "1,5"})
    row = POLICY.typer.type(raw)
    assert [(p.field, p.message) for p in row.problems] == [
        ("provider", "missing field `provider`"),
        ("insurer", "missing field `insurer`"),
        ("patient", "missing field `patient`"),
        ("start_date", "field `start_date`: `2025-13-01` is not a date (YYYY-MM-DD)"),
        ("amount", "field `amount`: `1,5` is not an amount: use `.` as the decimal separator"),
    ]


def test_mappings_with_numbers_dates_and_booleans_type_as_their_text() -> None:
    import datetime as dt

    given = {
        "claim_id": "c1",
        "provider": 123,
        "insurer": "1",
        "patient": "p",
        "code": "190153",
        "start_date": dt.date(2025, 1, 2),
        "amount": Decimal("12.50"),
        "seh_visit": False,
        "days_admitted": 0,
    }
    as_text = {k: v if isinstance(v, str) else str(v).lower() for k, v in given.items()}
    (typed,) = POLICY.typer.type_mappings([given])
    (from_text,) = POLICY.typer.type_mappings([as_text])
    assert typed == from_text
    assert typed.values["provider"] == "123"
    assert typed.values["seh_visit"] is False
    assert typed.values["days_admitted"] == 0  # a zero is a value, not an empty field
