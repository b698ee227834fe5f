"""AST -> checked Program: the check stages, in order.

Each stage is a function of the shared CheckState. `check(files, stop_after=...)` runs a prefix,
which tests use to look at one stage's diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable

from policylang import ir
from policylang.check.declarations import (
    collect_names,
    declare_definitions,
    declare_parameters,
    declare_table_requirements,
    declare_types,
)
from policylang.check.depth import definition_depth_problems
from policylang.check.splits import declare_splits
from policylang.check.state import CheckState
from policylang.check.titles import (
    declare_rules,
    declare_settlements,
    declare_tests,
    declare_titles,
)
from policylang.errors import Diagnostic, PolicyCheckError
from policylang.loader import LoadedFile

STAGES: tuple[tuple[str, Callable[[CheckState], None]], ...] = (
    ("names", collect_names),
    ("types", declare_types),
    ("parameters", declare_parameters),
    ("table requirements", declare_table_requirements),
    ("definitions", declare_definitions),
    ("titles", declare_titles),
    ("rules", declare_rules),
    ("settlements", declare_settlements),
    ("splits", declare_splits),
    ("tests", declare_tests),
)


def check(
    files: list[LoadedFile], stop_after: str | None = None
) -> tuple[ir.Program, list[Diagnostic]]:
    """The checked program and its warnings; PolicyCheckError if anything is wrong."""
    too_deep = definition_depth_problems(files)
    if too_deep:  # before any stage: they follow definitions recursively
        raise PolicyCheckError(too_deep)
    state = CheckState(files)
    for name, stage in STAGES:
        stage(state)
        if name == stop_after:
            break
    errors = [d for d in state.diagnostics if d.severity == "error"]
    if errors:
        raise PolicyCheckError(state.diagnostics)
    warnings = [d for d in state.diagnostics if d.severity == "warning"]
    header = next((f.module.header for f in files if f.module.header is not None), None)
    program = ir.Program(
        name=header.title if header else (files[0].display if files else "policy"),
        citations=tuple(
            c.text for f in files if f.module.header for c in f.module.header.meta.citations
        ),
        files=tuple(f.display for f in files),
        claim_fields=tuple(state.env.claim_fields.values()),
        enums=dict(state.env.enums),
        tables=dict(state.env.tables),
        params=dict(state.env.params),
        defines=dict(state.defines),
        titles=dict(state.titles),
        rules=dict(state.rules),
        settlements=dict(state.settlements),
        checks=dict(state.checks),
        invariants=dict(state.invariants),
        tests=tuple(state.tests),
        splits=dict(state.splits),
    )
    return program, warnings
