"""The settlement rule files: SEH budget 2027, schoning, contracts and the IZA macro frame.

Every amount below is computed by hand from the sources (see the comments) and asserted to the
cent. Bad reference tables must stop the run with exit code 2, a message naming table, row and
field, and no settlement on stdout.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
CONTRACTS = ROOT / "examples" / "contracts"
SEH = ROOT / "examples" / "seh_2027"

LOCATION_COLUMNS = [
    "location",
    "provider",
    "hours_per_week",
    "expected_visits",
    "availability_contribution",
]
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


@pytest.fixture(scope="module")
def policy() -> policylang.Policy:
    return policylang.load(RULES)


def write_csv(path: Path, columns: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def visit(claim_id: str, location: str, day: str, quantity: int, amount: str) -> list[object]:
    code = "190015" if day < "2027-01-01" else "SB0001"
    return [
        claim_id,
        "06290000",
        "3311",
        f"P-{claim_id}",
        code,
        day,
        quantity,
        amount,
        "true",
        location,
    ]


def lines_of(result: policylang.api.Settlement, settlement: str) -> dict[tuple[str, str], Decimal]:
    return {(x.party, x.item): x.amount for x in result.lines if x.settlement == settlement}


def flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- SEH budget (002:26-33)
@pytest.fixture
def seh_tables(tmp_path: Path) -> dict[str, Path]:
    locations = write_csv(
        tmp_path / "seh_locations.csv",
        LOCATION_COLUMNS,
        [
            ["06290101", "06290000", "168", "30000", "0.00"],  # 24/7
            ["06290102", "06290000", "105", "20000", "562500.00"],  # 7 x 15 hours
            ["06290201", "06290000", "168", "10", "0.00"],  # 10 expected visits: tariff 410,000
        ],
    )
    claims = write_csv(
        tmp_path / "claims.csv",
        CLAIM_COLUMNS,
        [
            visit("a", "06290101", "2027-01-01", 1, "136.67"),
            visit("b", "06290101", "2027-06-30", 1, "136.67"),
            visit("c", "06290102", "2027-03-01", 3, "384.39"),
            visit("d", "06290201", "2027-05-01", 11, "4510000.00"),
            visit("old", "06290101", "2026-12-31", 1, "250.00"),
        ],
    )
    return {"seh_locations": locations, "claims": claims}


def test_seh_budget_tariff_and_vereffeningsbedrag(policy, seh_tables):
    result = policy.with_tables({"seh_locations": seh_tables["seh_locations"]}).settle(
        seh_tables["claims"], year=2027, only=["seh_budget"]
    )
    got = lines_of(result, "seh_budget")
    # 24/7: EUR 4,100,000.00; tariff 4,100,000 / 30,000 = 136.6666.. -> 136.67 (002:31, 002:33)
    assert got[("06290101", "budget")] == Decimal("4100000.00")
    assert got[("06290101", "tariff per visit")] == Decimal("136.67")
    # 2 visits: 4,100,000.00 - 2 x 136.67 = 4,099,726.66, positive: the insurer pays the rest
    assert got[("06290101", "tariff x actual visits")] == Decimal("273.34")
    assert got[("06290101", "vereffeningsbedrag")] == Decimal("4099726.66")
    # 105 hours: 4,100,000 x 105 / 168 = 2,562,500.00; tariff 2,562,500 / 20,000 = 128.125 -> 128.13
    assert got[("06290102", "budget")] == Decimal("2562500.00")
    assert got[("06290102", "tariff per visit")] == Decimal("128.13")
    assert got[("06290102", "vereffeningsbedrag")] == Decimal("2562500.00") - 3 * Decimal("128.13")
    assert got[("06290102", "availability contribution 2026 (ended)")] == Decimal("562500.00")
    # 11 visits where 10 were expected: 4,100,000 - 11 x 410,000 = -410,000.00, paid back
    assert got[("06290201", "tariff per visit")] == Decimal("410000.00")
    assert got[("06290201", "vereffeningsbedrag")] == Decimal("-410000.00")


def test_visit_on_2026_12_31_is_production_and_2027_01_01_is_budget(policy, seh_tables):
    checked = policy.with_tables({"seh_locations": seh_tables["seh_locations"]})
    claims = [
        {"claim_id": "old", "provider": "06290000", "insurer": "3311", "patient": "p1",
         "code": "190015", "start_date": "2026-12-31", "amount": "250.00",
         "seh_visit": "true", "location": "06290101"},
        {"claim_id": "new", "provider": "06290000", "insurer": "3311", "patient": "p2",
         "code": "SB0001", "start_date": "2027-01-01", "amount": "136.67",
         "seh_visit": "true", "location": "06290101"},
        {"claim_id": "old2027", "provider": "06290000", "insurer": "3311", "patient": "p3",
         "code": "190015", "start_date": "2027-01-01", "amount": "250.00",
         "seh_visit": "true", "location": "06290101"},
        {"claim_id": "new2026", "provider": "06290000", "insurer": "3311", "patient": "p4",
         "code": "SB0001", "start_date": "2026-12-31", "amount": "136.67",
         "seh_visit": "true", "location": "06290101"},
    ]  # fmt: skip
    old, new, old2027, new2026 = checked.check(claims)
    assert (old.status, old.title, old.funding, old.payable) == (
        "accepted", "seh_contact", "production", Decimal("250.00")
    )  # fmt: skip
    assert (new.status, new.title, new.funding, new.payable) == (
        "accepted", "seh_bezoek_budget", "budget", Decimal("136.67")
    )  # fmt: skip
    assert old2027.status == "rejected" and old2027.payable == Decimal("0.00")
    assert any("funded by the SEH budget" in r.message for r in old2027.reasons)
    assert new2026.status == "rejected"
    assert any("valid from 2027-01-01" in r.message for r in new2026.reasons)


# ---------------------------------------------------------------- schoning (000:181-226)
@pytest.fixture
def schoning_tables(tmp_path: Path) -> dict[str, Path]:
    locations = write_csv(
        tmp_path / "seh_locations.csv",
        LOCATION_COLUMNS,
        [
            ["06110101", "06110000", "168", "30000", "0.00"],
            ["06220101", "06220000", "105", "20000", "562500.00"],
        ],
    )
    hospitals = write_csv(
        tmp_path / "hospitals.csv",
        ["provider", "revenue", "seh_dbc_volume"],
        [
            ["06110000", "100000000.00", "30000"],
            ["06220000", "100000000.00", "7000"],
            ["06330000", "100000000.00", "5000"],  # no SEH of its own
        ],
    )
    claims = write_csv(
        tmp_path / "claims.csv", CLAIM_COLUMNS, [visit("a", "06110101", "2027-01-01", 1, "136.67")]
    )
    return {"seh_locations": locations, "hospitals": hospitals, "claims": claims}


def schoning(policy, tables, name):
    loaded = policy.with_tables(
        {"seh_locations": tables["seh_locations"], "hospitals": tables["hospitals"]}
    )
    return loaded.settle(tables["claims"], year=2027, only=[name])


def test_schoning_total_level_nets_to_zero(policy, schoning_tables):
    result = schoning(policy, schoning_tables, "schoning_totaalniveau")
    got = lines_of(result, "schoning_totaalniveau")
    # national cost = 4,100,000 + 2,562,500 - 562,500 = 6,100,000; three equal revenues:
    # 2,033,333.333.. each; the one leftover cent goes to the first hospital (tie-break)
    shares = [got[(p, "share of national cost")] for p in ("06110000", "06220000", "06330000")]
    assert shares == [Decimal("2033333.34"), Decimal("2033333.33"), Decimal("2033333.33")]
    net = [got[(p, "difference (net effect)")] for p in ("06110000", "06220000", "06330000")]
    # 4,100,000 - 2,033,333.34; 2,562,500 - 562,500 - 2,033,333.33; 0 - 2,033,333.33
    assert net == [Decimal("2066666.66"), Decimal("-33333.33"), Decimal("-2033333.33")]
    assert sum(net) == Decimal("0.00")
    checks = {c.name: c for c in result.checks}
    assert checks["schoning_totaalniveau_neutraal"].holds


def test_schoning_per_hospital(policy, schoning_tables):
    result = schoning(policy, schoning_tables, "schoning_per_ziekenhuis")
    got = lines_of(result, "schoning_per_ziekenhuis")
    # 4,100,000 / 30,000 = 136.666.. -> 136.67 per DBC; x 30,000 = 4,100,100: 100.00 too much
    assert got[("06110000", "price cut per SEH DBC")] == Decimal("136.67")
    assert got[("06110000", "difference")] == Decimal("-100.00")
    # (2,562,500 - 562,500) / 7,000 = 285.714.. -> 285.71; x 7,000 = 1,999,970: 30.00 short.
    # The low-volume hospital cuts its prices further (000:205).
    assert got[("06220000", "cleansing amount")] == Decimal("2000000.00")
    assert got[("06220000", "price cut per SEH DBC")] == Decimal("285.71")
    assert got[("06220000", "difference")] == Decimal("30.00")
    assert got[("06330000", "difference")] == Decimal("0.00")
    check = {c.name: c for c in result.checks}["schoning_per_ziekenhuis_neutraal"]
    assert check.holds, check.detail
    assert "difference -70.00" in check.detail


def test_schoning_macro_frame(policy, schoning_tables):
    result = schoning(policy, schoning_tables, "schoning_macrokader")
    got = lines_of(result, "schoning_macrokader")
    assert got[("06110000", "difference")] == Decimal("4100000.00")
    assert got[("06220000", "difference")] == Decimal("2000000.00")
    taken = sum(v for (_, item), v in got.items() if item == "taken from macro frame")
    assert taken == Decimal("6662500.00")


# ---------------------------------------------------------------- contracts (001:160-165, 800-806)
def contract_settle(policy, name):
    loaded = policy.with_tables(
        {
            "lump_sums": CONTRACTS / "lump_sums.csv",
            "market_shares": CONTRACTS / "market_shares.csv",
            "revenue_ceilings": CONTRACTS / "revenue_ceilings.csv",
            "population_contracts": CONTRACTS / "population_contracts.csv",
        }
    )
    return lines_of(loaded.settle(CONTRACTS / "claims.csv", only=[name]), name)


def test_lump_sum_finals_sum_to_the_lump_sum(policy):
    got = contract_settle(policy, "aanneemsom")
    # 06018105: production 0101 = 1,960.00, 3311 = 980.00 -> shares 2/3 and 1/3 of 250,000
    assert got[("06018105/0101", "final on the actual market share")] == Decimal("166666.67")
    assert got[("06018105/3311", "final on the actual market share")] == Decimal("83333.33")
    assert got[("06018105/0101", "settlement (final - provisional)")] == Decimal("66666.67")
    assert got[("06018105/3311", "settlement (final - provisional)")] == Decimal("-66666.67")
    for provider, lump in (("06011777", "1000000.00"), ("06018105", "250000.00")):
        finals = [
            v
            for (party, item), v in got.items()
            if party.startswith(provider) and item == "final on the actual market share"
        ]
        settlements = [
            v
            for (party, item), v in got.items()
            if party.startswith(provider) and item == "settlement (final - provisional)"
        ]
        assert sum(finals) == Decimal(lump)
        assert sum(settlements) == Decimal("0.00")


def test_revenue_ceiling_pays_min_and_reports_excess(policy):
    got = contract_settle(policy, "omzetplafond")
    assert got[("06018105/3343", "claims at price x quantity")] == Decimal("8400.00")
    assert got[("06018105/3343", "paid (min of claims and ceiling)")] == Decimal("5000.00")
    assert got[("06018105/3343", "above the ceiling (not paid)")] == Decimal("3400.00")
    assert got[("06018105/7029", "paid (min of claims and ceiling)")] == Decimal("980.00")
    assert got[("06018105/7029", "above the ceiling (not paid)")] == Decimal("0.00")


def test_population_funding_with_quality_bonus(policy):
    got = contract_settle(policy, "populatie")
    # 250,000 x 12.50 = 3,125,000.00; all 4 indicators met: bonus 5% = 156,250.00
    assert got[("ROAZ-NO", "total")] == Decimal("3281250.00")
    # 3 of 4 indicators met: no bonus
    assert got[("ROAZ-ZW", "quality bonus (all declared indicators met)")] == Decimal("0.00")
    assert got[("ROAZ-ZW", "total")] == Decimal("2250000.00")


# ---------------------------------------------------------------- IZA (003)
def test_iza_derivation_check_warns_and_does_not_fail(policy):
    policy = policy.with_tables({"population_contracts": CONTRACTS / "population_contracts.csv"})
    result = policy.settle(CONTRACTS / "claims.csv", year=2023, only=["populatie"])
    checks = {c.name: c for c in result.checks}
    # wijkverpleging 2023: 3,716 x 1.02 = 3,790.32 mln against the published 3,802 mln
    wv = checks["iza_afleiding_wijkverpleging"]
    assert (wv.holds, wv.warn_only) == (False, True)
    assert wv.detail == (
        "3802000000.00 vs 3790320000.00, difference 11680000.00, tolerance 2000000.00"
    )
    # MSZ 2023: 25,987 x 1.01 = 26,246.87 mln, within EUR 2 mln of 26,246
    assert checks["iza_afleiding_msz"].holds
    assert not result.failed
    # 2024: the published total 39,521 is 1 mln below the sum of the sectors (39,522)
    result = policy.settle(CONTRACTS / "claims.csv", year=2024, only=["populatie"])
    total = {c.name: c for c in result.checks}["iza_totaal_is_som_sectoren"]
    assert (total.holds, total.warn_only) == (False, True)
    assert "difference -1000000.00" in total.detail
    assert not result.failed


def test_iza_expensive_drugs_correction(policy):
    loaded = policy.with_tables({"expensive_drugs": SEH / "expensive_drugs.csv"})
    result = loaded.settle(CONTRACTS / "claims.csv", only=["dure_geneesmiddelen_correctie"])
    got = lines_of(result, "dure_geneesmiddelen_correctie")
    # 2024: over the frame 26,600 - 26,466 = 134 mln; drugs 3,466.2 against 3,180 x 1.07 =
    # 3,402.6 -> 63.6 mln above 7%; correction 50% = 31.8 mln; claw-back 102.2 mln
    assert got[("2024", "overschrijding of the MSZ frame")] == Decimal("134000000.00")
    assert got[("2024", "expensive-drug growth above the threshold")] == Decimal("63600000.00")
    assert got[("2024", "correction (50% of the growth above the threshold)")] == Decimal(
        "31800000.00"
    )
    assert got[("2024", "mbi claw-back after the correction")] == Decimal("102200000.00")
    # 2025: threshold 5%: 3,691.503 - 3,466.2 x 1.05 = 51.993 mln; correction 25.9965 mln
    assert got[("2025", "correction (50% of the growth above the threshold)")] == Decimal(
        "25996500.00"
    )
    assert got[("2025", "mbi claw-back after the correction")] == Decimal("98003500.00")
    # 2023: under the frame: no claw-back and no correction
    assert got[("2023", "mbi claw-back after the correction")] == Decimal("0.00")


def test_iza_year_outside_2023_2026_is_an_error(tmp_path):
    drugs = write_csv(
        tmp_path / "expensive_drugs.csv",
        ["year", "msz_expenditure", "drugs_previous_year", "drugs_expenditure"],
        [["2027", "27000000000.00", "3800000000.00", "4000000000.00"]],
    )
    result = CliRunner().invoke(
        app,
        [
            "settle", str(RULES), "--claims", str(CONTRACTS / "claims.csv"),
            "--table", f"expensive_drugs={drugs}", "--settlement", "dure_geneesmiddelen_correctie",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert (
        "settlement `dure_geneesmiddelen_correctie`, party `2027`: parameter `kader_msz` has no "
        "value for 2027" in flat(result.output)
    )
    assert "MSZ frame" not in result.stdout


# ---------------------------------------------------------------- bad input: exit 2
def settle_cli(tables: dict[str, Path], settlement: str, claims: Path):
    args = ["settle", str(RULES), "--claims", str(claims), "--settlement", settlement]
    for name, path in tables.items():
        args += ["--table", f"{name}={path}"]
    return CliRunner().invoke(app, args)


def assert_refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert "nothing was evaluated" in result.output
    assert "vereffeningsbedrag" not in result.stdout
    assert "settlement 2027" not in result.stdout


def bad_locations(tmp_path: Path, rows: list[list[object]], columns=LOCATION_COLUMNS) -> Path:
    return write_csv(tmp_path / "seh_locations.csv", columns, rows)


def test_missing_table(tmp_path, seh_tables):
    result = settle_cli({}, "seh_budget", seh_tables["claims"])
    assert_refused(result, "error[E0608]: settlement `seh_budget` needs table `seh_locations`")


def test_missing_column(tmp_path, seh_tables):
    path = bad_locations(
        tmp_path,
        [["06290101", "06290000", "168", "0.00"]],
        ["location", "provider", "hours_per_week", "availability_contribution"],
    )
    result = settle_cli({"seh_locations": path}, "seh_budget", seh_tables["claims"])
    assert_refused(result, f"table `seh_locations` ({path}) has no column `expected_visits`")


def test_duplicate_key(tmp_path, seh_tables):
    path = bad_locations(
        tmp_path,
        [
            ["06290101", "06290000", "168", "30000", "0.00"],
            ["06290101", "06290000", "105", "20000", "0.00"],
        ],
    )
    result = settle_cli({"seh_locations": path}, "seh_budget", seh_tables["claims"])
    assert_refused(
        result, f"table `seh_locations` ({path}) row 2: duplicate key `06290101` (first in row 1)"
    )


def test_hours_per_week_above_168(tmp_path, seh_tables):
    path = bad_locations(
        tmp_path,
        [
            ["06290101", "06290000", "168", "30000", "0.00"],
            ["06290102", "06290000", "170", "20000", "0.00"],
        ],
    )
    result = settle_cli({"seh_locations": path}, "seh_budget", seh_tables["claims"])
    assert_refused(
        result,
        f"table `seh_locations` ({path}) row 2 (key `06290102`): hours per week must be between "
        "0 and 168 (a week has 168 hours)",
    )
    assert "hours_per_week = 170" in result.output


def test_zero_expected_visits(tmp_path, seh_tables):
    path = bad_locations(tmp_path, [["06290101", "06290000", "168", "0", "0.00"]])
    result = settle_cli({"seh_locations": path}, "seh_budget", seh_tables["claims"])
    assert_refused(
        result,
        f"table `seh_locations` ({path}) row 1 (key `06290101`): expected visits must be above "
        "zero: the tariff is the budget divided by the expected visits",
    )
    assert "expected_visits = 0" in result.output


def test_shares_not_summing_to_one(tmp_path):
    shares = write_csv(
        tmp_path / "market_shares.csv",
        ["provider", "insurer", "provisional_share"],
        [["06011777", "3311", "0.5"], ["06011777", "7029", "0.3"], ["06018105", "3311", "1"]],
    )
    tables = {"lump_sums": CONTRACTS / "lump_sums.csv", "market_shares": shares}
    result = settle_cli(tables, "aanneemsom", CONTRACTS / "claims.csv")
    assert_refused(
        result,
        f"table `market_shares` ({shares}) row 1 (key `06011777/3311`): the provisional shares "
        "of one provider must sum to 1",
    )
    assert "row 3" not in result.output  # 06018105 sums to 1
    assert "final on the actual market share" not in result.stdout
