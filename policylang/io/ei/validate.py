"""Checks an EI file as the receiving side would, record by record, in one pass.

`Validator.feed(record)` returns the problems located at that record (its own reading problems
included), so a reader can attach them to the claim the record belongs to; `Validator.finish()`
returns what can only be known at the end (a missing closing record). Checked:

- record length and field syntax (from the reader)
- order: the header (01) first and once, the closing record (99) last and once, every detail record
  after a record of its parent type (`layout.PARENT_TYPES`), a comment (98) after a detail record
  and carrying that record's identification
- mandatory fields filled, values the specification prescribes (`Waarde '101' vullen`), debit/credit
  indicators `D` or `C`
- link fields (sleutel `L`) equal to the same field of the parent record
- record identifiers unique: IDENTIFICATIE DETAILRECORD over all detail records except comments,
  (identification, line number) over comments, every REFERENTIENUMMER DIT … field over the file
- the closing record: the count per record type, the total of detail records and the total
  declared amount (DECLARATIEBEDRAG with its debit/credit indicator) against the records read
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

import attrs

from policylang.io.ei.layout import (
    CLOSING,
    COMMENT,
    HEADER,
    PARENT_TYPES,
    Field,
    Layout,
    RecordType,
)
from policylang.io.ei.reader import EIProblem, Record, open_records, show

IDENTIFICATION = "IDENTIFICATIE DETAILRECORD"
DECLARED_AMOUNT = "DECLARATIEBEDRAG (INCL. BTW)"
TOTAL_DETAIL = "TOTAAL AANTAL DETAILRECORDS"
TOTAL_AMOUNT = "TOTAAL DECLARATIEBEDRAG"


def format_cents(cents: int) -> str:
    """Cents as a EUR decimal string: -1234 -> `-12.34`."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def signed_amount(record: Record, amount_index: int, dc_index: int) -> int | None:
    """An amount field with the debit/credit field after it, as signed cents (credit negative)."""
    amount, dc = record.value(amount_index), record.value(dc_index)
    if amount is None or dc not in ("D", "C"):
        return None
    return -amount if dc == "C" else int(amount)


def _indices(rt: RecordType, predicate: Any) -> list[int]:
    return [i for i, f in enumerate(rt.fields) if predicate(f)]


class _Checks:
    """Precomputed checks for one record type."""

    def __init__(self, rt: RecordType, layout: Layout) -> None:
        self.rt = rt
        fields = rt.fields
        names = [f.name for f in fields]
        self.ident = names.index(IDENTIFICATION) if IDENTIFICATION in names else None
        # Comments: identification plus line number (the other `T` keys) identify the record.
        self.comment_key = _indices(rt, lambda f: f.key == "T" and f.name != "KENMERK RECORD")
        self.references = _indices(rt, lambda f: f.name.startswith("REFERENTIENUMMER DIT "))
        self.amount: tuple[int, int] | None = None
        if DECLARED_AMOUNT in names:
            i = names.index(DECLARED_AMOUNT)
            if i + 1 < len(fields) and fields[i + 1].is_debit_credit:
                self.amount = (i, i + 1)
        # Link fields: a `L` key of this record that is also a key field of the parent record.
        self.links: list[tuple[int, int]] = []
        self.link_own: Callable[[str], Any] = itemgetter(slice(0, 0))
        self.link_parent: Callable[[str], Any] = itemgetter(slice(0, 0))
        parent = layout.record_types.get(PARENT_TYPES.get(rt.code, ""))
        if parent is not None:
            parent_keys = {f.name: j for j, f in enumerate(parent.fields) if f.key in ("T", "L")}
            for i, f in enumerate(fields):
                if f.key == "L" and f.name in parent_keys:
                    self.links.append((i, parent_keys[f.name]))
            # Fast path: the raw text of all link fields equal in both lines.
            self.link_own = itemgetter(
                *(slice(fields[i].start - 1, fields[i].end) for i, _ in self.links), slice(0, 0)
            )
            self.link_parent = itemgetter(
                *(slice(parent.fields[j].start - 1, parent.fields[j].end) for _, j in self.links),
                slice(0, 0),
            )


