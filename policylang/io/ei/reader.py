"""Vektis EI fixed-width files -> typed records, never raising on bad input.

Each line becomes a `Record`: its 1-based number in the file, its record type (the first two
characters) and one value per field of that record type, in file order:

- `text` (AN): stripped; an empty field is `None`
- `code` (N codes and numbers such as BSN, UZOVI, AGB): the digits as text, leading zeros kept
- `int` (N counts, `ANT…`) and `amount` (N amounts in cents, `BED…`): `int`
- `date` (`EEJJMMDD`): `datetime.date`; `00000000` (not filled) is `None`

A blank numeric field is `None`. A value that cannot be read is `None` and the record carries an
`EIProblem` saying where and why. Debit/credit indicators are text fields and are kept as written.

Field-level checks happen here, in the one pass over the file: record length, numbers and dates,
mandatory fields, prescribed values, debit/credit indicators. Fast path: one compiled regular
expression per record type (built from the layout) checks a whole line, and the dates are looked
up in a cache of valid dates; such a line is typed lazily, on first use of `Record.values`
(`Record.value(i)` types one field). Any other line takes the slow path, which types field by field
and says what is wrong. Both paths give the same values and problems (a hypothesis test checks it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

import attrs

from policylang.io.ei.layout import HEADER, Field, Layout, RecordType, layout_for_code, load_layout

ENCODING = "latin-1"  # EI files are ISO-8859-1; latin-1 decodes any byte, so reading never fails


@attrs.frozen
class EIProblem:
    """A problem located in an EI file. `position` is 1-based, as in the Vektis specification."""

    record_number: int
    record_type: str | None
    field: str | None
    position: int | None
    message: str
    rubriek: str | None = attrs.field(default=None, eq=False)  # 0411, set by the validator

    def __str__(self) -> str:
        where = f"record {self.record_number}"
        if self.record_type is not None:
            where += f" (type {self.record_type})"
        if self.field is not None:
            where += (
                f" field {self.rubriek} {self.field}" if self.rubriek else f" field {self.field}"
            )
        if self.position is not None:
            where += f" at position {self.position}"
        return f"{where}: {self.message}"


class Record:
    """One line of an EI file.

    `values` has one value per field of the record type, in file order (`()` if the type is
    unknown). A line without problems is typed lazily: its checks run when it is read, its values
    are built on first use. `value(i)` types one field only. A plain slotted class, not attrs: a
    million of these are made per second.
    """

    __slots__ = ("_plan", "_values", "length", "line", "number", "problems", "type")

    def __init__(
        self,
        number: int,
        type: str,
        values: tuple[Any, ...] | None,
        length: int,
        problems: tuple[EIProblem, ...] = (),
        line: str | None = None,
        plan: _Plan | None = None,
    ) -> None:
        self.number = number
        self.type = type  # the first two characters of the line, also when not a known type
        self.length = length  # characters in the line, without the line end
        self.problems = problems
        self.line = line  # the text as read (without line end), if read from text
        self._values = values
        self.line = line
        self._plan = plan

    @property
    def values(self) -> tuple[Any, ...]:
        if self._values is None:
            assert self._plan is not None and self.line is not None  # lazy records have both
            self._values = self._plan.typed(self.line)
        return self._values

    def value(self, index: int) -> Any:
        if self._values is not None:
            return self._values[index]
        assert self._plan is not None and self.line is not None  # lazy records have both
        return self._plan.one[index](self.line)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.number, self.type, self.length, self.values, self.problems) == (
            other.number, other.type, other.length, other.values, other.problems
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Record(number={self.number}, type={self.type!r}, values={self.values!r}, "
            f"length={self.length}, problems={self.problems!r})"
        )


def show(text: str) -> str:
    """User input in a message: in backticks, control characters escaped."""
    if text.isprintable():
        return f"`{text}`"
    return "`" + text.encode("unicode_escape").decode("ascii") + "`"


def _tuple_getter(indices: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A getter that always returns a tuple (`itemgetter` of one index returns the item)."""
    if not indices:
        return lambda _: ()
    if len(indices) == 1:
        i = indices[0]
        return lambda seq: (seq[i],)
    return itemgetter(*indices)


def _slices(fields: Iterable[Field]) -> Callable[[str], tuple[str, ...]]:
    return _tuple_getter([slice(f.start - 1, f.end) for f in fields])


_DATE_CACHE_LIMIT = 100_000
NOT_FILLED_DATE = "00000000"


def _pattern(f: Field) -> str:
    """A regular expression for a well-formed value of `f` (ASCII digits for numbers)."""
    n = f.length
    if f.fixed_value is not None:
        return re.escape(f.fixed_value.ljust(n) if f.kind == "text" else f.fixed_value)
    if f.is_debit_credit:
        return "[DC]" if f.mandatory else "[DC ]"
    if f.kind == "date":
        return "(?!0{8})[0-9]{8}" if f.mandatory else "[0-9]{8}"
    if f.kind != "text":
        return f"[0-9]{{{n}}}"
    return f"(?!\\s{{{n}}}).{{{n}}}" if f.mandatory else f".{{{n}}}"


