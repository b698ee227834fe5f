"""Fuzz: damaged and odd claim files on the interpreter and the batch engine (docs/reliability.md).

For every generated file (CSV, JSON Lines, Parquet, Vektis ZH308; tests/fuzz/claim_inputs.py):
no exception but the project's own (an InputError, exit 2, the same on both engines), one
decision per claim record, both engines give the same decisions, and every decision can be
written out. A short run here; the long run is `POLICYLANG_FUZZ_EXAMPLES=20000 pytest
tests/fuzz/test_claim_files.py`. Every input a run found broken is kept below as a regression
case.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

pytest.importorskip("duckdb")

import policylang
from policylang.errors import PolicyError
from policylang.io.claims import read_claims
from tests.fuzz import claim_inputs
from tests.fuzz.claim_inputs import POLICY_FILE, examples

POLICY = policylang.load(POLICY_FILE)
FUZZ = settings(
    max_examples=examples(6),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_LINE_END = re.compile(r"\r\n|\r|\n")


def decide(path: Path, engine: str) -> list[dict] | str:
    """The decisions as JSON, or the code of the project's own error."""
    try:
        decisions = POLICY.check(path, engine=engine)
    except PolicyError as error:
        return error.diagnostics[0].code
    out = [d.to_json() for d in decisions]
    for decision in out:  # every decision can be written out (no lone surrogate, no exponent)
        json.dumps(decision, ensure_ascii=False).encode("utf-8")
    return out


