"""Codes against the bundled NZa lists: the DBC title needs a listed zorgproduct on a date the
list covers, and "no payment title" says whether NZa knows the code (data/nza/known.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import policylang
from tests.conftest import write_claims

ENGINES = ["interpret", "batch"]
HEAD = {"provider": "06010101", "insurer": "3311", "patient": "p1", "amount": "100.00"}
LIST = (
    "policylang bundles the Zorgproducten Tabel v20241001 (DBC-pakket 2025), used for claims "
    "dated 2025-01-01 to 2027-12-31"
)
UNKNOWN = (
    "the code is in none of the NZa lists bundled with policylang (zorgproducten DBC-pakket "
    "2025, zorgactiviteiten RZ17)"
)


def _decide(tmp_path: Path, policy: policylang.Policy, rows: list[dict], engine: str) -> dict:
    path = tmp_path / "claims.csv"
    write_claims(path, [{**HEAD, **row} for row in rows])
    decisions = policy.check(path, engine=engine)
    assert len(decisions) == len(rows)
    return {d.claim_id: (d.status, str(d.payable), d.reasons[0].message) for d in decisions}


@pytest.mark.parametrize("engine", ENGINES)
def test_dbc_codes_are_checked_against_the_nza_list_and_its_period(
    tmp_path: Path, engine: str
) -> None:
    got = _decide(
        tmp_path,
        policylang.load("rules"),
        [
            {"claim_id": "real", "code": "029299014", "start_date": "2026-06-01"},
            {"claim_id": "made-up", "code": "123456789", "start_date": "2026-06-01"},
            {"claim_id": "2031", "code": "029299014", "start_date": "2031-03-01"},
            {"claim_id": "declaratiecode", "code": "14D123", "start_date": "2026-06-01"},
            {"claim_id": "activity", "code": "190005", "start_date": "2026-06-01"},
            {"claim_id": "old-activity", "code": "010905", "start_date": "2011-03-01"},
        ],
        engine,
    )
    assert got == {
        "real": ("accepted", "100.00", "funded as DBC-zorgproduct (production)"),
        "made-up": (
            "rejected",
            "0.00",
            "the code is no DBC-zorgproduct of the NZa Zorgproducten Tabel v20241001 "
            "(DBC-pakket 2025): unknown to the bundled NZa list",
        ),
        "2031": (
            "rejected",
            "0.00",
            f"no NZa zorgproduct list is bundled for the claim's date: {LIST}",
        ),
        "declaratiecode": (
            "rejected",
            "0.00",
            f"no payment title for code `14D123` on 2026-06-01: {UNKNOWN}",
        ),
        "activity": (
            "rejected",
            "0.00",
            "no payment title for code `190005` on 2026-06-01: the code is an NZa zorgactiviteit "
            "valid on that date, but no payment title of these rules covers it",
        ),
        "old-activity": (
            "rejected",
            "0.00",
            "no payment title for code `010905` on 2011-03-01: the code is an NZa zorgactiviteit, "
            "but not one valid on that date",
        ),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_a_known_zorgproduct_without_a_title_says_so(tmp_path: Path, engine: str) -> None:
    policy = policylang.loads('policy "p"\ntitle t "T" { codes {"PB0001"} tariff free }\n')
    got = _decide(
        tmp_path,
        policy,
        [{"claim_id": "z", "code": "029299014", "start_date": "2026-06-01"}],
        engine,
    )
    assert got["z"] == (
        "rejected",
        "0.00",
        "no payment title for code `029299014` on 2026-06-01: the code is a zorgproduct of the "
        "NZa list (DBC-pakket 2025), but no payment title of these rules covers it",
    )
