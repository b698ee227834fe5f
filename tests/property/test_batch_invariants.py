"""Hypothesis: invariants evaluated in SQL by the batch engine equal the interpreter's.

rules/ states invariants that its own titles keep (their exclusions reject the second claim),
so generated claims over rules/ rarely break one. This policy breaks every kind often: titles
without exclusions for the double-funding pairs (same day; within 2 days with a `where`), a
fixed tariff that pays more than claimed, a parameter without a value in 2027 and an optional
field whose value is needed (per-claim invariants that cannot be evaluated), a rule's rejection
read through `decision.rule`, and claim-set bounds whose failures name the claims they counted.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

import policylang

TEXT = """
claim { urgent: bool = false  visits: integer? }
parameter cap: money
  from 2026-01-01 to 2026-12-31 = EUR 150.00
title consult "Consult" { codes {"PB1"} funding production tariff maximum EUR 50.00 }
title dbc "DBC" { codes {"100".."199"} funding production tariff free }
title visit "SEH visit" { codes {"SB1"} funding budget tariff fixed EUR 200.00 }
title rx "RX" { codes {"RX1"} funding production tariff maximum EUR 80.00 }
rule no_urgent_rx {
  applies to rx
  when claim.urgent
  reject
  because "an urgent RX is not funded"
}
invariant consult_not_with_dbc "a consult is never funded next to a DBC" {
  no patient funded by both consult and dbc on the same day
}
invariant budget_not_with_production "no budget visit next to production care within 2 days" {
  no patient funded by both budget and production within 2 days where claim.start_date >= 2027-01-01
}
invariant rx_pairs "no two RX within a day, when the claim has visits" {
  no patient funded by both rx and rx within 1 days where claim.visits > 0
}
invariant payable_at_most_claimed "a paid claim never pays more than was claimed" {
  decision.payable <= claim.amount
}
invariant under_cap "no claim pays above the cap" { decision.payable <= cap }
invariant urgent_rx_is_the_rule "an urgent RX is rejected by its rule" {
  not (claim.urgent and decision.title == "rx") or decision.rule == "no_urgent_rx"
}
invariant production_has_visits "a production claim states its visits" {
  decision.funding != "production" or claim.visits >= 1
}
invariant consult_rule "no decision's first reason is the consult's" { decision.rule != "consult" }
invariant at_most_one_adjusted "at most one claim is adjusted" {
  count(c in claims where c.status == "adjusted") <= 1
}
invariant visits_budget "SEH visits pay at most EUR 400 together" {
  sum(c.payable for c in claims where c.title == "visit") <= EUR 400.00
}
invariant few_errors "at most two claims in error" {
  count(c in claims where c.status == "error" or c.status == "rejected") <= 2
}
"""
POLICY = policylang.loads(TEXT)

VALID_DAYS = ["2026-12-31", "2027-01-01", "2027-01-02"]
DAYS = VALID_DAYS * 3 + ["2027-13-01", ""]

claim = st.fixed_dictionaries(
    {
        "claim_id": st.sampled_from([f"c{i:02d}" for i in range(30)] + ["", "é1", "Z9"]),
        "provider": st.just("1"),
        "insurer": st.just("1"),
        "patient": st.sampled_from(["p1", "p1", "p2"]),
        "code": st.sampled_from(["PB1", "150", "SB1", "RX1"] * 3 + ["999", "PB2"]),
        "start_date": st.sampled_from(DAYS),
        "end_date": st.sampled_from(["", "", "2027-01-02"]),
        "amount": st.sampled_from(["40.00", "60.00", "100.00", "250.00"] * 2 + ["12,50", ""]),
        "urgent": st.sampled_from(["", "true", "false", "maybe"]),
        "visits": st.sampled_from(["", "0", "1", "3", "x"]),
    }
)


# A fixed claim set that breaks each kind of invariant (exact results below)
_BASE = {"provider": "1", "insurer": "1", "patient": "p1", "urgent": "", "visits": "1"}
BREAKING = [
    _BASE | {"claim_id": "a1", "code": "PB1", "start_date": "2026-12-31", "amount": "40.00"},
    _BASE | {"claim_id": "a2", "code": "150", "start_date": "2026-12-31", "amount": "60.00"},
    _BASE | {"claim_id": "b1", "code": "SB1", "start_date": "2027-01-01", "amount": "100.00"},
    _BASE | {"claim_id": "b2", "code": "RX1", "start_date": "2027-01-02", "amount": "60.00"},
    _BASE | {"claim_id": "b3", "code": "RX1", "start_date": "2027-01-03", "amount": "60.00",
            "visits": ""},
    _BASE | {"claim_id": "b4", "code": "SB1", "start_date": "2027-01-03", "amount": "250.00",
            "patient": "p2"},
    _BASE | {"claim_id": "b5", "code": "SB1", "start_date": "2027-01-02", "amount": "200.00",
            "patient": "p3"},
    _BASE | {"claim_id": "r1", "code": "RX1", "start_date": "2027-01-02", "amount": "60.00",
            "patient": "p3", "urgent": "ja"},
    _BASE | {"claim_id": "r2", "code": "999", "start_date": "2027-01-02", "amount": "60.00"},
    _BASE | {"claim_id": "e1", "code": "PB1", "start_date": "2027-13-01", "amount": "40.00"},
]  # fmt: skip


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claim, min_size=8, max_size=30))  # double funding in about a quarter
def test_batch_invariants_equal_the_interpreter(rows: list[dict[str, str]]) -> None:
    interpreted_decisions, interpreted = POLICY.check_invariants(rows)
    decisions, batch = POLICY.check_invariants(rows, engine="batch")
    assert len(decisions) == len(rows)
    assert [d.to_json() for d in decisions] == [d.to_json() for d in interpreted_decisions]
    assert [r.to_json() for r in batch] == [r.to_json() for r in interpreted]


def test_every_kind_of_violation_with_exact_results() -> None:
    """A fixed set that breaks each kind of invariant, with the exact results of both engines
    (the differential above shows they agree; this shows what they agree on)."""
    rows = BREAKING
    _, interpreted = POLICY.check_invariants(rows)
    _, batch = POLICY.check_invariants(rows, engine="batch")
    assert [r.to_json() for r in batch] == [r.to_json() for r in interpreted]
    found = {r.name: r for r in batch}
    assert [v.claims for v in found["consult_not_with_dbc"].violations] == [("a1", "a2")]
    assert [v.claims for v in found["budget_not_with_production"].violations] == [
        ("b1", "b2"),
        ("b1", "b3"),
    ]
    assert found["rx_pairs"].violations[0].detail == (
        "cannot be evaluated: field `visits` is empty but its value is needed"
    )
    assert found["payable_at_most_claimed"].violations[0].detail == (
        "claim b1 (adjusted, title visit, payable EUR 200.00): "
        "`decision.payable <= claim.amount` is false"
    )
    assert found["under_cap"].count == 7  # b1-b5, r1, r2 in 2027: the cap has no value
    assert found["under_cap"].violations[0].detail == (
        "cannot be evaluated: parameter `cap` has no value on 2027-01-01; "
        "it is defined from 2026-01-01 to 2026-12-31"
    )
    assert found["urgent_rx_is_the_rule"].holds  # r1 is rejected by no_urgent_rx
    assert [v.claims for v in found["consult_rule"].violations] == [("a1",)]
    assert [v.claims for v in found["production_has_visits"].violations] == [("b3",)]
    adjusted = found["at_most_one_adjusted"].violations
    assert [(v.claims, v.detail) for v in adjusted] == [(("b1", "b4"), "2 <= 1 is false")]
    visits = found["visits_budget"].violations
    assert [(v.claims, v.detail) for v in visits] == [
        (("b1", "b4", "b5"), "600.00 <= 400.00 is false")
    ]
    errors = found["few_errors"].violations
    assert [(v.claims, v.detail) for v in errors] == [(("e1", "r1", "r2"), "3 <= 2 is false")]
