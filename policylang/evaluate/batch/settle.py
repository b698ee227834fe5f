"""`settle --engine batch`: decide the claims on DuckDB, push the aggregates over them down.

The only part of a settlement whose cost grows with the claims is its aggregates over `claims`
(and the checks and claim-set invariants that read them). The batch engine decides every claim
into its table `d`; each aggregate over `claims` of a supported shape becomes one SQL query

    SELECT key..., count(*) | sum(value) FROM d WHERE row-only filter GROUP BY key...

run once, and the settlement runner (evaluate/settle.py, unchanged) reads the totals per party
through a compiler whose aggregates over `claims` are look-ups in those results. No Python object
per claim exists. The shape, that of the interpreter's index (compile.py `_split_where`):

- the `where` is conjuncts: `c.F == E` with `E` not reading the claim (the key: the first one
  may be any expression, as the interpreter evaluates it for every party; further ones must be
  reads that cannot fail), and conjuncts that read only the claim and cannot fail (equality,
  code sets, `and`/`or`/`not`), which become the SQL filter;
- the value is absent (`count`), `c.payable`, or an integer claim field.

Anything else raises UnsupportedInBatch naming the construct, before any claim is read where
possible: other filters or values, an invariant batch/invariants.py cannot put in SQL (settle
has no decisions in Python to evaluate it on), and at run time split claims or a summed field
that is empty for a claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from policylang import ir
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.expr import col, decided_col, in_codes
from policylang.evaluate.batch.sqltext import literal
from policylang.evaluate.compile import (
    Compiler,
    Env,
    Fn,
    _conjuncts,
    _reads_only,
    _split_where,
)
from policylang.evaluate.decided import FROM_DECISION
from policylang.evaluate.settle import Settlement, settle

if TYPE_CHECKING:
    from policylang.api import Policy
    from policylang.evaluate.batch.engine import BatchEngine
    from policylang.evaluate.batch.invariants import Planned

NUMERIC = ("money", "decimal", "integer", "percent")
YEAR = "_settle_year"
# the rule of a decision's first reason; NULL reasons: a paid claim whose one reason is its
# title's "funded as", whose rule is the title (plan.py `funded_reason`)
RULE = (
    "(CASE WHEN reasons IS NULL THEN title "
    "ELSE json_extract_string('[' || reasons || ']', '$[0].rule') END)"
)


@attrs.frozen
class Shape:
    """An aggregate over `claims` as a grouped query: key fields with the expressions their
    values are compared with (evaluated per party), the row filter, the summed field."""

    keys: tuple[tuple[str, ir.Expr], ...]
    filter: ir.Expr | None
    value: str | None  # None: count
    year_by: str | None = None  # `year by claim.FIELD`: only claims whose FIELD is in the period


def _what(expr: ir.Aggregate) -> str:
    return f"`{expr.function}` over claims"


def _safe_operand(expr: ir.Expr, var: str) -> bool:
    """An expression that reads no claim and cannot fail: constants, variables, their fields."""
    for node in ir.walk(expr):
        if isinstance(node, ir.Var):
            if node.name == var:
                return False
        elif not isinstance(node, ir.Const | ir.FieldOf | ir.ContextValue) or (
            isinstance(node, ir.FieldOf) and not isinstance(node.target, ir.Var | ir.FieldOf)
        ):
            return False
    return True


def _key_of(node: ir.Expr, var: str) -> tuple[str, ir.Expr] | None:
    if not isinstance(node, ir.Compare) or node.op != "==":
        return None
    for side, other in ((node.left, node.right), (node.right, node.left)):
        if (
            isinstance(side, ir.FieldOf)
            and isinstance(side.target, ir.Var)
            and side.target.name == var
            and side.type not in NUMERIC
            and _safe_operand(other, var)
        ):
            return side.name, other
    return None


def shape(expr: ir.Aggregate, program: ir.Program) -> Shape:
    """The grouped query of an aggregate over `claims`, or UnsupportedInBatch."""
    var = expr.var
    value: str | None = None
    if expr.value is not None:
        v = expr.value
        if not (
            isinstance(v, ir.FieldOf) and isinstance(v.target, ir.Var) and v.target.name == var
        ):
            raise UnsupportedInBatch([f"the value `{_text(v)}` of {_what(expr)} (only a field)"])
        spec = program.claim_field(v.name)
        if v.name != "payable" and (
            v.name in FROM_DECISION or spec is None or spec.type not in ("integer", "days")
        ):
            raise UnsupportedInBatch(
                [f"the sum of `{var}.{v.name}` over claims (only payable or a whole-number field)"]
            )
        value = v.name
    key_field, key_expr, row_only, rest = _split_where(expr.where, var, program)
    if key_field is None:
        if expr.where is not None and not _reads_only(expr.where, var, program):
            raise UnsupportedInBatch(
                [f"the filter of {_what(expr)}: it reads more than the claim, or can fail"]
            )
        return Shape((), expr.where, value, expr.year_by)
    assert key_expr is not None
    keys = [(key_field, key_expr)]
    for node in _conjuncts(rest) if rest is not None else []:
        key = _key_of(node, var)
        if key is None:
            raise UnsupportedInBatch(
                [
                    f"the condition `{_text(node)}` of {_what(expr)}: it depends on the party "
                    "beyond an equality with a claim field, or can fail"
                ]
            )
        keys.append(key)
    return Shape(tuple(keys), row_only, value, expr.year_by)


def _text(expr: ir.Expr) -> str:
    match expr:
        case ir.FieldOf(target=target, name=name):
            return f"{_text(target)}.{name}"
        case ir.Var(name=name):
            return name
        case ir.Const(value=value):
            return repr(value)
        case ir.Compare(op=op, left=left, right=right):
            return f"{_text(left)} {op} {_text(right)}"
        case _:
            return type(expr).__name__.lower()


class SqlFilter:
    """A row-only filter (compile.py `_reads_only` with `safe`) as a SQL truth value: Python's
    truthiness, with an empty field as NULL (equal to nothing but another empty value)."""

    def __init__(self, program: ir.Program, var: str) -> None:
        self.program = program
        self.var = var
        self.fields: set[str] = set()

    def column(self, name: str) -> str:
        if name == "rule":
            return RULE
        if name in FROM_DECISION:
            return f'"{name}"'
        if self.program.claim_field(name) is None:
            return "NULL"
        self.fields.add(name)
        return f'"c_{name}"'

    def value(self, expr: ir.Expr) -> str:
        if isinstance(expr, ir.Const):
            return literal(expr.value, expr.type)
        if isinstance(expr, ir.FieldOf) and isinstance(expr.target, ir.Var):
            return self.column(expr.name)
        raise UnsupportedInBatch([f"the operand `{_text(expr)}` in a filter over claims"])

    def truth(self, expr: ir.Expr) -> str:
        match expr:
            case ir.Const(value=value):
                return "TRUE" if value else "FALSE"
            case ir.FieldOf(type="bool"):
                return f"coalesce({self.value(expr)}, FALSE)"
            case ir.Compare(op="==" | "!=", left=left, right=right):
                op = "IS NOT DISTINCT FROM" if expr.op == "==" else "IS DISTINCT FROM"
                return f"({self.value(left)} {op} {self.value(right)})"
            case ir.Logic(op=op, left=left, right=right):
                return f"({self.truth(left)} {op.upper()} {self.truth(right)})"
            case ir.Not(operand=operand):
                return f"(NOT {self.truth(operand)})"
            case ir.InCodes(value=value, codes=codes, negated=negated):
                if value.type not in ("code", "text") and not value.type.startswith("enum:"):
                    raise UnsupportedInBatch([f"a {value.type} value tested against a code set"])
                held = f"coalesce({in_codes(self.value(value), codes)}, FALSE)"
                return f"(NOT {held})" if negated else held
            case _:
                raise UnsupportedInBatch([f"`{_text(expr)}` in a filter over claims"])


def fields_read(program: ir.Program, shapes: Iterable[tuple[ir.Aggregate, Shape]]) -> set[str]:
    """The claim fields (not decision fields) the pushed-down queries read."""
    fields: set[str] = set()
    for expr, found in shapes:
        sql = SqlFilter(program, expr.var)
        if found.filter is not None:
            sql.truth(found.filter)
        read = [k for k, _ in found.keys] + [f for f in (found.value, found.year_by) if f]
        for name in read:
            sql.column(name)
        fields |= sql.fields
    return fields


class PushedCompiler(Compiler):
    """The interpreter's compiler, with every aggregate over `claims` a look-up in the totals
    of one grouped query on the batch engine's decided claims (computed when first read)."""

    def __init__(self, program: ir.Program, engine: BatchEngine) -> None:
        super().__init__(program)
        self.engine = engine
        self._results: dict[str, dict[tuple[Any, ...], Any]] = {}

    def _aggregate(self, expr: ir.Aggregate) -> Fn:
        if expr.source != "claims":
            return super()._aggregate(expr)
        found = shape(expr, self.program)
        key_fns = [self.compile(e) for _, e in found.keys]
        queries: dict[Any, str] = {}  # per settled period (one, unless the year is not known)
        zero: Any = 0 if expr.type in ("integer", "days") else Decimal(0)

        def pushed(env: Env) -> Any:
            # the key expressions in the interpreter's order: the first is always evaluated
            key = tuple(fn(env) for fn in key_fns)
            sql = queries.get(env.period)
            if sql is None:
                sql = queries[env.period] = self._query(expr, found, env.period)
            total = self._totals(sql, found).get(key, zero)
            if isinstance(total, _Empty):
                raise UnsupportedInBatch(
                    [f"a claim whose `{found.value}` is empty, summed by `{expr.function}`"]
                )
            return total

        return pushed

    def _query(self, expr: ir.Aggregate, found: Shape, period: Any) -> str:
        sql = SqlFilter(self.program, expr.var)
        keys = [sql.column(name) for name, _ in found.keys]
        conditions = [sql.truth(found.filter)] if found.filter is not None else []
        if found.year_by is not None:
            # evaluate/compile.py `claims_in_year`: an empty date is in no year
            if period is None:
                conditions.append("FALSE")
            else:
                start, end = (literal(day, "date") for day in period)
                conditions.append(f"({sql.column(found.year_by)} BETWEEN {start} AND {end})")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if found.value is None:
            total, empty = "count(*)", "0"
        else:
            column = sql.column(found.value)
            total, empty = f"sum({column})", f"count(*) FILTER (WHERE {column} IS NULL)"
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        # without a key, an empty claim set still gives its one row: count 0 or sum NULL
        return f"SELECT {', '.join([*keys, total, empty])} FROM d{where}{group}"

    def _totals(self, sql: str, found: Shape) -> dict[tuple[Any, ...], Any]:
        cached = self._results.get(sql)
        if cached is None:
            width = len(found.keys)
            cached = {}
            for row in self.engine._execute(sql).fetchall():
                key, total, empty = tuple(row[:width]), row[width], row[width + 1]
                if empty:
                    cached[key] = _Empty()
                elif total is not None:
                    cached[key] = total
            self._results[sql] = cached
        return cached


