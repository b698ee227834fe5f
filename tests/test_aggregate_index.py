"""Aggregates over claims grouped by a party (compile.py): the index built once per claim set
gives what a plain scan of every claim for every party gives, errors included."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang.errors import InputError

POLICY = """
policy "Index"
claim { location: code? weight: integer? }
table sites key location {
  location: code
}
title visit "Visit" { codes {"190015"} tariff free }
settlement per_site per s in sites {
  let visits = count(c in claims where c.location == s.location and c.status != "error")
  let paid = sum(c.payable for c in claims where c.status == "accepted" and s.location == c.location)
  let weighted = sum(c.weight * 2 for c in claims where c.location == s.location and c.code == "190015")
  line "visits" = EUR 1.00 * visits
  line "paid" = paid
  line "weighted" = EUR 1.00 * weighted
  line "paid anywhere" = sum(c.payable for c in claims where c.status == "accepted" or c.status == "adjusted")
  line "not a visit" = EUR 1.00 * count(c in claims where not (c.title == "visit"))
}
"""
SITES = ("A", "B", "C")


def _claims(rows: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [
        {
            "claim_id": f"c{i}",
            "provider": "1",
            "insurer": "1",
            "patient": "p",
            "code": code,
            "start_date": "2027-03-01",
            "amount": amount,
            "location": location,
            "weight": "2",
        }
        for i, (location, code, amount) in enumerate(rows)
    ]


def _policy(sites: tuple[str, ...] = SITES) -> policylang.Policy:
    policy = policylang.loads(POLICY)
    return policy.with_tables({"sites": {s: {"location": s} for s in sites}})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(("A", "B", "C", "D", "")),
            st.sampled_from(("190015", "999999")),
            st.sampled_from(("10.00", "2.50", "1,00")),
        ),
        max_size=25,
    )
)
def test_index_totals_equal_a_plain_scan(rows: list[tuple[str, str, str]]) -> None:
    policy = _policy()
    claims = _claims(rows)
    decisions = policy.check(claims)
    got = {(line.party, line.item): line.amount for line in policy.settle(claims).lines}
    for site in SITES:
        here = [d for c, d in zip(claims, decisions, strict=True) if c["location"] == site]
        assert got[(site, "visits")] == sum(1 for d in here if d.status != "error")
        assert got[(site, "paid")] == sum(
            (d.payable for d in here if d.status == "accepted"), Decimal(0)
        )
        assert got[(site, "weighted")] == 4 * sum(
            1 for c in claims if c["location"] == site and c["code"] == "190015"
        )
        assert got[(site, "paid anywhere")] == sum(
            (d.payable for d in decisions if d.status in ("accepted", "adjusted")), Decimal(0)
        )
        assert got[(site, "not a visit")] == sum(1 for d in decisions if d.title != "visit")


def test_a_failing_row_fails_only_the_party_that_reads_it() -> None:
    claims = _claims([("A", "190015", "10.00"), ("D", "190015", "10.00")])
    claims[1]["weight"] = ""  # site D is no party: its empty weight is never summed
    lines = _policy().settle(claims).lines
    assert {(line.party, line.item): line.amount for line in lines}[("A", "weighted")] == 4
    claims[0]["weight"] = ""  # site A is: the sum needs the weight, as a plain scan does
    with pytest.raises(InputError) as raised:
        _policy().settle(claims)
    assert [d.message for d in raised.value.diagnostics] == [
        "settlement `per_site`, party `A`: field `weight` is empty but its value is needed"
    ]
