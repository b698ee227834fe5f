"""Typed records -> EI fixed-width lines, in the layout they were read with.

Numbers are right-aligned and zero-padded, text is left-aligned and space-padded, dates are
CCYYMMDD. `None` is written as spaces, except a date, which is written as `00000000` (the Vektis
way of leaving a date empty); the reader reads both back as `None`, so read -> write -> read is the
identity. A value that does not fit its field raises `ValueError`: the writer makes valid files,
tests break them on purpose by editing the text.

`write_zh308` makes a complete, valid ZH308 file from claim dicts (the fields `read_zh308_claims`
yields), for tests, examples and benchmarks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from policylang.io.ei.layout import Field, Layout, RecordType, load_layout
from policylang.io.ei.reader import ENCODING, Record

LINE_END = "\r\n"


def format_field(f: Field, value: Any) -> str:
    if value is None:
        return ("0" if f.kind == "date" else " ") * f.length
    if f.kind == "text":
        text = str(value)
        if len(text) > f.length or "\n" in text or "\r" in text:
            raise ValueError(f"field {f.name}: {text!r} does not fit in {f.length} characters")
        return text.ljust(f.length)
    if f.kind == "date":
        if not isinstance(value, dt.date):
            raise ValueError(f"field {f.name}: {value!r} is not a date")
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    text = str(value)
    if not (text.isdigit() and text.isascii()) or len(text) > f.length:
        raise ValueError(f"field {f.name}: {value!r} is not a number of at most {f.length} digits")
    return text.rjust(f.length, "0")


def format_record(rt: RecordType, values: Sequence[Any]) -> str:
    """One line (without line end) from values in field order."""
    if len(values) != len(rt.fields):
        raise ValueError(f"record type {rt.code} has {len(rt.fields)} fields, got {len(values)}")
    return "".join(format_field(f, v) for f, v in zip(rt.fields, values, strict=True))


def record_values(rt: RecordType, named: Mapping[str, Any]) -> tuple[Any, ...]:
    """Values in field order from a mapping of field name -> value (missing fields are `None`).

    The record type (KENMERK RECORD) is filled in; unknown names raise `KeyError`.
    """
    names = {f.name for f in rt.fields}
    unknown = set(named) - names
    if unknown:
        raise KeyError(f"record type {rt.code} has no field {', '.join(sorted(unknown))}")
    values = {**named, "KENMERK RECORD": rt.code}
    return tuple(values.get(f.name) for f in rt.fields)


def write_records(records: Iterable[Record], path: str | Path, layout: Layout) -> None:
    """Write records in their layout, one per line, CRLF line ends, ISO-8859-1."""
    with open(path, "w", encoding=ENCODING, newline="") as out:
        for record in records:
            rt = layout.record_types[record.type]
            out.write(format_record(rt, record.values) + LINE_END)


# -- ZH308 from claim dicts -----------------------------------------------------------------------


def _cents(amount: str) -> int:
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise ValueError(f"amount {amount!r} has more than two decimals")
    return int(value)


def _zeros(rt: RecordType) -> dict[str, Any]:
    """Vektis convention for fields left empty: numbers are zeros, text is spaces."""
    out: dict[str, Any] = {}
    for f in rt.fields:
        if f.kind == "code":
            out[f.name] = "0" * f.length
        elif f.kind in ("int", "amount"):
            out[f.name] = 0
    return out


def zh308_lines(
    claims: Iterable[Mapping[str, str | None]],
    *,
    invoice_number: str = "1",
    invoice_date: dt.date | None = None,
) -> list[str]:
    """The lines of a valid ZH308 file declaring `claims` (see `write_zh308`)."""
    layout = load_layout("ZH308v9.0")
    rts = layout.record_types
    claims = list(claims)
    lines: list[str] = []
    ident = 0
    counts = dict.fromkeys(rts, 0)
    total = 0

    def add(code: str, named: dict[str, Any]) -> None:
        rt = rts[code]
        lines.append(format_record(rt, record_values(rt, {**_zeros(rt), **named})))
        counts[code] += 1

    def next_ident() -> str:
        nonlocal ident
        ident += 1
        return f"{ident:012d}"

    starts = [dt.date.fromisoformat(str(c["start_date"])) for c in claims]
    ends = [dt.date.fromisoformat(str(c["end_date"])) for c in claims]
    today = dt.date(2025, 1, 1)
    period_start, period_end = min(starts, default=today), max(ends, default=today)
    insurers = {c["insurer"] for c in claims}
    add(
        "01",
        {
            "CODE EXTERNE-INTEGRATIEBERICHT": layout.ei_code,
            "VERSIENUMMER BERICHTSTANDAARD": "09",
            "SUBVERSIENUMMER BERICHTSTANDAARD": "00",
            "SOORT BERICHT": "P",
            "UZOVI-NUMMER": insurers.pop() if len(insurers) == 1 else "0000",
            "INSTELLINGSCODE": (claims[0]["provider"] if claims else None) or "00000000",
            "IDENTIFICATIECODE BETALING AAN": "04",
            "BEGINDATUM DECLARATIEPERIODE": period_start,
            "EINDDATUM DECLARATIEPERIODE": period_end,
            "FACTUURNUMMER DECLARANT": invoice_number,
            "DAGTEKENING FACTUUR": invoice_date or period_end,
            "VALUTACODE": "EUR",
        },
    )
    insured: tuple[Any, Any] | None = None
    for claim, start, end in zip(claims, starts, ends, strict=True):
        patient = {
            "BURGERSERVICENUMMER (BSN) VERZEKERDE": claim["patient"],
            "UZOVI-NUMMER": claim["insurer"],
        }
        birth = dt.date(1970, 1, 1)
        if (claim["patient"], claim["insurer"]) != insured:
            insured = (claim["patient"], claim["insurer"])
            add(
                "02",
                {
                    **patient,
                    "IDENTIFICATIE DETAILRECORD": next_ident(),
                    "DATUM GEBOORTE VERZEKERDE": birth,
                    "CODE GESLACHT VERZEKERDE": "0",
                    "NAAMCODE/NAAMGEBRUIK (01)": "1",
                    "NAAM VERZEKERDE (01)": "ONBEKEND",
                    "VOORLETTERS VERZEKERDE": "X",
                    "INDICATIE CLIENT OVERLEDEN": "2",
                },
            )
        cents = None if claim.get("amount") is None else _cents(str(claim["amount"]))
        dc = "C" if cents is not None and cents < 0 else "D"
        prestatie = {
            **patient,
            "PRESTATIECODE/DBC DECLARATIECODE": claim.get("declaratiecode") or claim["code"],
            "BEGINDATUM PRESTATIE": start,
            "PRESTATIEVOLGNUMMER": "01",
        }
        add(
            "04",
            {
                **prestatie,
                "IDENTIFICATIE DETAILRECORD": next_ident(),
                "DOORSTUREN TOEGESTAAN": "1",
                "DATUM GEBOORTE VERZEKERDE": birth,
                "AANDUIDING PRESTATIECODELIJST": "041",
                "EINDDATUM PRESTATIE": end,
                "ZORGPRODUCTCODE": claim.get("zorgproduct"),
                "ZORGACTIVITEITCODE": claim.get("zorgactiviteit"),
                "ZORGTRAJECTNUMMER": claim.get("zorgtraject"),
                "SUBTRAJECTNUMMER": claim.get("subtraject"),
                "CODE (ZELF)VERWIJZER": "01",
                "AANTAL UITGEVOERDE PRESTATIES": int(claim.get("quantity") or 1),
                "INSTELLINGSCODE": claim.get("provider") or "00000000",
                "INDICATIE DEBET/CREDIT": dc,
                "REFERENTIENUMMER DIT PRESTATIERECORD": claim["claim_id"],
                "REFERENTIENUMMER VOORGAANDE GERELATEERDE PRESTATIERECORD": claim.get("corrects"),
                **(
                    {"CODE HERDECLARATIE": claim["herdeclaratie"]}
                    if claim.get("herdeclaratie")
                    else {}
                ),
            },
        )
        if cents is None:
            continue
        tariff_ident = next_ident()
        add(
            "06",
            {
                **prestatie,
                "IDENTIFICATIE DETAILRECORD": tariff_ident,
                "AANDUIDING PRESTATIECODELIJST (01)": "041",
                "SOORT PRESTATIE/TARIEF": "02",
                "TARIEF PRESTATIE (INCL. BTW)": abs(cents),
                "VERREKENPERCENTAGE": 10000,
                "BEREKEND BEDRAG (INCL. BTW)": abs(cents),
                "INDICATIE DEBET/CREDIT (01)": dc,
                "DECLARATIEBEDRAG (INCL. BTW)": abs(cents),
                "INDICATIE DEBET/CREDIT (02)": dc,
                "REFERENTIENUMMER DIT TARIEFRECORD": f"T{tariff_ident}",
            },
        )
        total += cents
    add(
        "99",
        {
            "AANTAL VERZEKERDENRECORDS": counts["02"],
            "AANTAL DEBITEURRECORDS": 0,
            "AANTAL PRESTATIERECORDS": counts["04"],
            "AANTAL TARIEFRECORDS": counts["06"],
            "AANTAL ZORGACTIVITEITRECORDS": counts["16"],
            "AANTAL COMMENTAARRECORDS": counts["98"],
            "TOTAAL AANTAL DETAILRECORDS": len(lines) - 1,
            "TOTAAL DECLARATIEBEDRAG": abs(total),
            "INDICATIE DEBET/CREDIT": "C" if total < 0 else "D",
        },
    )
    return lines


def write_zh308(
    claims: Iterable[Mapping[str, str | None]],
    path: str | Path,
    *,
    invoice_number: str = "1",
    invoice_date: dt.date | None = None,
) -> None:
    """Write a valid ZH308 v9.0 file declaring `claims`.

    Each claim is a dict with the fields `read_zh308_claims` yields: `claim_id` (at most 20
    characters), `provider` (8-digit AGB), `insurer` (4-digit UZOVI), `patient` (9-digit BSN),
    `code`, `zorgproduct`, `start_date`/`end_date` (ISO), `quantity`, `amount` (EUR, for example
    `-12.50`; `None` writes no tariff record), `zorgtraject`, `subtraject`. Consecutive claims of
    the same patient and insurer share one insured record (02); each claim is a prestatie record
    (04) with one tariff record (06). Fields a claim does not give are filled with fixed values
    (birth date 1970-01-01, name ONBEKEND): this makes test files, not real declarations.
    """
    lines = zh308_lines(claims, invoice_number=invoice_number, invoice_date=invoice_date)
    with open(path, "w", encoding=ENCODING, newline="") as out:
        out.writelines(line + LINE_END for line in lines)
