"""Hypothesis: the Spark engine, the batch engine and the interpreter decide generated claim
sets identically (the generators of test_batch_differential.py, broken rows included).

Few examples: each one is a Spark job of several seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
if shutil.which("java") is None:
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

from policylang.evaluate.batch.select import tables_of
from policylang.evaluate.spark import local_session
from policylang.evaluate.spark.engine import check_spark
from tests.conftest import write_claims
from tests.property.test_batch_differential import FIELDS, POLICY, claim
from tests.property.test_batch_invariants import BREAKING
from tests.property.test_batch_invariants import POLICY as INVARIANTS
from tests.property.test_batch_invariants import claim as invariant_claim

pytestmark = pytest.mark.slow  # a JVM per session; CI and the full run take it


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claim, min_size=1, max_size=25))
def test_spark_matches_interpreter_and_batch(rows: list[dict[str, str]]) -> None:
    spark = local_session()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "claims.csv"
        write_claims(path, rows, FIELDS)
        interpreted = [d.to_json() for d in POLICY.check(path)]
        batch = [d.to_json() for d in POLICY.check(path, engine="batch")]
        on_spark = [
            d.to_json() for d in check_spark(POLICY.program, tables_of(POLICY), path, spark)
        ]
    assert len(on_spark) == len(batch) == len(interpreted) == len(rows)
    for want, from_batch, got in zip(interpreted, batch, on_spark, strict=True):
        assert from_batch == want
        assert got == want


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(invariant_claim, min_size=8, max_size=30))
def test_spark_invariants_match_the_interpreter(rows: list[dict[str, str]]) -> None:
    # the invariants' queries in Spark SQL: the policy of test_batch_invariants.py breaks
    # every kind of invariant
    decisions, on_spark = INVARIANTS.check_invariants(rows, engine="spark")
    interpreted_decisions, interpreted = INVARIANTS.check_invariants(rows)
    assert [d.to_json() for d in decisions] == [d.to_json() for d in interpreted_decisions]
    assert [r.to_json() for r in on_spark] == [r.to_json() for r in interpreted]


def test_spark_invariants_on_a_set_that_breaks_every_kind() -> None:
    _, on_spark = INVARIANTS.check_invariants(BREAKING, engine="spark")
    _, interpreted = INVARIANTS.check_invariants(BREAKING)
    assert [r.to_json() for r in on_spark] == [r.to_json() for r in interpreted]
    # BREAKING breaks every invariant but one (test_batch_invariants.py says how): r1, the
    # urgent RX, is rejected by its rule, as urgent_rx_is_the_rule promises
    assert [r.name for r in on_spark if r.holds] == ["urgent_rx_is_the_rule"]
