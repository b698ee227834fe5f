"""The Python API: load a policy once, then check claims with it.

    import policylang
    policy = policylang.load("rules/")
    decisions = policy.check("examples/claims.csv")

No command-line or terminal libraries are imported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from policylang import ir
from policylang.check import check as check_program
from policylang.decision import Decision, Summary
from policylang.errors import Diagnostic, InputError, PolicyError
from policylang.evaluate.compile import Compiler
from policylang.evaluate.gcpause import gc_paused
from policylang.evaluate.interpreter import Interpreter, TraceStep
from policylang.evaluate.invariants import InvariantResult
from policylang.evaluate.settle import Settlement, missing_table, settle
from policylang.evaluate.tables import validate_table
from policylang.io.claims import (
    ClaimRow,
    ClaimTyper,
    RawClaims,
    cell_text,
    read_claims,
    read_mappings,
)
from policylang.io.raw import RawClaim
from policylang.io.tables import Table, load_table, type_rows
from policylang.loader import LoadedFile, load_files
from policylang.syntax.nodes import Import
from policylang.syntax.parser import parse

ClaimsInput = str | os.PathLike[str] | Iterable[Mapping[str, Any]] | Any


@attrs.frozen
class Explanation:
    decision: Decision
    steps: tuple[TraceStep, ...]
    claim: dict[str, Any]


class Policy:
    """A checked policy: the program, its warnings, and the reference tables it was given."""

    def __init__(self, program: ir.Program, warnings: list[Diagnostic]) -> None:
        self.program = program
        self.warnings = warnings
        self._tables: dict[str, Table] = {}
        self._interpreter: Interpreter | None = None
        self.typer = ClaimTyper(program)

    # ------------------------------------------------------------ reference tables
    def with_tables(self, tables: Mapping[str, str | os.PathLike[str] | Table]) -> Policy:
        """A copy of this policy with reference tables loaded (a path or already-typed rows)."""
        other = Policy(self.program, self.warnings)
        other._tables = dict(self._tables)
        for name, source in tables.items():
            spec = self.program.tables.get(name)
            if spec is None:
                known = ", ".join(self.program.tables) or "none"
                raise InputError.single(
                    "E0607", f"the rule files declare no table `{name}`", help=f"tables: {known}"
                )
            if isinstance(source, dict):
                rows, origin = source, "given rows"
            else:
                rows, origin = load_table(spec, source, self.program.enums), str(source)
            problems = validate_table(self.program, Compiler(self.program), name, rows, origin)
            if problems:
                raise InputError(problems)
            other._tables[name] = rows
        return other

    def table_rows(self, name: str, rows: Iterable[Mapping[str, Any]]) -> Table:
        spec = self.program.tables[name]
        raw = [(i, {k: cell_text(v) for k, v in row.items()}) for i, row in enumerate(rows, 1)]
        return type_rows(spec, raw, self.program.enums, "given rows")

    @property
    def interpreter(self) -> Interpreter:
        if self._interpreter is None:
            self._load_reference_tables()
            self._interpreter = Interpreter(self.program, self._tables)
        return self._interpreter

    def _load_reference_tables(self) -> None:
        """Tables declared `from reference "..."` use the bundled rows unless a file was given."""
        from policylang.data.nza import reference_table_path

        for name, spec in self.program.tables.items():
            if spec.reference is not None and name not in self._tables:
                path = reference_table_path(spec.reference)
                self._tables[name] = load_table(spec, path, self.program.enums)

    # ------------------------------------------------------------ claims
    def raw_claims(self, claims: ClaimsInput) -> Iterator[RawClaim]:
        if isinstance(claims, RawClaims):
            return iter(claims)
        if isinstance(claims, str | os.PathLike):
            return read_claims(Path(claims))
        return read_mappings(_mappings(claims))

    def typed_claims(self, claims: ClaimsInput) -> Iterator[ClaimRow]:
        typer = self.typer
        if isinstance(claims, RawClaims | str | os.PathLike):
            return (typer.type(raw) for raw in self.raw_claims(claims))
        return typer.type_mappings(_mappings(claims))  # no RawClaim per row: typed directly

    def check(
        self,
        claims: ClaimsInput,
        progress: Callable[[int], None] | None = None,
        engine: str = "interpret",
    ) -> list[Decision]:
        """One decision per claim, in input order. `progress(n)` is called as claims are read.
        `engine`: interpret (the reference), batch (DuckDB), spark (a local pyspark session)
        or auto (docs/architecture.md, "Batch engine"); progress is reported by the interpreter
        only."""
        if engine == "spark":
            from policylang.evaluate.batch.select import tables_of
            from policylang.evaluate.spark import check_spark

            return check_spark(self.program, tables_of(self), claims)
        if engine != "interpret":
            from policylang.evaluate.batch.select import check as check_with

            return check_with(self, claims, engine)
        typed = self.typed_claims(claims)
        if progress is not None:
            typed = _reporting(typed, progress)
        _, decisions = self.interpreter.evaluate(typed)
        return decisions

    def settle(
        self,
        claims: ClaimsInput,
        year: int | None = None,
        only: Iterable[str] | None = None,
        engine: str = "interpret",
    ) -> Settlement:
        """Decide every claim, then run the settlements (all, or those named in `only`) and
        every check over the claim set. `engine`: interpret, batch (DuckDB: the aggregates over
        the claims pushed down) or auto (docs/architecture.md, "Batch engine")."""
        selected = self.settlements_to_run(only)
        if engine != "interpret":
            from policylang.evaluate.batch.settle import batch_settle

            settled = batch_settle(self, claims, year, selected, engine).settlement
            if settled is not None:
                return settled
        with gc_paused():  # the decided claims stay alive while the settlements run
            return self._settle(claims, year, selected)

    def settlements_to_run(self, only: Iterable[str] | None = None) -> list[str] | None:
        """The settlements `only` names (None: all), refused before any claim is decided when
        one is unknown (E0704) or its table was not given (E0608)."""
        selected = list(only) if only else None
        for name in selected or ():
            if name not in self.program.settlements:
                known = ", ".join(self.program.settlements) or "none"
                raise InputError.single(
                    "E0704", f"no settlement named `{name}`", help=f"settlements: {known}"
                )
        self.interpreter  # noqa: B018 - loads the bundled reference tables
        for spec in self.program.settlements.values():
            if (selected is None or spec.name in selected) and spec.table not in self._tables:
                raise missing_table(spec)
        return selected

    def _settle(self, claims: ClaimsInput, year: int | None, selected: list[str] | None) -> Any:
        interpreter = self.interpreter
        rows, decisions = interpreter.evaluate(self.typed_claims(claims))
        result = settle(
            self.program, interpreter.compiler, self._tables, rows, decisions, year, selected
        )
        if not self.program.invariants:
            return result
        from policylang.evaluate.invariants import check_invariants

        invariants = check_invariants(
            self.program,
            interpreter.compiler,
            self._tables,
            rows,
            decisions,
            result.year,
            lines=result.line_rows(),
            ran=set(result.ran),
        )
        return attrs.evolve(result, invariants=tuple(invariants))

    def check_invariants(
        self, claims: ClaimsInput, year: int | None = None, engine: str = "interpret"
    ) -> tuple[list[Decision], list[InvariantResult]]:
        """One decision per claim, and every invariant of the rule files evaluated on them
        (docs/invariants.md). `engine`: interpret, batch (DuckDB: decisions and invariants in
        SQL), spark (the same SQL on a local Spark session) or auto, as for `check`."""
        from policylang.evaluate.invariants import check_invariants

        if engine == "spark":
            from policylang.evaluate.spark.command import spark_check

            found = spark_check(self, claims, "json", None, year)
            assert found.decisions is not None
            return found.decisions, list(found.invariants)
        if engine != "interpret":
            from policylang.evaluate.batch.command import batch_check

            outcome = batch_check(self, claims, engine, "json", None, year)
            if not outcome.interpret:
                assert outcome.decisions is not None
                return outcome.decisions, list(outcome.invariants)

        interpreter = self.interpreter
        with gc_paused():
            rows, decisions = interpreter.evaluate(self.typed_claims(claims))
            results = check_invariants(
                self.program, interpreter.compiler, self._tables, rows, decisions, year
            )
        return decisions, results

    def compare_modes(self, today: ClaimsInput, split: ClaimsInput) -> Any:
        """Network care settled both ways (docs/splitting.md): `today` holds the main treater's
        whole-DBC claims, `split` each hospital's part claims; a `ModeComparison`."""
        from policylang.evaluate.splits import compare_modes

        today_rows, today_decisions = self.interpreter.evaluate(self.typed_claims(today))
        split_rows, split_decisions = self.interpreter.evaluate(self.typed_claims(split))
        return compare_modes(self.program, today_rows, today_decisions, split_rows, split_decisions)

    def summary(self, decisions: Iterable[Decision]) -> Summary:
        return Summary.of(decisions)

    def explain(self, claims: ClaimsInput, claim_id: str) -> Explanation:
        """The decision for one claim, with every step that led to it."""
        rows = list(self.typed_claims(claims))
        index = next((i for i, r in enumerate(rows) if r.claim_id == claim_id), None)
        if index is None:
            raise InputError.single("E0805", f"no claim with claim_id `{claim_id}`")
        steps: list[TraceStep] = []
        _, decisions = self.interpreter.evaluate(rows, index, steps)
        return Explanation(decisions[index], tuple(steps), rows[index].values)


