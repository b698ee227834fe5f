"""Settlement semantics: lets, allocation, the settlement year, checks and missing tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

import policylang

POLICY = """
table parties key party {
  party: code
  group: code
  weight: decimal
}

parameter pot: money
  by year {
    2026: EUR 100.00,
    2027: EUR 1_000.00,
  }

settlement shares per p in parties {
  let part = prorate(pot by p.weight per p.group)
  let doubled = part * 2
  line "part" = part
  line "doubled" = doubled
  line "year" = settlement.year
}

check parts_add_up { holds sum(x.amount for x in lines where x.item == "part") == pot * 2 }
check reads_a_missing_table { holds count(r in extra) == 0 }

table extra key k {
  k: code
}
"""


def _policy() -> policylang.Policy:
    return policylang.loads(POLICY).with_tables(
        {
            "parties": {
                "a": {"party": "a", "group": "g1", "weight": Decimal(1)},
                "b": {"party": "b", "group": "g1", "weight": Decimal(1)},
                "c": {"party": "c", "group": "g1", "weight": Decimal(1)},
                "d": {"party": "d", "group": "g2", "weight": Decimal(0)},
                "e": {"party": "e", "group": "g2", "weight": Decimal(3)},
            }
        }
    )


def test_prorate_in_a_let_per_group_and_the_settlement_year() -> None:
    result = _policy().settle([], year=2027)
    lines = {(line.party, line.item): line.amount for line in result.lines}
    assert [lines[(p, "part")] for p in "abcde"] == [
        Decimal("333.34"),
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("0.00"),
        Decimal("1000.00"),
    ]
    assert lines[("a", "doubled")] == Decimal("666.68")
    assert lines[("e", "year")] == 2027
    assert [line.unit for line in result.lines if line.party == "e"] == [
        "money",
        "money",
        "integer",
    ]


def test_checks_read_lines_and_skip_when_a_table_is_missing() -> None:
    result = _policy().settle([], year=2026)
    checks = {c.name: c for c in result.checks}
    assert checks["parts_add_up"].holds
    assert checks["parts_add_up"].detail == "200.00 == 200.00"
    skipped = checks["reads_a_missing_table"]
    assert (skipped.holds, skipped.skipped) == (False, True)
    assert skipped.detail == "not evaluated: needs table `extra`"
    assert not result.failed


def test_a_year_without_a_value_stops_the_settlement() -> None:
    with pytest.raises(policylang.InputError) as caught:
        _policy().settle([], year=2025)
    assert caught.value.diagnostics[0].message == (
        "settlement `shares`, party `a`: parameter `pot` has no value for 2025; "
        "it is given for the years 2026-2027"
    )


def test_a_title_reading_a_table_that_was_not_given_is_an_error_decision() -> None:
    policy = policylang.loads(
        "table tariffs key code {\n  code: code\n  tariff: money\n}\n"
        'title t { codes {"1"} tariff fixed tariffs[claim.code].tariff }\n'
    )
    (decision,) = policy.check(
        [
            {
                "claim_id": "x",
                "provider": "1",
                "insurer": "2",
                "patient": "p",
                "code": "1",
                "start_date": "2026-01-01",
                "amount": "1.00",
            }
        ]
    )
    assert decision.status == "error"
    assert decision.reasons[0].message == (
        "table `tariffs` was not given (use --table tariffs=FILE)"
    )
