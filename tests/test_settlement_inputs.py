"""Settlement results as inputs: the per-hospital schoning cut, written by `settle --format csv
--item`, is read back as a table by the next run and applied to the 2027 SEH-related DBCs; an
invariant flags a budget visit next to a DBC whose price was not cut. Both engines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policylang.cli import app
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "policies"
LOCATIONS = FIXTURES / "two_step_locations.csv"


def _cuts(tmp_path: Path) -> Path:
    cuts = tmp_path / "cuts.csv"
    result = CliRunner().invoke(
        app,
        [
            "settle",
            "rules/",
            "--claims",
            str(ROOT / "examples" / "contracts" / "claims.csv"),
            "--table",
            f"seh_locations={LOCATIONS}",
            "--table",
            f"hospitals={FIXTURES / 'two_step_hospitals.csv'}",
            "--settlement",
            "schoning_per_ziekenhuis",
            "--item",
            "price cut per SEH DBC",
            "--format",
            "csv",
            "--output",
            str(cuts),
        ],
    )
    assert result.exit_code == 0, result.stderr
    return cuts


def test_step_one_writes_the_cut_per_hospital_as_a_table_file(tmp_path: Path) -> None:
    with _cuts(tmp_path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # 4,100,000.00 / 12,572 DBCs = 326.1215.. -> 326.12; 2,562,500.00 / 8,000 = 320.3125 -> 320.31
    assert [(r["party"], r["item"], r["amount"], r["unit"]) for r in rows] == [
        ("06290000", "price cut per SEH DBC", "326.12", "money"),
        ("06310000", "price cut per SEH DBC", "320.31", "money"),
    ]
    assert rows[0]["settlement"] == "schoning_per_ziekenhuis"
    assert rows[0]["source"] == "000_a280222faa9a213a.txt:205"


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_step_two_cuts_the_2027_seh_dbcs_and_flags_an_uncut_one(
    tmp_path: Path, engine: str
) -> None:
    if engine == "batch":
        pytest.importorskip("duckdb")
    result = CliRunner().invoke(
        app,
        [
            "check",
            "rules/",
            "--claims",
            str(FIXTURES / "two_step_claims.csv"),
            "--table",
            f"seh_locations={LOCATIONS}",
            "--table",
            f"schoning_dbc_cuts={_cuts(tmp_path)}",
            "--format",
            "csv",
            "--engine",
            engine,
        ],
    )
    assert result.exit_code == 1  # the invariant is violated
    rows = {r["claim_id"]: r for r in csv.DictReader(result.stdout.splitlines())}
    got = {k: (r["status"], r["payable"]) for k, r in rows.items()}
    assert got == {
        "v1": ("accepted", "136.67"),
        "d1": ("adjusted", "1173.88"),  # 1,500.00 - 326.12
        "v2": ("accepted", "128.13"),
        "d2": ("accepted", "1173.87"),  # claimed at the cleansed price already
        "v3": ("accepted", "136.67"),
        "d3": ("accepted", "1500.00"),  # its hospital has no cut: paid in full
    }
    assert (
        "dbc_prijs_na_schoning: from 2027 the price of an SEH-related DBC is cut"
        in (rows["d1"]["reasons"])
    )
    assert "invariant seh_budget_niet_naast_ongeschoonde_dbc: VIOLATED (1)" in result.stderr
    assert (
        "claims d3, v3: patient p3: claim d3 is funded by `dbc_zorgproduct` and claim v3 by "
        "`seh_bezoek_budget` on 2027-03-01" in result.stderr
    )


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_a_hospital_whose_cut_is_zero_is_not_flagged(tmp_path: Path, engine: str) -> None:
    # 06999999's contribution covers its budget: its line says EUR 0.00. Its DBC is "cut" by
    # nothing and paid in full, which is right; only a hospital with no line at all is flagged.
    if engine == "batch":
        pytest.importorskip("duckdb")
    cuts = _cuts(tmp_path)
    with cuts.open("a", encoding="utf-8", newline="") as handle:
        handle.write(
            "schoning_per_ziekenhuis,06999999,price cut per SEH DBC,0.00,money,"
            "000_a280222faa9a213a.txt:205\n"
        )
    result = CliRunner().invoke(
        app,
        [
            "check",
            "rules/",
            "--claims",
            str(FIXTURES / "two_step_claims.csv"),
            "--table",
            f"seh_locations={LOCATIONS}",
            "--table",
            f"schoning_dbc_cuts={cuts}",
            "--format",
            "csv",
            "--engine",
            engine,
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = {r["claim_id"]: r for r in csv.DictReader(result.stdout.splitlines())}
    assert (rows["d3"]["status"], rows["d3"]["payable"]) == ("accepted", "1500.00")
    assert (rows["d1"]["status"], rows["d1"]["payable"]) == ("adjusted", "1173.88")
    assert "invariant seh_budget_niet_naast_ongeschoonde_dbc: holds" in result.stderr


def test_csv_output_of_settle_is_the_lines_only_and_item_filters_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "settle",
            "rules/seh_budget_2027.policy",
            "--claims",
            str(ROOT / "examples" / "contracts" / "claims.csv"),
            "--table",
            f"seh_locations={LOCATIONS}",
            "--year",
            "2027",
            "--item",
            "expected visits",
            "--item",
            "budget",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "settlement,party,item,amount,unit,source",
        "seh_budget,06290101,budget,4100000.00,money,"
        '"Kamerstuk 29 247 nr. 469, 002_5ce70f8dba136e3b.txt:31"',
        "seh_budget,06290101,expected visits,30000,integer,"
        '"Kamerstuk 29 247 nr. 469, 002_5ce70f8dba136e3b.txt:31"',
        "seh_budget,06310101,budget,2562500.00,money,"
        '"Kamerstuk 29 247 nr. 469, 002_5ce70f8dba136e3b.txt:31"',
        "seh_budget,06310101,expected visits,20000,integer,"
        '"Kamerstuk 29 247 nr. 469, 002_5ce70f8dba136e3b.txt:31"',
    ]


def test_schoning_per_segment_on_both_engines() -> None:
    pytest.importorskip("duckdb")
    import policylang

    policy = policylang.load(ROOT / "rules" / "schoning.policy").with_tables(
        {
            "seh_locations": LOCATIONS,
            "hospitals": FIXTURES / "two_step_hospitals.csv",
            "schoning_segmenten": FIXTURES / "two_step_segments.csv",
        }
    )
    claims = ROOT / "examples" / "contracts" / "claims.csv"
    options = {"only": ["schoning_per_segment"], "year": 2027}
    interpreted = policy.settle(claims, **options).to_json()
    assert policy.settle(claims, engine="batch", **options).to_json() == interpreted
    lines = {(x["party"], x["item"]): x["amount"] for x in interpreted["lines"]}
    # 30% of 4,100,000.00 is cleansed by the NZa, the rest in the free segment
    assert lines[("06290000", "regulated segment: the NZa cleanses")] == "1230000.00"
    assert lines[("06290000", "free segment: insurers and providers cleanse")] == "2870000.00"
    # 12.5% of 2,562,500.00 = 320,312.50; the parts add up to the cleansing amount exactly
    assert lines[("06310000", "regulated share")] == "12.5%"
    assert lines[("06310000", "regulated segment: the NZa cleanses")] == "320312.50"
    assert lines[("06310000", "free segment: insurers and providers cleanse")] == "2242187.50"
