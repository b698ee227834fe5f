"""The Spark engine (pyspark, local[2]) against the reference interpreter: identical decisions.

Skipped where pyspark or Java is missing; CI installs both (.ci/run). One local session serves
the module: starting the JVM is most of the cost.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
if shutil.which("java") is None:
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

import policylang
from policylang.evaluate.batch.select import tables_of
from policylang.evaluate.spark.dialect import UnsupportedInSpark, to_spark
from policylang.evaluate.spark.engine import SparkEngine, check_spark
from tests.test_batch import BROKEN

# a JVM per session: run by CI and `pytest`, left out of the quick run (`-m "not slow"`)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "decisions"
CORE = policylang.load(GOLDEN / "core.policy")


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    from policylang.evaluate.spark import local_session

    return local_session()


def both(policy: policylang.Policy, claims: object, spark: object) -> tuple[list, list]:
    interpreted = [d.to_json() for d in policy.check(claims)]
    on_spark = [d.to_json() for d in check_spark(policy.program, tables_of(policy), claims, spark)]
    return interpreted, on_spark


def assert_same(interpreted: list[dict], on_spark: list[dict]) -> None:
    assert len(on_spark) == len(interpreted)  # nothing lost: decisions out == claims in
    for want, got in zip(interpreted, on_spark, strict=True):
        assert got == want, json.dumps({"interpreter": want, "spark": got}, indent=1)


def test_golden_core_decisions_identical(spark) -> None:  # type: ignore[no-untyped-def]
    interpreted, on_spark = both(CORE, GOLDEN / "core.csv", spark)
    assert_same(interpreted, on_spark)
    assert {d["status"] for d in on_spark} == {"accepted", "adjusted", "rejected", "error"}


def test_rules_and_examples_identical(spark) -> None:  # type: ignore[no-untyped-def]
    policy = policylang.load(ROOT / "rules")
    interpreted, on_spark = both(policy, ROOT / "examples" / "claims.csv", spark)
    assert_same(interpreted, on_spark)
    assert len(on_spark) == 38


def test_broken_rows_have_the_same_messages(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN, encoding="utf-8")
    interpreted, on_spark = both(CORE, path, spark)
    assert_same(interpreted, on_spark)
    assert on_spark[0]["reasons"][0]["message"] == (
        "field `amount`: `12,50` is not an amount: use `.` as the decimal separator"
    )


def test_parquet_and_mappings_input(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    with (GOLDEN / "core.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({k: [r[k] or None for r in rows] for k in rows[0]}), text)
    assert_same(*both(CORE, text, spark))
    assert_same(*both(CORE, rows[:5], spark))


def test_jsonl_file_is_byte_identical_and_cluster_output(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from policylang.cli import _write_decisions

    interpreted = tmp_path / "i.jsonl"
    _write_decisions(CORE.check(GOLDEN / "core.csv"), "jsonl", interpreted, [])
    engine = SparkEngine(CORE.program, tables_of(CORE), spark)
    try:
        engine.run(GOLDEN / "core.csv")
        engine.write_jsonl(tmp_path / "s.jsonl")
        engine.write(str(tmp_path / "parts"), "jsonl")
        engine.write(str(tmp_path / "parquet"), "parquet")
        summary = engine.summary()
    finally:
        engine.close()
    assert (tmp_path / "s.jsonl").read_bytes() == interpreted.read_bytes()
    parts = "".join(p.read_text() for p in sorted((tmp_path / "parts").glob("part-*")))
    assert parts == interpreted.read_text()
    table = spark.read.parquet(str(tmp_path / "parquet")).orderBy("row").collect()
    assert [r["claim_id"] for r in table] == [
        json.loads(line)["claim_id"] for line in interpreted.read_text().splitlines()
    ]
    assert summary.claims == len(table) == 24


def test_unsupported_construct_is_named(spark) -> None:  # type: ignore[no-untyped-def]
    source = (GOLDEN / "core.policy").read_text(encoding="utf-8") + (
        "\nrule per_item {\n  applies to home_monitoring\n  when claim.quantity > 1\n"
        '  pay claimed / claim.quantity\n  because "per item"\n}\n'
    )
    policy = policylang.loads(source)
    with pytest.raises(UnsupportedInSpark, match=r"Spark engine: .*division.*rule `per_item`"):
        SparkEngine(policy.program, None, spark)


def test_dialect_rewrites() -> None:
    sql = to_spark(
        "SELECT regexp_full_match(x, '-?[0-9]+'), chr(8232), format('{:,}', CAST(y AS BIGINT)), "
        "a // b, date_diff('day', c, d) FROM t"
    )
    assert sql == (
        "SELECT RLIKE(x, '^(?:-?[0-9]+)\\\\z'), '\u2028', FORMAT_NUMBER(y::BIGINT, 0), "
        "`DIV`(a, b), DATEDIFF(d, c) FROM t"
    )


def test_cli_engine_spark(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from policylang.cli import app

    out = tmp_path / "d.jsonl"
    result = CliRunner().invoke(
        app,
        [
            *("check", str(GOLDEN / "core.policy"), "--claims", str(GOLDEN / "core.csv")),
            *("--engine", "spark", "--format", "jsonl", "--output", str(out)),
        ],
    )
    assert result.exit_code == 1, result.output  # the golden set has rejected and error claims
    assert len(out.read_text().splitlines()) == 24


def test_cli_engine_spark_with_invariants(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Spark decides; the invariants are evaluated by the interpreter on its decisions, with
    the same output as the interpreter's own run."""
    from tests.test_invariants import check_jsonl

    interpreted, said = check_jsonl(tmp_path, "interpret")
    decided, spark_said = check_jsonl(tmp_path, "spark")
    assert decided == interpreted
    assert spark_said == "engine: spark (--engine spark, local[2])\n" + said


def test_cluster_job_evaluates_the_invariants(spark, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from policylang import spark_job
    from tests.conftest import write_claims
    from tests.property.test_batch_invariants import BREAKING, TEXT

    rules, claims = tmp_path / "inv.policy", tmp_path / "claims.csv"
    rules.write_text(TEXT, encoding="utf-8")
    write_claims(claims, BREAKING)
    code = spark_job.main([str(rules), "--claims", str(claims), "--output", str(tmp_path / "out")])
    said = capsys.readouterr().err
    assert code == 1
    assert (
        "invariant consult_not_with_dbc: VIOLATED (1) a consult is never funded next to a DBC"
        in said
    )
    assert (
        "  claims a1, a2: patient p1: claim a1 is funded by `consult` and claim a2 by `dbc` on 2026-12-31"
        in said
    )
    assert "invariant urgent_rx_is_the_rule: holds" in said


def test_missing_pyspark_is_one_clear_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import builtins

    from typer.testing import CliRunner

    from policylang.cli import app

    real = builtins.__import__

    def no_pyspark(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(GOLDEN / "core.policy"),
            "--claims",
            str(GOLDEN / "core.csv"),
            "--engine",
            "spark",
        ],
    )
    assert result.exit_code == 2
    assert "pip install 'policylang[spark]'" in result.output