class _Empty:
    """A group with a claim whose summed field is empty (the interpreter fails on it)."""


# ---------------------------------------------------------------- support and running


def claim_aggregates(exprs: Iterable[ir.Expr | None]) -> list[ir.Aggregate]:
    return [
        node
        for expr in exprs
        if expr is not None
        for node in ir.walk(expr)
        if isinstance(node, ir.Aggregate) and node.source == "claims"
    ]


def claim_columns(
    program: ir.Program, shapes: Iterable[tuple[ir.Aggregate, Shape]]
) -> dict[str, str]:
    """The columns (name -> SQL over the planner's stages) the pushed-down aggregates read: the
    typed claim fields as `c_<field>`, and the year of each claim that could be typed."""
    keep = {
        f"c_{name}": decided_col(name, net=True) for name in sorted(fields_read(program, shapes))
    }
    start = col("start_date") if program.claim_field("start_date") is not None else "NULL"
    keep[YEAR] = f"(CASE WHEN _problems = '' THEN year({start}) END)"
    return keep


def settle_supported(
    program: ir.Program, only: Sequence[str] | None = None, tables: Sequence[str] = ()
) -> tuple[dict[str, str], Planned]:
    """Raise UnsupportedInBatch naming what a batch settlement cannot do; else the columns the
    decided-claims table must keep, and the invariants compiled to SQL."""
    from policylang.evaluate.batch.invariants import plan

    planned = plan(program, tables)
    problems = list(planned.left.values())  # no decisions in Python to evaluate them on
    exprs: list[ir.Expr | None] = [d.expr for d in program.defines.values()]
    for spec in program.settlements.values():
        if only is None or spec.name in only:
            exprs += [payload[1] if kind == "let" else payload.expr for kind, payload in spec.steps]
    for check in program.checks.values():
        exprs += [check.expr, check.tolerance]
    shapes = []
    for aggregate in claim_aggregates(exprs):
        try:
            shapes.append((aggregate, shape(aggregate, program)))
        except UnsupportedInBatch as error:
            problems += error.constructs
    if problems:
        raise UnsupportedInBatch(problems)
    return claim_columns(program, shapes) | planned.keep, planned


