"""Property tests for the settlement rule files (SEH budget, schoning, contracts).

Small reference tables are generated as CSV files and settled through the Python API.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policylang

RULES = Path(__file__).resolve().parents[2] / "rules"
POLICY = policylang.load(RULES)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CLAIM_COLUMNS = [
    "claim_id",
    "provider",
    "insurer",
    "patient",
    "code",
    "start_date",
    "quantity",
    "amount",
    "seh_visit",
    "location",
]


def write_csv(path: Path, columns: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("settlement_properties")


hours = st.integers(min_value=0, max_value=168 * 4).map(lambda q: Decimal(q) / 4)
locations_st = st.lists(
    st.tuples(
        hours,
        st.integers(min_value=1, max_value=60_000),  # expected visits
        st.integers(min_value=0, max_value=3),  # owner: index of the hospital
        st.integers(min_value=0, max_value=200),  # actual visits
    ),
    min_size=1,
    max_size=6,
)
revenues = st.lists(st.integers(min_value=0, max_value=10**11), min_size=4, max_size=4).filter(
    lambda r: sum(r) > 0
)


def location_rows(locations) -> list[list[object]]:
    return [
        [f"0620{i:02d}01", f"0610{owner:02d}00", str(h), str(expected), "0.00"]
        for i, (h, expected, owner, _) in enumerate(locations)
    ]


def seh_claims(locations, seed: int = 0) -> list[list[object]]:
    rows = []
    for i, (_, _, owner, actual) in enumerate(locations):
        for n in range(actual):
            rows.append(
                [f"c{i}-{n}", f"0610{owner:02d}00", "3311", f"p{n}", "SB0001",
                 f"2027-{1 + n % 12:02d}-15", 1, "1.00", "true", f"0620{i:02d}01"]
            )  # fmt: skip
    random.Random(seed).shuffle(rows)
    return rows


def settle(workdir: Path, tables: dict[str, list], claims: list, only: str):
    paths = {}
    for name, (columns, rows) in tables.items():
        paths[name] = write_csv(workdir / f"{name}.csv", columns, rows)
    claims_path = write_csv(workdir / "claims.csv", CLAIM_COLUMNS, claims)
    result = POLICY.with_tables(paths).settle(claims_path, year=2027, only=[only])
    return {(x.party, x.item): x.amount for x in result.lines}, result


LOCATION_COLUMNS = [
    "location",
    "provider",
    "hours_per_week",
    "expected_visits",
    "availability_contribution",
]
HOSPITAL_COLUMNS = ["provider", "revenue", "seh_dbc_volume"]


def hospital_rows(revenue: list[int]) -> list[list[object]]:
    return [[f"0610{i:02d}00", f"{r}.00", str(1000 + i)] for i, r in enumerate(revenue)]


@SETTINGS
@given(locations=locations_st, revenue=revenues)
def test_total_level_shares_sum_to_the_whole_and_net_to_zero(workdir, locations, revenue):
    lines, result = settle(
        workdir,
        {
            "seh_locations": (LOCATION_COLUMNS, location_rows(locations)),
            "hospitals": (HOSPITAL_COLUMNS, hospital_rows(revenue)),
        },
        [],
        "schoning_totaalniveau",
    )
    budgets = sum(v for (_, item), v in lines.items() if item == "SEH budget")
    shares = [v for (_, item), v in lines.items() if item == "share of national cost"]
    nets = [v for (_, item), v in lines.items() if item == "difference (net effect)"]
    assert sum(shares) == budgets  # no availability contributions: the cost is the budgets
    assert all(s >= 0 for s in shares)
    assert sum(nets) == Decimal("0.00")
    assert not result.failed


@SETTINGS
@given(locations=locations_st)
def test_budgets_never_negative_and_tariff_is_rounded_budget_over_visits(workdir, locations):
    lines, _ = settle(
        workdir,
        {"seh_locations": (LOCATION_COLUMNS, location_rows(locations))},
        [],
        "seh_budget",
    )
    for i, (h, expected, _, _) in enumerate(locations):
        party = f"0620{i:02d}01"
        budget = lines[(party, "budget")]
        assert Decimal(0) <= budget <= Decimal("4100000.00")
        assert budget == (Decimal("4100000.00") * h / 168).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
        assert lines[(party, "tariff per visit")] == (budget / expected).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )


@SETTINGS
@given(locations=locations_st, seed=st.integers(min_value=0, max_value=2**16))
def test_settlement_does_not_depend_on_claim_order(workdir, locations, seed):
    tables = {"seh_locations": (LOCATION_COLUMNS, location_rows(locations))}
    first, _ = settle(workdir, tables, seh_claims(locations, 0), "seh_budget")
    second, _ = settle(workdir, tables, seh_claims(locations, seed + 1), "seh_budget")
    assert first == second
    for i, (_, _, _, actual) in enumerate(locations):
        party = f"0620{i:02d}01"
        tariff = first[(party, "tariff per visit")]
        assert first[(party, "vereffeningsbedrag")] == first[(party, "budget")] - tariff * actual


@SETTINGS
@given(a=hours, b=hours, expected=st.integers(min_value=1, max_value=60_000))
def test_more_opening_hours_never_give_less_budget(workdir, a, b, expected):
    low, high = min(a, b), max(a, b)
    rows = [
        ["06200101", "06100000", str(low), str(expected), "0.00"],
        ["06200201", "06100000", str(high), str(expected), "0.00"],
    ]
    lines, _ = settle(workdir, {"seh_locations": (LOCATION_COLUMNS, rows)}, [], "seh_budget")
    assert lines[("06200101", "budget")] <= lines[("06200201", "budget")]


@SETTINGS
@given(
    lump=st.integers(min_value=0, max_value=10**10),
    production=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5),
)
def test_lump_sum_finals_sum_to_the_lump_and_are_never_negative(workdir, lump, production):
    insurers = [f"{3300 + i}" for i in range(len(production))]
    share = Decimal(1) / len(production)
    shares = [share.quantize(Decimal("0.000001"))] * len(production)
    shares[-1] = Decimal(1) - sum(shares[:-1])
    claims = [
        [f"k{i}", "06100000", ins, "p", "029299014", "2027-03-01", 1, f"{cents / 100:.2f}", "", ""]
        for i, (ins, cents) in enumerate(zip(insurers, production, strict=True))
        if cents > 0
    ]
    lines, _ = settle(
        workdir,
        {
            "lump_sums": (["provider", "amount"], [["06100000", f"{lump / 100:.2f}"]]),
            "market_shares": (
                ["provider", "insurer", "provisional_share"],
                [["06100000", ins, str(s)] for ins, s in zip(insurers, shares, strict=True)],
            ),
        },
        claims,
        "aanneemsom",
    )
    finals = [v for (_, item), v in lines.items() if item == "final on the actual market share"]
    settlements = [v for (_, item), v in lines.items() if item.startswith("settlement")]
    assert sum(finals) == Decimal(lump) / 100
    assert all(f >= 0 for f in finals)
    assert sum(settlements) == Decimal("0.00")