def records(suffix: str, data: bytes, path: Path) -> int | None:
    """How many claim records the file holds, counted without the readers, where that is plain."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    text = data.decode("utf-8", "surrogateescape")
    lines = [line for line in _LINE_END.split(text)]
    if suffix == ".jsonl":
        return sum(1 for line in lines if line.strip())
    if suffix == ".csv" and '"' not in text:
        filled = [line for line in lines if line.removeprefix("\ufeff")]
        return max(len(filled) - 1, 0)  # the header, then one record a non-empty line
    return None


def check_file(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"claims{suffix}"
        path.write_bytes(data)
        interpreted = decide(path, "interpret")
        batch = decide(path, "batch")
        assert batch == interpreted
        if isinstance(interpreted, str):
            assert interpreted in ("E0803", "E0808")
            return
        assert len(interpreted) == len(list(read_claims(path)))
        expected = records(suffix, data, path)
        if expected is not None:
            assert len(interpreted) == expected
        if suffix == ".zh308":
            prestaties = [
                n
                for n, line in enumerate(_LINE_END.split(data.decode("latin-1")), start=1)
                if line[:2] == "04"
            ]
            rows = [raw.row for raw in read_claims(path)]
            assert set(prestaties) <= set(rows)


@FUZZ
@given(claim_inputs.csv_file())
def test_fuzz_csv(file: tuple[str, bytes]) -> None:
    check_file(*file)


@FUZZ
@given(claim_inputs.jsonl_file())
def test_fuzz_jsonl(file: tuple[str, bytes]) -> None:
    check_file(*file)


@FUZZ
@given(claim_inputs.parquet_file())
def test_fuzz_parquet(file: tuple[str, bytes]) -> None:
    check_file(*file)


@FUZZ
@given(claim_inputs.zh308_file())
def test_fuzz_zh308(file: tuple[str, bytes]) -> None:
    check_file(*file)


# ---------------------------------------------------------------- regression cases

HEADER = "claim_id,provider,insurer,patient,code,start_date,end_date,quantity,amount,weight,share,urgent,visits"
ROWS = [
    "c1,0101,3311,p1,990001,2026-01-01,,1,75.00,1.5,10%,true,1",
    "c2,0101,3311,p2,990001,2026-01-02,,1,75.00,,,,",
    "c3,0101,3311,p3,029299014,2026-01-01,,1,1234.56,,,,2",
]


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def both(suffix: str, data: bytes) -> list[dict]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"claims{suffix}"
        path.write_bytes(data)
        interpreted = decide(path, "interpret")
        assert decide(path, "batch") == interpreted
    assert isinstance(interpreted, list)
    return interpreted


def errors(decisions: list[dict]) -> dict[str, list[str]]:
    return {
        d["claim_id"]: [r["message"] for r in d["reasons"]]
        for d in decisions
        if d["status"] == "error"
    }


def test_a_latin1_byte_in_the_first_row_costs_that_row_only() -> None:
    data = csv_bytes(*ROWS).replace(b",p1,", b",p\xe9,")
    decided = both(".csv", data)
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert errors(decided) == {
        "c1": ["field `patient` on line 2: byte `0xE9` is not UTF-8 (claims files are UTF-8)"]
    }


def test_a_cp1252_euro_sign_in_row_401_of_600_costs_that_row_only() -> None:
    rows = [f"r{i},0101,3311,p{i},990001,2026-01-01,,1,75.00,,,," for i in range(1, 601)]
    rows[400] = rows[400].replace("75.00", "75.00\x80")
    decided = both(".csv", csv_bytes(*rows).replace(b"\xc2\x80", b"\x80"))
    assert len(decided) == 600
    assert errors(decided) == {
        "r401": [
            "field `amount` on line 402: byte `0x80` is not UTF-8 (claims files are UTF-8)",
            "field `amount`: `75.00\ufffd` is not an amount (write 12.50)",
        ]
    }


def test_a_stray_double_quote_costs_that_record_only() -> None:
    decided = both(".csv", csv_bytes(ROWS[0], ROWS[1].replace("p2", '"p2'), ROWS[2]))
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert errors(decided) == {
        "c2": ["field `patient`: the double quote before `p2` on line 3 is never closed"]
    }


def test_a_quote_inside_an_unquoted_field_opens_nothing() -> None:
    decided = both(".csv", csv_bytes(ROWS[0].replace("p1", 'p"1'), *ROWS[1:]))
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert errors(decided) == {}


def test_a_quoted_field_may_still_span_lines() -> None:
    decided = both(".csv", csv_bytes(ROWS[0].replace("p1", '"p\n1"'), *ROWS[1:]))
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert errors(decided) == {}


def test_a_bad_byte_inside_a_quoted_field_over_lines_costs_that_record_only() -> None:
    data = csv_bytes(ROWS[0].replace("p1", '"p\n1x"'), *ROWS[1:]).replace(b"1x", b"1\xe9")
    decided = both(".csv", data)
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert errors(decided) == {
        "c1": ["field `patient` on line 2: byte `0xE9` is not UTF-8 (claims files are UTF-8)"]
    }


def test_a_field_over_128_kib_is_an_error_on_both_engines() -> None:
    decided = both(".csv", csv_bytes(ROWS[0].replace("p1", "p" * 140_000), *ROWS[1:]))
    assert errors(decided)["c1"][0] == "field `patient` is longer than 131072 characters"
    assert len(decided) == 3


def test_an_empty_csv_file_has_no_decisions_on_both_engines() -> None:
    assert both(".csv", b"") == []
    assert both(".csv", HEADER.encode() + b"\n") == []


def test_blank_lines_before_the_header_are_skipped_on_both_engines() -> None:
    # found by the fuzz run: DuckDB took the blank first line for the header
    decided = both(".csv", b"\r" + csv_bytes(*ROWS))
    assert [d["claim_id"] for d in decided] == ["c1", "c2", "c3"]
    assert both(".csv", b"\r" + HEADER.encode() + b"\n") == []


def test_a_row_with_one_empty_column_too_many_is_an_error_on_both_engines() -> None:
    # found by the fuzz run: DuckDB let a row with one trailing empty column pass
    decided = both(".csv", csv_bytes(ROWS[0] + ",", *ROWS[1:]))
    assert errors(decided) == {"c1": ["the row has 14 columns, the header has 13"]}


def test_a_header_naming_a_column_twice_is_read_alike_on_both_engines() -> None:
    # found by the fuzz run: the batch engine refused the file; the last column counts
    decided = both(".csv", csv_bytes(*ROWS).replace(b",visits\n", b",code\n", 1))
    assert len(decided) == 3


def test_a_nul_in_a_claim_id_is_written_as_json_on_both_engines() -> None:
    # found by the fuzz run: the batch engine's JSON text held a raw NUL
    decided = both(".csv", csv_bytes(ROWS[0].replace("c1", "\x00"), *ROWS[1:]))
    assert decided[0]["claim_id"] == "\x00"


def test_a_claim_dated_9999_12_31_plus_days_is_that_claims_error() -> None:
    decided = both(".csv", csv_bytes(ROWS[0], ROWS[1].replace("2026-01-02", "9999-12-31"), ROWS[2]))
    assert errors(decided) == {
        "c2": [
            "`9999-12-31` + 30 days is outside the dates policylang handles "
            "(0001-01-01 to 9999-12-31)"
        ]
    }


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("9999999999999999.99", None),  # the largest amount: 16 digits before the point
        (
            "12345678901234567.00",
            "field `amount`: `12345678901234567.00` is out of range: an amount has at most 16 "
            "digits before the decimal point",
        ),
        (
            "1" * 30 + ".00",
            "field `amount`: `111111111111111111111111111111.00` is out of range: an amount has "
            "at most 16 digits before the decimal point",
        ),
        (
            "9" * 5000,
            "field `amount`: `9999999999999999...99999999` is out of range: an amount has at "
            "most 16 digits before the decimal point",
        ),
        ("٤٥.٠٠", "field `amount`: `٤٥.٠٠` is not an amount (write 12.50)"),
        ("４５.00", "field `amount`: `４５.00` is not an amount (write 12.50)"),
    ],
)
def test_amounts_have_a_range_and_ascii_digits(amount: str, message: str | None) -> None:
    decided = both(".csv", csv_bytes(ROWS[0], ROWS[2].replace("1234.56", amount)))
    assert errors(decided) == ({"c3": [message]} if message else {})
    if message is None:
        assert decided[1]["payable"] == "9999999999999999.99"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("visits", "9" * 19, "field `visits`: `9999999999999999999` is out of range: a whole number has at most 18 digits"),
        ("visits", "٣", "field `visits`: `٣` is not a whole number"),
        ("weight", "1" * 25, "field `weight`: `1111111111111111111111111` is out of range: a number has at most 24 digits before the decimal point and 12 after it"),
        ("start_date", "2026-W05-2", "field `start_date`: `2026-W05-2` is not a date (YYYY-MM-DD)"),
        ("start_date", "٢٠٢٦-٠١-٠١", "field `start_date`: `٢٠٢٦-٠١-٠١` is not a date (YYYY-MM-DD)"),
    ],
)  # fmt: skip
def test_numbers_and_dates_have_ranges_and_ascii_digits(
    field: str, value: str, message: str
) -> None:
    index = HEADER.split(",").index(field)
    cells = ROWS[0].split(",")
    cells[index] = value
    decided = both(".csv", csv_bytes(",".join(cells), ROWS[1]))
    assert errors(decided) == {"c1": [message]}


def test_a_negative_zero_amount_is_zero_on_both_engines() -> None:
    decided = both(".csv", csv_bytes(ROWS[2].replace("1234.56", "-0.00")))
    assert decided[0]["claimed"] == "0.00"


def jsonl_bytes(*extra: str) -> bytes:
    names = HEADER.split(",")
    lines = [
        json.dumps({k: v for k, v in zip(names, row.split(","), strict=True) if v}) for row in ROWS
    ]
    return ("\n".join([lines[0], *extra, *lines[1:]]) + "\n").encode("utf-8")


@pytest.mark.parametrize(
    ("line", "claim_id", "message"),
    [
        ('{"claim_id": "CL\\ud800", "code": "990001"}', "CL?", "field `claim_id`: `CL\\ud800` holds a lone surrogate escape, which is no character"),
        ('{"claim_id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "row 2", "line is not valid JSON: it is nested too deeply to read"),
        ('{"claim_id": "num", "x": ' + "9" * 5000 + ', "amount": 1' + "0" * 30 + "}", "num", "field `amount`: `1000000000000000000000000000000` is out of range: an amount has at most 16 digits before the decimal point"),
    ],
)  # fmt: skip
def test_a_damaged_json_line_costs_that_line_only(line: str, claim_id: str, message: str) -> None:
    decided = both(".jsonl", jsonl_bytes(line))
    assert len(decided) == 4
    assert message in errors(decided)[claim_id]


def test_a_latin1_byte_in_a_json_line_costs_that_line_only() -> None:
    data = jsonl_bytes('{"claim_id": "CLx", "code": "990001"}').replace(b"CLx", b"CL\xe9")
    decided = both(".jsonl", data)
    assert len(decided) == 4
    assert errors(decided)["CL\ufffd"][0] == (
        "field `claim_id` on line 2: byte `0xE9` is not UTF-8 (claims files are UTF-8)"
    )


def test_a_parquet_decimal_38_10_amount_is_read_exactly() -> None:
    import io
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    names = HEADER.split(",")
    table = {n: pa.array([row.split(",")[i] or None for row in ROWS]) for i, n in enumerate(names)}
    amounts = [Decimal("75.0000000000"), Decimal("0.1250000000"), Decimal("1234.5600000000")]
    table["amount"] = pa.array(amounts, pa.decimal128(38, 10))
    out = io.BytesIO()
    pq.write_table(pa.table(table), out)
    decided = both(".parquet", out.getvalue())
    assert [d["claimed"] for d in decided] == ["75.00", None, "1234.56"]
    assert errors(decided) == {
        "c2": ["field `amount`: `0.125` has more than two decimals: amounts are exact to the cent"]
    }


VALID_ZH308 = (claim_inputs.VEKTIS / "valid.zh308").read_bytes()


@pytest.mark.parametrize("end", [b"\r\n", b"\n", b"\r"])
def test_zh308_line_ends_all_read(end: bytes) -> None:
    decided = both(".zh308", VALID_ZH308.replace(b"\r\n", end))
    assert [d["claim_id"] for d in decided] == ["REF-0001", "REF-0002", "REF-0003"]
    assert errors(decided) == {}


def zh308_lines() -> list[bytes]:
    return VALID_ZH308.split(b"\r\n")


def outcome(data: bytes) -> list[dict] | str:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "claims.zh308"
        path.write_bytes(data)
        interpreted = decide(path, "interpret")
        assert decide(path, "batch") == interpreted
        return interpreted


def test_zh308_without_header_or_with_an_unknown_ei_code_is_a_damaged_vektis_file() -> None:
    lines = zh308_lines()
    assert outcome(b"\r\n".join(lines[1:])) == "E0808"
    assert outcome(b"\r\n".join([b"01999" + lines[0][5:], *lines[1:]])) == "E0808"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "claims.zh308"
        path.write_bytes(b"\r\n".join([b"01999" + lines[0][5:], *lines[1:]]))
        with pytest.raises(PolicyError) as raised:
            POLICY.check(path)
    assert str(raised.value.diagnostics[0].message).endswith(
        "record 1 (type 01) field 0102 CODE EXTERNE-INTEGRATIEBERICHT at position 3: `999` is "
        "not an EI code policylang reads"
    )
    assert raised.value.diagnostics[0].help == (
        "policylang reads the EI codes `101` (ZH308v9.0), `176` (MZ301v1.3)"
    )


def test_zh308_cut_to_a_few_bytes_is_a_damaged_vektis_file() -> None:
    # found by the fuzz run: `04` alone was read as a CSV file with no claims
    assert outcome(b"04") == "E0808"


def test_zh308_prestatie_typed_05_costs_that_claim_only() -> None:
    lines = zh308_lines()
    second = next(i for i, line in enumerate(lines) if line[:2] == b"04" and i > 3)
    lines[second] = b"05" + lines[second][2:]
    decided = outcome(b"\r\n".join(lines))
    assert isinstance(decided, list)
    assert [d["claim_id"] for d in decided] == ["REF-0001", "REF-0002", "REF-0003"]
    # the tariff record under it is reported against it (its link fields differ from the
    # prestatie before), never against that earlier claim
    found = errors(decided)
    assert list(found) == ["REF-0002"]
    assert found["REF-0002"][0] == (
        f"record {second + 1} field KENMERK RECORD at position 1: unknown record type `05`"
    )


def test_zh308_cut_in_transfer_says_so() -> None:
    decided = outcome(VALID_ZH308[: VALID_ZH308.rindex(b"\r\n99")])
    assert isinstance(decided, list)
    assert len(decided) == 3
    assert errors(decided)["REF-0003"][-1].endswith(
        "file ends without a closing record (type 99): it may have been cut off in transfer"
    )


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_check_reports_a_damaged_vektis_file_with_exit_2(tmp_path: Path, engine: str) -> None:
    from typer.testing import CliRunner

    from policylang.cli import app

    path = tmp_path / "claims.zh308"
    path.write_bytes(b"\r\n".join(zh308_lines()[1:]))
    result = CliRunner().invoke(
        app, ["check", str(POLICY_FILE), "--claims", str(path), "--engine", engine]
    )
    assert result.exit_code == 2
    assert "error[E0808]" in result.stderr
    assert "is not a header record (type 01)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_check_writes_every_decision_of_a_damaged_json_lines_file(
    tmp_path: Path, engine: str
) -> None:
    from typer.testing import CliRunner

    from policylang.cli import app

    path = tmp_path / "claims.jsonl"
    path.write_bytes(jsonl_bytes('{"claim_id": "CL\\ud800", "code": "990001"}'))
    result = CliRunner().invoke(
        app,
        ["check", str(POLICY_FILE), "--claims", str(path), "--engine", engine, "--format", "jsonl"],
    )
    assert result.exit_code == 1  # an error decision
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["claim_id"] for d in lines] == ["c1", "CL?", "c2", "c3"]


def test_money_beyond_28_digits_is_written_and_added_exactly() -> None:
    from decimal import Decimal

    from policylang.decision import Decision, Summary, format_money

    big = Decimal("1" * 30 + ".25")
    assert format_money(big) == "1" * 30 + ".25"
    assert format_money(Decimal("1" * 30 + ".125")) == "1" * 30 + ".12"  # half-even, as before
    decisions = [Decision(f"c{i}", "accepted", big, big, None, None, ()) for i in range(3)]
    summary = Summary.of(decisions)
    assert summary.payable == Decimal("3" * 30 + ".75")
    assert summary.to_json()["claimed"] == "3" * 30 + ".75"