def _mappings(claims: Any) -> Iterable[Mapping[str, Any]]:
    if hasattr(claims, "to_dicts"):  # a polars DataFrame
        return claims.to_dicts()  # type: ignore[no-any-return]
    if hasattr(claims, "to_dict") and hasattr(claims, "columns"):  # a pandas DataFrame
        return claims.to_dict("records")  # type: ignore[no-any-return]
    return claims  # type: ignore[no-any-return]


def _reporting(rows: Iterator[ClaimRow], progress: Callable[[int], None]) -> Iterator[ClaimRow]:
    count = 0
    for count, row in enumerate(rows, start=1):
        if count % 10_000 == 0:
            progress(count)
        yield row
    progress(count)


def load(*paths: str | os.PathLike[str]) -> Policy:
    """Load and check rule files and directories; PolicyError if anything is wrong."""
    program, warnings = check_program(load_files(paths))
    return Policy(program, warnings)


def loads(text: str, name: str = "<string>.policy") -> Policy:
    """Load a policy from the text of one rule file (imports need files: use `load`)."""
    module = parse(text, name)
    for item in module.items:
        if isinstance(item, Import):
            raise PolicyError.single(
                "E0211",
                "a policy loaded from text cannot import files",
                item.span,
                "write the rule files to disk and use policylang.load(path)",
            )
    return Policy(*check_program([LoadedFile(Path(name), name, module, ())]))
