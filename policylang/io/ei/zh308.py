"""ZH308 (DBC/ziekenhuiszorg) declarations -> `RawClaim`s, one per prestatie record (04).

A claim is built from its prestatie record and the records under it (tariff 06, zorgactiviteit 16,
comments 98); the header (01) gives the provider when the prestatie does not. Every problem the
reader or the validator finds at one of these records is attached to the claim, named after the
claim field it affects (`amount` for anything wrong in a tariff record, `record` for the rest), so
the claim still reaches the evaluator and becomes an `error` decision. Problems that belong to the
file (header, closing record, order of insured records) are in `ZH308Claims.problems` and in
`inspect_ei`; nothing is dropped. The field mapping is documented in docs/claims-formats.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import attrs

from policylang.errors import InputError
from policylang.io.claims import cell_text
from policylang.io.ei.layout import COMMENT, HEADER, Layout, layouts, load_layout
from policylang.io.ei.reader import (
    EIProblem,
    Record,
    RecordReader,
    detect_layout,
    first_line,
    read_lines,
    read_records,
    show,
)
from policylang.io.ei.validate import Validator, format_cents, signed_amount
from policylang.io.raw import RawClaim, RowProblem

ZH308 = "ZH308v9.0"
PRESTATIE, TARIEF, ZORGACTIVITEIT = "04", "06", "16"

# Prestatie record (04) field -> claim field.
PRESTATIE_FIELDS: dict[str, str] = {
    "REFERENTIENUMMER DIT PRESTATIERECORD": "claim_id",
    "INSTELLINGSCODE": "provider",
    "UZOVI-NUMMER": "insurer",
    "BURGERSERVICENUMMER (BSN) VERZEKERDE": "patient",
    "PRESTATIECODE/DBC DECLARATIECODE": "declaratiecode",
    "ZORGPRODUCTCODE": "zorgproduct",
    "ZORGACTIVITEITCODE": "zorgactiviteit",
    "BEGINDATUM PRESTATIE": "start_date",
    "EINDDATUM PRESTATIE": "end_date",
    "AANTAL UITGEVOERDE PRESTATIES": "quantity",
    "ZORGTRAJECTNUMMER": "zorgtraject",
    "SUBTRAJECTNUMMER": "subtraject",
    "REFERENTIENUMMER VOORGAANDE GERELATEERDE PRESTATIERECORD": "corrects",
    "CODE HERDECLARATIE": "herdeclaratie",
    "INDICATIE DEBET/CREDIT": "credit",
}
HEADER_PROVIDER = "INSTELLINGSCODE"  # used when the prestatie's own INSTELLINGSCODE is empty
CLAIM_FIELDS = (
    "claim_id", "provider", "insurer", "patient", "code", "declaratiecode", "zorgproduct",
    "zorgactiviteit", "start_date", "end_date", "quantity", "amount", "credit", "corrects",
    "herdeclaratie", "zorgtraject", "subtraject",
)  # fmt: skip


def _filled(text: str | None) -> str | None:
    """A code field's text, or None when it is empty or all zeros (Vektis: not filled)."""
    return text if text is not None and text.strip("0 ") else None


def claim_code(fields: dict[str, str | None]) -> str | None:
    """The code the rules match a prestatie on: a DBC by its zorgproductcode (0414, what the
    NZa lists and the DBC title know), anything else by its declaratiecode (0410), or by its
    zorgactiviteitcode (0448) when that is all it has."""
    return (
        _filled(fields["zorgproduct"])
        or fields["declaratiecode"]
        or _filled(fields["zorgactiviteit"])
    )


def pseudonym(bsn: str, key: bytes | None = None) -> str:
    """A stable pseudonym for a BSN: SHA-256 (HMAC-SHA-256 with `key`), 32 hex digits.

    Without a key anyone can recompute it for all 10^9 BSNs: it hides the BSN from a casual
    reader, it does not anonymise. Pass a secret key for that.
    """
    data = f"policylang:bsn:{bsn}".encode()
    digest = hmac.new(key, data, hashlib.sha256) if key is not None else hashlib.sha256(data)
    return digest.hexdigest()[:32]


