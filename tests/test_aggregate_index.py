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


def _expected(location: str, code: str, amount: str) -> tuple[str, Decimal]:
    """Status and payable of a generated claim, from the policy's text: `1,00` is not an
    amount, 190015 is the only code with a title (free tariff: paid as claimed)."""
    if "," in amount:
        return "error", Decimal(0)
    if code == "190015":
        return "accepted", Decimal(amount)
    return "rejected", Decimal(0)


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
    claims = _claims(rows)
    got = {(line.party, line.item): line.amount for line in _policy().settle(claims).lines}
    decided = [(row[0], *_expected(*row)) for row in rows]
    paid_anywhere = sum((p for _, s, p in decided if s == "accepted"), Decimal(0))
    for site in SITES:
        here = [(s, p) for loc, s, p in decided if loc == site]
        assert got[(site, "visits")] == sum(1 for s, _ in here if s != "error")
        assert got[(site, "paid")] == sum((p for s, p in here if s == "accepted"), Decimal(0))
        assert got[(site, "weighted")] == 4 * sum(
            1 for location, code, _ in rows if location == site and code == "190015"
        )
        assert got[(site, "paid anywhere")] == paid_anywhere
        assert got[(site, "not a visit")] == sum(1 for _, s, _ in decided if s != "accepted")


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
