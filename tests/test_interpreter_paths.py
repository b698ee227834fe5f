"""The interpreter's fast paths against its general path, and duplicate claim ids."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import policylang
from policylang.evaluate.interpreter import Interpreter
from policylang.io.raw import RawClaim


@pytest.mark.parametrize(
    ("rules", "claims"),
    [
        ("tests/golden/decisions/core.policy", "tests/golden/decisions/core.csv"),
        ("rules", "examples/claims.csv"),
        ("benchmarks/bench_rules.policy", None),
    ],
)
def test_fast_path_decides_and_traces_as_the_general_path(rules: str, claims: str | None) -> None:
    policy = policylang.load(rules)
    if claims is None:
        sys.path.insert(0, "benchmarks")
        import bench_interpreter

        rows = list(policy.typed_claims(bench_interpreter.generate(3000)))
    else:
        rows = list(policy.typed_claims(claims))
    fast = policy.interpreter
    general = Interpreter(policy.program, fast.tables, fast_paths=False)
    for row in rows:
        fast_steps: list[Any] = []
        general_steps: list[Any] = []
        assert fast.decide(row, fast_steps) == general.decide(row, general_steps)
        assert fast_steps == general_steps
        assert fast.decide(row) == general.decide(row)


def test_duplicate_claim_ids_and_rows_without_an_id() -> None:
    policy = policylang.load("tests/golden/decisions/core.policy")
    rows = [
        policy.typer.type(RawClaim(1, {"code": "1"})),  # no claim_id: called `row 1`
        policy.typer.type(RawClaim(2, {"claim_id": "row 1", "code": "1"})),
        policy.typer.type(RawClaim(3, {"claim_id": "row 1", "code": "1"})),
        policy.typer.type(RawClaim(4, {"claim_id": "c", "code": "1"})),
    ]
    decisions = policy.interpreter.evaluate(rows)[1]  # mark_duplicates is part of it
    assert [d.reasons[0].message for d in decisions] == [
        "missing field `claim_id`",
        "missing field `provider`",
        "claim_id `row 1` appears more than once (first in row 2)",
        "missing field `provider`",
    ]


def test_the_cyclic_collector_is_paused_while_claims_are_evaluated_and_restored() -> None:
    import gc

    policy = policylang.load("tests/golden/decisions/core.policy")
    seen: list[bool] = []

    def claims():  # type: ignore[no-untyped-def]
        for row in policy.raw_claims("tests/golden/decisions/core.csv"):
            seen.append(gc.isenabled())
            yield row.fields

    assert gc.isenabled()
    policy.check(claims())
    assert seen and not any(seen)
    assert gc.isenabled()

    def broken():  # type: ignore[no-untyped-def]
        yield from claims()
        raise RuntimeError("the claim source failed")

    with pytest.raises(RuntimeError):
        policy.check(broken())
    assert gc.isenabled()
    gc.freeze()  # a program that froze objects (before a fork) finds them frozen afterwards
    try:
        assert gc.get_freeze_count() > 0
        policy.check(claims())
        # still frozen (unfreeze() would empty the permanent generation); the count itself may
        # drop by the frozen objects that were freed meanwhile
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    gc.disable()  # a program that keeps it off finds it off afterwards
    try:
        policy.settle(claims())
        assert not gc.isenabled()
    finally:
        gc.enable()
