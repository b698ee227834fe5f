"""Decide a claim set on a Spark cluster: the driver program for `spark-submit`.

    spark-submit --master yarn --deploy-mode client \
        "$(python -c 'import policylang.spark_job as j; print(j.__file__)')" \
        rules/ --claims hdfs:///claims/2027/ --output hdfs:///decisions/2027/ --format parquet

The driver compiles the rule files (policylang must be installed where the driver runs); the
executors run Spark SQL only, so they need neither policylang nor any Python package. Claims are
any path Spark reads (a CSV file or a directory of Parquet files on HDFS, S3, ...); decisions are
written where Spark writes, in input order: JSON Lines part files, byte-identical line by line
to `policylang check --format jsonl`, or Parquet. The rule files' invariants run as Spark SQL
over the decided claims and are printed as `policylang check` prints them. Exit codes as
`policylang check`: 0, 1 when a claim is rejected or in error or an invariant is violated, 2 when
nothing could be decided. See docs/architecture.md, section "Spark engine".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="policylang.spark_job", description=__doc__.split("\n")[0]
    )
    parser.add_argument("rules", nargs="+", help="rule files or directories (on the driver)")
    parser.add_argument("--claims", required=True, help="claims: a path Spark can read")
    parser.add_argument("--input-format", choices=("csv", "parquet"), help="default: by the name")
    parser.add_argument("--output", required=True, help="a directory Spark writes the decisions to")
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    parser.add_argument("--table", action="append", default=[], help="NAME=FILE (on the driver)")
    args = parser.parse_args(argv)

    import policylang
    from policylang.cli import print_invariants
    from policylang.errors import PolicyError
    from policylang.evaluate.batch import invariants
    from policylang.evaluate.batch.command import engine_invariants
    from policylang.evaluate.batch.errors import UnsupportedInBatch
    from policylang.evaluate.batch.select import tables_of
    from policylang.evaluate.spark.engine import SparkEngine

    try:
        policy = policylang.load(*args.rules)
        if args.table:
            policy = policy.with_tables(dict(t.split("=", 1) for t in args.table))
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("policylang").getOrCreate()
        tables = tables_of(policy)
        planned = invariants.plan(policy.program, tuple(tables))
        engine = SparkEngine(policy.program, tables, spark)
        engine.run(args.claims, args.input_format, keep=planned.keep)
        engine.write(args.output, args.format)
        summary = engine.summary()
        # the decisions stay on the cluster: an invariant not in SQL is named, not evaluated
        skipped: list[str] = []
        results = engine_invariants(
            policy, engine, planned, None, lambda why: skipped.extend(why.values()) or []
        )
    except (PolicyError, UnsupportedInBatch) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{n} {s}" for s, n in summary.by_status.items())
    print(
        f"{summary.claims} claims: {counts}; claimed EUR {summary.claimed:,.2f}, "
        f"payable EUR {summary.payable:,.2f}",
        file=sys.stderr,
    )
    print_invariants(results)
    for why in skipped:
        print(f"not evaluated on the cluster: {why}", file=sys.stderr)
    rejected = summary.by_status["rejected"] or summary.by_status["error"]
    return 1 if rejected or any(not r.holds for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