def settlement_year(engine: BatchEngine, year: int | None) -> int | None:
    """evaluate/settle.py `settlement_year` in SQL: the most common year of the claims that
    could be typed, the first one in the file on a tie (Counter.most_common keeps that order)."""
    if year is not None:
        return year
    row = engine._execute(
        f'SELECT "{YEAR}" FROM d WHERE "{YEAR}" IS NOT NULL GROUP BY "{YEAR}" '
        "ORDER BY count(*) DESC, min(_row) LIMIT 1"
    ).fetchone()
    return int(row[0]) if row else None


def settle_batch(
    policy: Policy,
    claims: Any,
    year: int | None,
    only: Sequence[str] | None,
    supported: tuple[dict[str, str], Planned] | None = None,
) -> Settlement:
    """The settlement `Policy.settle` gives, with the claims decided and aggregated in DuckDB
    (`supported`: what settle_supported gave, when the caller has it already)."""
    from policylang.evaluate.batch import invariants
    from policylang.evaluate.batch.engine import BatchEngine
    from policylang.evaluate.batch.select import tables_of

    program = policy.program
    tables = tables_of(policy)
    keep, planned = supported or settle_supported(program, only, tuple(tables))
    engine = BatchEngine(program, tables)
    try:
        engine.run(claims, keep)
        compiler = PushedCompiler(program, engine)
        settled = settlement_year(engine, year)
        result = settle(program, compiler, tables, [], [], settled, only)
        if not program.invariants:
            return result
        # claim-set invariants read the settlement lines too; settle_supported refused the
        # invariants that are not in SQL, as there are no decisions in Python to read
        claim_set = invariants.claim_set_runner(
            program, compiler, tables, result.year, result.line_rows(), set(result.ran)
        )
        found = invariants.evaluate(planned, engine._execute, program, claim_set, None)
        return attrs.evolve(result, invariants=tuple(found))
    finally:
        engine.close()


