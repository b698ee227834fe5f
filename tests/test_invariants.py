"""Invariants at run time: per claim, over the claim set, and the double-funding form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.format import format_module
from policylang.syntax.parser import parse
from tests.conftest import write_claims

POLICY = """
title consult "Consult" { codes {"PB1"} funding production tariff maximum EUR 50.00 }
title dbc "DBC" { codes {"100".."199"} funding production tariff free }
title visit "SEH visit" { codes {"SB1"} funding budget tariff fixed EUR 200.00 }
invariant consult_not_with_dbc "a consult is never funded next to a DBC" {
  no patient funded by both consult and dbc on the same day
}
invariant budget_not_with_production "no budget visit next to production care within 2 days" {
  no patient funded by both budget and production within 2 days where claim.start_date >= 2027-01-01
}
invariant payable_at_most_claimed "a paid claim never pays more than was claimed" {
  decision.payable <= claim.amount
}
invariant at_most_one_adjusted "at most one claim is adjusted" {
  count(c in claims where c.status == "adjusted") <= 1
}
"""

CLAIMS = [
    {"claim_id": "a1", "provider": "1", "insurer": "1", "patient": "p1", "code": "PB1",
     "start_date": "2026-05-01", "amount": "60.00"},
    {"claim_id": "a2", "provider": "1", "insurer": "1", "patient": "p1", "code": "150",
     "start_date": "2026-05-01", "amount": "300.00"},
    {"claim_id": "b1", "provider": "1", "insurer": "1", "patient": "p2", "code": "SB1",
     "start_date": "2027-03-01", "amount": "100.00"},
    {"claim_id": "b2", "provider": "1", "insurer": "1", "patient": "p2", "code": "150",
     "start_date": "2027-03-03", "amount": "100.00"},
    {"claim_id": "b3", "provider": "1", "insurer": "1", "patient": "p2", "code": "PB1",
     "start_date": "2027-03-04", "amount": "70.00"},
]  # fmt: skip


def check_jsonl(directory: Path, engine: str) -> tuple[bytes, str]:
    """`policylang check --format jsonl` of POLICY on CLAIMS with `engine`: the file written
    and what was said on stderr (the CLI tests of the batch and Spark engines compare these)."""
    rules, claims = directory / "inv.policy", directory / "claims.csv"
    rules.write_text(POLICY, encoding="utf-8")
    write_claims(claims, CLAIMS)
    out = directory / f"{engine}.jsonl"
    args = ["check", str(rules), "--claims", str(claims), "--format", "jsonl"]
    result = CliRunner().invoke(app, [*args, "--output", str(out), "--engine", engine])
    assert result.exit_code == 1, result.output  # nothing is rejected: the invariants fail
    return out.read_bytes(), result.stderr


def results() -> dict[str, policylang.api.InvariantResult]:
    _, found = policylang.loads(POLICY).check_invariants(CLAIMS)
    return {r.name: r for r in found}


def test_double_funding_names_the_pair_of_claims() -> None:
    result = results()["consult_not_with_dbc"]
    assert result.kind == "double funding"
    assert not result.holds
    assert [v.claims for v in result.violations] == [("a1", "a2")]
    assert result.violations[0].detail == (
        "patient p1: claim a1 is funded by `consult` and claim a2 by `dbc` on 2026-05-01"
    )


def test_funding_streams_scope_and_where() -> None:
    result = results()["budget_not_with_production"]
    # b1 (budget) with b2 (2 days later) breaks it; b3 is 3 days after b1; p1's claims are 2026
    assert [v.claims for v in result.violations] == [("b1", "b2")]


def test_per_claim_invariant_sees_the_decision() -> None:
    result = results()["payable_at_most_claimed"]
    assert result.kind == "per claim"
    assert [v.claims for v in result.violations] == [("b1",)]  # fixed EUR 200 on EUR 100 claimed
    assert "title visit, payable EUR 200.00" in result.violations[0].detail


def test_claim_set_invariant_lists_the_counted_claims() -> None:
    result = results()["at_most_one_adjusted"]
    assert result.kind == "claim set"
    assert result.violations[0].claims == ("a1", "b1", "b3")
    assert result.violations[0].detail == "3 <= 1 is false"


def test_unknown_title_or_stream_is_an_error() -> None:
    with pytest.raises(policylang.PolicyError) as error:
        policylang.loads(
            'title a "A" { codes {"1"} funding production tariff free }\n'
            "invariant x { no patient funded by both a and budjet on the same day }"
        )
    (diagnostic,) = error.value.diagnostics
    assert diagnostic.code == "E0901"
    assert diagnostic.message == "unknown payment title or funding stream `budjet`"
    assert diagnostic.help == "did you mean `budget`?"


def test_fmt_round_trips_the_double_funding_form() -> None:
    text = (
        'invariant x "d" { no patient funded by both a, b and c within 3 days '
        "where claim.amount > EUR 1.00 }\n"
    )
    module = parse(text, "x.policy")
    assert format_module(module) == text
    assert parse(format_module(module), "x.policy") == module


def test_check_and_settle_report_invariants(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "p.policy"
    rules.write_text(POLICY)
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount\n"
        "a1,1,1,p1,PB1,2026-05-01,40.00\n"
        "a2,1,1,p1,150,2026-05-01,300.00\n"
    )
    result = CliRunner().invoke(
        app, ["check", str(rules), "--claims", str(claims), "--format", "json"]
    )
    assert result.exit_code == 1  # every claim accepted, but an invariant is violated
    data = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    by_name = {i["name"]: i for i in data["invariants"]}
    assert by_name["consult_not_with_dbc"]["violations"][0]["claims"] == ["a1", "a2"]
    assert by_name["payable_at_most_claimed"]["holds"] is True
    settled = CliRunner().invoke(
        app, ["settle", str(rules), "--claims", str(claims), "--format", "json"]
    )
    assert settled.exit_code == 1
    assert "invariant consult_not_with_dbc: VIOLATED" in settled.stderr


def test_double_funding_reports_each_pair_once_whatever_the_claim_ids() -> None:
    # the first claim of the patient has the largest id: naming the pair smaller id first
    # once swapped the outer loop's claim, so (c00, c01) was reported twice and (c02, c01)
    # never looked at (found by the batch engine's differential test)
    base = {"provider": "1", "insurer": "1", "patient": "p1", "start_date": "2026-05-01"}
    claims = [
        base | {"claim_id": "c02", "code": "PB1", "amount": "40.00"},
        base | {"claim_id": "c00", "code": "150", "amount": "40.00"},
        base | {"claim_id": "c01", "code": "PB1", "amount": "40.00"},
    ]
    _, found = policylang.loads(POLICY).check_invariants(claims)
    pairs = {r.name: r for r in found}["consult_not_with_dbc"]
    assert [v.claims for v in pairs.violations] == [("c00", "c01"), ("c00", "c02")]
    assert pairs.count == 2
