"""JSON Lines claims files -> `RawClaim`s, one per non-blank line, whatever the line holds.

A line that cannot be read costs that line only (docs/claims-formats.md): a byte that is not
UTF-8, JSON nested too deeply for the parser, a number of any length (numbers are kept as their
text, so no integer limit applies), a string with a lone surrogate escape (`"CL\\ud800"`, no
character: it could not be written out). Such a line becomes a claim with a problem, named after
the field where the line still parses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from policylang.io.csv_records import _BAD_BYTE, _clean, _utf8_problem
from policylang.io.raw import RawClaim, RowProblem


def _int_text(text: str) -> str:
    # as str(int(text)) for any integer Python reads quickly, else the digits as written
    return str(int(text)) if len(text) <= 100 else text


def _loads(line: str) -> tuple[Any, str | None]:
    try:
        return json.loads(line, parse_float=str, parse_int=_int_text), None
    except json.JSONDecodeError as error:
        return None, f"line is not valid JSON: {error.msg}"
    except RecursionError:
        return None, "line is not valid JSON: it is nested too deeply to read"


def read_jsonl(path: Path) -> Iterator[RawClaim]:
    from policylang.io.claims import cell_text

    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        row_number = 0
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row_number += 1
            undecodable = None
            if not line.isascii() and _BAD_BYTE.search(line):
                undecodable = _utf8_problem(line)
                line = _clean(line)
            record, error = _loads(line)
            if error is not None:
                yield RawClaim(row_number, {}, (RowProblem("row", error),))
                continue
            if not isinstance(record, dict):
                yield RawClaim(row_number, {}, (RowProblem("row", "line is not a JSON object"),))
                continue
            fields = {k: cell_text(v) for k, v in record.items()}
            problems: list[RowProblem] = []
            for key, value in list(fields.items()):
                if value is None or value.isascii():
                    continue
                name = key if _encodable(key) else key.encode("utf-8", "replace").decode("utf-8")
                if undecodable is not None and "\ufffd" in value:
                    problems.append(
                        RowProblem(name, f"field `{name}` on line {number}: {undecodable}")
                    )
                elif not _encodable(value):
                    shown = value.encode("utf-8", "backslashreplace").decode("ascii")
                    problems.append(
                        RowProblem(
                            name,
                            f"field `{name}`: `{shown[:60]}` holds a lone surrogate escape, "
                            "which is no character",
                        )
                    )
                    fields[key] = value.encode("utf-8", "replace").decode("utf-8")
            if undecodable is not None and not problems:
                problems.append(RowProblem("row", f"line {number}: {undecodable}"))
            yield RawClaim(row_number, fields, tuple(problems))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
