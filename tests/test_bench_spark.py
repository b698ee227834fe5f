"""benchmarks/bench_spark.py without Spark: its arguments, command lines and doc markers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_spark


def test_defaults_run_the_cli_on_local_2_against_the_batch_engine(tmp_path: Path) -> None:
    options = bench_spark.parse_args([])
    assert (options.claims, options.repeats, options.master) == (1_000_000, 2, "local[2]")
    rows = bench_spark.commands(options, tmp_path, tmp_path / "claims.parquet")
    assert list(rows) == ["spark", "spark start-up", "batch", "handwritten"]
    spark, batch = rows["spark"], rows["batch"]
    assert spark[spark.index("--engine") + 1] == "spark"
    assert batch[batch.index("--engine") + 1] == "batch"
    assert [a for a in spark if a not in ("spark", "batch") and "jsonl" not in a] == [
        a for a in batch if a not in ("spark", "batch") and "jsonl" not in a
    ]
    assert rows["spark start-up"][-1] == "local[2]"


def test_another_master_runs_the_spark_job_by_spark_submit(tmp_path: Path) -> None:
    options = bench_spark.parse_args(["--master", "local[1]", "--no-handwritten"])
    rows = bench_spark.commands(options, tmp_path, tmp_path / "claims.parquet")
    assert list(rows) == ["spark", "spark start-up", "batch"]
    assert rows["spark"][1:3] == ["--master", "local[1]"]
    assert rows["spark"][3].endswith("spark_job.py")


def test_the_doc_has_the_markers_the_table_goes_between() -> None:
    text = bench_spark.DOC.read_text(encoding="utf-8")
    replaced = bench_spark.replace_section(text, "TABLE")
    assert f"{bench_spark.BEGIN}\nTABLE\n{bench_spark.END}" in replaced
    assert replaced.replace("TABLE", "", 1).count(bench_spark.BEGIN) == 1