def looks_like_ei(path: str | Path) -> bool:
    """True when the file's first line is an EI header: record type 01 and a known EI code.

    Detection is by content, not by file name. The length of the line is not required, so that a
    file with a damaged header is still read as EI and its problems reported.
    """
    try:
        line = first_line(path, limit=1024)
    except (OSError, UnicodeError):
        return False
    if detect_layout(line) is not None and line[5:7].isdigit():
        return True
    # a damaged EI file (no header record, or an EI code without a layout) is still EI, to be
    # reported as such: a line of a shipped layout's record length that starts with one of its
    # record types
    return any(
        len(line) == layout.record_length and line[:2] in layout.record_types
        for layout in layouts()
    )


def damaged_header(path: str | Path, line: str) -> InputError | None:
    """The error for an EI file whose first record names no shipped layout, else None: its
    claims would be read without knowing the standard, the sender or the version."""
    if detect_layout(line) is not None:
        return None
    known = ", ".join(f"`{layout.ei_code}` ({layout.name})" for layout in layouts())
    if line[:2] != HEADER:
        message = (
            f"`{path}` is a damaged Vektis file: record 1 (type {show(line[:2])}) is not a "
            f"header record (type {HEADER})"
        )
        hint = "the header record is missing: ask the sender for the whole file"
    else:
        message = (
            f"`{path}` is a damaged Vektis file: record 1 (type {HEADER}) field 0102 CODE "
            f"EXTERNE-INTEGRATIEBERICHT at position 3: {show(line[2:5])} is not an EI code "
            "policylang reads"
        )
        hint = f"policylang reads the EI codes {known}"
    return InputError.single("E0808", message, help=hint)  # type: ignore[return-value]


@attrs.define
class _Prestatie:
    record: Record
    problems: list[EIProblem]
    children: list[tuple[Record, list[EIProblem]]] = attrs.Factory(list)


