"""CSV claims files -> `RawClaim`s, one per record, whatever the damage (docs/claims-formats.md).

A damaged record costs that record only: it becomes a `RawClaim` with problems (an `error`
decision), and reading goes on at the next line. Three kinds of damage are recovered here:

- a byte that is not UTF-8: the field holding it is named, the other fields are read as usual
- a double quote that is never closed (`"P-0102,2026-02-03,...`): a quoted field may span lines,
  but only when the lines it takes make one record of the header's width; otherwise the quote
  is reported on its own line, the rest of that line is split at its commas, and the next line
  is a record of its own (the later rows do not vanish into the field)
- a field longer than FIELD_LIMIT characters

Lines are split at CRLF, LF or CR, as the csv module does for a file opened with `newline=""`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from policylang.errors import InputError
from policylang.io.raw import RawClaim, RowProblem

FIELD_LIMIT = 131_072  # characters in one field (the csv module's own limit), on every engine
_BLANK = frozenset({"\n", "\r\n", "\r", ""})
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as surrogateescape keeps it


def _utf8_problem(text: str) -> str | None:
    """What is wrong with the bytes of `text` (read with surrogateescape), if anything."""
    found = _BAD_BYTE.search(text)
    if found is None:
        return None
    return f"byte `0x{ord(found.group()) - 0xDC00:02X}` is not UTF-8 (claims files are UTF-8)"


def _clean(text: str) -> str:
    return _BAD_BYTE.sub("\ufffd", text)


def _parse(lines: list[str]) -> list[list[str]] | None:
    try:
        return list(csv.reader(lines))
    except csv.Error:  # a quoted field over the csv module's limit
        return None


class _Lines:
    """The file's lines with their line numbers, with room to push lines back."""

    def __init__(self, handle: Iterator[str]) -> None:
        self._handle = handle
        self._back: list[tuple[int, str]] = []
        self.number = 0

    def next(self) -> tuple[int, str] | None:
        if self._back:
            return self._back.pop()
        line = next(self._handle, None)
        if line is None:
            return None
        self.number += 1
        return self.number, line

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        self._back.extend(reversed(lines))


def read_csv(path: Path) -> Iterator[RawClaim]:
    """The records of a CSV claims file; the first line is the header."""
    with _open(path) as handle:
        lines = _Lines(handle)
        header = _header(path, lines)
        if header is not None:
            yield from _records(lines, header)


def read_header(path: Path) -> list[str]:
    """The header of a CSV claims file as `read_csv` reads it ([] for an empty file)."""
    with _open(path) as handle:
        return _header(path, _Lines(handle)) or []


def _open(path: Path) -> TextIO:
    return path.open(newline="", encoding="utf-8", errors="surrogateescape")


def _header(path: Path, lines: _Lines) -> list[str] | None:
    """The names of the first line, BOM dropped, names stripped; a header that cannot be read
    is an InputError (the file has no usable column names)."""
    first = lines.next()
    while first is not None and first[1].removeprefix("\ufeff") in _BLANK:  # before the header
        first = lines.next()
    if first is None:
        return None
    text = first[1].removeprefix("\ufeff")
    problem = _utf8_problem(text)
    if problem is not None:
        raise InputError.single("E0803", f"cannot read the header of `{path}`: {problem}")
    parsed = _parse([text])
    if not parsed or len(parsed) != 1 or text.count('"') % 2:
        raise InputError.single(
            "E0803", f"cannot read the header of `{path}`: a double quote is not closed"
        )
    return [h.strip() for h in parsed[0]]


def _records(lines: _Lines, header: list[str]) -> Iterator[RawClaim]:
    width = len(header)
    bound = (width + 1) * FIELD_LIMIT  # a quoted field gathers lines up to this many characters
    row = 0
    while True:
        item = lines.next()
        if item is None:
            return
        number, line = item
        if line in _BLANK:
            continue  # a blank line is not a claim
        row += 1
        problems: list[RowProblem] = []
        undecodable = None
        if not line.isascii() and _BAD_BYTE.search(line):
            undecodable, line = _utf8_problem(line), _clean(line)
        if '"' not in line:
            cells = line.rstrip("\r\n").split(",")
        else:
            cells, later = _quoted(number, line, lines, width, bound, problems, header)
            undecodable = undecodable or later
        if undecodable is not None:
            problems[:0] = _undecodable(cells, header, number, undecodable)
        if len(line) > FIELD_LIMIT or '"' in line:
            problems.extend(_too_long(cells, header))
        if len(cells) != width:
            problems.insert(
                0, RowProblem("row", f"the row has {len(cells)} columns, the header has {width}")
            )
        yield RawClaim(row, dict(zip(header, cells, strict=False)), tuple(problems))


def _quoted(
    number: int,
    line: str,
    lines: _Lines,
    width: int,
    bound: int,
    problems: list[RowProblem],
    header: list[str],
) -> tuple[list[str], str | None]:
    """The cells of a record starting with `line`, which holds a double quote, and what is
    wrong with the bytes of the lines after it that the record takes, if anything."""
    gathered = [(number, line)]
    quotes, size = line.count('"'), len(line)
    while quotes % 2 and size <= bound:
        item = lines.next()
        if item is None:
            break
        gathered.append(item)
        quotes += item[1].count('"')
        size += len(item[1])
    if len(gathered) > 1:
        texts = [_clean(text) for _, text in gathered]
        parsed = _parse(texts)
        if quotes % 2 == 0 and parsed is not None and len(parsed) == 1 and len(parsed[0]) == width:
            later = next(filter(None, map(_utf8_problem, (t for _, t in gathered[1:]))), None)
            return parsed[0], later  # a quoted field over several lines
        lines.push_back(gathered[1:])  # the quote is broken: the next line is a record again
    parsed = _parse([line])
    if parsed is None or len(parsed) != 1:
        problems.append(RowProblem("row", f"line {number} is not a CSV record"))
        return line.rstrip("\r\n").split(","), None
    cells = parsed[0]
    if _left_open(line):
        # csv put the rest of the line into the field the quote opened: split it again
        broken = len(cells) - 1
        rest = cells[broken].rstrip("\r\n").split(",")
        name = header[broken] if broken < len(header) else "row"
        opened = rest[0][:40]
        problems.append(
            RowProblem(
                name,
                f"field `{name}`: the double quote before `{opened}` on line {number} is "
                "never closed",
            )
        )
        cells = cells[:broken] + rest
    return cells, None


def _left_open(line: str) -> bool:
    """True when a quote opened in `line` is not closed by its end (a quote inside an unquoted
    field, `5" monitor`, opens nothing)."""
    try:
        list(csv.reader([line], strict=True))
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _too_long(cells: list[str], header: list[str]) -> list[RowProblem]:
    found = []
    for index, cell in enumerate(cells):
        if len(cell) > FIELD_LIMIT:
            name = header[index] if index < len(header) else "row"
            found.append(
                RowProblem(name, f"field `{name}` is longer than {FIELD_LIMIT} characters")
            )
    return found


def _undecodable(
    cells: list[str], header: list[str], number: int, message: str
) -> list[RowProblem]:
    """The problems of a record with a byte that is not UTF-8 (now U+FFFD): the fields that
    hold it, else the row."""
    problems = []
    for index, cell in enumerate(cells):
        if "\ufffd" in cell:
            name = header[index] if index < len(header) else "row"
            problems.append(RowProblem(name, f"field `{name}` on line {number}: {message}"))
    return problems or [RowProblem("row", f"line {number}: {message}")]
