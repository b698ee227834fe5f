"""Read claims files (CSV, JSON Lines, Parquet, Vektis EI) and type each row by the claim schema.

Reading never drops a row: a row that cannot be typed (a missing field, `12,50` as an amount, a
date that does not exist) becomes a `ClaimRow` with problems, and the evaluator turns it into an
`error` decision naming the field and the value. A file that cannot be read at all is an
InputError (exit 2).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from policylang import ir
from policylang.errors import InputError
from policylang.io.csv_records import read_csv
from policylang.io.jsonl_records import read_jsonl
from policylang.io.raw import RawClaim, RowProblem

__all__ = ["ClaimRow", "ClaimTyper", "read_claims", "read_csv", "read_jsonl", "read_parquet"]

# ASCII digits only (`\d` would read `٤٥.٠٠` as 45.00), within the documented ranges
# (docs/claims-formats.md, "Ranges"): what the batch engine's DECIMAL(18,2), DECIMAL(38,12) and
# BIGINT hold, so both engines decide every claim alike.
MONEY_DIGITS = 16  # before the decimal point: |amount| < 10^16 (DECIMAL(18,2))
DECIMAL_DIGITS, DECIMAL_PLACES = 24, 12  # DECIMAL(38,12), as the batch engine reads numbers
INTEGER_DIGITS = 18  # |n| < 10^18 (BIGINT)
_AMOUNT = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,2})?")
_ANY_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
_TRUE = frozenset({"true", "1", "yes", "ja", "y", "j"})
_FALSE = frozenset({"false", "0", "no", "nee", "n"})


@attrs.define  # not frozen: one is made per claim on the hot path; treat as read-only
class ClaimRow:
    """A claim typed by the schema, or the problems that prevented it."""

    row: int
    claim_id: str
    values: dict[str, Any]
    problems: tuple[RowProblem, ...] = ()


class FieldError(ValueError):
    pass


def _parse_money(text: str) -> Decimal:
    if _AMOUNT.fullmatch(text):
        return _money(text)
    if _ANY_AMOUNT.fullmatch(text):
        raise FieldError(
            f"`{_short(text)}` is out of range: an amount has at most {MONEY_DIGITS} digits "
            "before the decimal point"
        )
    if re.fullmatch(r"-?[0-9]+,[0-9]{1,2}", text):
        raise FieldError(f"`{text}` is not an amount: use `.` as the decimal separator")
    if _DECIMAL.fullmatch(text):
        raise FieldError(f"`{text}` has more than two decimals: amounts are exact to the cent")
    raise FieldError(f"`{text}` is not an amount (write 12.50)")


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _money(text: str) -> Decimal:
    """The amount of a well-formed text; a negative zero (`-0.00`) is zero, as in SQL."""
    value = Decimal(text)
    return abs(value) if text[0] == "-" and not value else value


def _parse_date(text: str) -> dt.date:
    try:
        if not _ISO_DATE.fullmatch(text):  # not an ISO week date, no other digits than 0-9
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FieldError(f"`{text}` is not a date (YYYY-MM-DD)") from None


def _short(text: str) -> str:
    """A long value in a message: its first 16 and last 8 characters (the batch engine too)."""
    if len(text) <= 40:
        return text
    return f"{text[:16]}...{text[-8:]}"


def _parse_integer(text: str) -> int:
    if _INTEGER.fullmatch(text):
        if len(text.lstrip("-")) > INTEGER_DIGITS:
            raise FieldError(
                f"`{_short(text)}` is out of range: a whole number has at most "
                f"{INTEGER_DIGITS} digits"
            )
        return int(text)
    raise FieldError(f"`{text}` is not a whole number")


def _parse_decimal(text: str) -> Decimal:
    if _DECIMAL.fullmatch(text):
        whole, _, places = text.lstrip("-").partition(".")
        if len(whole) > DECIMAL_DIGITS or len(places) > DECIMAL_PLACES:
            raise FieldError(
                f"`{_short(text)}` is out of range: a number has at most {DECIMAL_DIGITS} "
                f"digits before the decimal point and {DECIMAL_PLACES} after it"
            )
        return Decimal(text)
    raise FieldError(f"`{text}` is not a number (use `.` as the decimal separator)")


def _parse_percent(text: str) -> Decimal:
    body = text[:-1].strip() if text.endswith("%") else text
    return _parse_decimal(body) / 100 if text.endswith("%") else _parse_decimal(body)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise FieldError(f"`{text}` is not true or false")


def value_parser(type_: str, enums: Mapping[str, ir.EnumSpec]) -> Callable[[str], Any]:
    """A function that turns the text of a field of `type_` into its value, or FieldError."""
    if type_ in ("text", "code"):
        return lambda text: text
    if type_ == "money":
        return _parse_money
    if type_ == "date":
        return _parse_date
    if type_ in ("integer", "days"):
        return _parse_integer
    if type_ == "decimal":
        return _parse_decimal
    if type_ == "percent":
        return _parse_percent
    if type_ == "bool":
        return _parse_bool
    if type_.startswith("enum:"):
        members = enums[type_[5:]].members
        allowed = ", ".join(members)

        def parse_enum(text: str) -> str:
            if text in members:
                return text
            raise FieldError(f"`{text}` is not one of {allowed}")

        return parse_enum
    raise AssertionError(f"no parser for type {type_}")  # pragma: no cover


class ClaimTyper:
    """Types raw claims by the program's claim schema.

    Typing is the largest per-claim cost of `check`, so the typer is one Python function
    generated for the schema when the policy is loaded (as attrs generates `__init__`): a
    straight line of code per field with the common case inlined (a well-formed amount, a date
    seen before, a plain whole number) and the general parsers above for everything else, so
    every message stays theirs. The generated text comes from the fixed templates below; the only
    things taken from a rule file are field names, written as `repr()` literals, so a rule file
    still cannot make the typer run code of its own.
    """

    def __init__(self, program: ir.Program) -> None:
        self.fields = program.claim_fields
        self._type_fields = _generate_typer(program)

    def type(self, raw: RawClaim) -> ClaimRow:
        return self._type_fields(raw.row, raw.fields, raw.problems)

    def type_fields(
        self, row: int, fields: Mapping[str, str | None], problems: tuple[RowProblem, ...] = ()
    ) -> ClaimRow:
        """Type one row given as its number, its field texts and the reader's problems."""
        return self._type_fields(row, fields, problems)

    def type_mappings(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[ClaimRow]:
        """Type rows given as mappings (dicts, DataFrame records), numbered from 1. Text values
        are typed as they are; a row with other values (numbers, dates, booleans: the generated
        code's `strip()` fails on them) is typed again from their text, as read_mappings gives."""
        type_fields = self._type_fields
        for number, row in enumerate(rows, start=1):
            try:
                yield type_fields(number, row, ())
            except AttributeError:
                yield type_fields(number, _as_text(row), ())


# Dates repeat (a year has 365 of them): parsing each text once is most of the date cost.
_DATE_CACHE: dict[str, dt.date] = {}
_BOOL_TEXT = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def _cached_date(text: str) -> dt.date:
    value = _parse_date(text)
    if len(_DATE_CACHE) < 100_000:  # a bound against odd input; real files have few dates
        _DATE_CACHE[text] = value
    return value


def _problem(problems: list[RowProblem] | None, name: str, message: str) -> list[RowProblem]:
    problems = problems if problems is not None else []
    problems.append(RowProblem(name, message))
    return problems


# One template per kind of field: {n} is the field name as a repr() literal, {i} its position
# (parse_{i} and default_{i} in the namespace). A value that is not text fails at `strip()`.
_FETCH = """\
    text = get({n})
    if text is not None:
        text = text.strip()
"""
_MISSING = {
    "default": "        values[{n}] = default_{i}\n",
    "empty": "        values[{n}] = None\n",
    None: "        problems = problem(problems, {n}, 'missing field `' + {n} + '`')\n",
}
_PARSE = {
    "text": "        values[{n}] = text\n",
    "money": """\
        if amount_match(text):
            values[{n}] = Decimal(text) if text[0] != "-" else money(text)
        else:
            try:
                parse_{i}(text)
            except FieldError as error:
                problems = problem(problems, {n}, 'field `' + {n} + '`: ' + str(error))
""",
    "date": """\
        value = dates.get(text)
        if value is None:
            try:
                value = cached_date(text)
            except FieldError as error:
                problems = problem(problems, {n}, 'field `' + {n} + '`: ' + str(error))
        if value is not None:
            values[{n}] = value
""",
    "integer": """\
        if text.isascii() and text.isdigit() and len(text) <= 18:
            values[{n}] = int(text)
        else:
            try:
                values[{n}] = parse_{i}(text)
            except FieldError as error:
                problems = problem(problems, {n}, 'field `' + {n} + '`: ' + str(error))
""",
    "bool": """\
        value = bool_text.get(text.lower())
        if value is None:
            problems = problem(problems, {n}, 'field `' + {n} + '`: `' + text + '` is not true or false')
        else:
            values[{n}] = value
""",
    "other": """\
        try:
            values[{n}] = parse_{i}(text)
        except FieldError as error:
            problems = problem(problems, {n}, 'field `' + {n} + '`: ' + str(error))
""",
}


def _template(type_: str) -> str:
    if type_ in ("text", "code"):
        return "text"
    if type_ in ("money", "date", "bool"):
        return type_
    if type_ in ("integer", "days"):
        return "integer"
    return "other"


def _generate_typer(
    program: ir.Program,
) -> Callable[[int, Mapping[str, str | None], tuple[RowProblem, ...]], ClaimRow]:
    namespace: dict[str, Any] = {
        "ClaimRow": ClaimRow,
        "Decimal": Decimal,
        "FieldError": FieldError,
        "amount_match": _AMOUNT.fullmatch,
        "money": _money,
        "dates": _DATE_CACHE,
        "cached_date": _cached_date,
        "bool_text": _BOOL_TEXT,
        "problem": _problem,
    }
    lines = [
        "def type_fields(row, fields, raw_problems):\n",
        "    problems = list(raw_problems) if raw_problems else None\n",
        "    values = {}\n",
        "    get = fields.get\n",
    ]
    names = set()
    for i, field in enumerate(program.claim_fields):
        n = repr(field.name)
        names.add(field.name)
        namespace[f"parse_{i}"] = value_parser(field.type, program.enums)
        namespace[f"default_{i}"] = field.default
        missing = "default" if field.has_default else "empty" if field.optional else None
        lines.append(_FETCH.format(n=n))
        lines.append("    if not text:\n")
        lines.append(_MISSING[missing].format(n=n, i=i))
        lines.append("    else:\n")
        lines.append(_PARSE[_template(field.type)].format(n=n, i=i))
    if "start_date" in names:
        lines.append("    if values.get('end_date') is None and 'start_date' in values:\n")
        lines.append("        values['end_date'] = values['start_date']\n")
    lines.append("    claim_id = values.get('claim_id') or (get('claim_id') or '').strip()\n")
    lines.append(
        "    return ClaimRow(row, claim_id or f'row {row}', values, "
        "tuple(problems) if problems else ())\n"
    )
    source = "".join(lines)
    exec(compile(source, f"<claim typer of {program.name!r}>", "exec"), namespace)
    return namespace["type_fields"]


# ---------------------------------------------------------------- readers


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # JSON numbers come in as float: print them as written, never with an exponent.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def decimal_text(value: Decimal) -> str:
    """A Decimal (a Parquet DECIMAL(38,10) amount) as written, without an exponent and without
    the zeros after the second decimal: 45.0000000000 is `45.00`, 0.1250000000 is `0.125`
    (then more than cent precision, an error for an amount). The batch engine does the same."""
    text = format(value, "f")
    if "." in text and len(text) - text.index(".") > 3:
        text = text.rstrip("0")
        if len(text) - text.index(".") < 3:
            text = text + "0" * (3 - (len(text) - text.index(".")))
    return text


def read_parquet(path: Path) -> Iterator[RawClaim]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise InputError.single("E0803", f"cannot read `{path}` as Parquet: {error}") from error
    row_number = 0
    for batch in parquet.iter_batches(batch_size=65536):
        columns = {name: batch.column(i).to_pylist() for i, name in enumerate(batch.schema.names)}
        names = list(columns)
        for index in range(batch.num_rows):
            row_number += 1
            yield RawClaim(row_number, {n: cell_text(columns[n][index]) for n in names})


def _as_text(row: Mapping[str, Any]) -> dict[str, str | None]:
    return {str(k): v if type(v) is str else cell_text(v) for k, v in row.items()}


def read_mappings(rows: Iterable[Mapping[str, Any]]) -> Iterator[RawClaim]:
    for number, row in enumerate(rows, start=1):
        yield RawClaim(number, _as_text(row))


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".zh308":
        return "ei"  # by name too: a file cut in transfer to a few bytes is still Vektis
    try:
        from policylang.io.ei import looks_like_ei

        if looks_like_ei(path):
            return "ei"
    except ImportError:  # pragma: no cover - the EI reader ships with the package
        pass
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:1] == b"{":
        return "jsonl"
    return "csv"


