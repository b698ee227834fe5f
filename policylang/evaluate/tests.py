"""Run the in-file `test` blocks of a program (`policylang test`)."""

from __future__ import annotations

from typing import Any

import attrs

from policylang import ir
from policylang.decision import format_money
from policylang.errors import EvaluationError
from policylang.evaluate.compile import Env
from policylang.evaluate.decided import decided_claims
from policylang.evaluate.exact import exact_decimals
from policylang.evaluate.interpreter import Interpreter
from policylang.io.claims import ClaimRow
from policylang.io.raw import RowProblem
from policylang.source import Span


@attrs.frozen
class TestResult:
    name: str
    passed: bool
    failures: tuple[str, ...]
    span: Span


def _claim_row(program: ir.Program, number: int, given: dict[str, Any]) -> ClaimRow:
    values: dict[str, Any] = {}
    problems: list[RowProblem] = []
    for field in program.claim_fields:
        value = given.get(field.name)
        if value is None:
            if field.has_default:
                value = field.default
            elif not field.optional:
                problems.append(RowProblem(field.name, f"missing field `{field.name}`"))
        values[field.name] = value
    if values.get("end_date") is None:
        values["end_date"] = values.get("start_date")
    claim_id = str(given.get("claim_id") or f"row {number}")
    return ClaimRow(number, claim_id, values, tuple(problems))


_BUNDLED: dict[ir.TableSpec, dict[Any, Any]] = {}


def _bundled(spec: ir.TableSpec, program: ir.Program) -> dict[Any, Any]:
    """A bundled reference table (loaded once per process: tests share it read-only)."""
    if spec not in _BUNDLED:
        from policylang.data.nza import reference_table_path
        from policylang.io.tables import load_table

        _BUNDLED[spec] = load_table(spec, reference_table_path(spec.reference or ""), program.enums)
    return _BUNDLED[spec]


def run_test(program: ir.Program, test: ir.TestSpec) -> TestResult:
    """One test block; a value no type can hold (a date past 9999-12-31) fails the test with the
    reason, it does not stop the run."""
    try:
        return _run_test(program, test)
    except (ArithmeticError, ValueError) as error:  # OverflowError, decimal.InvalidOperation
        failure = f"evaluation failed: {error.__class__.__name__}: {error}"
        return TestResult(test.name, False, (failure,), test.span)


@exact_decimals
def _run_test(program: ir.Program, test: ir.TestSpec) -> TestResult:
    tables: dict[str, dict[Any, Any]] = {name: {} for name in program.tables}
    for name, row in test.rows:
        spec = program.tables[name]
        key = tuple(row.get(k) for k in spec.key)
        full = {f.name: row.get(f.name, f.default) for f in spec.fields}
        if spec.valid_from is not None:
            tables[name].setdefault(key[0] if len(key) == 1 else key, []).append(full)
        else:
            tables[name][key[0] if len(key) == 1 else key] = full
    given = {name for name, _ in test.rows}
    for name, spec in program.tables.items():
        if spec.reference is not None and name not in given:
            tables[name] = _bundled(spec, program)
    claims = [_claim_row(program, i, c) for i, c in enumerate(test.claims, start=1)]
    interpreter = Interpreter(program, tables)
    _, decisions = interpreter.evaluate(claims)
    by_id = {d.claim_id: d for d in decisions}
    failures: list[str] = []
    for want in test.claim_expectations:
        got = by_id.get(want.claim_id)
        if got is None:
            failures.append(f"claim {want.claim_id}: no such claim in the test")
            continue
        reasons = [r.message for r in got.reasons]
        if got.status != want.status:
            failures.append(
                f"claim {want.claim_id}: expected {want.status}, got {got.status} "
                f"({'; '.join(reasons)})"
            )
        if want.payable is not None and got.payable != want.payable:
            failures.append(
                f"claim {want.claim_id}: expected payable EUR {format_money(want.payable)}, "
                f"got EUR {format_money(got.payable)}"
            )
        if want.title is not None and got.title != want.title:
            failures.append(
                f"claim {want.claim_id}: expected title `{want.title}`, got `{got.title}`"
            )
        for reason in want.reasons:
            if not any(reason in message for message in reasons):
                failures.append(
                    f"claim {want.claim_id}: no reason contains {reason!r}; reasons: "
                    + "; ".join(reasons)
                )
    first = claims[0] if claims else None
    compiler = interpreter.compiler
    for expr, text in test.value_expectations:
        env = Env(
            program,
            tables,
            first.values.get("start_date") if first else None,
            first.values if first else None,
            claims=decided_claims(claims, decisions),
        )
        try:
            held = compiler.compile(expr)(env)
        except EvaluationError as error:
            failures.append(f"`{text}`: {error.message}")
            continue
        except (ArithmeticError, ValueError) as error:  # a date past 9999-12-31, say
            failures.append(f"`{text}`: {error}")
            continue
        if held is not True:
            failures.append(f"`{text}` does not hold")
    return TestResult(test.name, not failures, tuple(failures), test.span)


def run_tests(program: ir.Program) -> list[TestResult]:
    return [run_test(program, test) for test in program.tests]