class _Plan:
    """Precomputed slicing, checks and typing for one record type."""

    def __init__(self, rt: RecordType, dates: dict[str, dt.date | None]) -> None:
        self.rt = rt
        fields = rt.fields
        self.dates = dates
        self.slices = _slices(fields)
        by_kind: dict[str, list[int]] = {"text": [], "code": [], "int": [], "date": []}
        for i, f in enumerate(fields):
            by_kind["int" if f.kind == "amount" else f.kind].append(i)
        self.text = _tuple_getter(by_kind["text"])
        self.code = _tuple_getter(by_kind["code"])
        self.int = _tuple_getter(by_kind["int"])
        order = by_kind["text"] + by_kind["code"] + by_kind["int"] + by_kind["date"]
        self.reorder = _tuple_getter([order.index(i) for i in range(len(fields))])
        self.date = _tuple_getter(by_kind["date"])
        # The fast path's checks: one regular expression over the line, and the date cache.
        self.well_formed = re.compile("".join(map(_pattern, fields)), re.DOTALL).fullmatch
        self.date_line = _slices(f for f in fields if f.kind == "date")
        self.one = [self._one(f) for f in fields]

    def _one(self, f: Field) -> Callable[[str], Any]:
        a, b = f.start - 1, f.end
        if f.kind == "text":
            return lambda line: line[a:b].strip() or None
        if f.kind == "code":
            return lambda line: line[a:b]
        if f.kind == "date":
            return lambda line: self.dates[line[a:b]]
        return lambda line: int(line[a:b])

    def passes(self, line: str) -> bool:
        """True when every field of a full-length line is well-formed: the fast path."""
        return self.well_formed(line) is not None and all(
            map(self.dates.__contains__, self.date_line(line))
        )

    def typed(self, line: str) -> tuple[Any, ...]:
        """The values of a line that `passes`."""
        raw = self.slices(line)
        texts = tuple([t or None for t in map(str.strip, self.text(raw))])
        dates = tuple(map(self.dates.__getitem__, self.date(raw)))
        return self.reorder(texts + self.code(raw) + tuple(map(int, self.int(raw))) + dates)


class RecordReader:
    """Parses lines of one layout into `Record`s. Field-level checks happen here, in one pass:
    syntax of numbers and dates, record length, mandatory fields, prescribed values and
    debit/credit indicators. Checks across records are in `validate.py`."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.length = layout.record_length
        self._dates: dict[str, dt.date | None] = {NOT_FILLED_DATE: None}
        self._plans = {code: _Plan(rt, self._dates) for code, rt in layout.record_types.items()}

    def parse(self, number: int, line: str) -> Record:
        code = line[:2]
        plan = self._plans.get(code)
        if plan is None:
            return self._unknown(number, code, line)
        if len(line) == self.length and plan.passes(line):
            return Record(number, code, None, self.length, (), line, plan)
        return self._slow(plan, number, line)

    def _unknown(self, number: int, code: str, line: str) -> Record:
        if not line.strip():
            problem = EIProblem(number, None, None, None, "empty line")
        else:
            problem = EIProblem(
                number, None, "KENMERK RECORD", 1, f"unknown record type {show(code)}"
            )
        return Record(number, code, (), len(line), (problem,), line)

    def _slow(self, plan: _Plan, number: int, line: str) -> Record:
        code = plan.rt.code
        problems: list[EIProblem] = []
        n = len(line)
        if n != self.length:
            wrong = f"record is {n} characters long, expected {self.length}"
            problems.append(EIProblem(number, code, None, min(n, self.length) + 1, wrong))
        values: list[Any] = []
        message: str | None
        for f in plan.rt.fields:
            if f.end > n:  # cut off: reported once, as the record length
                values.append(None)
                continue
            value, message = self.convert(f, line[f.start - 1 : f.end])
            if message is None:
                message = self.check(f, value)
            if message is not None:
                problems.append(EIProblem(number, code, f.name, f.start, message))
            values.append(value)
        return Record(number, code, tuple(values), n, tuple(problems), line)

    @staticmethod
    def check(f: Field, value: Any) -> str | None:
        """What is wrong with a well-formed value of `f`, if anything."""
        if value is None:
            return "mandatory field is empty" if f.mandatory else None
        if f.fixed_value is not None and value != f.fixed_value:
            return f"{show(str(value))} must be {show(f.fixed_value)}"
        if f.is_debit_credit and value not in ("D", "C"):
            return f"{show(str(value))} is not a debit/credit indicator (`D` or `C`)"
        return None

    def convert(self, f: Field, raw: str) -> tuple[Any, str | None]:
        """One field's value, or `None` and what is wrong with it."""
        if f.kind == "text":
            return raw.strip() or None, None
        if not raw.strip():
            return None, None
        if not (raw.isdigit() and raw.isascii()):
            return None, f"{show(raw)} is not numeric"
        if f.kind == "code":
            return raw, None
        if f.kind != "date":
            return int(raw), None
        if raw in self._dates:
            return self._dates[raw], None
        try:
            value = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            return None, f"{show(raw)} is not a date (CCYYMMDD)"
        if len(self._dates) < _DATE_CACHE_LIMIT:
            self._dates[raw] = value
        return value, None


def read_lines(path: str | Path) -> Iterator[str]:
    """The lines of a file without their line ends (CRLF, LF or a classic Mac CR), decoded as
    ISO-8859-1."""
    with open(path, encoding=ENCODING, newline=None) as f:
        for line in f:
            yield line.rstrip("\n")


def first_line(path: str | Path, limit: int = 4096) -> str:
    with open(path, encoding=ENCODING, newline=None) as f:
        return f.readline(limit).rstrip("\n")


def detect_layout(line: str) -> Layout | None:
    """The shipped layout named by a header record (type 01 and a known EI code), if any."""
    if line[:2] != HEADER:
        return None
    return layout_for_code(line[2:5])


def read_records(lines: Iterable[str], layout: Layout) -> Iterator[Record]:
    reader = RecordReader(layout)
    parse = reader.parse
    for number, line in enumerate(lines, start=1):
        yield parse(number, line)


def open_records(path: str | Path, default: str = "ZH308v9.0") -> tuple[Layout, Iterator[Record]]:
    """The layout of a file (from its header, else `default`) and its records."""
    layout = detect_layout(first_line(path)) or load_layout(default)
    return layout, read_records(read_lines(path), layout)
