"""Load reference tables (CSV or Parquet) declared in the rule files.

Unlike a claim row, a broken table row cannot be set aside: every rule that reads the table
would silently change. So a missing column, a bad value or a duplicate key is an InputError that
names the table, the row and the field, and nothing is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from policylang import ir
from policylang.errors import Diagnostic, InputError
from policylang.io.claims import FieldError, read_csv, read_parquet, value_parser

Table = dict[Any, dict[str, Any]]  # key -> row


def type_rows(
    spec: ir.TableSpec,
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    enums: Mapping[str, ir.EnumSpec],
    origin: str,
    columns: Iterable[str] | None = None,
) -> Table:
    diagnostics: list[Diagnostic] = []
    if columns is not None:
        present = set(columns)
        missing = [f.name for f in spec.fields if f.name not in present and not f.has_default]
        if missing:
            raise InputError.single(
                "E0604",
                f"table `{spec.name}` ({origin}) has no column "
                + ", ".join(f"`{m}`" for m in missing),
                help="columns found: " + ", ".join(sorted(present)),
            )
    parsers = {f.name: value_parser(f.type, enums) for f in spec.fields}
    table: Table = {}
    first_row: dict[Any, int] = {}
    for number, raw in rows:
        row: dict[str, Any] = {}
        for field in spec.fields:
            text = raw.get(field.name)
            text = text.strip() if text is not None else None
            if not text:
                if field.has_default:
                    row[field.name] = field.default
                elif field.optional:
                    row[field.name] = None
                else:
                    diagnostics.append(
                        Diagnostic(
                            "E0605",
                            f"table `{spec.name}` ({origin}) row {number}: `{field.name}` is empty",
                        )
                    )
                continue
            try:
                row[field.name] = parsers[field.name](text)
            except FieldError as error:
                diagnostics.append(
                    Diagnostic(
                        "E0605",
                        f"table `{spec.name}` ({origin}) row {number}: field `{field.name}`: {error}",
                    )
                )
        key = tuple(row.get(k) for k in spec.key)
        key_value = key[0] if len(key) == 1 else key
        if spec.valid_from is not None:
            periods = table.setdefault(key_value, [])  # type: ignore[arg-type]
            problem = _overlap(spec, row, periods)  # type: ignore[arg-type]
            if problem:
                diagnostics.append(
                    Diagnostic(
                        "E0606",
                        f"table `{spec.name}` ({origin}) row {number}: key `{key_value}` {problem}",
                    )
                )
                continue
            periods.append(row)  # type: ignore[attr-defined]
            continue
        if key_value in first_row:
            diagnostics.append(
                Diagnostic(
                    "E0606",
                    f"table `{spec.name}` ({origin}) row {number}: duplicate key "
                    f"`{key_value}` (first in row {first_row[key_value]})",
                )
            )
            continue
        first_row[key_value] = number
        table[key_value] = row
        if len(diagnostics) > 50:
            break
    if diagnostics:
        raise InputError(diagnostics)
    if spec.valid_from is not None:
        for rows in table.values():
            rows.sort(key=lambda r: r[spec.valid_from])  # type: ignore[attr-defined]
    return table


def _overlap(spec: ir.TableSpec, row: dict[str, Any], earlier: list[dict[str, Any]]) -> str:
    """Why `row`'s period overlaps an earlier row of the same key, or ""."""
    assert spec.valid_from is not None
    start = row[spec.valid_from]
    end = row.get(spec.valid_to) if spec.valid_to else None
    for other in earlier:
        other_start = other[spec.valid_from]
        other_end = other.get(spec.valid_to) if spec.valid_to else None
        if (end is None or other_start <= end) and (other_end is None or start <= other_end):
            return f"is valid twice: its period overlaps the one from {other_start}"
    return ""


def valid_row(spec: ir.TableSpec, rows: list[dict[str, Any]], day: Any) -> dict[str, Any] | None:
    """The row of a temporal table's key that is valid on `day`, if any."""
    start_column, end_column = spec.valid_from, spec.valid_to
    for row in rows:
        if row[start_column] <= day:
            end = row.get(end_column) if end_column else None
            if end is None or day <= end:
                return row
    return None


def load_table(spec: ir.TableSpec, path: str | Path, enums: Mapping[str, ir.EnumSpec]) -> Table:
    path = Path(path)
    if not path.is_file():
        raise InputError.single("E0804", f"table file `{path}` for `{spec.name}` does not exist")
    raws = list(read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv(path))
    broken = [r for r in raws if r.problems]
    if broken:
        problem = broken[0].problems[0]
        raise InputError.single(
            "E0605", f"table `{spec.name}` ({path}) row {broken[0].row}: {problem.message}"
        )
    columns = raws[0].fields.keys() if raws else [f.name for f in spec.fields]
    return type_rows(spec, ((r.row, r.fields) for r in raws), enums, str(path), columns)
