"""The batch engine (DuckDB) against the reference interpreter: identical decisions as JSON.

Every test compares `Decision.to_json()` of both engines, so a difference in a status, an amount,
a title, a reason's text or its citation fails with both decisions shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("duckdb")

import policylang
from policylang.evaluate.batch import BatchEngine, UnsupportedInBatch, check_supported
from policylang.evaluate.batch.sqltext import money_text

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "decisions"


def both(policy: policylang.Policy, claims: object) -> tuple[list[dict], list[dict]]:
    interpreted = [d.to_json() for d in policy.check(claims)]
    batch = [d.to_json() for d in policy.check(claims, engine="batch")]
    return interpreted, batch


def assert_same(interpreted: list[dict], batch: list[dict]) -> None:
    assert len(batch) == len(interpreted)
    for want, got in zip(interpreted, batch, strict=True):
        assert got == want, json.dumps({"interpreter": want, "batch": got}, indent=1)


def test_golden_core_decisions_identical() -> None:
    policy = policylang.load(GOLDEN / "core.policy")
    interpreted, batch = both(policy, GOLDEN / "core.csv")
    assert_same(interpreted, batch)
    statuses = {d["status"] for d in batch}
    assert statuses == {"accepted", "adjusted", "rejected", "error"}


def test_rules_and_examples_identical() -> None:
    policy = policylang.load(ROOT / "rules")
    interpreted, batch = both(policy, ROOT / "examples" / "claims.csv")
    assert_same(interpreted, batch)
    assert len(batch) == 38


def test_seh_budget_division_and_table_lookup_identical() -> None:
    example = ROOT / "examples" / "seh_2027"
    policy = policylang.load(ROOT / "rules").with_tables(
        {"seh_locations": example / "seh_locations.csv"}
    )
    interpreted, batch = both(policy, example / "claims_2027.csv")
    assert_same(interpreted, batch)


def test_jsonl_stream_is_byte_identical(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from policylang.cli import app

    runner = CliRunner()
    args = ["check", str(GOLDEN / "core.policy"), "--claims", str(GOLDEN / "core.csv")]
    interpreted, batch = tmp_path / "i.jsonl", tmp_path / "b.jsonl"
    runner.invoke(app, [*args, "--format", "jsonl", "--output", str(interpreted)])
    result = runner.invoke(
        app, [*args, "--format", "jsonl", "--output", str(batch), "--engine", "batch"]
    )
    assert result.exit_code == 1  # the golden set has rejected and error claims
    assert batch.read_bytes() == interpreted.read_bytes()


def test_jsonl_stream_with_invariants_in_sql(tmp_path: Path) -> None:
    """Invariants no longer stop the stream: they are queries over the decided claims, and the
    command prints them and exits 1 on a violation exactly as the interpreter does."""
    from tests.test_invariants import check_jsonl

    interpreted, said = check_jsonl(tmp_path, "interpret")
    batch, batch_said = check_jsonl(tmp_path, "batch")
    assert batch == interpreted
    assert batch_said == "engine: batch (--engine batch)\n" + said
    assert "invariant consult_not_with_dbc: VIOLATED (1)" in batch_said


def test_parquet_typed_and_text_columns(tmp_path: Path) -> None:
    import csv
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    with (GOLDEN / "core.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({k: [r[k] or None for r in rows] for k in rows[0]}), text)
    policy = policylang.load(GOLDEN / "core.policy")
    assert_same(*both(policy, text))
    typed_rows = [r for r in rows if r["amount"] != "12,50" and r["start_date"] != "2025-13-01"]
    typed = tmp_path / "typed.parquet"
    columns = {k: [r[k] or None for r in typed_rows] for k in rows[0]}
    columns["start_date"] = [dt.date.fromisoformat(v) for v in columns["start_date"]]
    columns["amount"] = [Decimal(v) for v in columns["amount"]]
    columns["quantity"] = [int(v) for v in columns["quantity"]]
    pq.write_table(pa.table(columns), typed)
    assert_same(*both(policy, typed))


BROKEN = """claim_id,provider,insurer,patient,code,start_date,end_date,quantity,amount,referrer
b1,0123,3311,p1,990001,2025-03-03,,1,"12,50",huisarts
b2,0123,3311,p2,990001,2025-03-03,,1,12.505,huisarts
b3,0123,3311,p3,990001,2025-02-30,,1,12.50,huisarts
b4,0123,3311,p4,990001,2025-03-03,,x,12.50,huisarts
b5,0123,3311,,,2025-03-03,,1,,huisarts
b6,0123,3311,p6,990001,2025-03-03,,1,abc,tandarts
b7,0123,3311,p7,990001, 2025-03-03 ,,1, 60.00 ,huisarts
,0123,3311,p8,990001,2025-03-03,,1,60.00,huisarts
b9,0123,3311,p9,"99""0001",2025-03-03,,1,60.00,huisarts
b10,0123,3311,p10,"tab\there",2025-03-03,,1,60.00,huisarts
"""


def test_broken_rows_have_the_same_messages(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN, encoding="utf-8")
    policy = policylang.load(GOLDEN / "core.policy")
    interpreted, batch = both(policy, path)
    assert_same(interpreted, batch)
    assert batch[0]["reasons"][0]["message"] == (
        "field `amount`: `12,50` is not an amount: use `.` as the decimal separator"
    )


def test_mappings_input_and_auto_on_small_input() -> None:
    policy = policylang.load(GOLDEN / "core.policy")
    rows = [
        {
            "claim_id": "m1",
            "provider": "1",
            "insurer": "2",
            "patient": "p",
            "code": "990001",
            "start_date": "2025-03-03",
            "amount": "61.00",
            "referrer": "huisarts",
        },
        {
            "claim_id": "m2",
            "provider": "1",
            "insurer": "2",
            "patient": "p",
            "code": "029999021",
            "start_date": "2025-03-03",
            "amount": "10.00",
        },
    ]
    interpreted, batch = both(policy, rows)
    assert_same(interpreted, batch)
    assert batch[0]["status"] == "rejected"  # not combinable with the DBC on the same day
    assert [d.to_json() for d in policy.check(rows, engine="auto")] == interpreted


def test_unsupported_construct_is_named_and_auto_falls_back(tmp_path: Path) -> None:
    source = (GOLDEN / "core.policy").read_text(encoding="utf-8") + (
        "\nrule per_item {\n  applies to home_monitoring\n  when claim.quantity > 1\n"
        '  pay claimed / claim.quantity\n  because "per item"\n}\n'
    )
    policy = policylang.loads(source)
    with pytest.raises(UnsupportedInBatch, match="division"):
        check_supported(policy.program)
    with pytest.raises(UnsupportedInBatch, match=r"rule `per_item`"):
        policy.check(GOLDEN / "core.csv", engine="batch")


def test_ragged_csv_row_is_decided_in_batch_as_by_the_interpreter(tmp_path: Path) -> None:
    # a damaged CSV file is read by the interpreter's reader on the batch engine: the ragged
    # row is an error decision there too, not a reason to refuse the file
    path = tmp_path / "ragged.csv"
    path.write_text(BROKEN.splitlines()[0] + "\nr1,1,2\n", encoding="utf-8")
    policy = policylang.load(GOLDEN / "core.policy")
    interpreted = [d.to_json() for d in policy.check(path)]
    assert [d.to_json() for d in policy.check(path, engine="batch")] == interpreted
    assert interpreted[0]["status"] == "error"
    assert interpreted[0]["reasons"][0]["message"] == "the row has 3 columns, the header has 10"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1234567.125", "1,234,567.13"),
        ("-1234567.125", "-1,234,567.13"),
        ("-0.005", "-0.01"),
        ("0.004", "0.00"),
        ("999.995", "1,000.00"),
        ("12", "12.00"),
    ],
)
def test_money_text_is_half_up_with_separators(value: str, text: str) -> None:
    engine = BatchEngine(policylang.load(GOLDEN / "core.policy").program)
    try:
        got = engine.con.execute(f"SELECT {money_text(f'CAST({value!r} AS DECIMAL(18,3))')}")
        assert got.fetchone()[0] == text  # type: ignore[index]
    finally:
        engine.close()


def test_default_memory_limit_is_relaxed_when_a_statement_needs_more(monkeypatch) -> None:
    """The 400MB default is a preference: a statement DuckDB cannot run in the limit is run
    again with the next, higher limit, and the decisions do not change."""
    from policylang.evaluate.batch import engine as batch_engine

    monkeypatch.setattr(batch_engine, "DEFAULT_MEMORY", "1MB")
    monkeypatch.setattr(batch_engine, "RELAXED_MEMORY", (None,))
    policy = policylang.load(GOLDEN / "core.policy")
    runner = batch_engine.BatchEngine(policy.program, memory_limit="1MB")
    try:
        got = runner._execute(
            "SELECT count(DISTINCT i::VARCHAR || 'x') FROM range(2000000) AS t(i)"
        ).fetchall()
        assert got == [(2000000,)]
        assert runner._relax == []  # 1MB was not enough: the limit was lifted, once
    finally:
        runner.close()
    assert_same(*both(policy, GOLDEN / "core.csv"))


def test_py_whitespace_is_what_str_strip_removes() -> None:
    from policylang.evaluate.batch.sqltext import PY_WHITESPACE

    computed = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert computed == PY_WHITESPACE


def test_whitespace_search_matches_exactly_python_whitespace() -> None:
    """`has_py_whitespace` lets a row's fields through unstripped: it must find every
    character str.strip() removes and no other (all code points, one row each)."""
    import duckdb
    import pyarrow as pa

    from policylang.evaluate.batch.sqltext import PY_WHITESPACE, has_py_whitespace

    points = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    con = duckdb.connect()
    con.register("t", pa.table({"x": pa.array(points)}))
    found = con.execute(f"SELECT x FROM t WHERE {has_py_whitespace('NULL', 'x')}").fetchall()
    assert "".join(x for (x,) in found) == PY_WHITESPACE
    assert con.execute(f"SELECT {has_py_whitespace('NULL', 'NULL')}").fetchall() == [(False,)]


def test_fields_with_python_whitespace_are_stripped_as_the_interpreter_does() -> None:
    """Leading, trailing, inner and only whitespace (each of Python's 29 characters) in some
    fields of some rows, clean rows in between, and characters that look blank but are not
    whitespace (zero-width space, U+180E), which str.strip() keeps."""
    import csv

    from policylang.evaluate.batch.sqltext import PY_WHITESPACE

    policy = policylang.load(GOLDEN / "core.policy")
    with (GOLDEN / "core.csv").open(newline="", encoding="utf-8") as handle:
        base = list(csv.DictReader(handle))
    fields = list(base[0])
    rows = []
    for n, ws in enumerate(PY_WHITESPACE + "\u200b\u180e\ufeff"):
        row = dict(base[n % len(base)], claim_id=f"w{n:02d}")
        field = fields[n % len(fields)]
        shape = n % 4
        if shape == 0:
            row[field] = ws + (row[field] or "") + ws
        elif shape == 1:
            row[field] = (row[field] or "") + ws
        elif shape == 2:
            row[field] = ws * 2
        else:
            row[field] = f"a{ws}b"
        row["patient"] = ws + row["patient"]
        rows += [row, dict(base[n % len(base)], claim_id=f"k{n:02d}")]
    interpreted, batch = both(policy, rows)
    assert_same(interpreted, batch)


def test_lines_keep_the_file_order_across_row_groups_and_threads(tmp_path: Path) -> None:
    """The output sort runs below the projection that builds the lines (engine.ordered_sql);
    the lines must still come out in file order when DuckDB reads row groups in parallel."""
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    with (GOLDEN / "core.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    copies = [
        {**row, "claim_id": f"x{n:06d}"} for n, row in enumerate(rows * (40_000 // len(rows)))
    ]
    path = tmp_path / "claims.parquet"
    table = pa.table({k: pa.array([r[k] or None for r in copies], pa.string()) for k in rows[0]})
    pq.write_table(table, path, row_group_size=3_000)
    runner = BatchEngine(policylang.load(GOLDEN / "core.policy").program, threads=2)
    try:
        runner.run(path)
        runner.write_jsonl(tmp_path / "out.jsonl")  # on one thread, then back to two
        assert runner._first_value("SELECT current_setting('threads')") == 2
        written = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
        fetched = [line for _, line in runner.lines()]
    finally:
        runner.close()
    want = [r["claim_id"] for r in copies]
    assert [json.loads(line)["claim_id"] for line in written] == want
    assert fetched == written