class ZH308Claims(Iterator[RawClaim]):
    """The claims of a ZH308 file, read lazily; `problems` holds every problem found so far.

    After the iterator is exhausted, `problems` is the file's complete validation result.
    """

    def __init__(self, path: str | Path, *, pseudonymise: bool = False, key: bytes | None = None):
        self.path = Path(path)
        self.pseudonymise = pseudonymise
        self.key = key
        line = first_line(path)
        damaged = damaged_header(path, line)
        if damaged is not None:
            raise damaged
        self.layout = detect_layout(line) or load_layout(ZH308)
        self.problems: list[EIProblem] = []
        # the problems no claim carries (header, insured records, closing record, order): what
        # `check` reports as the file's own problems
        self.file_problems: list[EIProblem] = []
        rt = self.layout.record_types
        if PRESTATIE not in rt or TARIEF not in rt:
            raise ValueError(f"{self.path} is {self.layout.name}, not ZH308")
        self._p04 = {f.name: i for i, f in enumerate(rt[PRESTATIE].fields)}
        self._p06 = {f.name: i for i, f in enumerate(rt[TARIEF].fields)}
        self._header_provider = rt[HEADER].index(HEADER_PROVIDER)
        self._claims = self._generate()

    def __next__(self) -> RawClaim:
        return next(self._claims)

    def _generate(self) -> Iterator[RawClaim]:
        validator = Validator(self.layout)
        reader = RecordReader(self.layout)
        header: tuple[Record, list[EIProblem]] | None = None
        open_: _Prestatie | None = None
        for number, line in enumerate(read_lines(self.path), start=1):
            record = reader.parse(number, line)
            problems = validator.feed(record)
            self.problems.extend(problems)
            code = record.type
            if code not in self.layout.record_types:
                if not line.strip():
                    continue  # an empty line is no record: the file's problem, no claim's
                guessed = self._guess(reader, record)
                if guessed == PRESTATIE:  # a prestatie with a garbled record type: its own claim
                    if open_ is not None:
                        yield self._claim(open_, header)
                    open_ = _Prestatie(reader.parse(number, PRESTATIE + line[2:]), problems)
                    continue
                if guessed is None or open_ is None:
                    # no record of this file (or no claim to belong to): its own error
                    if open_ is not None:
                        yield self._claim(open_, header)
                    open_ = None
                    yield RawClaim(
                        number,
                        dict.fromkeys(CLAIM_FIELDS),
                        tuple(RowProblem("record", str(problem)) for problem in problems),
                    )
                    continue
                code = guessed  # a tariff, zorgactiviteit or comment record: its claim's
            if code == PRESTATIE:
                if open_ is not None:
                    yield self._claim(open_, header)
                open_ = _Prestatie(record, problems)
            elif code == HEADER and record.number == 1:
                header = (record, problems)
                self.file_problems.extend(problems)
            elif code in (TARIEF, ZORGACTIVITEIT, COMMENT) or code not in self.layout.record_types:
                # its children; a garbled line may be one of them, so its problems go to the claim
                if open_ is not None:
                    open_.children.append((record, problems))
                else:
                    self.file_problems.extend(problems)
            else:  # a new insured record, the closing record, a second header: the claim is done
                if open_ is not None:
                    yield self._claim(open_, header)
                open_ = None
                self.file_problems.extend(problems)
        finished = validator.finish()
        self.problems.extend(finished)
        self.file_problems.extend(finished)
        if open_ is not None:
            # a file cut in transfer: its last claim may have lost tariff records
            open_.problems.extend(problem for problem in finished if problem.record_type is None)
            yield self._claim(open_, header)

    def _guess(self, reader: RecordReader, record: Record) -> str | None:
        """The record type a record of an unknown type was meant to be: the known type whose
        layout the rest of the line fits, prestatie first; None if none fits."""
        line = record.line or ""
        if len(line) != self.layout.record_length:
            return None
        for code in (PRESTATIE, TARIEF, ZORGACTIVITEIT, COMMENT):
            if not reader.parse(record.number, code + line[2:]).problems:
                return code
        return None

    def _claim(self, p: _Prestatie, header: tuple[Record, list[EIProblem]] | None) -> RawClaim:
        values = p.record.values
        fields: dict[str, str | None] = dict.fromkeys(CLAIM_FIELDS)
        problems: list[RowProblem] = []
        if values:
            for name, claim_field in PRESTATIE_FIELDS.items():
                fields[claim_field] = cell_text(values[self._p04[name]])
            fields["code"] = claim_code(fields)
            # D/C as written; the amount's problems say when it disagrees with the tariffs
            fields["credit"] = {"C": "true", "D": "false"}.get(fields["credit"] or "")
            fields["herdeclaratie"] = _filled(fields["herdeclaratie"])
            for name in ("zorgproduct", "zorgactiviteit"):
                fields[name] = _filled(fields[name])
        if fields["provider"] is not None and not fields["provider"].strip("0"):
            fields["provider"] = None  # 00000000: not filled
        if fields["provider"] is None and header is not None:
            record, header_problems = header
            if record.values:
                fields["provider"] = cell_text(record.values[self._header_provider])
            for problem in header_problems:
                if problem.field == HEADER_PROVIDER:
                    problems.append(RowProblem("provider", str(problem)))
        if self.pseudonymise and fields["patient"] is not None:
            fields["patient"] = pseudonym(fields["patient"], self.key)
        for problem in p.problems:
            name = PRESTATIE_FIELDS.get(problem.field or "", "record")
            if name == "declaratiecode":
                name = "code"
            elif name == "credit":
                name = "amount"  # as before: the D/C of the prestatie goes with the amount
            problems.append(RowProblem(name, str(problem)))
        fields["amount"], amount_problems = self._amount(p)
        problems.extend(amount_problems)
        for child, child_problems in p.children:
            name = "amount" if child.type == TARIEF else "record"
            problems.extend(RowProblem(name, str(problem)) for problem in child_problems)
        return RawClaim(p.record.number, fields, tuple(problems))

    def _amount(self, p: _Prestatie) -> tuple[str | None, list[RowProblem]]:
        """The declared amount: DECLARATIEBEDRAG of the tariff records, credit negative."""
        tariffs = [r for r, _ in p.children if r.type == TARIEF]
        where = f"record {p.record.number} (type {PRESTATIE})"
        if not tariffs:
            return None, [
                RowProblem("amount", f"{where}: prestatie has no tariff record (type 06)")
            ]
        amount_i = self._p06["DECLARATIEBEDRAG (INCL. BTW)"]
        total = 0
        for r in tariffs:
            if not r.values:
                return None, []
            cents = signed_amount(r, amount_i, amount_i + 1)
            if cents is None:
                f = self.layout.record_types[TARIEF].fields[amount_i]
                if r.values[amount_i] is None and not any(
                    pr.field == f.name for pr in r.problems
                ):  # empty, not garbled (garbled is reported by the reader)
                    message = (
                        f"record {r.number} (type {TARIEF}) field {f.rubriek} {f.name} at position "
                        f"{f.start}: declared amount is empty"
                    )
                    return None, [RowProblem("amount", message)]
                return None, []  # the tariff record's own problems say why
            total += cents
        dc = p.record.values[self._p04["INDICATIE DEBET/CREDIT"]] if p.record.values else None
        if (dc == "C" and total > 0) or (dc == "D" and total < 0):
            f = self.layout.record_types[PRESTATIE].field("INDICATIE DEBET/CREDIT")
            message = (
                f"record {p.record.number} (type {PRESTATIE}) field {f.rubriek} {f.name} at "
                f"position "
                f"{f.start}: prestatie is `{dc}` but its tariff records add up to "
                f"`{format_cents(total)}`"
            )
            return format_cents(total), [RowProblem("amount", message)]
        return format_cents(total), []


