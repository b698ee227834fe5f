"""Credit lines and re-claims: exact decisions on the interpreter and the batch engine, through
the API and the command line, and the SEH settlement counting net (evaluate/credits.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from tests.conftest import write_claims

ENGINES = ["interpret", "batch"]
HAS_SPARK = importlib.util.find_spec("pyspark") is not None and shutil.which("java") is not None
SPARK = pytest.param("spark", marks=pytest.mark.skipif(not HAS_SPARK, reason="no pyspark or Java"))

POLICY = """
policy "credits"
title fixed "Fixed" {
  codes {"F1"}
  tariff fixed EUR 136.67
  source "fixed.txt:1"
}
title maximum "Maximum" {
  codes {"M1"}
  tariff maximum EUR 75.00
  source "maximum.txt:2"
}
title free "Free" {
  codes {"010501001".."998418082"}
  tariff free
  source "free.txt:3"
}
"""
HEAD = {"provider": "06010101", "insurer": "3311", "start_date": "2026-03-01"}


def _claim(claim_id: str, patient: str, code: str, amount: str, **more: str) -> dict[str, str]:
    return {
        "claim_id": claim_id,
        "patient": patient,
        "code": code,
        "amount": amount,
        "credit": "",
        "corrects": "",
        **HEAD,
        **more,
    }


CLAIMS = [
    _claim("V1", "p1", "F1", "136.67"),
    _claim("V1-C", "p1", "F1", "-136.67", credit="true", corrects="V1"),
    _claim("M1", "p2", "M1", "90.00"),
    _claim("M1-C", "p2", "M1", "-90.00", credit="true", corrects="M1"),
    _claim("M1-C2", "p2", "M1", "-90.00", credit="true", corrects="M1"),
    _claim("OLD-C", "p3", "F1", "-140.00", credit="true", corrects="OLD"),
    _claim("OLDM-C", "p3", "M1", "-50.00", credit="true", corrects="OLDM"),
    _claim("NEG", "p4", "F1", "-136.67"),
    _claim("D1", "p5", "029299014", "1234.56"),
    _claim("D1-R", "p5", "029299014", "1200.00", corrects="D1"),
    _claim("D2", "p6", "029299014", "500.00"),
    _claim("D2-C", "p6", "029299014", "-500.00", credit="true", corrects="D2"),
    _claim("D2-R", "p6", "029299014", "480.00", corrects="D2"),
    _claim("X-C", "p9", "029299014", "-500.00", credit="true", corrects="D2"),
    _claim("POS-C", "p1", "F1", "136.67", credit="true", corrects="V1"),
]

# claim -> (status, payable, title, first reason)
WANT = {
    "V1": ("accepted", "136.67", "fixed", "funded as Fixed (production)"),
    "V1-C": (
        "accepted",
        "-136.67",
        "fixed",
        "credit of claim `V1`: takes back its payable EUR 136.67",
    ),
    "M1": ("adjusted", "75.00", "maximum", "funded as Maximum (production)"),
    "M1-C": (
        "adjusted",
        "-75.00",
        "maximum",
        "credit of claim `M1`: takes back its payable EUR 75.00, not the EUR 90.00 credited",
    ),
    "M1-C2": ("rejected", "0.00", None, "claim `M1` is already taken back by credit `M1-C`"),
    "OLD-C": ("adjusted", "-136.67", "fixed", "funded as Fixed (production)"),
    "OLDM-C": ("accepted", "-50.00", "maximum", "funded as Maximum (production)"),
    "NEG": (
        "error",
        "0.00",
        None,
        "field `amount`: EUR -136.67 is negative but the claim is not a credit: a credit line "
        "says `credit` true and names the claim it takes back in `corrects`",
    ),
    "D1": ("accepted", "1234.56", "free", "funded as Free (production)"),
    "D1-R": (
        "rejected",
        "0.00",
        "free",
        "re-claim of claim `D1`, which is paid and not credited: paying both would fund the same "
        "care twice",
    ),
    "D2": ("accepted", "500.00", "free", "funded as Free (production)"),
    "D2-C": (
        "accepted",
        "-500.00",
        "free",
        "credit of claim `D2`: takes back its payable EUR 500.00",
    ),
    "D2-R": ("accepted", "480.00", "free", "funded as Free (production)"),
    "X-C": ("error", "0.00", None, "credit of claim `D2` has patient `p9` but claim `D2` has `p6`"),
    "POS-C": (
        "error",
        "0.00",
        None,
        "field `amount`: EUR 136.67 on a credit: a credit takes back an amount, written negative",
    ),
}


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    path = tmp_path / "claims.csv"
    write_claims(path, CLAIMS)
    return path


@pytest.mark.parametrize("engine", [*ENGINES, SPARK])
def test_credit_decisions_are_exact(claims_file: Path, engine: str) -> None:
    decisions = policylang.loads(POLICY).check(claims_file, engine=engine)
    assert len(decisions) == len(CLAIMS)
    got = {d.claim_id: (d.status, str(d.payable), d.title, d.reasons[0].message) for d in decisions}
    assert got == WANT


@pytest.mark.parametrize("engine", ENGINES)
def test_a_credit_cites_its_original_and_a_standalone_one_says_so(
    claims_file: Path, engine: str
) -> None:
    decisions = {d.claim_id: d for d in policylang.loads(POLICY).check(claims_file, engine=engine)}
    assert decisions["V1-C"].reasons[0].source == "fixed.txt:1"
    assert decisions["V1-C"].claimed == Decimal("-136.67")
    assert [r.message for r in decisions["OLD-C"].reasons] == [
        "funded as Fixed (production)",
        "the fixed tariff is EUR 136.67 x 1 = EUR 136.67; claimed EUR 140.00",
        "credit of claim `OLD`, which is not in this claim set: decided by the same rules with "
        "its sign kept",
    ]


def test_credits_never_pay_out_and_net_to_zero(claims_file: Path) -> None:
    decisions = policylang.loads(POLICY).check(claims_file)
    by_id = {d.claim_id: d for d in decisions}
    for claim in CLAIMS:
        if claim["credit"] == "true":
            assert by_id[claim["claim_id"]].payable <= 0
    assert by_id["V1"].payable + by_id["V1-C"].payable == 0
    assert by_id["M1"].payable + by_id["M1-C"].payable + by_id["M1-C2"].payable == 0


def test_check_command_shows_credit_decisions_in_json(claims_file: Path, tmp_path: Path) -> None:
    policy = tmp_path / "credits.policy"
    policy.write_text(POLICY, encoding="utf-8")
    for engine in ENGINES:
        result = CliRunner().invoke(
            app,
            ["check", str(policy), "--claims", str(claims_file), "--format", "json",
             "--engine", engine],
        )  # fmt: skip
        assert result.exit_code == 1, result.stderr  # rejected and error claims
        data = json.loads(result.stdout)
        assert len(data["decisions"]) == len(CLAIMS)
        credit = next(d for d in data["decisions"] if d["claim_id"] == "V1-C")
        assert (credit["status"], credit["payable"], credit["claimed"]) == (
            "accepted",
            "-136.67",
            "-136.67",
        )
        # 136.67 - 136.67 + 75 - 75 - 136.67 - 50 + 1234.56 + 500 - 500 + 480
        assert data["summary"]["payable"] == "1527.89"


SEH_LOCATION = {
    "location": "06290101",
    "provider": "06290000",
    "hours_per_week": "168",
    "expected_visits": "30000",
    "availability_contribution": "0.00",
}


def _visit(claim_id: str, amount: str, **more: str) -> dict[str, str]:
    return {
        "claim_id": claim_id,
        "provider": "06290000",
        "insurer": "3311",
        "patient": "p1",
        "code": "SB0001",
        "start_date": "2027-03-01",
        "amount": amount,
        "seh_visit": "true",
        "location": "06290101",
        "credit": "",
        "corrects": "",
        **more,
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_seh_settlement_counts_a_visit_and_its_credit_as_zero_visits(
    tmp_path: Path, engine: str
) -> None:
    locations = tmp_path / "seh_locations.csv"
    write_claims(locations, [SEH_LOCATION])
    claims = tmp_path / "claims.csv"
    write_claims(
        claims,
        [
            _visit("v1", "136.67"),
            _visit("v2", "136.67"),
            _visit("v2-c", "-136.67", credit="true", corrects="v2"),
            _visit("v3", "136.67", quantity="3"),
            _visit("v3-c", "-410.01", credit="true", corrects="v3", quantity="3"),
            _visit("v3-r", "273.34", quantity="2", corrects="v3"),
        ],
    )
    policy = policylang.load("rules").with_tables({"seh_locations": str(locations)})
    decided = {d.claim_id: d for d in policy.check(claims, engine=engine)}
    assert (decided["v2-c"].status, decided["v2-c"].payable) == ("accepted", Decimal("-136.67"))
    assert (decided["v3"].status, decided["v3"].payable) == ("adjusted", Decimal("410.01"))
    assert (decided["v3-c"].status, decided["v3-c"].payable) == ("accepted", Decimal("-410.01"))
    assert (decided["v3-r"].status, decided["v3-r"].payable) == ("accepted", Decimal("273.34"))
    settlement = policy.settle(claims, year=2027, only=["seh_budget"], engine=engine)
    lines = {line.item: line.amount for line in settlement.lines if line.party == "06290101"}
    # v1 + v2 - v2 + 3 x v3 - 3 x v3 + 2 (the re-claim) = 3 visits at EUR 136.67
    assert lines["tariff x actual visits"] == Decimal("410.01")
    assert lines["vereffeningsbedrag"] == Decimal("4100000.00") - Decimal("410.01")
