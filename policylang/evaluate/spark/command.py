"""`policylang check --engine spark`: run the Spark engine, stream JSON Lines when it can.

Returns the batch engine's Outcome, so cli.py prints both the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from policylang.evaluate.batch.command import Outcome, run_engine
from policylang.evaluate.batch.select import tables_of

if TYPE_CHECKING:
    from policylang.api import Policy


def spark_check(
    policy: Policy, claims: Any, fmt: str, output: Path | None, year: int | None = None
) -> Outcome:
    from policylang.evaluate.batch.invariants import plan
    from policylang.evaluate.spark.engine import SparkEngine
    from policylang.evaluate.spark.session import require_spark

    require_spark()
    notes = ["engine: spark (--engine spark, local[2])"]
    tables = tables_of(policy)
    planned = plan(policy.program, tuple(tables))  # the invariants in Spark SQL too
    return run_engine(
        SparkEngine(policy.program, tables), policy, claims, fmt, output, notes, planned, year
    )
