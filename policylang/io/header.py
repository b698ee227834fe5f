"""The header of a CSV claims file against the claim schema of the rules.

A header without a column the rules require (say `amount_eur` where the schema says `amount`)
would turn every row into the same `error` decision. That is a problem of the file, not of its
claims, so it is one exit-2 message (E0812) naming the missing columns and the unknown ones, with
a "did you mean" where an unknown column is close to a missing one."""

from __future__ import annotations

import difflib
from pathlib import Path

from policylang import ir
from policylang.errors import InputError
from policylang.io.csv_records import read_header


def check_csv_header(program: ir.Program, path: Path) -> None:
    """Raise E0812 when the header of the CSV claims file `path` lacks a required claim field
    (one that is neither optional nor has a default). An empty file has no header to check."""
    header = read_header(path)
    if not header:
        return
    present = set(header)
    required = [f.name for f in program.claim_fields if not f.optional and not f.has_default]
    missing = [name for name in required if name not in present]
    if not missing:
        return
    known = {f.name for f in program.claim_fields}
    unknown = [name for name in header if name and name not in known]
    message = f"the header of `{path}` lacks the claim {_fields(missing)} the rules require"
    if unknown:
        message += f"; it has {_columns(unknown)} the rules do not know"
    hints = [
        f"`{name}`: did you mean `{close[0]}`?"
        for name in unknown
        if (close := difflib.get_close_matches(name, missing, n=1, cutoff=0.6))
    ]
    help = (
        "rename the columns in the file to the names of the claim schema (docs/claims-formats.md)"
    )
    if hints:
        help = "; ".join(hints) + "; " + help
    raise InputError.single("E0812", message, help=help)


def _fields(names: list[str]) -> str:
    quoted = ", ".join(f"`{n}`" for n in names)
    return f"field {quoted}" if len(names) == 1 else f"fields {quoted}"


def _columns(names: list[str]) -> str:
    quoted = ", ".join(f"`{n}`" for n in names)
    return f"column {quoted}" if len(names) == 1 else f"columns {quoted}"