@attrs.frozen
class Outcome:
    notes: tuple[str, ...]  # for stderr: which engine settled, and why
    settlement: Settlement | None  # None: the caller runs the interpreter


def batch_settle(
    policy: Policy, claims: Any, year: int | None, only: Sequence[str] | None, engine: str
) -> Outcome:
    """`settle --engine batch|auto`: the engine chosen as for check (select.py `choose`), and
    for auto the interpreter when the settlements do not push down or the run falls back.
    `only` as `Policy.settlements_to_run` gives it (checked before any claim is decided)."""
    from policylang.evaluate.batch.select import choose, tables_of

    chosen, why = choose(policy, claims, engine)
    supported = None
    if chosen == "batch" and engine == "auto":
        try:
            supported = settle_supported(policy.program, only, tuple(tables_of(policy)))
        except UnsupportedInBatch as error:
            chosen, why = "interpret", f"auto: the interpreter settles, because {error}"
    notes = [f"engine: {chosen} ({why})"]
    if chosen == "interpret":
        return Outcome(tuple(notes), None)
    try:
        return Outcome(tuple(notes), settle_batch(policy, claims, year, only, supported))
    except UnsupportedInBatch as error:
        if engine != "auto":
            raise
        notes.append(f"engine: interpret (auto fell back: {error})")
        return Outcome(tuple(notes), None)
