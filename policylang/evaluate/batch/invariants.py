"""Invariants in SQL over the batch engine's decided claims `d` (evaluate/invariants.py in SQL).

The interpreter evaluates an invariant on Python objects: one environment per claim for a
per-claim invariant, every pair of paid claims of a patient for a double-funding one. On a
national claim set that is most of the run (rules/ on 1M claims: 75 s, the decisions 6 s). Here
each invariant is one query over `d`, with the columns it reads kept from phase 1:

- per claim: `NOT holds OR fails` over the rows that could be typed; the expression compiled by
  the batch expression compiler, `decision.F` read from the decided columns;
- double funding: the paid claims of the listed titles (meeting `where`), joined with each
  other on the patient, within the allowed gap;
- over the claim set: the settlement runner's compiler with aggregates over `claims` pushed
  down (settle.py `PushedCompiler`); when one fails, the claims it counted are selected in SQL.

Every result is the interpreter's to the character: the same violations (details built in SQL
with the interpreter's wording), the same order (claim ids, then the detail), the same count.
An invariant this module cannot translate (a table lookup, an aggregate inside a per-claim
invariant, a failing claim-set bound whose aggregate compares a field with a variable) is left
to the interpreter, which evaluates it on the engine's decisions as before; `Planned.left` and
the command's stderr name it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from policylang import ir
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.expr import ExprCompiler, S, decided_col, truthy
from policylang.evaluate.batch.settle import (
    RULE,
    SqlFilter,
    claim_aggregates,
    claim_columns,
    shape,
)
from policylang.evaluate.batch.sqltext import date_text, quote
from policylang.evaluate.compile import Compiler
from policylang.evaluate.invariants import (
    MAX_VIOLATIONS,
    PAID,
    InvariantResult,
    Violation,
    check_invariants,
    kind_of,
)

BAD = "_bad"  # the row could not be typed: per-claim and double-funding invariants skip it
DECIDED = {  # `decision.F` -> (column of `d`, may be NULL)
    "status": ("status", False),
    "payable": ("payable", False),
    "title": ("title", True),
    "funding": ("funding", True),
}
PAID_SQL = "(" + ", ".join(quote(s) for s in PAID) + ")"


class DecidedExprCompiler(ExprCompiler):
    """The batch expression compiler over `d`: `decision.F` is the decided claim's field (its
    decision's value first, as evaluate/decided.py), a claim field the kept column."""

    def compile(self, expr: ir.Expr) -> S:
        if (
            isinstance(expr, ir.FieldOf)
            and isinstance(expr.target, ir.Var)
            and expr.target.name == "decision"
        ):
            return self._decided(expr.name)
        return super().compile(expr)

    def _decided(self, name: str) -> S:
        if name == "rule":
            return S(RULE, None, True)
        if name in DECIDED:
            column, nullable = DECIDED[name]
            return S(f'"{column}"', None, nullable)
        spec = self.program.claim_field(name)
        if spec is None:  # the interpreter's `values.get(name)`
            return S("NULL", None, True)
        return self.compile(ir.ClaimField(name, spec.type))


def _claim_fields(program: ir.Program, exprs: Sequence[ir.Expr | None]) -> set[str]:
    """The claim fields an expression reads (through definitions too); the day is the claim's
    start date, so a parameter reads `start_date`."""
    fields: set[str] = {"start_date"}
    seen: set[str] = set()
    todo = [e for e in exprs if e is not None]
    while todo:
        for node in ir.walk(todo.pop()):
            if isinstance(node, ir.ClaimField):
                fields.add(node.name)
            elif isinstance(node, ir.FieldOf) and isinstance(node.target, ir.Var):
                if node.target.name == "decision" and node.name not in (*DECIDED, "rule"):
                    fields.add(node.name)
            elif isinstance(node, ir.DefineRef) and node.name not in seen:
                seen.add(node.name)
                todo.append(program.defines[node.name].expr)
    return {f for f in fields if program.claim_field(f) is not None}


