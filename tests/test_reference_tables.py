"""Tables with rows per period, and the bundled NZa code lists as tables."""

from __future__ import annotations

from pathlib import Path

import pytest

import policylang

TEMPORAL = """
table tariffs key code {
  code: code
  tariff: money
  valid_from: date
  valid_to: date?
  valid from valid_from to valid_to
}

title t { codes {"190015"} tariff fixed tariffs[claim.code].tariff }
"""

CLAIM = {"provider": "1", "insurer": "3311", "patient": "p", "code": "190015", "amount": "1.00"}


def _tariffs(tmp_path: Path, text: str) -> policylang.Policy:
    path = tmp_path / "tariffs.csv"
    path.write_text(text)
    return policylang.loads(TEMPORAL).with_tables({"tariffs": path})


def test_a_lookup_takes_the_row_valid_on_the_claim_date(tmp_path: Path) -> None:
    policy = _tariffs(
        tmp_path,
        "code,tariff,valid_from,valid_to\n"
        "190015,250.00,2025-01-01,2026-12-31\n"
        "190015,260.00,2027-01-01,\n",
    )
    decisions = policy.check(
        [
            {**CLAIM, "claim_id": "a", "start_date": "2026-12-31"},
            {**CLAIM, "claim_id": "b", "start_date": "2027-01-01"},
            {**CLAIM, "claim_id": "c", "start_date": "2024-12-31"},
        ]
    )
    assert [str(d.payable) for d in decisions] == ["250.00", "260.00", "0.00"]
    assert decisions[2].status == "error"
    assert decisions[2].reasons[0].message == (
        "table `tariffs` has no row with key `190015` valid on 2024-12-31"
    )


def test_overlapping_periods_of_one_key_stop_the_run(tmp_path: Path) -> None:
    with pytest.raises(policylang.InputError) as caught:
        _tariffs(
            tmp_path,
            "code,tariff,valid_from,valid_to\n"
            "190015,250.00,2025-01-01,2026-12-31\n"
            "190015,260.00,2026-06-01,\n",
        )
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E0606"
    assert diagnostic.message.endswith(
        "row 2: key `190015` is valid twice: its period overlaps the one from 2025-01-01"
    )


def test_validity_columns_must_be_dates() -> None:
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(TEMPORAL.replace("valid_from: date", "valid_from: text"))
    assert [d.code for d in caught.value.diagnostics] == ["E0610"]


def test_unknown_bundled_table_has_a_suggestion() -> None:
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(
            'table z key zorgproductcode {\n  zorgproductcode: code\n} from reference "zorgproducten"\n'
        )
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.help) == ("E0611", "did you mean `zorgproducten_2025`?")


def test_the_bundled_zorgproduct_list_is_used_when_no_file_is_given() -> None:
    policy = policylang.loads(
        "table zorgproducten key zorgproductcode {\n  zorgproductcode: code\n  omschrijving: text\n"
        '} from reference "zorgproducten_2025"\n'
        'title dbc { codes {"000000000".."999999999"} tariff free\n'
        '  eligible when claim.code in zorgproducten else "not a 2025 zorgproduct" }\n'
    )
    decisions = policy.check(
        [
            {**CLAIM, "claim_id": "real", "code": "010501001", "start_date": "2025-02-01"},
            {**CLAIM, "claim_id": "made_up", "code": "010501000", "start_date": "2025-02-01"},
        ]
    )
    assert [d.status for d in decisions] == ["accepted", "rejected"]
    assert decisions[1].reasons[0].message == "not a 2025 zorgproduct"
