"""Layouts, the reader and the validator on the real MZ301 sample and on hand-made lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from policylang.io.ei.layout import load_layout
from policylang.io.ei.reader import EIProblem, RecordReader, read_lines, read_records
from policylang.io.ei.validate import validate_file, validate_records
from policylang.io.ei.writer import format_record, record_values, write_records
from policylang.io.ei.zh308 import inspect_ei, looks_like_ei

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vektis"
MZ301 = FIXTURES / "MZ301_sample_testbestand.asc"


def test_zh308_layout_comes_from_the_specification() -> None:
    layout = load_layout("ZH308v9.0")
    assert (layout.standard, layout.version, layout.ei_code, layout.record_length) == (
        "ZH308", "9.0", "101", 610,
    )  # fmt: skip
    assert list(layout.record_types) == ["01", "02", "04", "06", "16", "98", "99"]
    amount = layout.record_types["06"].field("DECLARATIEBEDRAG (INCL. BTW)")
    assert (amount.rubriek, amount.start, amount.end, amount.kind, amount.requirement) == (
        "0620", 107, 114, "amount", "C",
    )  # fmt: skip
    dc = layout.record_types["06"].field("INDICATIE DEBET/CREDIT (02)")
    assert (dc.start, dc.code_list, dc.is_debit_credit, dc.mandatory) == (
        115,
        "COD043-VEKT",
        True,
        True,
    )
    bsn = layout.record_types["04"].field("BURGERSERVICENUMMER (BSN) VERZEKERDE")
    assert (bsn.kind, bsn.key, bsn.start) == ("code", "L", 15)
    assert layout.record_types["04"].field("BEGINDATUM PRESTATIE").kind == "date"
    assert layout.record_types["04"].field("AANTAL UITGEVOERDE PRESTATIES").kind == "int"
    assert layout.record_types["01"].field("VERSIENUMMER BERICHTSTANDAARD").fixed_value == "09"


def test_real_mz301_sample_parses_without_problems() -> None:
    assert validate_file(MZ301) == []
    layout = load_layout("MZ301v1.3")
    records = list(read_records(read_lines(MZ301), layout))
    assert [r.type for r in records] == [
        "01", "02", "98", "03", "04", "04", "98", "98", "02", "98", "03", "04", "04", "98", "99",
    ]  # fmt: skip
    closing = dict(
        zip((f.name for f in layout.record_types["99"].fields), records[-1].values, strict=True)
    )
    assert closing["AANTAL VERZEKERDENRECORDS"] == 2
    assert closing["AANTAL DEBITEURRECORDS"] == 2
    assert closing["AANTAL PRESTATIERECORDS"] == 4
    assert closing["AANTAL COMMENTAARRECORDS"] == 5
    assert closing["TOTAAL AANTAL DETAILRECORDS"] == 13
    assert closing["TOTAAL DECLARATIEBEDRAG"] == 40000  # cents
    assert closing["INDICATIE DEBET/CREDIT"] == "D"
    prestatie = dict(
        zip((f.name for f in layout.record_types["04"].fields), records[4].values, strict=True)
    )
    assert prestatie["BURGERSERVICENUMMER (BSN) VERZEKERDE"] == "288902294"
    assert prestatie["DATUM PRESTATIE"] == dt.date(2009, 1, 1)
    assert prestatie["PRESTATIECODE"] == "195001"
    assert prestatie["DECLARATIEBEDRAG (INCL. BTW)"] == 10000
    assert prestatie["REFERENTIENUMMER DIT PRESTATIERECORD"] == "Ref_01"
    assert prestatie["MACHTIGINGSNUMMER"] is None


def test_mz301_sample_round_trips_byte_for_byte(tmp_path: Path) -> None:
    layout = load_layout("MZ301v1.3")
    out = tmp_path / "copy.asc"
    write_records(read_records(read_lines(MZ301), layout), out, layout)
    # The sample's last record has no line end; the writer ends every record with CRLF.
    assert out.read_bytes() == MZ301.read_bytes() + b"\r\n"


def test_inspect_and_detect_mz301() -> None:
    inspection = inspect_ei(MZ301)
    assert (inspection.standard, inspection.version, inspection.layout) == (
        "MZ301",
        "1.3",
        "MZ301v1.3",
    )
    assert inspection.record_counts == {"01": 1, "02": 2, "98": 5, "03": 2, "04": 4, "99": 1}
    assert inspection.problems == ()
    assert looks_like_ei(MZ301)


def test_looks_like_ei_is_by_content(tmp_path: Path) -> None:
    csv_file = tmp_path / "claims.zh308"
    csv_file.write_text("claim_id,provider\n1,2\n")
    assert not looks_like_ei(csv_file)
    renamed = tmp_path / "declaratie.csv"
    renamed.write_bytes(MZ301.read_bytes())
    assert looks_like_ei(renamed)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert not looks_like_ei(empty)


def _line(code: str, **named: object) -> str:
    rt = load_layout("ZH308v9.0").record_types[code]
    return format_record(rt, record_values(rt, named))


def test_reader_types_values_and_keeps_debit_credit() -> None:
    reader = RecordReader(load_layout("ZH308v9.0"))
    line = _line(
        "06",
        **{
            "IDENTIFICATIE DETAILRECORD": "000000000004",
            "BURGERSERVICENUMMER (BSN) VERZEKERDE": "012345672",
            "UZOVI-NUMMER": "3311",
            "AANDUIDING PRESTATIECODELIJST (01)": "041",
            "PRESTATIECODE/DBC DECLARATIECODE": "15A123",
            "BEGINDATUM PRESTATIE": dt.date(2025, 1, 6),
            "PRESTATIEVOLGNUMMER": "01",
            "SOORT PRESTATIE/TARIEF": "02",
            "VERREKENPERCENTAGE": 10000,
            "INDICATIE DEBET/CREDIT (01)": "C",
            "DECLARATIEBEDRAG (INCL. BTW)": 9995,
            "INDICATIE DEBET/CREDIT (02)": "C",
            "REFERENTIENUMMER DIT TARIEFRECORD": "T1",
        },
    )
    record = reader.parse(4, line)
    fields = load_layout("ZH308v9.0").record_types["06"].fields
    values = dict(zip((f.name for f in fields), record.values, strict=True))
    assert record.problems == ()
    assert (
        values["BURGERSERVICENUMMER (BSN) VERZEKERDE"] == "012345672"
    )  # a code: leading zero kept
    assert values["BEGINDATUM PRESTATIE"] == dt.date(2025, 1, 6)
    assert values["DECLARATIEBEDRAG (INCL. BTW)"] == 9995
    assert values["INDICATIE DEBET/CREDIT (02)"] == "C"
    assert values["VERREKENPERCENTAGE"] == 10000
    assert values["TARIEF PRESTATIE (INCL. BTW)"] is None  # blank
    assert values["REFERENTIENUMMER DIT TARIEFRECORD"] == "T1"


def test_reader_reports_each_bad_field_with_its_position() -> None:
    reader = RecordReader(load_layout("ZH308v9.0"))
    line = _line(
        "98", **{"IDENTIFICATIE DETAILRECORD": "000000000001", "REGELNUMMER VRIJE TEKST": "0001"}
    )
    line = "98" + "00000000000X" + "0001" + " " * 140 + line[158:]
    record = reader.parse(7, line)
    assert record.problems == (
        EIProblem(7, "98", "IDENTIFICATIE DETAILRECORD", 3, "`00000000000X` is not numeric"),
        EIProblem(7, "98", "VRIJE TEKST", 19, "mandatory field is empty"),
    )
    assert str(record.problems[0]) == (
        "record 7 (type 98) field IDENTIFICATIE DETAILRECORD at position 3: `00000000000X` is not numeric"
    )


def test_unknown_and_empty_lines_are_problems() -> None:
    layout = load_layout("ZH308v9.0")
    problems = validate_records(read_records(["", "X9\x00abc"], layout), layout)
    assert problems == [
        EIProblem(1, None, None, None, "empty line"),
        EIProblem(2, None, "KENMERK RECORD", 1, "unknown record type `X9`"),
        EIProblem(
            2,
            None,
            None,
            None,
            "file ends without a closing record (type 99): it may have been cut off in transfer",
        ),
    ]


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zh308"
    empty.write_bytes(b"")
    assert validate_file(empty) == [EIProblem(1, None, None, None, "file is empty")]
