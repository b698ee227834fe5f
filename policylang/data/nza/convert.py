"""Rebuild the NZa reference tables in this folder from the team's shared copy of the sources.

Run by hand from the repository root, with the folder that holds the shared real data::

    python -m policylang.data.nza.convert /work/shared/data/real

It reads (see README.md in this folder for what each source is)::

    nza_zorgproducten_2025/nza_zorgproducten_actueel.csv   -> zorgproducten_2025.csv (copied byte for byte)
    nza_grouper_2017/csv/Specialisme.csv                    -> specialismen.csv
    nza_grouper_2017/csv/ZorgType.csv                       -> zorgtypes.csv
    nza_grouper_2017/csv/ZorgActiviteit.csv                 -> zorgactiviteiten.csv

and writes next to this file. The grouper tables are normalised: English snake_case column names,
codes kept as text, ISO dates, `valid_from`/`valid_to` both inclusive (`valid_to` empty = still
valid), rows sorted by code and `valid_from`. Columns that are dropped must be empty or redundant
(the script checks and stops otherwise). When dropping columns leaves two rows of the same code
identical except for validity, and the second starts the day after the first ends, they are merged
into one row. Output is UTF-8 with `\\n` line ends, so a rerun gives identical files.
"""

from __future__ import annotations

import csv
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent

Row = dict[str, str]


def iso_date(text: str) -> str:
    """An ISO date (`YYYY-MM-DD`), or '' for an open end; anything else is an error."""
    return date.fromisoformat(text).isoformat() if text else ""


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"convert: {message}")


def require_empty(rows: Sequence[Row], columns: Iterable[str], source: str) -> None:
    for column in columns:
        values = {row[column] for row in rows}
        require(values <= {""}, f"{source}: column {column} is not empty: {sorted(values)[:5]}")


def require_constant(rows: Sequence[Row], column: str, source: str) -> str:
    values = {row[column] for row in rows}
    require(len(values) == 1, f"{source}: column {column} is not constant: {sorted(values)[:5]}")
    return values.pop()


def merge_adjacent(rows: list[Row], key: Callable[[Row], tuple[str, ...]]) -> list[Row]:
    """Sort by `key` then `valid_from`; merge a row into the previous one when all other columns
    are equal and it starts the day after the previous one ends."""
    rows = sorted(rows, key=lambda r: (*key(r), r["valid_from"]))
    merged: list[Row] = []
    for row in rows:
        if merged:
            last = merged[-1]
            same = all(last[c] == row[c] for c in row if c not in ("valid_from", "valid_to"))
            if (
                same
                and last["valid_to"]
                and date.fromisoformat(last["valid_to"]) + timedelta(days=1)
                == date.fromisoformat(row["valid_from"])
            ):
                last["valid_to"] = row["valid_to"]
                continue
        merged.append(dict(row))
    return merged


def check_no_overlap(rows: Sequence[Row], key: Callable[[Row], tuple[str, ...]], name: str) -> None:
    """Within one key, periods must not overlap (rows are sorted by key, valid_from)."""
    for previous, row in pairwise(rows):
        if key(previous) == key(row):
            require(
                previous["valid_to"] != "" and previous["valid_to"] < row["valid_from"],
                f"{name}: overlapping periods for {key(row)}",
            )


def key_of(columns: Sequence[str]) -> Callable[[Row], tuple[str, ...]]:
    return lambda row: tuple(row[c] for c in columns)


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Row]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def convert_specialismen(source: Path) -> list[Row]:
    rows = read_rows(source)
    require_empty(rows, ["SpecialismeCluster_02"], source.name)
    require_constant(rows, "VersieDatum", source.name)
    out = [
        {
            "code": r["SpecialismeCode"],
            "description": r["SpecialismeOmschrijving"],
            "indicator": r["SpecialismeIndicatie"],
            "oid": r["SpecialismeOID"],
            "cluster": r["SpecialismeCluster_01"],
            "valid_from": iso_date(r["BeginDatum"]),
            "valid_to": iso_date(r["EindDatum"]),
        }
        for r in rows
    ]
    return merge_adjacent(out, key=lambda r: (r["code"],))


def convert_zorgtypes(source: Path) -> list[Row]:
    rows = read_rows(source)
    require_empty(rows, ["ZorgTypeCluster_01", "ZorgTypeCluster_02"], source.name)
    require_constant(rows, "VersieDatum", source.name)
    require(
        all(r["ZorgTypeAttribuutCode"] == r["ZorgTypeCode"] for r in rows),
        f"{source.name}: ZorgTypeAttribuutCode differs from ZorgTypeCode",
    )
    out = [
        {
            "specialisme_code": r["SpecialismeCode"],
            "code": r["ZorgTypeCode"],
            "description": r["ZorgTypeOmschrijving"],
            "max_duration_days": str(int(r["MaximaleLooptijd"])),
            "valid_from": iso_date(r["BeginDatum"]),
            "valid_to": iso_date(r["EindDatum"]),
        }
        for r in rows
    ]
    return merge_adjacent(out, key=lambda r: (r["specialisme_code"], r["code"]))


def convert_zorgactiviteiten(source: Path) -> list[Row]:
    rows = read_rows(source)
    require_constant(rows, "VersieDatum", source.name)
    out = [
        {
            "code": r["ZorgActiviteitCode"],
            "description": r["ZorgActiviteitOmschrijving"],
            "tariff_type": r["TariefType"],
            "valid_from": iso_date(r["BeginDatum"]),
            "valid_to": iso_date(r["EindDatum"]),
        }
        for r in rows
    ]
    return merge_adjacent(out, key=lambda r: (r["code"],))


COLUMNS = {
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


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    shared = Path(argv[0])
    grouper = shared / "nza_grouper_2017" / "csv"

    products_source = shared / "nza_zorgproducten_2025" / "nza_zorgproducten_actueel.csv"
    products = read_rows(products_source)
    require(
        list(products[0]) == ["zorgproductcode", "omschrijving"],
        f"{products_source.name}: unexpected columns {list(products[0])}",
    )
    require(
        len({r["zorgproductcode"] for r in products}) == len(products),
        f"{products_source.name}: zorgproductcode is not unique",
    )
    shutil.copyfile(products_source, HERE / "zorgproducten_2025.csv")
    print(f"zorgproducten_2025.csv: {len(products)} rows (copied)")

    tables = {
        "specialismen": (convert_specialismen(grouper / "Specialisme.csv"), ("code",)),
        "zorgtypes": (convert_zorgtypes(grouper / "ZorgType.csv"), ("specialisme_code", "code")),
        "zorgactiviteiten": (convert_zorgactiviteiten(grouper / "ZorgActiviteit.csv"), ("code",)),
    }
    for name, (rows, key_columns) in tables.items():
        check_no_overlap(rows, key_of(key_columns), name)
        count = write_rows(HERE / f"{name}.csv", COLUMNS[name], rows)
        print(f"{name}.csv: {count} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
