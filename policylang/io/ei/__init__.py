"""Vektis EI declaration files (fixed-width): layouts, reading, validation, ZH308 claims, writing."""

from policylang.io.ei.layout import Field, Layout, RecordType, load_layout
from policylang.io.ei.reader import EIProblem, Record, read_records
from policylang.io.ei.validate import Validator, validate_file
from policylang.io.ei.writer import format_record, write_records, write_zh308
from policylang.io.ei.zh308 import (
    EIInspection,
    ZH308Claims,
    inspect_ei,
    inspection_rows,
    looks_like_ei,
    pseudonym,
    read_zh308_claims,
)

__all__ = [
    "EIInspection",
    "EIProblem",
    "Field",
    "Layout",
    "Record",
    "RecordType",
    "Validator",
    "ZH308Claims",
    "format_record",
    "inspect_ei",
    "inspection_rows",
    "load_layout",
    "looks_like_ei",
    "pseudonym",
    "read_records",
    "read_zh308_claims",
    "validate_file",
    "write_records",
    "write_zh308",
]