ACCEPTED_KINDS = "CSV, JSON Lines, Parquet or Vektis EI ZH308"
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def unsupported_kind(path: Path) -> str | None:
    """What the file is when it is no claims file of a supported kind (a Vektis EI message of
    another standard, a spreadsheet, binary data), else None. Read from its first bytes."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head[:2] == b"01" and head[2:5].isdigit():
        from policylang.io.ei.layout import layout_for_code

        layout = layout_for_code(head[2:5].decode("ascii"))
        if layout is not None and layout.standard != "ZH308":
            return f"a Vektis EI {layout.standard} file (EI code {layout.ei_code})"
    if head[:4] == b"PK\x03\x04" or head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        suffix = path.suffix.lower()
        if suffix in _SPREADSHEET_SUFFIXES or head[:1] == b"\xd0":
            return f"a spreadsheet (`{suffix or 'no extension'}`)"
        return "a ZIP archive"
    if head[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        return None
    if path.suffix.lower() in _SPREADSHEET_SUFFIXES:
        return f"a spreadsheet (`{path.suffix.lower()}`)"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text (save it as UTF-8 CSV)"
    # a stray NUL byte costs its record only (totality); a file full of them is not text
    if head.count(b"\x00") * 20 > len(head):
        return "binary data"
    return None


def check_kind(path: Path) -> None:
    """InputError (exit 2) in one line when `path` is no claims file policylang reads."""
    found = unsupported_kind(path)
    if found is not None:
        raise InputError.single(
            "E0811",
            f"claims file `{path}` is {found}, not a claims file: policylang reads "
            f"{ACCEPTED_KINDS}",
        )


def read_claims(path: str | Path) -> Iterator[RawClaim]:
    """Raw claims from a file, the format chosen by extension and content."""
    path = Path(path)
    if not path.is_file():
        raise InputError.single("E0804", f"claims file `{path}` does not exist")
    check_kind(path)
    kind = detect_format(path)
    if kind == "parquet":
        return read_parquet(path)
    if kind == "jsonl":
        return read_jsonl(path)
    if kind == "ei":
        from policylang.io.ei import read_zh308_claims

        return read_zh308_claims(path)
    return read_csv(path)


class RawClaims:
    """Raw claims already read (for example pseudonymised); `Policy.check` accepts them."""

    def __init__(self, rows: Iterable[RawClaim]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[RawClaim]:
        return iter(self.rows)


def pseudonymised(rows: Iterable[RawClaim], key: bytes | None = None) -> Iterator[RawClaim]:
    """The same claims with each `patient` replaced by a stable pseudonym (the BSN never leaves
    the reader). Without `key` the pseudonym hides, but does not anonymise: see docs."""
    from policylang.io.ei import pseudonym

    for raw in rows:
        patient = raw.fields.get("patient")
        if patient and patient.strip():
            fields = {**raw.fields, "patient": pseudonym(patient.strip(), key)}
            raw = RawClaim(raw.row, fields, raw.problems)
        yield raw


def claims_from_text(text: str) -> Iterator[RawClaim]:
    """Raw claims from CSV text (used by tests and examples)."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    for number, cells in enumerate(reader, start=1):
        yield RawClaim(number, dict(zip(header, cells, strict=False)))