@attrs.frozen
class Compiled:
    name: str
    kind: str
    sql: str | None  # the violations (claim ids `a`, `b`, `detail`); None: over the claim set


@attrs.frozen
class Planned:
    """The invariants of a program, each compiled to SQL or left to the interpreter."""

    compiled: tuple[Compiled, ...]
    left: dict[str, str]  # name -> what keeps it from SQL: the interpreter evaluates these
    keep: dict[str, str]  # columns of `d` the queries read (BatchEngine.run `keep`)

    @property
    def all_in_sql(self) -> bool:
        return not self.left


def plan(program: ir.Program, tables: Sequence[str] = ()) -> Planned:
    """Compile every invariant (`tables`: the names of the tables the engine registered)."""
    relations = {name: f"tbl_{name}" for name in tables}
    compiled, left = [], {}
    fields: set[str] = set()
    shapes = []
    for spec in program.invariants.values():
        kind = kind_of(spec)
        try:
            if kind == "claim set":
                shapes += [(a, shape(a, program)) for a in claim_aggregates([spec.expr])]
                compiled.append(Compiled(spec.name, kind, None))
                continue
            if kind == "per claim":
                sql = _per_claim(program, relations, spec)
                fields |= _claim_fields(program, [spec.expr])
            else:
                assert spec.double_funding is not None
                sql = _double_funding(program, relations, spec.double_funding)
                fields |= _claim_fields(program, [spec.double_funding.where])
        except UnsupportedInBatch as error:
            left[spec.name] = f"the invariant `{spec.name}` ({'; '.join(error.constructs)})"
            continue
        compiled.append(Compiled(spec.name, kind, sql))
    keep = {f"f_{name}": decided_col(name) for name in sorted(fields)}
    if fields:
        keep[BAD] = "(_problems <> '')"
    if any(c.sql is None for c in compiled):
        keep |= claim_columns(program, shapes)
    return Planned(tuple(compiled), left, keep)


def _compile(program: ir.Program, tables: dict[str, str], expr: ir.Expr) -> S:
    compiler = DecidedExprCompiler(program, tables)
    compiled = compiler.compile(expr)
    if compiler.unsupported:
        raise UnsupportedInBatch(compiler.unsupported)
    if compiler.lookups:
        raise UnsupportedInBatch(["a table lookup"])
    return compiled


def _message(error: str) -> str:
    """The message of a failure's reason (JSON text): EvaluationError.message."""
    return f"json_extract_string({error}, '$.message')"


def _per_claim(program: ir.Program, tables: dict[str, str], spec: ir.InvariantSpec) -> str:
    """evaluate/invariants.py `_per_claim`: a violation per typed claim for which the
    expression is false or cannot be evaluated."""
    s = _compile(program, tables, spec.expr)
    false = (
        "'claim ' || _cid || ' (' || status || coalesce(', title ' || title, '') || "
        f"', payable EUR ' || CAST(payable AS VARCHAR) || '): ' || {quote(f'`{spec.text}` is false')}"
    )
    if s.e is None:
        return f"SELECT _cid AS a, NULL AS b, {false} AS detail FROM d WHERE NOT {BAD} AND NOT {truthy(s)}"
    return (
        f"SELECT _cid AS a, NULL AS b, (CASE WHEN _e IS NOT NULL THEN 'cannot be evaluated: ' || "
        f"{_message('_e')} ELSE {false} END) AS detail FROM (SELECT *, {s.e} AS _e, {truthy(s)} "
        f"AS _h FROM d WHERE NOT {BAD}) WHERE _e IS NOT NULL OR NOT _h"
    )


