"""Evaluate a table's `require` lines on every row when the table is loaded."""

from __future__ import annotations

from typing import Any

from policylang import ir
from policylang.errors import Diagnostic, EvaluationError
from policylang.evaluate.compile import Compiler, Env


def validate_table(
    program: ir.Program, compiler: Compiler, name: str, rows: dict[Any, dict[str, Any]], origin: str
) -> list[Diagnostic]:
    spec = program.tables[name]
    if not spec.requirements:
        return []
    checks = [(r, compiler.compile(r.expr)) for r in spec.requirements]
    # A requirement may aggregate over its own table: shares summing to 1 per provider.
    env = Env(program, {name: rows})
    problems: list[Diagnostic] = []
    for number, row in enumerate(rows.values(), start=1):
        env.locals = dict(row)
        for requirement, fn in checks:
            try:
                held = fn(env)
            except EvaluationError as error:
                held, message = False, error.message
            else:
                message = requirement.message
            if not held:
                shown = ", ".join(f"{c} = {row.get(c)}" for c in requirement.columns)
                key = "/".join(str(row.get(k)) for k in spec.key)
                problems.append(
                    Diagnostic(
                        "E0609",
                        f"table `{name}` ({origin}) row {number} (key `{key}`): {message}",
                        help=shown or None,
                    )
                )
        if len(problems) >= 50:
            break
    return problems
