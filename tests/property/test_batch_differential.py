"""Hypothesis: the batch engine and the interpreter decide generated claim sets identically.

Claim sets over rules/ use real codes of the titles (exact codes and codes inside the DBC
range), start dates around every validity boundary, amounts around the tariffs, a few shared
patients so exclusions and requirements trigger, duplicate claim ids, and broken rows (`12,50`,
impossible dates, missing fields). Decisions are compared as JSON, claim by claim, and the
invariants of rules/ (evaluated in SQL by the batch engine) result by result.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

import policylang
from tests.conftest import write_claims

ROOT = Path(__file__).resolve().parents[2]
POLICY = policylang.load(ROOT / "rules")
PROGRAM = POLICY.program

CODES = sorted({c for t in PROGRAM.titles.values() for c in t.codes.codes})
DBC_CODES = ["010501001", "029299014", "131999050", "990089010", "998418082", "999999999"]
BOUNDARIES = sorted(
    {p.start for t in PROGRAM.titles.values() for p in t.validity}
    | {p.end for t in PROGRAM.titles.values() for p in t.validity if p.end}
)


def day_near() -> st.SearchStrategy[str]:
    return st.builds(
        lambda base, shift: (base + dt.timedelta(days=shift)).isoformat(),
        st.sampled_from(BOUNDARIES),
        st.integers(-3, 3),
    )


AMOUNTS = st.one_of(
    st.sampled_from(["60.00", "75.00", "95.00", "120.00", "2100.00", "3600.00", "600.00", "0.00"]),
    st.decimals(min_value=0, max_value=5000, places=2).map(lambda d: f"{d:f}"),
    st.sampled_from(["12,50", "12.505", "abc", "", "-5.00"]),
    # credit lines: the negative of a tariff or of an earlier claim's amount
    st.sampled_from(["-60.00", "-75.00", "-120.00", "-2100.00"]),
    st.decimals(min_value=-5000, max_value="-0.01", places=2).map(lambda d: f"{d:f}"),
)

CLAIM = {
    "claim_id": st.sampled_from([f"c{i:02d}" for i in range(40)] + [""]),
    "provider": st.just("06010101"),
    "insurer": st.sampled_from(["3311", "7029"]),
    "patient": st.sampled_from(["p1", "p2", "p3", ""]),
    "code": st.sampled_from(CODES + DBC_CODES),
    "start_date": st.one_of(day_near(), st.sampled_from(["2025-13-01", "2026-02-30", ""])),
    "end_date": st.one_of(st.just(""), day_near()),
    "quantity": st.sampled_from(["1", "1", "2", "3", "x"]),
    "amount": AMOUNTS,
    "referrer": st.sampled_from(["", "huisarts", "wijkverpleging", "specialist", "tandarts"]),
    "setting": st.sampled_from(["", "hap", "seh", "thuis", "digitaal", "polikliniek"]),
    "back_to_first_line": st.sampled_from(["", "true", "false", "ja", "misschien"]),
    "ic_contract": st.sampled_from(["", "true", "false"]),
    "dialysis_by_nephrologist": st.sampled_from(["", "false", "true"]),
    "mdo_institutions": st.sampled_from(["", "1", "2", "3", "two"]),
    # credits and re-claims of other claims of the set (c00..c39), of one outside it (x1), of
    # themselves by chance; `credit` also broken
    "credit": st.sampled_from(["", "", "false", "true", "true", "ja", "misschien"]),
    "corrects": st.one_of(st.just(""), st.sampled_from([f"c{i:02d}" for i in range(40)] + ["x1"])),
}
claim = st.fixed_dictionaries(CLAIM)
FIELDS = list(CLAIM)  # the CSV header


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claim, min_size=1, max_size=25))
def test_batch_matches_interpreter_on_generated_claims(rows: list[dict[str, str]]) -> None:
    # the decisions, and the invariants of rules/ (per claim, double funding, over the claim
    # set) in SQL: the same results, violations (claims and wording), order and counts
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "claims.csv"
        write_claims(path, rows, FIELDS)
        interpreted, interpreted_invariants = POLICY.check_invariants(path)
        batch, batch_invariants = POLICY.check_invariants(path, engine="batch")
    assert len(interpreted) == len(batch) == len(rows)
    for want, got in zip(interpreted, batch, strict=True):
        assert got.to_json() == want.to_json()
    assert [r.to_json() for r in batch_invariants] == [r.to_json() for r in interpreted_invariants]
    _assert_credits_net_not_negative(rows, interpreted)


def _assert_credits_net_not_negative(rows: list[dict[str, str]], decisions: list) -> None:
    """The invariants of credit lines (evaluate/credits.py): a credit never pays out, and the
    net payable of a claim and the credits that take it back is never below zero."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        first.setdefault(row["claim_id"].strip(), index)
    net = {index: decisions[index].payable for index in first.values()}
    for index, row in enumerate(rows):
        if decisions[index].payable < 0:
            original = first.get(row["corrects"].strip())
            assert row["credit"].strip().lower() in ("true", "ja")
            if original is not None and original != index:
                net[original] += decisions[index].payable
        if row["credit"].strip().lower() in ("true", "ja"):
            assert decisions[index].payable <= 0
    assert all(total >= 0 for i, total in net.items() if decisions[i].payable >= 0)
