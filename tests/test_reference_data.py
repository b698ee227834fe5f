"""The NZa reference tables shipped in policylang/data/nza match what its README says."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

from policylang.data.nza import REFERENCE_TABLES, reference_table_path

ROW_COUNTS = {
    "zorgproducten_2025": 5489,
    "specialismen": 619,
    "zorgtypes": 336,
    "zorgactiviteiten": 8550,
}

COLUMNS = {
    "zorgproducten_2025": ["zorgproductcode", "omschrijving"],
    "specialismen": [
        "code",
        "description",
        "indicator",
        "oid",
        "cluster",
        "valid_from",
        "valid_to",
    ],
    "zorgtypes": [
        "specialisme_code",
        "code",
        "description",
        "max_duration_days",
        "valid_from",
        "valid_to",
    ],
    "zorgactiviteiten": ["code", "description", "tariff_type", "valid_from", "valid_to"],
}

GROUPER_TABLES = ["specialismen", "zorgtypes", "zorgactiviteiten"]


def load(name: str) -> list[dict[str, str]]:
    with reference_table_path(name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def validity(rows: list[dict[str, str]], code: str) -> list[tuple[str, str, str]]:
    return [(r["description"], r["valid_from"], r["valid_to"]) for r in rows if r["code"] == code]


def test_known_names_are_exactly_the_documented_ones() -> None:
    assert set(REFERENCE_TABLES) == set(ROW_COUNTS)


def test_unknown_name_raises_key_error_listing_known_names() -> None:
    with pytest.raises(
        KeyError, match="specialismen, zorgactiviteiten, zorgproducten_2025, zorgtypes"
    ):
        reference_table_path("specialisme")


@pytest.mark.parametrize("name", sorted(ROW_COUNTS))
def test_table_is_a_file_inside_the_package(name: str) -> None:
    path = reference_table_path(name)
    assert isinstance(path, Path)
    assert path.is_file()
    assert path.name == REFERENCE_TABLES[name]
    assert path.parent.name == "nza"
    assert (path.parent / "README.md").is_file()


@pytest.mark.parametrize("name", sorted(ROW_COUNTS))
def test_columns_and_row_counts_match_readme(name: str) -> None:
    with reference_table_path(name).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        assert reader.fieldnames == COLUMNS[name]
    assert len(rows) == ROW_COUNTS[name]
    # the README's row counts are the ones asserted here
    readme = (reference_table_path(name).parent / "README.md").read_text(encoding="utf-8")
    assert f"| `{name}` | `{REFERENCE_TABLES[name]}` | {ROW_COUNTS[name]:,} |" in readme


def test_zorgproduct_codes_keep_leading_zeros() -> None:
    rows = load("zorgproducten_2025")
    codes = [r["zorgproductcode"] for r in rows]
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 9 and code.isdigit() for code in codes)
    assert "010501001" in codes
    assert sum(code.startswith("0") for code in codes) == 2316
    by_code = {r["zorgproductcode"]: r["omschrijving"] for r in rows}
    assert by_code["010501001"] == "Uitval standaard"


@pytest.mark.parametrize("name", GROUPER_TABLES)
def test_grouper_dates_are_iso_and_periods_do_not_overlap(name: str) -> None:
    rows = load(name)
    key_columns = ["specialisme_code", "code"] if name == "zorgtypes" else ["code"]
    periods: dict[tuple[str, ...], list[tuple[date, date | None]]] = {}
    for row in rows:
        start = date.fromisoformat(row["valid_from"])
        assert start.isoformat() == row["valid_from"]
        end = date.fromisoformat(row["valid_to"]) if row["valid_to"] else None
        assert end is None or (end.isoformat() == row["valid_to"] and start <= end)
        periods.setdefault(tuple(row[c] for c in key_columns), []).append((start, end))
    for key, spans in periods.items():
        spans.sort()
        for (_, end), (next_start, _) in pairwise(spans):
            assert end is not None and end < next_start, key


def test_specialismen_codes_are_four_digit_text() -> None:
    rows = load("specialismen")
    assert all(len(r["code"]) == 4 and r["code"].isdigit() for r in rows)
    assert len({r["code"] for r in rows}) == 563
    assert validity(rows, "0301") == [
        ("Medisch specialisten, oogheelkunde", "2012-01-01", ""),
    ]
    assert validity(rows, "0000") == [("Specialisme onbekend", "2012-01-01", "")]


def test_seh_contact_activities_with_validity() -> None:
    rows = load("zorgactiviteiten")
    assert validity(rows, "190015") == [
        ("Spoedeisende hulp contact op de SEH afdeling.", "2012-01-01", ""),
    ]
    assert validity(rows, "190016") == [
        (
            "Spoedeisende hulp contact buiten de SEH afdeling, elders in het ziekenhuis.",
            "2012-01-01",
            "",
        ),
    ]


def test_ic_activities_with_validity_and_tariff_type() -> None:
    rows = load("zorgactiviteiten")
    got = [
        (r["code"], r["description"], r["tariff_type"], r["valid_from"], r["valid_to"])
        for r in rows
        if "190150" <= r["code"] <= "190156"
    ]
    assert got == [
        ("190150", "Neonatale IC.", "15", "2012-01-01", ""),
        ("190151", "Pediatrische IC.", "15", "2012-01-01", ""),
        ("190152", "Post IC-high care", "12", "2012-01-01", "2015-12-31"),
        ("190152", "Post IC-high care.", "12", "2016-01-01", ""),
        ("190153", "IC-dag licht.", "15", "2014-01-01", ""),
        ("190154", "IC-dag middel.", "15", "2014-01-01", ""),
        ("190155", "IC-dag zwaar.", "15", "2014-01-01", ""),
        ("190156", "IC dialysetoeslag.", "15", "2014-01-01", ""),
    ]


def test_zorgactiviteit_codes_keep_leading_zeros() -> None:
    rows = load("zorgactiviteiten")
    assert all(len(r["code"]) == 6 and r["code"].isdigit() for r in rows)
    assert len({r["code"] for r in rows}) == 5505
    assert validity(rows, "010905") == [
        ("Reiskosten per kilometer", "2012-01-01", "2015-12-31"),
        ("Reiskosten per kilometer.", "2016-01-01", ""),
    ]


def test_zorgtypes_maximum_duration_365_until_2014_then_120() -> None:
    rows = load("zorgtypes")
    assert {r["code"] for r in rows} == {"11", "13", "21", "41", "51", "52"}
    assert len({r["specialisme_code"] for r in rows}) == 27
    counts = Counter(
        (r["max_duration_days"], "until 2014" if r["valid_to"] <= "2014-12-31" else "from 2015")
        for r in rows
        if r["valid_to"]
    )
    open_ended = Counter(
        (r["max_duration_days"], r["valid_from"] >= "2015-01-01") for r in rows if not r["valid_to"]
    )
    assert counts == {("365", "until 2014"): 180}
    assert open_ended == {("120", True): 156}
    oogheelkunde_regular = [
        (r["max_duration_days"], r["valid_from"], r["valid_to"])
        for r in rows
        if r["specialisme_code"] == "0301" and r["code"] == "11"
    ]
    assert oogheelkunde_regular == [("365", "2012-01-01", "2014-12-31"), ("120", "2015-01-01", "")]