def _double_funding(program: ir.Program, tables: dict[str, str], pair: ir.DoubleFunding) -> str:
    """evaluate/invariants.py `_double_funding`: every pair of paid claims of one patient,
    one funded by a title of `first` and the other by one of `second`, at most `days` apart;
    a claim whose `where` cannot be evaluated is a violation of its own."""
    first = ", ".join(quote(t) for t in sorted(pair.first))
    second = ", ".join(quote(t) for t in sorted(pair.second))
    wanted = ", ".join(quote(t) for t in sorted({*pair.first, *pair.second}))
    where_e, where_v = "NULL", "TRUE"
    if pair.where is not None:
        s = _compile(program, tables, pair.where)
        where_e, where_v = s.e or "NULL", truthy(s)
    paid = (
        f"SELECT _row, _cid, patient, sd, ed, title, {where_e} AS _e, {where_v} AS _w FROM d "
        f"WHERE NOT {BAD} AND status IN {PAID_SQL} AND title IN ({wanted}) AND NOT _credit"
    )
    failed = (
        "SELECT _cid AS a, NULL AS b, 'cannot be evaluated: ' || "
        f"{_message('_e')} AS detail FROM p WHERE _e IS NOT NULL"
    )
    q = "(SELECT * FROM p WHERE _e IS NULL AND _w)"
    pairs = (
        f"SELECT x._cid AS xc, y._cid AS yc, x.title AS xt, y.title AS yt, x.sd AS xs, "
        f"y.sd AS ys, x.patient AS pt FROM {q} AS x JOIN {q} AS y "
        "ON x.patient IS NOT DISTINCT FROM y.patient AND x._row < y._row "
        f"WHERE ((x.title IN ({first}) AND y.title IN ({second})) OR "
        f"(y.title IN ({first}) AND x.title IN ({second}))) AND "
        f"date_diff('day', least(x.ed, y.ed), greatest(x.sd, y.sd)) <= {pair.days}"
    )
    # the claim with the smaller id is named first, as the interpreter swaps them
    swap = "xc > yc"

    def pick(x: str, y: str) -> str:
        return f"(CASE WHEN {swap} THEN {y} ELSE {x} END)"

    a, b = pick("xc", "yc"), pick("yc", "xc")
    when = (
        f"(CASE WHEN xs = ys THEN 'on ' || {date_text('xs')} ELSE 'on ' || "
        f"{date_text(pick('xs', 'ys'))} || ' and ' || {date_text(pick('ys', 'xs'))} END)"
    )
    detail = (
        "'patient ' || coalesce(CAST(pt AS VARCHAR), 'None') || ': claim ' || "
        f"{a} || ' is funded by `' || {pick('xt', 'yt')} || '` and claim ' || {b} || "
        f"' by `' || {pick('yt', 'xt')} || '` ' || {when}"
    )
    return (
        f"WITH p AS ({paid}) {failed} UNION ALL "
        f"SELECT {a} AS a, {b} AS b, {detail} AS detail FROM ({pairs})"
    )


def violations(execute: Callable[[str], Any], sql: str) -> tuple[list[Violation], int]:
    """The first MAX_VIOLATIONS violations in the interpreter's order (claim ids as a tuple:
    a single id before the pairs that start with it), and their count."""
    rows = execute(
        f"SELECT a, b, detail, count(*) OVER () FROM ({sql}) "
        f"ORDER BY a, b NULLS FIRST, detail LIMIT {MAX_VIOLATIONS}"
    ).fetchall()
    found = [Violation((a,) if b is None else (a, b), detail) for a, b, detail, _ in rows]
    return found, (rows[0][3] if rows else 0)


def counted(execute: Callable[[str], Any], program: ir.Program, expr: ir.Expr) -> tuple[str, ...]:
    """evaluate/invariants.py `_counted` in SQL: the ids of the claims an aggregate over
    `claims` counts (its filter reads the `c_` columns settle.py keeps)."""
    if not isinstance(expr, ir.Aggregate) or expr.source != "claims":
        return ()
    found = shape(expr, program)
    sql = SqlFilter(program, expr.var)
    tests = [sql.truth(found.filter)] if found.filter is not None else []
    for name, value in found.keys:
        if not isinstance(value, ir.Const):  # a party's value: no party over the claim set
            raise UnsupportedInBatch([f"the claims counted where `{name}` equals a variable"])
        tests.append(f"({sql.column(name)} IS NOT DISTINCT FROM {sql.value(value)})")
    where = " AND ".join(tests) or "TRUE"
    # the interpreter names a claim by str() of its typed claim_id: None for an empty one
    rows = execute(f"SELECT coalesce(_dup, 'None') AS id FROM d WHERE {where} ORDER BY id")
    return tuple(str(row[0]) for row in rows.fetchall())


