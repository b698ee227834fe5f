"""The Spark engine: the batch planner's SQL transpiled to Spark SQL (sqlglot), run by pyspark.

Same decisions as the reference interpreter, byte for byte in JSON Lines, for everything the
batch engine compiles; anything else raises `UnsupportedInSpark` naming it. Local with
`policylang check --engine spark`, on a cluster with `spark-submit` and `policylang.spark_job`.
See docs/architecture.md, section "Spark engine".
"""

from policylang.evaluate.spark.dialect import UnsupportedInSpark, to_spark
from policylang.evaluate.spark.session import SparkUnavailable, local_session, require_spark

__all__ = [
    "SparkUnavailable",
    "UnsupportedInSpark",
    "check_spark",
    "local_session",
    "require_spark",
    "to_spark",
]


def check_spark(program, tables, claims, spark=None):  # type: ignore[no-untyped-def]
    """Decide claims on Spark (evaluate/spark/engine.py); imported lazily, as pyspark is."""
    from policylang.evaluate.spark.engine import check_spark as run

    return run(program, tables, claims, spark)
