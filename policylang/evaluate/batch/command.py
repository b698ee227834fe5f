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


@attrs.frozen
class Outcome:
    notes: tuple[str, ...]  # for stderr: which engine decided, and why
    decisions: list[Decision] | None  # None when streamed to the output file
    summary: Summary | None
    invariants: list[Any]
    interpret: bool = False  # the caller runs the interpreter as usual


def batch_check(policy: Policy, claims: Any, engine: str, fmt: str, output: Path | None) -> Outcome:
    chosen, why = choose(policy, claims, engine)
    notes = [f"engine: {chosen} ({why})"]
    if chosen == "interpret":
        return Outcome(tuple(notes), None, None, [], interpret=True)
    try:
        from policylang.evaluate.batch.engine import BatchEngine

        return run_engine(
            BatchEngine(policy.program, tables_of(policy)), policy, claims, fmt, output, notes
        )
    except UnsupportedInBatch as error:
        if engine != "auto":
            raise
        notes.append(f"engine: interpret (auto fell back: {error})")
        return Outcome(tuple(notes), None, None, [], interpret=True)


def run_engine(
    runner: Any, policy: Policy, claims: Any, fmt: str, output: Path | None, notes: list[str]
) -> Outcome:
    """Decide with a compiled engine (batch or Spark); JSON Lines without invariants stream
    from the engine to the file, anything else comes back as decisions."""
    try:
        runner.run(claims)
        if fmt == "jsonl" and output is not None and not policy.program.invariants:
            runner.write_jsonl(output)
            return Outcome(tuple(notes), None, runner.summary(), [])
        decisions = runner.decisions()
    finally:
        runner.close()
    return _finish(policy, claims, notes, decisions)


def _finish(policy: Policy, claims: Any, notes: list[str], decisions: list[Decision]) -> Outcome:
    """Invariants read typed claims and decisions; they are evaluated by the interpreter's
    expression compiler on the batch engine's decisions."""
    invariants: list[Any] = []
    if policy.program.invariants:
        from policylang.evaluate.invariants import check_invariants

        rows = list(policy.typed_claims(claims))
        invariants = check_invariants(
            policy.program, policy.interpreter.compiler, tables_of(policy), rows, decisions, None
        )
    return Outcome(tuple(notes), decisions, None, invariants)