def claim_set_runner(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, Any],
    year: int | None,
    lines: list[dict[str, Any]] | None = None,
    ran: set[str] | None = None,
) -> Callable[[str], InvariantResult | None]:
    """`claim_set` for `evaluate`: one claim-set invariant by the interpreter's code with
    `compiler` (settle.py `PushedCompiler`: its aggregates over claims are grouped queries), on
    1 January of `year`; None when it reads settlement `lines` that did not run."""

    def run(name: str) -> InvariantResult | None:
        found = check_invariants(
            program, compiler, tables, [], [], year, only=[name], lines=lines, ran=ran
        )
        return found[0] if found else None

    return run


def evaluate(
    planned: Planned,
    execute: Callable[[str], Any],
    program: ir.Program,
    claim_set: Callable[[str], InvariantResult | None] | None,
    python: Callable[[dict[str, str]], list[InvariantResult]] | None,
) -> list[InvariantResult]:
    """Every invariant's result, in declaration order. `claim_set(name)` evaluates a claim-set
    invariant (claim_set_runner; needed when the plan has one) and the claims it counted are
    filled in here; `python({name: why})` those left to the interpreter, or None where there
    are no decisions in Python: then UnsupportedInBatch names them."""
    results: dict[str, InvariantResult] = {}
    fallback = dict(planned.left)
    for compiled in planned.compiled:
        spec = program.invariants[compiled.name]
        if compiled.sql is not None:
            found, count = violations(execute, compiled.sql)
            results[spec.name] = InvariantResult(
                spec.name,
                spec.description,
                compiled.kind,
                not count,
                tuple(found),
                count,
                spec.citation,
            )
            continue
        assert claim_set is not None, "a claim-set invariant needs claim_set"
        try:
            result = claim_set(spec.name)
            if result is not None and not result.holds:
                result = _with_witnesses(execute, program, spec, result)
        except UnsupportedInBatch as error:
            fallback[spec.name] = f"the invariant `{spec.name}` ({'; '.join(error.constructs)})"
            continue
        if result is not None:
            results[spec.name] = result
    if fallback:
        if python is None:
            raise UnsupportedInBatch(list(fallback.values()))
        for result in python(fallback):
            results[result.name] = result
    return [results[name] for name in program.invariants if name in results]


def _with_witnesses(
    execute: Callable[[str], Any],
    program: ir.Program,
    spec: ir.InvariantSpec,
    result: InvariantResult,
) -> InvariantResult:
    """A failed bound `A op B` names the claims counted by A, else by B (`_claim_set`); a
    bound that could not be evaluated names none."""
    (only,) = result.violations
    if not isinstance(spec.expr, ir.Compare) or only.detail.startswith("cannot be evaluated: "):
        return result
    witnesses = counted(execute, program, spec.expr.left) or counted(
        execute, program, spec.expr.right
    )
    return attrs.evolve(result, violations=(attrs.evolve(only, claims=witnesses),))


def python_invariants(
    policy: Any, claims: Any, decisions: Callable[[], Sequence[Any]], **kw: Any
) -> Callable[[dict[str, str]], list[InvariantResult]]:
    """The interpreter's evaluation of some invariants, on the engine's decisions (fetched from
    the engine only when one is left to the interpreter)."""
    from policylang.evaluate.batch.select import tables_of

    def run(names: dict[str, str]) -> list[InvariantResult]:
        rows = list(policy.typed_claims(claims))
        return check_invariants(
            policy.program,
            policy.interpreter.compiler,
            tables_of(policy),
            rows,
            decisions(),
            only=list(names),
            **kw,
        )

    return run
