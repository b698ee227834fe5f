"""Golden ZH308 files (tests/fixtures/vektis/*.zh308): exact claims and exact problems.

The files are made by tests/fixtures/vektis/make_fixtures.py; `test_fixtures_are_up_to_date`
fails when they differ from what it makes (regenerate with the command in its docstring).
Records of every file: 1 01, 2 02, 3 04, 4 06, 5 04, 6 06, 7 02, 8 04, 9 06, 10 99.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from policylang.io.ei.reader import EIProblem
from policylang.io.ei.validate import validate_file
from policylang.io.ei.zh308 import inspect_ei, inspection_rows, pseudonym, read_zh308_claims
from policylang.io.raw import RowProblem

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vektis"


def _make_fixtures():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _make_fixtures()


def test_fixtures_are_up_to_date() -> None:
    for name, lines in MAKE.broken().items():
        expected = "".join(line + "\r\n" for line in lines).encode("latin-1")
        assert (FIXTURES / f"{name}.zh308").read_bytes() == expected, name


def test_valid_file_gives_the_claims_it_was_written_from() -> None:
    claims = read_zh308_claims(FIXTURES / "valid.zh308")
    got = list(claims)
    # a DBC is matched by its zorgproductcode, its declaratiecode kept beside it; D/C is `credit`
    assert [c.fields for c in got] == [
        {
            **claim,
            "code": claim["zorgproduct"] or claim["code"],
            "declaratiecode": claim["code"],
            "zorgactiviteit": None,
            "credit": "true" if claim["amount"].startswith("-") else "false",  # type: ignore[union-attr]
            "corrects": None,
            "herdeclaratie": None,
        }
        for claim in MAKE.CLAIMS
    ]
    assert (got[0].fields["code"], got[0].fields["declaratiecode"]) == ("010501001", "15A123")
    assert [c.row for c in got] == [3, 5, 8]
    assert [c.problems for c in got] == [(), (), ()]
    assert claims.problems == []
    assert got[1].fields["amount"] == "-99.95"  # credit
    assert got[0].fields["patient"] == "012345672"


def test_pseudonymise_replaces_the_bsn_stably() -> None:
    got = list(read_zh308_claims(FIXTURES / "valid.zh308", pseudonymise=True))
    assert [c.fields["patient"] for c in got] == [
        pseudonym("012345672"), pseudonym("012345672"), pseudonym("111222333"),
    ]  # fmt: skip
    assert got[0].fields["patient"] == hashlib.sha256(b"policylang:bsn:012345672").hexdigest()[:32]
    assert got[0].fields["patient"] != got[2].fields["patient"]
    keyed = list(read_zh308_claims(FIXTURES / "valid.zh308", pseudonymise=True, key=b"secret"))
    assert (
        keyed[0].fields["patient"] == pseudonym("012345672", b"secret") != got[0].fields["patient"]
    )


def test_valid_inspection() -> None:
    inspection = inspect_ei(FIXTURES / "valid.zh308")
    assert (inspection.standard, inspection.version, inspection.record_length) == (
        "ZH308",
        "9.0",
        610,
    )
    assert inspection.record_counts == {"01": 1, "02": 2, "04": 3, "06": 3, "99": 1}
    assert inspection.problems == ()
    assert inspection_rows(inspection) == [
        ("standard", "ZH308 9.0"),
        ("layout", "ZH308v9.0 (610 characters per record)"),
        ("records 01", "1 voorlooprecord"),
        ("records 02", "2 verzekerdenrecord"),
        ("records 04", "3 prestatierecord"),
        ("records 06", "3 tariefrecord"),
        ("records 99", "1 sluitrecord"),
        ("problems", "0"),
    ]


# name -> (the file's problems, {claim row: (claim field, message)})
GOLDEN: dict[str, tuple[list[EIProblem], dict[int, RowProblem]]] = {
    "broken_truncated_line": (
        [EIProblem(4, "06", None, 301, "record is 300 characters long, expected 610")],
        {3: RowProblem("amount", "record 4 (type 06) at position 301: record is 300 characters long, expected 610")},
    ),
    "broken_wrong_record_length": (
        [EIProblem(3, "04", None, 611, "record is 615 characters long, expected 610")],
        {3: RowProblem("record", "record 3 (type 04) at position 611: record is 615 characters long, expected 610")},
    ),
    "broken_garbled_numeric": (
        [EIProblem(4, "06", "BEREKEND BEDRAG (INCL. BTW)", 94, "`00000ABC` is not numeric")],
        {3: RowProblem("amount", "record 4 (type 06) field 0617 BEREKEND BEDRAG (INCL. BTW) at position 94: `00000ABC` is not numeric")},
    ),
    "broken_bad_date": (
        [EIProblem(3, "04", "BEGINDATUM PRESTATIE", 76, "`20250231` is not a date (CCYYMMDD)")],
        {3: RowProblem("start_date", "record 3 (type 04) field 0411 BEGINDATUM PRESTATIE at position 76: `20250231` is not a date (CCYYMMDD)")},
    ),
    "broken_wrong_closing_total": (
        [
            EIProblem(
                10, "99", "TOTAAL DECLARATIEBEDRAG", 46,
                "closing total is `1234.55` but the declared amounts add up to `1134.55`",
            )
        ],
        {},  # a file-level problem: the claims themselves are fine
    ),
    "broken_missing_mandatory": (
        [EIProblem(5, "04", "REFERENTIENUMMER DIT PRESTATIERECORD", 556, "mandatory field is empty")],
        {5: RowProblem("claim_id", "record 5 (type 04) field 0458 REFERENTIENUMMER DIT PRESTATIERECORD at position 556: mandatory field is empty")},
    ),
    "broken_duplicate_identifier": (
        [
            EIProblem(
                5, "04", "IDENTIFICATIE DETAILRECORD", 3,
                "identification `000000000002` already used by record 3",
            )
        ],
        {5: RowProblem("record", "record 5 (type 04) field 0402 IDENTIFICATIE DETAILRECORD at position 3: identification `000000000002` already used by record 3")},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_broken_file(name: str) -> None:
    path = FIXTURES / f"{name}.zh308"
    want_file, want_claims = GOLDEN[name]
    assert validate_file(path) == want_file
    assert list(inspect_ei(path).problems) == want_file
    claims = read_zh308_claims(path)
    got = list(claims)
    assert claims.problems == want_file
    assert [c.row for c in got] == [3, 5, 8]  # every claim is still there
    assert {c.row: c.problems for c in got if c.problems} == {
        row: (problem,) for row, problem in want_claims.items()
    }


def test_bad_value_is_none_in_the_claim() -> None:
    bad_date = list(read_zh308_claims(FIXTURES / "broken_bad_date.zh308"))
    assert bad_date[0].fields["start_date"] is None
    assert bad_date[0].fields["end_date"] == "2025-03-14"
    missing = list(read_zh308_claims(FIXTURES / "broken_missing_mandatory.zh308"))
    assert missing[1].fields["claim_id"] is None


def _lines(name: str) -> list[str]:
    return (FIXTURES / f"{name}.zh308").read_bytes().decode("latin-1").split("\r\n")[:-1]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "edited.zh308"
    path.write_bytes("".join(line + "\r\n" for line in lines).encode("latin-1"))
    return path


def test_order_problems(tmp_path: Path) -> None:
    lines = _lines("valid")
    # tariff record 4 moved before its prestatie; a record after the closing record
    edited = [lines[0], lines[1], lines[3], lines[2], *lines[4:], lines[6]]
    problems = validate_file(_write(tmp_path, edited))
    assert [str(p) for p in problems] == [
        "record 3 (type 06): record type 06 must follow a record of type 04",
        "record 11 (type 02): record after the closing record (record 10)",
        "record 11 (type 02) field 0202 IDENTIFICATIE DETAILRECORD at position 3: identification `000000000006` already used by record 7",
    ]


def test_missing_header_and_closing(tmp_path: Path) -> None:
    lines = _lines("valid")
    problems = validate_file(_write(tmp_path, lines[1:-1]))
    assert [str(p) for p in problems] == [
        "record 1 (type 02): first record must be a header record (type 01)",
        "record 8: file ends without a closing record (type 99): it may have been cut off in transfer",
    ]


def test_link_field_must_match_parent_and_credit_sign(tmp_path: Path) -> None:
    lines = _lines("valid")
    # the tariff record of prestatie REF-0001 names another prestatievolgnummer and is credit
    tariff = MAKE.patch(lines[3], "06", "PRESTATIEVOLGNUMMER", "02")
    tariff = MAKE.patch(tariff, "06", "INDICATIE DEBET/CREDIT (02)", "C")
    closing = MAKE.patch(lines[9], "99", "TOTAAL DECLARATIEBEDRAG", "00000133445")
    closing = MAKE.patch(closing, "99", "INDICATIE DEBET/CREDIT", "C")
    path = _write(tmp_path, [*lines[:3], tariff, *lines[4:9], closing])
    claims = read_zh308_claims(path)
    got = list(claims)
    assert [str(p) for p in claims.problems] == [
        "record 4 (type 06) field 0610 PRESTATIEVOLGNUMMER at position 63: `02` differs from `01` in parent record 3 (type 04)",
    ]
    assert got[0].fields["amount"] == "-1234.50"
    assert got[0].problems == (
        RowProblem(
            "amount",
            "record 3 (type 04) field 0457 INDICATIE DEBET/CREDIT at position 555: prestatie is `D` but its tariff records add up to `-1234.50`",
        ),
        RowProblem(
            "amount",
            "record 4 (type 06) field 0610 PRESTATIEVOLGNUMMER at position 63: `02` differs from `01` in parent record 3 (type 04)",
        ),
    )


def test_prestatie_without_tariff_record(tmp_path: Path) -> None:
    lines = _lines("valid")
    closing = MAKE.patch(lines[9], "99", "AANTAL TARIEFRECORDS", "000002")
    path = _write(tmp_path, [*lines[:3], *lines[4:9], closing])
    claims = read_zh308_claims(path)
    got = list(claims)
    assert got[0].fields["amount"] is None
    assert got[0].problems == (
        RowProblem("amount", "record 3 (type 04): prestatie has no tariff record (type 06)"),
    )
    assert [str(p) for p in claims.problems] == [
        "record 9 (type 99) field 9908 TOTAAL AANTAL DETAILRECORDS at position 39: closing record counts 8 detail records, the file has 7",
        "record 9 (type 99) field 9909 TOTAAL DECLARATIEBEDRAG at position 46: closing total is `1134.55` but the declared amounts add up to `-99.95`",
    ]
