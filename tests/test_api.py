"""The Python API: load, loads, check from every input form, explain, settle, errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import policylang
from policylang.io.claims import read_csv

GOLDEN = Path("tests/golden/decisions")

POLICY = """
policy "API example"
parameter visit: money
  from 2025-01-01 to 2025-12-31 = EUR 45.00
  from 2026-01-01 = EUR 47.50
title seh_contact "SEH-contact" {
  codes {"190015", "190016"}
  valid from 2025-01-01
  tariff maximum visit
  source "NZa NR/CU-263 bijlage item 43"
}
"""

CLAIM = {
    "claim_id": "k1",
    "provider": "01234567",
    "insurer": "3311",
    "patient": "p1",
    "code": "190015",
    "start_date": "2026-02-01",
    "amount": "50.00",
}


def test_loads_and_check_mappings() -> None:
    policy = policylang.loads(POLICY)
    (decision,) = policy.check([CLAIM])
    assert decision == policylang.Decision(
        claim_id="k1",
        status="adjusted",
        payable=Decimal("47.50"),
        claimed=Decimal("50.00"),
        title="seh_contact",
        funding="production",
        reasons=(
            policylang.Reason(
                "seh_contact", "funded as SEH-contact (production)", "NZa NR/CU-263 bijlage item 43"
            ),
            policylang.Reason(
                "seh_contact",
                "claimed EUR 50.00 is above the maximum tariff EUR 47.50 x 1 = EUR 47.50",
                "NZa NR/CU-263 bijlage item 43",
            ),
        ),
    )


def test_a_date_outside_every_period_is_an_error_not_an_extrapolation() -> None:
    policy = policylang.loads(POLICY.replace("valid from 2025-01-01", ""))
    (decision,) = policy.check([{**CLAIM, "start_date": "2024-12-31"}])
    assert decision.status == "error"
    assert decision.reasons == (
        policylang.Reason(
            "visit",
            "parameter `visit` has no value on 2024-12-31; it is defined "
            "from 2025-01-01 to 2025-12-31; from 2026-01-01",
        ),
    )


def test_loads_reports_errors_with_the_given_name() -> None:
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads("define x = y", name="mine.policy")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.span.location()) == ("E0201", "mine.policy:1:12")


def test_loads_refuses_imports() -> None:
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads('import "other.policy"')
    assert caught.value.diagnostics[0].code == "E0211"


def test_imports_may_not_leave_the_rules_tree(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (tmp_path / "secret.policy").write_text("parameter x: money = EUR 1.00\n")
    (rules / "a.policy").write_text('import "../secret.policy"\n')
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(rules)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E0210"
    assert diagnostic.message == "import `../secret.policy` points outside the rules tree"


def test_names_from_unimported_files_are_not_visible(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_text("parameter tariff_a: money = EUR 1.00\n")
    (tmp_path / "b.policy").write_text('title t { codes {"1"} tariff maximum tariff_a }\n')
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(tmp_path)
    assert [d.code for d in caught.value.diagnostics] == ["E0205"]
    (tmp_path / "b.policy").write_text(
        'import "a.policy"\ntitle t { codes {"1"} tariff maximum tariff_a }\n'
    )
    assert policylang.load(tmp_path).program.titles["t"].tariff_kind == "maximum"


def _as_json(decisions: list[policylang.Decision]) -> list[dict[str, object]]:
    return [d.to_json() for d in decisions]


def test_csv_jsonl_parquet_and_mappings_give_the_same_decisions(tmp_path: Path) -> None:
    policy = policylang.load(GOLDEN / "core.policy")
    expected = _as_json(policy.check(GOLDEN / "core.csv"))
    rows = [raw.fields for raw in read_csv(GOLDEN / "core.csv")]
    jsonl = tmp_path / "claims.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    parquet = tmp_path / "claims.parquet"
    columns = {name: [row.get(name) for row in rows] for name in rows[0]}
    pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), parquet)
    assert _as_json(policy.check(jsonl)) == expected
    assert _as_json(policy.check(parquet)) == expected
    # c21 has an empty patient; in mappings a missing key is the same as an empty field.
    assert _as_json(policy.check(rows)) == expected


def test_a_broken_jsonl_line_is_an_error_decision_not_a_crash(tmp_path: Path) -> None:
    claims = tmp_path / "c.jsonl"
    claims.write_text(json.dumps(CLAIM) + "\n{not json\n")
    decisions = policylang.loads(POLICY).check(claims)
    assert [d.status for d in decisions] == ["adjusted", "error"]
    assert decisions[1].claim_id == "row 2"
    assert decisions[1].reasons[0].message.startswith("line is not valid JSON")


def test_typed_parquet_columns_are_read_as_text(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "claim_id": ["t1"],
            "provider": ["01234567"],
            "insurer": ["3311"],
            "patient": ["p1"],
            "code": ["190016"],
            "start_date": [dt.date(2025, 5, 1)],
            "quantity": [2],
            "amount": [pa.scalar(Decimal("90.00"), pa.decimal128(10, 2)).as_py()],
        }
    )
    pq.write_table(table, path)
    (decision,) = policylang.loads(POLICY).check(path)
    assert (decision.status, decision.payable) == ("accepted", Decimal("90.00"))


def test_explain_lists_validity_and_tariff_steps() -> None:
    explanation = policylang.loads(POLICY).explain([CLAIM], "k1")
    assert [(s.kind, s.name, s.outcome) for s in explanation.steps] == [
        ("validity", "seh_contact", "valid"),
        ("tariff", "seh_contact", "47.50"),
    ]


def test_unknown_table_is_an_input_error() -> None:
    with pytest.raises(policylang.InputError) as caught:
        policylang.loads(POLICY).with_tables({"nope": "x.csv"})
    assert caught.value.diagnostics[0].message == "the rule files declare no table `nope`"
