"""Invariants at run time: evaluate what the rule files promise on the decided claims.

Three kinds (docs/invariants.md):
- per claim: an expression that uses `claim.FIELD` or `decision.FIELD`, evaluated for every claim
  whose row could be read (status other than an input error), on the claim's own date;
- over the claim set: an expression without `claim`, evaluated once with the decided claims
  visible to aggregates (`c.status`, `c.payable`, `c.title`, `c.funding`), on 1 January of the
  settlement year;
- double funding: `no patient funded by both A and B <scope> [where E]`, checked over every pair
  of paid claims of the same patient.

A violation names the claims involved, so `policylang check` and `settle` can show them and
`policylang verify` can shrink a counterexample to the claims that matter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import attrs

from policylang import ir
from policylang.decision import Decision
from policylang.errors import EvaluationError
from policylang.evaluate.compile import Compiler, Env
from policylang.evaluate.exact import exact_decimals
from policylang.evaluate.settle import decided_claims, settlement_year, settlements_read
from policylang.io.claims import ClaimRow

PAID = ("accepted", "adjusted")
MAX_VIOLATIONS = 50  # per invariant; the count is always exact


@attrs.frozen
class Violation:
    claims: tuple[str, ...]  # claim ids involved, sorted
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"claims": list(self.claims), "detail": self.detail}


@attrs.frozen
class InvariantResult:
    name: str
    description: str
    kind: str  # "per claim", "claim set", "double funding"
    holds: bool
    violations: tuple[Violation, ...]
    count: int  # number of violations, also those left out of `violations`
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "holds": self.holds,
            "count": self.count,
            "violations": [v.to_json() for v in self.violations],
            "source": self.source,
        }


def kind_of(spec: ir.InvariantSpec) -> str:
    if spec.double_funding is not None:
        return "double funding"
    if spec.per_claim or uses_decision(spec.expr):
        return "per claim"
    return "claim set"


def _reads_lines(expr: ir.Expr) -> bool:
    return any(isinstance(e, ir.Aggregate) and e.source == "lines" for e in ir.walk(expr))


def uses_decision(expr: ir.Expr) -> bool:
    return any(isinstance(e, ir.Var) and e.name == "decision" for e in ir.walk(expr))


@exact_decimals
def check_invariants(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    rows: Sequence[ClaimRow],
    decisions: Sequence[Decision],
    year: int | None = None,
    only: Sequence[str] | None = None,
    lines: list[dict[str, Any]] | None = None,
    ran: set[str] | None = None,
) -> list[InvariantResult]:
    """Every invariant (or those named in `only`), in declaration order.

    An invariant over settlement `lines` is evaluated by `settle` only (`lines` given), and only
    when the settlements it reads have run."""
    claims = decided_claims(rows, decisions)
    results = []
    for spec in program.invariants.values():
        if only is not None and spec.name not in only:
            continue
        if _reads_lines(spec.expr) and (
            lines is None or not settlements_read(spec.expr) <= (ran or set())
        ):
            continue
        kind = kind_of(spec)
        if kind == "double funding":
            found = _double_funding(program, compiler, tables, rows, claims, spec)
        elif kind == "per claim":
            found = _per_claim(program, compiler, tables, rows, claims, spec)
        else:
            found = _claim_set(program, compiler, tables, rows, claims, spec, year, lines or [])
        found.sort(key=lambda v: (v.claims, v.detail))
        results.append(
            InvariantResult(
                spec.name,
                spec.description,
                kind,
                not found,
                tuple(found[:MAX_VIOLATIONS]),
                len(found),
                spec.citation,
            )
        )
    return results


def _claim_env(
    program: ir.Program,
    tables: dict[str, dict[Any, dict[str, Any]]],
    row: ClaimRow,
    decided: dict[str, Any],
    claims: list[dict[str, Any]],
) -> Env:
    env = Env(program, tables, row.values.get("start_date"), row.values, claims)
    env.locals["decision"] = decided
    return env


def _per_claim(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    rows: Sequence[ClaimRow],
    claims: list[dict[str, Any]],
    spec: ir.InvariantSpec,
) -> list[Violation]:
    fn = compiler.compile(spec.expr)
    found = []
    for row, decided in zip(rows, claims, strict=True):
        if row.problems:
            continue
        try:
            holds = bool(fn(_claim_env(program, tables, row, decided, claims)))
        except EvaluationError as error:
            found.append(Violation((row.claim_id,), f"cannot be evaluated: {error.message}"))
            continue
        if not holds:
            found.append(
                Violation(
                    (row.claim_id,),
                    f"claim {row.claim_id} ({_describe(decided)}): `{spec.text}` is false",
                )
            )
    return found


def _describe(decided: dict[str, Any]) -> str:
    parts = [str(decided["status"])]
    if decided.get("title"):
        parts.append(f"title {decided['title']}")
    if decided.get("payable") is not None:
        parts.append(f"payable EUR {decided['payable']:.2f}")
    return ", ".join(parts)


def _claim_set(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    rows: Sequence[ClaimRow],
    claims: list[dict[str, Any]],
    spec: ir.InvariantSpec,
    year: int | None,
    lines: list[dict[str, Any]],
) -> list[Violation]:
    settled = settlement_year(rows, year)
    day = dt.date(settled, 1, 1) if settled is not None else None
    env = Env(program, tables, day, None, claims)
    env.lines = lines
    try:
        if bool(compiler.compile(spec.expr)(env)):
            return []
    except EvaluationError as error:
        return [Violation((), f"cannot be evaluated: {error.message}")]
    detail = f"`{spec.text}` is false"
    witnesses: tuple[str, ...] = ()
    if isinstance(spec.expr, ir.Compare):
        left = compiler.compile(spec.expr.left)(env)
        right = compiler.compile(spec.expr.right)(env)
        detail = f"{_show(left)} {spec.expr.op} {_show(right)} is false"
        witnesses = _counted(compiler, env, spec.expr.left) or _counted(
            compiler, env, spec.expr.right
        )
    return [Violation(witnesses, detail)]


def _counted(compiler: Compiler, env: Env, expr: ir.Expr) -> tuple[str, ...]:
    """For `count(c in claims where P)` / `sum(... for c in claims where P)`: the claims
    counted, which are the ones to look at when a bound on the count fails."""
    if not isinstance(expr, ir.Aggregate) or expr.source != "claims":
        return ()
    where = compiler.compile(expr.where) if expr.where is not None else None
    ids = []
    saved = env.locals.get(expr.var)
    try:
        for claim in env.claims:
            env.locals[expr.var] = claim
            if where is None or where(env):
                ids.append(str(claim.get("claim_id")))
    finally:
        env.locals[expr.var] = saved
    return tuple(sorted(ids))


def _show(value: Any) -> str:
    return f"{value:f}" if hasattr(value, "quantize") else str(value)


def _double_funding(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    rows: Sequence[ClaimRow],
    claims: list[dict[str, Any]],
    spec: ir.InvariantSpec,
) -> list[Violation]:
    pair = spec.double_funding
    assert pair is not None
    where = compiler.compile(pair.where) if pair.where is not None else None
    first, second = frozenset(pair.first), frozenset(pair.second)
    wanted = first | second
    by_patient: dict[Any, list[int]] = defaultdict(list)
    problems: list[Violation] = []
    for index, (row, decided) in enumerate(zip(rows, claims, strict=True)):
        if row.problems or decided["status"] not in PAID or decided["title"] not in wanted:
            continue
        if row.values.get("credit"):
            continue  # a credit takes money back: it funds nothing (evaluate/credits.py)
        if where is not None:
            try:
                if not where(_claim_env(program, tables, row, decided, claims)):
                    continue
            except EvaluationError as error:
                problems.append(Violation((row.claim_id,), f"cannot be evaluated: {error.message}"))
                continue
        by_patient[row.values["patient"]].append(index)
    found = problems
    for patient, indexes in by_patient.items():
        for n, i in enumerate(indexes):
            for j in indexes[n + 1 :]:
                a, b = claims[i], claims[j]
                if not (
                    (a["title"] in first and b["title"] in second)
                    or (b["title"] in first and a["title"] in second)
                ):
                    continue
                a_end = a.get("end_date") or a["start_date"]
                b_end = b.get("end_date") or b["start_date"]
                gap = (max(a["start_date"], b["start_date"]) - min(a_end, b_end)).days
                if gap > pair.days:
                    continue
                # the smaller claim id first (new names: `i` is the outer loop's)
                first_id, second_id = rows[i].claim_id, rows[j].claim_id
                if first_id > second_id:
                    a, b, first_id, second_id = b, a, second_id, first_id
                when = (
                    f"on {a['start_date'].isoformat()}"
                    if a["start_date"] == b["start_date"]
                    else f"on {a['start_date'].isoformat()} and {b['start_date'].isoformat()}"
                )
                found.append(
                    Violation(
                        (first_id, second_id),
                        f"patient {patient}: claim {first_id} is funded by "
                        f"`{a['title']}` and claim {second_id} by `{b['title']}` {when}",
                    )
                )
    return found
