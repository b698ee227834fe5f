"""`policylang check --engine ...`: the part of the command that is not terminal output.

cli.py prints; this module decides which engine runs, runs it, and streams JSON Lines straight
from DuckDB to the output file when it can, so a national claim set never becomes a list of
Python objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from policylang.decision import Decision, Summary
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.select import choose, tables_of

if TYPE_CHECKING:
    from policylang.api import Policy
    from policylang.evaluate.batch.invariants import Planned


@attrs.frozen
class Outcome:
    notes: tuple[str, ...]  # for stderr: which engine decided, and why
    decisions: list[Decision] | None  # None when streamed to the output file
    summary: Summary | None
    invariants: list[Any]
    interpret: bool = False  # the caller runs the interpreter as usual


def batch_check(
    policy: Policy,
    claims: Any,
    engine: str,
    fmt: str,
    output: Path | None,
    year: int | None = None,
) -> Outcome:
    """`check --engine`: decisions and invariants (`year`: of the claim-set invariants; by
    default the most common year of the claims) by the chosen engine."""
    chosen, why = choose(policy, claims, engine)
    notes = [f"engine: {chosen} ({why})"]
    if chosen == "interpret":
        return Outcome(tuple(notes), None, None, [], interpret=True)
    try:
        from policylang.evaluate.batch.engine import BatchEngine
        from policylang.evaluate.batch.invariants import plan

        tables = tables_of(policy)
        planned = plan(policy.program, tuple(tables))
        return run_engine(
            BatchEngine(policy.program, tables), policy, claims, fmt, output, notes, planned, year
        )
    except UnsupportedInBatch as error:
        if engine != "auto":
            raise
        notes.append(f"engine: interpret (auto fell back: {error})")
        return Outcome(tuple(notes), None, None, [], interpret=True)


def run_engine(
    runner: Any,
    policy: Policy,
    claims: Any,
    fmt: str,
    output: Path | None,
    notes: list[str],
    planned: Planned,
    year: int | None = None,
) -> Outcome:
    """Decide with a compiled engine (batch or Spark). JSON Lines stream from the engine to the
    file unless an invariant needs the decisions in Python; anything else comes back as
    decisions. `planned`: the invariants compiled to SQL over the engine's decided claims (those
    it could not compile are evaluated by the interpreter on the decisions)."""
    from policylang.evaluate.batch import invariants

    notes += [f"invariants: the interpreter evaluates {why}" for why in planned.left.values()]
    decided: list[Decision] = []

    def decisions() -> list[Decision]:
        if not decided:
            decided.extend(runner.decisions())
        return decided

    try:
        runner.run(claims, keep=planned.keep)  # the columns the invariants' queries read
        stream = fmt == "jsonl" and output is not None and planned.all_in_sql
        if stream:
            runner.write_jsonl(output)
        else:
            decisions()
        python = invariants.python_invariants(policy, claims, decisions, year=year)
        results = engine_invariants(policy, runner, planned, year, python)
        summary = runner.summary() if stream else None
    finally:
        runner.close()
    return Outcome(tuple(notes), None if stream else decided, summary, results)


def engine_invariants(
    policy: Policy, runner: Any, planned: Planned, year: int | None, python: Any
) -> list[Any]:
    """The invariants over a compiled engine's decided claims (batch/invariants.py `evaluate`):
    the claim-set ones through aggregates pushed down to the engine, on 1 January of `year` or
    of the claims' most common year; `python` as for `evaluate`."""
    from policylang.evaluate.batch import invariants
    from policylang.evaluate.batch.settle import PushedCompiler, settlement_year

    program = policy.program
    if not program.invariants:
        return []
    claim_set = None
    if any(compiled.sql is None for compiled in planned.compiled):
        claim_set = invariants.claim_set_runner(
            program,
            PushedCompiler(program, runner),
            tables_of(policy),
            settlement_year(runner, year),
        )
    return invariants.evaluate(planned, runner._execute, program, claim_set, python)
