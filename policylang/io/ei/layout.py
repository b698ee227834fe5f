"""Vektis EI record layouts, loaded from the specification tables shipped in `policylang/data/vektis/`.

Everything about a field (offsets, type, M/C/O, code list, fixed values) comes from the layout CSV,
a mechanical conversion of the Vektis "berichtspecificatie" (Source: Vektis C.V.). No offsets are
written by hand here. Positions are 1-based and inclusive, as in the specification.

Two things the CSV does not hold are written down below: the record hierarchy (which record type is
the parent of which) and how a field's value is typed (`kind`), derived from the Vektis data-element
code (`ANT` counts, `BED` amounts in cents, `DAT` dates) and the EI type (`N` or `AN`).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from importlib import resources
from typing import Literal

import attrs

Kind = Literal["text", "code", "int", "amount", "date"]

HEADER = "01"
CLOSING = "99"
COMMENT = "98"

# The EI record hierarchy (Vektis "Algemene regels EI"): a detail record belongs to the nearest
# preceding record of its parent type. Comment records (98) belong to the detail record before them.
PARENT_TYPES: dict[str, str] = {
    "02": HEADER,  # verzekerde
    "03": "02",  # debiteur
    "04": "02",  # prestatie
    "06": "04",  # tarief
    "16": "04",  # zorgactiviteit
}

# The layout files shipped with policylang, by (EI code, version) as written in the header record.
LAYOUT_FILES: dict[str, str] = {
    "ZH308v9.0": "ZH308v9.0_record_layout.csv",
    "MZ301v1.3": "MZ301v1.3_record_layout.csv",
}

# "CS: Waarde '101' vullen": a prescribed value. "Waarde '2' of '0' ..." and "Waarde '1' indien ..."
# do not match, they are choices.
_FIXED_VALUE = re.compile(r"Waarde '([^']*)'(?: \([^)]*\))? vullen")


@attrs.frozen
class Field:
    """One rubriek of a record type."""

    rubriek: str  # "0617"
    name: str  # "BEREKEND BEDRAG (INCL. BTW)"
    type: str  # "N" or "AN"
    length: int
    start: int  # 1-based, inclusive
    end: int  # 1-based, inclusive
    requirement: str  # M(andatory), C(onditional), O(ptional), S(paces: reserve)
    key: str  # "T" (record key), "L" (link to the parent record) or ""
    element: str  # Vektis data-element code, e.g. "BED153"
    code_list: str | None  # e.g. "COD043-VEKT" (debit/credit)
    fixed_value: str | None  # a value the specification prescribes ("CS: Waarde '101' vullen")
    kind: Kind

    @property
    def mandatory(self) -> bool:
        return self.requirement == "M"

    @property
    def is_reserve(self) -> bool:
        return self.requirement == "S"

    @property
    def is_debit_credit(self) -> bool:
        return self.code_list == "COD043-VEKT"


@attrs.frozen
class RecordType:
    code: str  # "04"
    name: str  # "PRESTATIERECORD"
    fields: tuple[Field, ...]  # in file order, reserve included

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"record type {self.code} has no field `{name}`")

    def index(self, name: str) -> int:
        for i, f in enumerate(self.fields):
            if f.name == name:
                return i
        raise KeyError(f"record type {self.code} has no field `{name}`")


@attrs.frozen
class Layout:
    standard: str  # "ZH308"
    version: str  # "9.0"
    ei_code: str  # "101", from the fixed value of CODE EXTERNE-INTEGRATIEBERICHT
    record_length: int
    record_types: dict[str, RecordType]

    @property
    def name(self) -> str:
        return f"{self.standard}v{self.version}"


def _kind(type_: str, element: str, pattern: str) -> Kind:
    if pattern == "EEJJMMDD" or element.startswith("DAT"):
        return "date"
    if type_ != "N":
        return "text"
    if element.startswith("BED"):
        return "amount"
    if element.startswith("ANT"):
        return "int"
    # Numeric codes and numbers (AGB, UZOVI, BSN, identifiers): text, leading zeros matter.
    return "code"


def _fixed_value(constraints: str) -> str | None:
    m = _FIXED_VALUE.search(constraints)
    return None if m is None else m.group(1)


def parse_layout(text: str, version: str) -> Layout:
    """Build a layout from the text of a `*_record_layout.csv` file."""
    by_code: dict[str, list[Field]] = {}
    names: dict[str, str] = {}
    standard = ""
    for row in csv.DictReader(io.StringIO(text)):
        standard = row["standaard"]
        code = row["recordcode"]
        names[code] = row["recordnaam"]
        by_code.setdefault(code, []).append(
            Field(
                rubriek=row["rubriek"],
                name=row["naam"].strip(),
                type=row["type"],
                length=int(row["lengte"]),
                start=int(row["startpositie"]),
                end=int(row["eindpositie"]),
                requirement=row["verplichting"],
                key=row["sleutel"],
                element=row["code_gegeven"],
                code_list=row["codelijst_code"] or None,
                fixed_value=_fixed_value(row["constraints"]),
                kind=_kind(row["type"], row["code_gegeven"], row["patroon"]),
            )
        )
    record_types = {
        code: RecordType(code, names[code], tuple(sorted(fields, key=lambda f: f.start)))
        for code, fields in by_code.items()
    }
    lengths = {rt.fields[-1].end for rt in record_types.values()}
    if len(lengths) != 1:
        raise ValueError(
            f"record types of {standard} end at different positions: {sorted(lengths)}"
        )
    for rt in record_types.values():
        expected = 1
        for f in rt.fields:
            if f.start != expected or f.end != f.start + f.length - 1:
                raise ValueError(f"{standard} record {rt.code} field {f.rubriek} is not contiguous")
            expected = f.end + 1
    ei_code = record_types[HEADER].fields[1].fixed_value
    if ei_code is None:
        raise ValueError(f"{standard} layout does not fix CODE EXTERNE-INTEGRATIEBERICHT")
    return Layout(standard, version, ei_code, lengths.pop(), record_types)


@functools.cache
def load_layout(name: str) -> Layout:
    """Load a shipped layout by name: `"ZH308v9.0"` or `"MZ301v1.3"`."""
    try:
        filename = LAYOUT_FILES[name]
    except KeyError:
        raise KeyError(f"unknown EI layout `{name}`; known: {', '.join(LAYOUT_FILES)}") from None
    text = (
        resources.files("policylang")
        .joinpath("data")
        .joinpath("vektis")
        .joinpath(filename)
        .read_text("utf-8")
    )
    return parse_layout(text, version=name.partition("v")[2])


def layouts() -> tuple[Layout, ...]:
    return tuple(load_layout(name) for name in LAYOUT_FILES)


def layout_for_code(ei_code: str) -> Layout | None:
    """The shipped layout for an EI code as found in a header record (`"101"` is ZH308)."""
    for layout in layouts():
        if layout.ei_code == ei_code:
            return layout
    return None