def read_zh308_claims(
    path: str | Path, *, pseudonymise: bool = False, key: bytes | None = None
) -> ZH308Claims:
    """The claims of a ZH308 file, one `RawClaim` per prestatie record, lazily.

    The returned iterator's `problems` attribute holds the file's validation result once the
    claims have been read. `pseudonymise` replaces the BSN by `pseudonym(bsn, key)`.
    """
    return ZH308Claims(path, pseudonymise=pseudonymise, key=key)


@attrs.frozen
class EIInspection:
    path: str
    standard: str | None  # "ZH308"; None when the file has no recognisable header
    version: str | None  # "9.0": from the header (version and subversion)
    layout: str  # the layout the file was read with
    record_length: int
    record_counts: dict[str, int]  # record type -> number of records, in file order of first use
    problems: tuple[EIProblem, ...]


def inspect_ei(path: str | Path) -> EIInspection:
    """What an EI file holds and everything wrong with it, as plain data (the CLI renders it)."""
    line = first_line(path)
    found = detect_layout(line)
    layout: Layout = found or load_layout(ZH308)
    if found is None:
        for candidate in (load_layout(name) for name in ("ZH308v9.0", "MZ301v1.3")):
            if len(line) == candidate.record_length:
                layout = candidate
    version = None
    if found is not None and line[5:9].isdigit():
        version = f"{int(line[5:7])}.{int(line[7:9])}"
    validator = Validator(layout)
    problems: list[EIProblem] = []
    for record in read_records(read_lines(path), layout):
        problems.extend(validator.feed(record))
    problems.extend(validator.finish())
    return EIInspection(
        path=str(path),
        standard=found.standard if found else None,
        version=version,
        layout=layout.name,
        record_length=layout.record_length,
        record_counts=dict(validator.counts),
        problems=tuple(problems),
    )


def inspection_rows(inspection: EIInspection) -> list[tuple[str, str]]:
    """(label, value) rows summarising an inspection, for a table; problems one per row."""
    record_types = load_layout(inspection.layout).record_types
    names = {code: rt.name for code, rt in record_types.items()}
    rows = [
        ("standard", f"{inspection.standard or 'unknown'} {inspection.version or ''}".strip()),
        ("layout", f"{inspection.layout} ({inspection.record_length} characters per record)"),
    ]
    for code, n in inspection.record_counts.items():
        rows.append((f"records {code}", f"{n} {names.get(code, 'unknown record type').lower()}"))
    rows.append(("problems", str(len(inspection.problems))))
    rows.extend(("problem", str(problem)) for problem in inspection.problems)
    return rows
