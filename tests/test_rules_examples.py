"""The bundled rules/ and examples/claims.csv: every claim gets the decision the rules prescribe.

The expected values below were written from the rule files and their sources (NVZ "Passende
bekostiging" 2024, NZa Regeling msz NR/CU-263 art. 33a), not copied from the engine's output.
examples/README.md explains each row.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import policylang

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
CLAIMS = ROOT / "examples" / "claims.csv"

# (claim_id, status, payable, title or None, a fragment of one reason)
EXPECTED: list[tuple[str, str, str, str | None, str]] = [
    # new payment titles (001), placeholder codes PB00xx, valid from 2026 (ACP from 2025)
    ("CL001", "accepted", "75.00", "meekijkconsult", "funded as Meekijkconsult"),
    ("CL002", "adjusted", "75.00", "meekijkconsult", "above the maximum tariff"),
    ("CL003", "rejected", "0.00", None, "referrer must be huisarts or wijkverpleging"),
    ("CL004", "accepted", "120.00", "advies_topzorg", "funded as"),
    ("CL005", "accepted", "35.00", "gezamenlijke_triagist", "funded as"),
    ("CL006", "rejected", "0.00", "gezamenlijke_triagist", "double funding"),
    ("CL007", "accepted", "1245.30", "dbc_zorgproduct", "funded as DBC-zorgproduct"),
    ("CL008", "adjusted", "220.00", "samen_beslissen", "1 or 2 long conversations"),
    ("CL009", "accepted", "150.00", "advance_care_planning", "funded as"),
    ("CL010", "rejected", "0.00", None, "is valid from 2026-01-01"),
    ("CL011", "accepted", "360.00", "prehabilitatie", "funded as"),
    ("CL012", "accepted", "70.00", "digitale_poli", "funded as"),
    ("CL013", "accepted", "95.00", "thuismonitoring", "funded as"),
    ("CL014", "adjusted", "140.00", "thuistoediening", "above the maximum tariff"),
    ("CL015", "rejected", "0.00", None, "referred back to the first line"),
    ("CL016", "accepted", "65.00", "afvalpoli", "funded as"),
    ("CL017", "rejected", "0.00", "beweegpoli", "not combinable with `dbc_zorgproduct`"),
    ("CL018", "accepted", "486.75", "dbc_zorgproduct", "funded as"),
    ("CL019", "accepted", "180.00", "regionaal_mdo", "funded as"),
    ("CL020", "adjusted", "120.00", "casemanagement", "above the maximum tariff"),
    # NZa NR/CU-263: SEH contacts and IC add-ons
    ("CL021", "accepted", "250.00", "seh_contact", "funded as"),
    ("CL022", "adjusted", "200.00", "seh_contact_elders", "above the maximum tariff"),
    ("CL023", "accepted", "2100.00", "ic_licht", "funded as"),
    ("CL024", "accepted", "600.00", "dialyse_toeslag", "funded as"),
    ("CL025", "rejected", "0.00", "dialyse_toeslag", "may only be claimed together with"),
    ("CL026", "rejected", "0.00", "ic_zwaar", "art. 33a lid 7"),
    ("CL027", "accepted", "2100.00", "ic_licht", "may be charged without a contract"),
    ("CL028", "rejected", "0.00", None, "per calendar day"),
    ("CL029", "accepted", "3200.00", "neonatale_ic", "funded as"),
    ("CL030", "accepted", "1400.00", "post_ic_high_care", "funded as"),
    ("CL031", "rejected", "0.00", "ic_licht", "not combinable with `ic_zwaar`"),
    ("CL032", "rejected", "0.00", "ic_zwaar", "not combinable with `ic_licht`"),
    (
        "CL033",
        "rejected",
        "0.00",
        None,
        "no payment title for code `190005` on 2025-09-04: the code is an NZa zorgactiviteit "
        "valid on that date, but no payment title of these rules covers it",
    ),
    # input errors
    ("CL034", "error", "0.00", None, "`12,50` is not an amount"),
    ("CL035", "error", "0.00", None, "`2026-02-30` is not a date"),
    ("CL036", "error", "0.00", None, "missing field `patient`"),
    ("CL037", "error", "0.00", None, "`verloskundige` is not one of"),
    ("CL021", "error", "0.00", None, "appears more than once"),
]


@pytest.fixture(scope="module")
def policy() -> policylang.Policy:
    return policylang.load(str(RULES))


@pytest.fixture(scope="module")
def decisions(policy: policylang.Policy) -> list:
    return policy.check(str(CLAIMS))


def test_every_claim_is_decided_in_order(decisions: list) -> None:
    assert [d.claim_id for d in decisions] == [row[0] for row in EXPECTED]


@pytest.mark.parametrize(
    ("index", "claim_id", "status", "payable", "title", "reason"),
    [(i, *row) for i, row in enumerate(EXPECTED)],
    ids=[f"{i:02d}-{row[0]}" for i, row in enumerate(EXPECTED)],
)
def test_claim_decision(
    decisions: list,
    index: int,
    claim_id: str,
    status: str,
    payable: str,
    title: str | None,
    reason: str,
) -> None:
    decision = decisions[index]
    messages = [r.message for r in decision.reasons]
    assert decision.claim_id == claim_id
    assert decision.status == status, messages
    assert decision.payable == Decimal(payable)
    assert decision.title == title
    assert any(reason in m for m in messages), messages


def test_totals(decisions: list) -> None:
    paid = sum((d.payable for d in decisions), Decimal("0"))
    assert paid == sum((Decimal(row[2]) for row in EXPECTED), Decimal("0"))
    assert paid == Decimal("13287.05")
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.status] = counts.get(d.status, 0) + 1
    assert counts == {"accepted": 17, "adjusted": 5, "rejected": 11, "error": 5}


def test_in_file_tests_pass(policy: policylang.Policy) -> None:
    tests = pytest.importorskip("policylang.evaluate.tests")
    results = tests.run_tests(policy.program)
    assert len(results) >= 19
    failures = [f"{r.name}: {f}" for r in results for f in r.failures]
    assert not failures, "\n".join(failures)