class Validator:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.checks = {code: _Checks(rt, layout) for code, rt in layout.record_types.items()}
        self.counts: Counter[str] = Counter()
        self.total_cents = 0
        self.last: Record | None = None
        self.closed_at: int | None = None
        self._rubrieken: dict[tuple[str, str], str] = {}
        self._current: dict[str, Record] = {}  # the open record of each parent type
        self._last_detail: Record | None = None  # the last non-comment detail record
        self._idents: dict[str, int] = {}
        self._comment_keys: dict[tuple[Any, ...], int] = {}
        self._references: dict[str, int] = {}
        self._descendants: dict[str, list[str]] = {code: [] for code in layout.record_types}
        for child in PARENT_TYPES:
            ancestor = PARENT_TYPES.get(child)
            while ancestor is not None:
                self._descendants.setdefault(ancestor, []).append(child)
                ancestor = PARENT_TYPES.get(ancestor)

    def feed(self, record: Record) -> list[EIProblem]:
        """The problems located at `record`, each field named with its rubriek code."""
        problems = self._feed(record)
        if problems:
            problems = [self._located(p) for p in problems]
        return problems

    def _located(self, problem: EIProblem) -> EIProblem:
        rt = self.layout.record_types.get(problem.record_type or "")
        if rt is None or problem.field is None or problem.rubriek is not None:
            return problem
        rubriek = self._rubrieken.get((rt.code, problem.field))
        if rubriek is None:
            rubriek = next((f.rubriek for f in rt.fields if f.name == problem.field), "")
            self._rubrieken[(rt.code, problem.field)] = rubriek
        return attrs.evolve(problem, rubriek=rubriek or None)

    def _feed(self, record: Record) -> list[EIProblem]:
        problems = list(record.problems)
        number, code = record.number, record.type
        self.counts[code] += 1
        self.last = record
        checks = self.checks.get(code)
        if self.closed_at is not None:
            problems.append(
                EIProblem(
                    number, code if checks else None, None, None,
                    f"record after the closing record (record {self.closed_at})",
                )
            )  # fmt: skip
        if checks is None:  # unknown record type: already reported by the reader
            return problems
        problems.extend(self._order(record, checks))
        problems.extend(self._unique(record, checks))
        if checks.amount is not None:
            cents = signed_amount(record, *checks.amount)
            if cents is not None:
                self.total_cents += cents
        if code == CLOSING:
            problems.extend(self._closing(record, checks))
        return problems

    def finish(self) -> list[EIProblem]:
        if self.last is None:
            return [EIProblem(1, None, None, None, "file is empty")]
        if self.closed_at is None:
            return [
                EIProblem(
                    self.last.number, None, None, None,
                    "file ends without a closing record (type 99): it may have been cut off "
                    "in transfer",
                )
            ]  # fmt: skip
        return []

    @staticmethod
    def _at(record: Record, field: Field, message: str) -> EIProblem:
        return EIProblem(record.number, record.type, field.name, field.start, message)

    def _order(self, record: Record, checks: _Checks) -> list[EIProblem]:
        number, code = record.number, record.type
        problems = []
        if number == 1 and code != HEADER:
            problems.append(
                EIProblem(
                    number,
                    code,
                    None,
                    None,
                    f"first record must be a header record (type {HEADER})",
                )
            )
        if code == HEADER:
            if number != 1:
                problems.append(
                    EIProblem(
                        number, code, None, None, "header record (type 01) must be the first record"
                    )
                )
            self._current = {HEADER: record}
            self._last_detail = None
            return problems
        if code == CLOSING:
            if self.closed_at is None:
                self.closed_at = number
            return problems
        if code == COMMENT:
            before = self._last_detail
            if before is None:
                problems.append(
                    EIProblem(
                        number, code, None, None, "comment record must follow a detail record"
                    )
                )
            elif checks.ident is not None:
                own, theirs = record.value(checks.ident), self._ident_of(before)
                if own is not None and theirs is not None and own != theirs:
                    f = checks.rt.fields[checks.ident]
                    problems.append(
                        self._at(
                            record, f,
                            f"comment refers to {show(own)}, but the record before it "
                            f"(record {before.number}, type {before.type}) is {show(theirs)}",
                        )
                    )  # fmt: skip
            return problems
        parent_code = PARENT_TYPES.get(code)
        parent = self._current.get(parent_code) if parent_code else None
        if parent_code is not None and parent_code != HEADER and parent is None:
            problems.append(
                EIProblem(
                    number, code, None, None,
                    f"record type {code} must follow a record of type {parent_code}",
                )
            )  # fmt: skip
        if parent is not None and not self._same_raw_links(record, parent, checks):
            for i, j in checks.links:
                own, theirs = record.value(i), parent.value(j)
                if own is not None and theirs is not None and own != theirs:
                    problems.append(
                        self._at(
                            record, checks.rt.fields[i],
                            f"{show(str(own))} differs from {show(str(theirs))} in parent "
                            f"record {parent.number} (type {parent.type})",
                        )
                    )  # fmt: skip
        self._open(code, record)
        self._last_detail = record
        return problems

    @staticmethod
    def _same_raw_links(record: Record, parent: Record, checks: _Checks) -> bool:
        """Fast path: the link fields are the same text in both lines."""
        if record.line is None or parent.line is None:
            return False
        return bool(checks.link_own(record.line) == checks.link_parent(parent.line))

    def _open(self, code: str, record: Record) -> None:
        current = self._current
        current[code] = record
        for child in self._descendants[code]:
            current.pop(child, None)

    def _ident_of(self, record: Record) -> Any:
        checks = self.checks[record.type]
        return None if checks.ident is None else record.value(checks.ident)

    def _unique(self, record: Record, checks: _Checks) -> list[EIProblem]:
        problems = []
        value = record.value
        if record.type == COMMENT:
            key = tuple(value(i) for i in checks.comment_key)
            if None not in key:
                first = self._comment_keys.setdefault(key, record.number)
                if first != record.number:
                    f = checks.rt.fields[checks.comment_key[-1]]
                    problems.append(
                        self._at(
                            record,
                            f,
                            f"comment line {show('/'.join(key))} already used by record {first}",
                        )
                    )
        elif checks.ident is not None:
            ident = value(checks.ident)
            if ident is not None:
                first = self._idents.setdefault(ident, record.number)
                if first != record.number:
                    f = checks.rt.fields[checks.ident]
                    message = f"identification {show(ident)} already used by record {first}"
                    problems.append(self._at(record, f, message))
        for i in checks.references:
            reference = value(i)
            if reference is not None:
                first = self._references.setdefault(reference, record.number)
                if first != record.number:
                    message = f"reference {show(reference)} already used by record {first}"
                    problems.append(self._at(record, checks.rt.fields[i], message))
        return problems

    def _closing(self, record: Record, checks: _Checks) -> list[EIProblem]:
        problems = []
        by_name = {rt.name: code for code, rt in self.layout.record_types.items()}
        details = sum(n for code, n in self.counts.items() if code not in (HEADER, CLOSING))
        fields = checks.rt.fields
        for i, f in enumerate(fields):
            stated = record.value(i)
            if stated is None:
                continue
            if f.name == TOTAL_DETAIL:
                actual, what = details, "detail records"
            elif f.name.startswith("AANTAL ") and f.name.endswith("RECORDS"):
                code = by_name.get(f.name.removeprefix("AANTAL ")[:-1])
                actual = self.counts[code] if code else 0
                what = f"records of type {code}" if code else "such records (not in this standard)"
            elif f.name == TOTAL_AMOUNT and i + 1 < len(fields) and fields[i + 1].is_debit_credit:
                stated = signed_amount(record, i, i + 1)
                if stated is not None and stated != self.total_cents:
                    problems.append(
                        self._at(
                            record, f,
                            f"closing total is {show(format_cents(stated))} but the declared "
                            f"amounts add up to {show(format_cents(self.total_cents))}",
                        )
                    )  # fmt: skip
                continue
            else:
                continue
            if stated != actual:
                problems.append(
                    self._at(
                        record, f, f"closing record counts {stated} {what}, the file has {actual}"
                    )
                )
        return problems


def validate_records(records: Iterable[Record], layout: Layout) -> list[EIProblem]:
    validator = Validator(layout)
    problems: list[EIProblem] = []
    for record in records:
        problems.extend(validator.feed(record))
    problems.extend(validator.finish())
    return problems


def validate_file(path: str | Path) -> list[EIProblem]:
    """Every problem of an EI file, in file order (the layout comes from the header)."""
    layout, records = open_records(path)
    return validate_records(records, layout)
