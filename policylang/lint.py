"""`policylang lint`: findings about a policy that checks, but may not say what its author meant.

Each finding is a warning Diagnostic with a stable code (L0xx). The checks here are syntactic or
searched over the declared codes and periods; docs/lint.md says which is which.
"""

from __future__ import annotations

import datetime as dt
import itertools

from policylang import ir
from policylang.errors import Diagnostic


def _overlap(a: ir.TitleSpec, b: ir.TitleSpec) -> tuple[dt.date, dt.date | None] | None:
    """The first stretch of days on which both titles are valid, or None."""
    a_periods = a.validity or (ir.Period(dt.date.min, None, None),)
    b_periods = b.validity or (ir.Period(dt.date.min, None, None),)
    for pa, pb in itertools.product(a_periods, b_periods):
        start = max(pa.start, pb.start)
        ends = [e for e in (pa.end, pb.end) if e is not None]
        end = min(ends) if ends else None
        if end is None or start <= end:
            return start, end
    return None


def _shared_codes(a: ir.CodeMatcher, b: ir.CodeMatcher) -> list[str]:
    shared = sorted(c for c in a.codes if c in b) + sorted(c for c in b.codes if c in a)
    for low_a, high_a in a.ranges:
        for low_b, high_b in b.ranges:
            if len(low_a) == len(low_b) and max(low_a, low_b) <= min(high_a, high_b):
                shared.append(f"{max(low_a, low_b)}..{min(high_a, high_b)}")
    return sorted(set(shared))


def _referenced(program: ir.Program) -> set[str]:
    return {
        sub.name
        for expr in program.expressions()
        for sub in ir.walk(expr)
        if isinstance(sub, ir.ParamRef | ir.ParamAtYear | ir.ParamInPeriod | ir.DefineRef)
    }


def lint(program: ir.Program) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    titles = list(program.titles.values())
    for title in titles:
        if title.citation is None:
            findings.append(
                Diagnostic(
                    "L001",
                    f"payment title `{title.name}` cites no source",
                    title.span,
                    'add `source "FILE:LINE"` so every decision can be traced to the policy text',
                    severity="warning",
                )
            )
    for a, b in itertools.combinations(titles, 2):
        shared = _shared_codes(a.codes, b.codes)
        if not shared:
            continue
        overlap = _overlap(a, b)
        if overlap is None:
            continue
        if a.eligibility and b.eligibility:
            continue  # conditions may separate them; `policylang verify` searches for a claim
        start, end = overlap
        period = (
            f"from {start}" + (f" to {end}" if end else "") if start != dt.date.min else "always"
        )
        findings.append(
            Diagnostic(
                "L002",
                f"payment titles `{a.name}` and `{b.name}` can fund the same claim",
                b.span,
                "add an eligibility condition that separates them, or split the codes",
                (
                    f"shared codes: {', '.join(shared[:10])}",
                    f"both valid {period}",
                    f"`{a.name}` is declared at {a.span.location()}",
                ),
                severity="warning",
            )
        )
    used = _referenced(program)
    for name, param in program.params.items():
        if name not in used:
            findings.append(
                Diagnostic(
                    "L003", f"parameter `{name}` is never used", param.span, severity="warning"
                )
            )
    for name, define in program.defines.items():
        if name not in used:
            findings.append(
                Diagnostic(
                    "L003", f"definition `{name}` is never used", define.span, severity="warning"
                )
            )
    for rule in program.rules.values():
        if isinstance(rule.when, ir.Const) and rule.when.value is False:
            findings.append(
                Diagnostic(
                    "L004",
                    f"rule `{rule.name}` can never apply",
                    rule.span,
                    "its condition is `false`",
                    severity="warning",
                )
            )
    from policylang.analysis.overlap import analyse  # L005-L008, with the z3 solver

    findings += analyse(program)
    return sorted(findings, key=Diagnostic.sort_key)
