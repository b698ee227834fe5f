"""Compile IR expressions to Python closures.

Each expression becomes one closure `fn(env) -> value`, built once when a policy is loaded, so
evaluating a claim is a chain of direct calls with no tree walking or type dispatch. Closures
are plain Python functions over our own values: a rule file never produces Python source, and
every construct terminates (there are no loops or recursion in the language).
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from typing import Any, assert_never

import attrs

from policylang import ir
from policylang.errors import EvaluationError
from policylang.evaluate.decided import field_reader
from policylang.io.tables import valid_row

CENT = Decimal("0.01")
Fn = Callable[["Env"], Any]


def round_money(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    try:
        return value.quantize(CENT, rounding)  # positional: keywords cost C methods half their time
    except InvalidOperation:
        raise _too_large(value) from None


def _round_to(value: Decimal, places: int) -> Decimal:
    try:
        return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    except InvalidOperation:
        raise _too_large(value) from None


def _too_large(value: Decimal) -> EvaluationError:
    """A value with more digits than the evaluation context keeps cannot be rounded exactly."""
    return EvaluationError(
        f"the value {value:.6E} is too large to round: amounts stay below 10^15 "
        "(docs/reliability.md#rule-files)",
        "arithmetic",
    )


LAST_DAY_SHIFT = 3_652_058  # days from 0001-01-01 to 9999-12-31: a larger shift leaves the range


def shift_date(day: dt.date, op: str, days: int) -> dt.date:
    """`day + days` or `day - days`; a date outside 0001-01-01..9999-12-31 (a claim dated
    9999-12-31 plus a day) is an EvaluationError, that claim's error (the batch engine too)."""
    try:
        return day + dt.timedelta(days=days) if op == "+" else day - dt.timedelta(days=days)
    except OverflowError:
        raise EvaluationError(
            f"`{day.isoformat()}` {op} {days} days is outside the dates policylang handles "
            "(0001-01-01 to 9999-12-31)",
            "arithmetic",
        ) from None


class Env:
    """What an expression can see while one claim (or one settlement party) is evaluated."""

    __slots__ = (
        "claim",
        "claims",
        "context",
        "day",
        "lines",
        "locals",
        "memo",
        "period",
        "program",
        "settlement",
        "tables",
    )

    def __init__(
        self,
        program: ir.Program,
        tables: dict[str, dict[Any, dict[str, Any]]],
        day: dt.date | None = None,
        claim: dict[str, Any] | None = None,
        claims: list[dict[str, Any]] | None = None,
    ) -> None:
        self.program = program
        self.tables = tables
        self.day = day
        self.claim = claim if claim is not None else {}
        self.claims = claims if claims is not None else []
        self.context: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.memo: dict[str, Any] = {}
        self.settlement: Any = None  # the SettlementRun when a settlement is evaluated
        # the settled period (first and last day) in a settlement or a check, else None
        self.period: tuple[dt.date, dt.date] | None = None
        self.lines: list[dict[str, Any]] = []  # settlement lines, for checks


class Compiler:
    """Compiles and caches closures for one program."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self._defines: dict[str, Fn] = {}
        # the variables of the aggregates being compiled, innermost last, with their source: a
        # field of a claim variable is read straight from the decided claim (evaluate/decided.py)
        self._bound: list[tuple[str, str]] = []

    # ------------------------------------------------------------ parameters
    def param_at_year(self, spec: ir.ParamSpec, year: int) -> Any:
        """`name(year)`: the value on 1 January of `year`; a year no date can have (10000) has
        no value, like any other year the parameter does not give."""
        if dt.MINYEAR <= year <= dt.MAXYEAR:
            return self.param_value(spec, dt.date(year, 1, 1))
        raise EvaluationError(
            f"parameter `{spec.name}` has no value for {year}; "
            f"it is {'given' if spec.years else 'defined'} {spec.describe_validity()}",
            spec.name,
            spec.citations[0] if spec.citations else None,
        )

    def param_value(self, spec: ir.ParamSpec, day: dt.date | None) -> Any:
        if spec.has_always:
            return spec.always
        if day is None:
            raise EvaluationError(
                f"parameter `{spec.name}` depends on the date, and there is none here",
                spec.name,
                spec.citations[0] if spec.citations else None,
            )
        if spec.years:
            for year, value in spec.years:
                if year == day.year:
                    return value
            raise EvaluationError(
                f"parameter `{spec.name}` has no value for {day.year}; "
                f"it is given {spec.describe_validity()}",
                spec.name,
                spec.citations[0] if spec.citations else None,
            )
        for period in spec.periods:
            if period.covers(day):
                return period.value
        raise EvaluationError(
            f"parameter `{spec.name}` has no value on {day.isoformat()}; "
            f"it is defined {spec.describe_validity()}",
            spec.name,
            spec.citations[0] if spec.citations else None,
        )

    def param_in_period(
        self, spec: ir.ParamSpec, period: tuple[dt.date, dt.date], span: Any
    ) -> Any:
        """A dated parameter read for a settled period: its one value there, or E0706 when it
        changes inside the period (the author says which value: value_on or pro_rata)."""
        start, end = period
        changes = _changes(spec, period)
        if not changes:
            return self.param_value(spec, start)
        seen: list[tuple[dt.date, Any]] = []
        for day in [start, *changes]:
            try:
                seen.append((day, self.param_value(spec, day)))
            except EvaluationError:
                seen.append((day, None))
        first = seen[0][1]
        for day, other in seen[1:]:
            if other != first:

                def shown(value: Any) -> str:
                    return "has no value" if value is None else f"is {value}"

                raise PeriodError(
                    f"parameter `{spec.name}` {shown(first)} on {start.isoformat()} and "
                    f"{shown(other)} on {day.isoformat()}: it changes inside the settled period "
                    f"{start.isoformat()} to {end.isoformat()}",
                    f"say which value: value_on({spec.name}, settlement.end) or "
                    f"pro_rata({spec.name}) (weighted by days)",
                    span,
                )
        return first if first is not None else self.param_value(spec, start)  # raises

    def pro_rata(self, spec: ir.ParamSpec, period: tuple[dt.date, dt.date]) -> Decimal:
        """The parameter's values over the period weighted by their days (exact, unrounded)."""
        start, end = period
        cuts = sorted({start, *_changes(spec, period), end + dt.timedelta(days=1)})
        total = Decimal(0)
        for first, after in itertools.pairwise(cuts):
            total += Decimal(self.param_value(spec, first)) * (after - first).days
        return total / ((end - start).days + 1)

    def _temporal(self, table: str) -> bool:
        spec = self.program.tables.get(table)
        return spec is not None and spec.valid_from is not None

    def define(self, name: str) -> Fn:
        cached = self._defines.get(name)
        if cached is not None:
            return cached
        spec = self.program.defines[name]
        inner = self.compile(spec.expr)

        def define_ref(env: Env) -> Any:
            memo = env.memo
            if name in memo:
                return memo[name]
            value = memo[name] = inner(env)
            return value

        self._defines[name] = define_ref
        return define_ref

    # ------------------------------------------------------------ expressions
    def compile(self, expr: ir.Expr) -> Fn:
        match expr:
            case ir.Const(value=value):
                return lambda env: value
            case ir.ClaimField(name=name):
                # An empty optional field is None: equal to nothing, in no code set. Where a
                # value is needed (arithmetic, order, functions) `_value` raises instead.
                return lambda env: env.claim.get(name)
            case ir.Var(name=name):
                return lambda env: env.locals[name]
            case ir.ContextValue(name=name):
                return lambda env: env.context[name]
            case ir.ParamRef(name=name):
                spec = self.program.params[name]
                if spec.has_always:
                    constant = spec.always
                    return lambda env: constant
                span = expr.span

                def param_ref(env: Env) -> Any:
                    if env.period is not None:
                        return self.param_in_period(spec, env.period, span)
                    return self.param_value(spec, env.day)

                return param_ref
            case ir.ParamInPeriod(name=name, how="pro_rata"):
                spec = self.program.params[name]
                return lambda env: self.pro_rata(spec, _period(env, name))
            case ir.ParamInPeriod(name=name, day=day_expr):
                spec = self.program.params[name]
                assert day_expr is not None
                day_fn = self._value(day_expr)
                return lambda env: self.param_value(spec, day_fn(env))
            case ir.ParamAtYear(name=name, year=year_expr):
                spec = self.program.params[name]
                year_fn = self.compile(year_expr)
                return lambda env: self.param_at_year(spec, int(year_fn(env)))
            case ir.DefineRef(name=name):
                return self.define(name)
            case ir.TableLookup(table=table, key=key_expr) if self._temporal(table):
                key_fn = self._value(key_expr)
                spec = self.program.tables[table]

                def temporal_lookup(env: Env) -> Any:
                    key = key_fn(env)
                    row = valid_row(spec, _table(env, table).get(key, ()), _day(env, table))
                    if row is None:
                        raise EvaluationError(
                            f"table `{table}` has no row with key `{key}` valid on {env.day}",
                            table,
                        )
                    return row

                return temporal_lookup
            case ir.TableLookup(table=table, key=key_expr):
                key_fn = self._value(key_expr)

                def lookup(env: Env) -> Any:
                    key = key_fn(env)
                    row = _table(env, table).get(key)
                    if row is None:
                        raise EvaluationError(f"table `{table}` has no row with key `{key}`", table)
                    return row

                return lookup
            case ir.FieldOf(target=ir.Var(name=var), name=name):
                if self._source_of(var) == "claims":
                    read = field_reader(name)
                    return lambda env: read(env.locals[var])
                return lambda env: env.locals[var].get(name)  # `c.status`: the hot case
            case ir.FieldOf(target=target, name=name):
                target_fn = self.compile(target)

                return lambda env: target_fn(env).get(name)
            case ir.Arith():
                return self._arith(expr)
            case ir.Compare(op=op, left=left, right=ir.Const(value=constant)) if op in ("==", "!="):
                lf = self.compile(left)
                if op == "==":
                    return lambda env: lf(env) == constant
                return lambda env: lf(env) != constant
            case ir.Compare(op=op, left=left, right=right):
                if op in ("==", "!="):
                    return _compare(op, self.compile(left), self.compile(right))
                return _compare(op, self._value(left), self._value(right))
            case ir.Logic(op=op, left=left, right=right):
                lf, rf = self.compile(left), self.compile(right)
                if op == "and":
                    return lambda env: lf(env) and rf(env)
                return lambda env: lf(env) or rf(env)
            case ir.Not(operand=operand):
                of = self.compile(operand)
                return lambda env: not of(env)
            case ir.Neg(operand=operand):
                of = self._value(operand)
                return lambda env: -of(env)
            case ir.If(condition=c, then=t, otherwise=o):
                cf, tf, ofn = self.compile(c), self.compile(t), self.compile(o)
                return lambda env: tf(env) if cf(env) else ofn(env)
            case ir.InCodes(value=value, codes=codes, negated=negated):
                vf = self.compile(value)
                if not codes.ranges:
                    members = codes.codes
                    if negated:
                        return lambda env: vf(env) not in members
                    return lambda env: vf(env) in members
                if negated:
                    return lambda env: vf(env) not in codes
                return lambda env: vf(env) in codes
            case ir.InTable(value=value, table=table, negated=negated) if self._temporal(table):
                vf = self.compile(value)
                spec = self.program.tables[table]

                def in_temporal(env: Env) -> bool:
                    rows = _table(env, table).get(vf(env), ())
                    return valid_row(spec, rows, _day(env, table)) is not None

                if negated:
                    return lambda env: not in_temporal(env)
                return in_temporal
            case ir.InTable(value=value, table=table, negated=negated):
                vf = self.compile(value)
                if negated:
                    return lambda env: vf(env) not in _table(env, table)
                return lambda env: vf(env) in _table(env, table)
            case ir.Builtin():
                return self._builtin(expr)
            case ir.Aggregate():
                return self._aggregate(expr)
            case ir.Allocate():
                return self._allocate(expr)
            case _:
                assert_never(expr)

    def _value(self, expr: ir.Expr) -> Fn:
        """Compile an operand whose value is needed: an empty optional field is an error."""
        fn = self.compile(expr)
        if not isinstance(expr, ir.ClaimField | ir.FieldOf):
            return fn
        name = expr.name

        def needed(env: Env) -> Any:
            value = fn(env)
            if value is None:
                raise EvaluationError(f"field `{name}` is empty but its value is needed", name)
            return value

        return needed

    def _arith(self, expr: ir.Arith) -> Fn:
        lf, rf = self._value(expr.left), self._value(expr.right)
        op = expr.op
        if expr.type == "date":
            if op == "+" and expr.left.type == "days":
                return lambda env: shift_date(rf(env), "+", lf(env))
            return lambda env: shift_date(lf(env), op, rf(env))
        if expr.type == "days" and expr.left.type == "date":
            return lambda env: (lf(env) - rf(env)).days
        if op == "+":
            return lambda env: lf(env) + rf(env)
        if op == "-":
            return lambda env: lf(env) - rf(env)
        if op == "*":
            return lambda env: lf(env) * rf(env)
        text = f"{expr.left.type} / {expr.right.type}"

        def divide(env: Env) -> Any:
            divisor = rf(env)
            if divisor == 0:
                raise EvaluationError(f"division by zero ({text})", "arithmetic")
            try:
                return Decimal(lf(env)) / Decimal(divisor)
            except InvalidOperation as error:  # pragma: no cover - guarded above
                raise EvaluationError(f"invalid division: {error}", "arithmetic") from error

        return divide

    def _builtin(self, expr: ir.Builtin) -> Fn:
        name = expr.name
        if name == "present":
            arg = expr.args[0]
            if isinstance(arg, ir.ClaimField):
                field = arg.name
                return lambda env: env.claim.get(field) is not None
            assert isinstance(arg, ir.FieldOf)
            target_fn, field = self.compile(arg.target), arg.name
            return lambda env: target_fn(env).get(field) is not None
        fns = [self._value(a) for a in expr.args]
        if name in ("min", "max"):
            pick = min if name == "min" else max
            return lambda env: pick(f(env) for f in fns)
        if name == "round":
            first = fns[0]
            if len(fns) == 2:
                places_fn = fns[1]
                return lambda env: _round_to(Decimal(first(env)), int(places_fn(env)))
            if expr.type == "money":
                return lambda env: round_money(first(env))
            return lambda env: int(_round_to(Decimal(first(env)), 0))
        if name in ("round_down", "round_up"):
            mode = ROUND_DOWN if name == "round_down" else ROUND_UP
            first = fns[0]
            return lambda env: round_money(first(env), mode)
        if name == "abs":
            first = fns[0]
            return lambda env: abs(first(env))
        if name == "year":
            first = fns[0]
            return lambda env: first(env).year
        if name == "month":
            first = fns[0]
            return lambda env: first(env).month
        if name == "days_between":
            a, b = fns
            return lambda env: (b(env) - a(env)).days
        raise AssertionError(f"builtin {name} has no implementation")  # pragma: no cover

    def _source_of(self, var: str) -> str | None:
        for name, source in reversed(self._bound):
            if name == var:
                return source
        return None

    def _aggregate(self, expr: ir.Aggregate) -> Fn:
        var, source = expr.var, expr.source
        self._bound.append((var, source))
        try:
            return self._aggregate_bound(expr)
        finally:
            self._bound.pop()

    def _aggregate_bound(self, expr: ir.Aggregate) -> Fn:
        value_fn = self.compile(expr.value) if expr.value is not None else None
        where_fn = self.compile(expr.where) if expr.where is not None else None
        var, source = expr.var, expr.source
        temporal = source not in ("claims", "lines") and self._temporal(source)
        zero: Any = 0 if expr.type in ("integer", "days") else Decimal(0)

        year_by = expr.year_by
        in_year: dict[tuple[int, Any], tuple[Any, list[Any]]] = {}

        def claims_in_year(env: Env) -> list[Any]:
            """The claims whose `year_by` date is in the settled period (one list per period)."""
            key = (id(env.claims), env.period)
            cached = in_year.get(key)
            if cached is None or cached[0] is not env.claims:
                read = field_reader(year_by)  # type: ignore[arg-type]
                start, end = env.period or (None, None)
                chosen = [
                    c
                    for c in env.claims
                    if start is not None and (day := read(c)) is not None and start <= day <= end
                ]
                cached = in_year[key] = (env.claims, chosen)
            return cached[1]

        def rows(env: Env) -> Any:
            if source == "claims":
                return claims_in_year(env) if year_by is not None else env.claims
            if source == "lines":
                return env.lines
            if temporal:  # every row of every period
                return [row for rows in _table(env, source).values() for row in rows]
            return _table(env, source).values()

        # `where c.location == loc.location and ...`: look the matching rows up in an index built
        # once per row list, instead of scanning every claim for every party. Conjuncts that
        # read only the row and cannot fail (`c.status != "error"`) filter the rows as the index
        # is built; when nothing else is left, the total per key is summed then too, so each
        # party's aggregate is one look-up. Results and errors are those of the plain scan.
        key_field, key_expr, row_only, rest = _split_where(expr.where, var, self.program)
        key_fn = self.compile(key_expr) if key_expr is not None else None
        rest_fn = self.compile(rest) if rest is not None else None
        totals_at_build = rest is None and (
            expr.value is None or _reads_only(expr.value, var, self.program, safe=False)
        )
        # The same row-only parts as functions of the row itself where they are plain field
        # reads, comparisons and logic (`_row_fn`): no environment to bind per row.
        row_pred = _row_fn(row_only, var, source) if row_only is not None else None
        # the environment-bound form only where the row function does not cover it (code sets)
        row_filter = self.compile(row_only) if row_only is not None and row_pred is None else None
        row_value = _row_fn(expr.value, var, source) if expr.value is not None else None
        where_row = _row_fn(expr.where, var, source) if expr.where is not None else None
        scan_by_row = (expr.where is None or where_row is not None) and (
            expr.value is None or row_value is not None
        )
        indexes: dict[int, tuple[Any, dict[Any, Any]]] = {}
        read_key = _reader(key_field, source) if key_field is not None else None

        def build(env: Env, all_rows: Any) -> dict[Any, Any]:
            index: dict[Any, Any] = {}
            saved = env.locals.get(var)
            try:
                for row in all_rows:
                    if row_pred is not None:
                        if not row_pred(row):
                            continue
                    elif row_filter is not None:
                        env.locals[var] = row
                        if not row_filter(env):
                            continue
                    key = read_key(row)
                    if not totals_at_build:
                        index.setdefault(key, []).append(row)
                        continue
                    total = index.get(key, zero)
                    if isinstance(total, _Failed):
                        continue
                    try:
                        if value_fn is None:
                            index[key] = total + 1
                        elif row_value is not None:
                            index[key] = total + row_value(row)
                        else:
                            env.locals[var] = row
                            index[key] = total + value_fn(env)
                    except Exception as error:  # raised when (and only if) a party asks
                        index[key] = _Failed(error)
            finally:
                env.locals[var] = saved
            return index

        def indexed(env: Env) -> Any:
            all_rows = rows(env)
            cached = indexes.get(id(all_rows))
            if cached is None or cached[0] is not all_rows:
                cached = indexes[id(all_rows)] = (all_rows, build(env, all_rows))
            assert key_fn is not None
            found = cached[1].get(key_fn(env), zero if totals_at_build else ())
            if isinstance(found, _Failed):
                raise found.error
            return found

        def aggregate(env: Env) -> Any:
            if key_fn is not None and totals_at_build:
                return indexed(env)
            if key_fn is None and scan_by_row:  # `sum(c.payable for c in claims where ...)`
                selected = rows(env) if where_row is None else filter(where_row, rows(env))
                if row_value is None:
                    return zero + sum(1 for _ in selected)
                return sum(map(row_value, selected), zero)
            saved = env.locals.get(var)
            total = zero
            try:
                for row in indexed(env) if key_fn is not None else rows(env):
                    env.locals[var] = row
                    if key_fn is None and where_fn is not None and not where_fn(env):
                        continue
                    if rest_fn is not None and not rest_fn(env):
                        continue
                    total += 1 if value_fn is None else value_fn(env)
            finally:
                env.locals[var] = saved
            return total

        return aggregate

    def _allocate(self, expr: ir.Allocate) -> Fn:
        total_fn = self.compile(expr.total)
        weight_fn = self.compile(expr.weight)
        group_fn = self.compile(expr.group) if expr.group is not None else None

        def allocate(env: Env) -> Any:
            run = env.settlement
            if run is None:  # pragma: no cover - the checker allows it only in settlements
                raise EvaluationError("prorate/split outside a settlement", "allocation")
            return run.allocate(expr, env, total_fn, weight_fn, group_fn)

        return allocate


def _conjuncts(where: ir.Expr) -> list[ir.Expr]:
    found: list[ir.Expr] = []
    stack = [where]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Logic) and node.op == "and":
            stack += [node.right, node.left]
        else:
            found.append(node)
    return found


def _and(parts: list[ir.Expr]) -> ir.Expr | None:
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = ir.Logic("and", result, part, "bool")
    return result


def _reader(field: str, source: str) -> Callable[[Any], Any]:
    """`row.get(field)` for a row of `source`: a decided claim's through field_reader."""
    return field_reader(field) if source == "claims" else operator.methodcaller("get", field)


def _row_fn(expr: ir.Expr, var: str, source: str) -> Callable[[Any], Any] | None:
    """`expr` as a function of the row bound to `var`, for field reads of that row, constants,
    `==`/`!=` and logic (which cannot fail); None for anything else."""
    match expr:
        case ir.FieldOf(target=ir.Var(name=name), name=field) if name == var:
            return _reader(field, source)
        case ir.Const(value=value):
            return lambda row: value
        case ir.Compare(op="==" | "!=" as op, left=left, right=right):
            lf, rf = _row_fn(left, var, source), _row_fn(right, var, source)
            if lf is None or rf is None:
                return None
            if isinstance(right, ir.Const):
                constant = right.value
                if op == "==":
                    return lambda row: lf(row) == constant
                return lambda row: lf(row) != constant
            if op == "==":
                return lambda row: lf(row) == rf(row)
            return lambda row: lf(row) != rf(row)
        case ir.Logic(op=op, left=left, right=right):
            lf, rf = _row_fn(left, var, source), _row_fn(right, var, source)
            if lf is None or rf is None:
                return None
            if op == "and":
                return lambda row: lf(row) and rf(row)
            return lambda row: lf(row) or rf(row)
        case ir.Not(operand=operand):
            of = _row_fn(operand, var, source)
            return None if of is None else (lambda row: not of(row))
    return None


@attrs.frozen
class _Failed:
    """An aggregate total that raised while the index was built."""

    error: Exception


def _reads_only(expr: ir.Expr, var: str, program: ir.Program, safe: bool = True) -> bool:
    """True when `expr` depends on nothing but the row bound to `var` and constants; with `safe`,
    also when it cannot fail (equality, code sets and logic only: order, arithmetic and
    functions raise on an empty field), so it may be evaluated earlier than written."""
    for node in ir.walk(expr):
        if isinstance(node, ir.Var):
            if node.name != var:
                return False
        elif isinstance(node, ir.ParamRef):
            if safe or not program.params[node.name].has_always:
                return False
        elif isinstance(node, ir.Compare):
            if safe and node.op not in ("==", "!="):
                return False
        elif isinstance(node, ir.Arith | ir.Neg | ir.If):
            if safe:
                return False
        elif not isinstance(node, ir.Const | ir.FieldOf | ir.Logic | ir.Not | ir.InCodes):
            return False
    return True


def _split_where(
    where: ir.Expr | None, var: str, program: ir.Program
) -> tuple[str | None, ir.Expr | None, ir.Expr | None, ir.Expr | None]:
    """Split `where` into an index key (`var.FIELD == EXPR`, EXPR not using `var`), the
    conjuncts that read only the row and cannot fail, and the rest (evaluated per party).
    Without a key there is no index: everything is the rest."""
    if where is None:
        return None, None, None, None
    conjuncts = _conjuncts(where)
    for position, node in enumerate(conjuncts):
        if not isinstance(node, ir.Compare) or node.op != "==":
            continue
        for side, other in ((node.left, node.right), (node.right, node.left)):
            uses_var = any(isinstance(s, ir.Var) and s.name == var for s in ir.walk(other))
            if (
                isinstance(side, ir.FieldOf)
                and isinstance(side.target, ir.Var)
                and side.target.name == var
                and not uses_var
                and side.type not in ("money", "decimal", "integer", "percent")
            ):
                others = conjuncts[:position] + conjuncts[position + 1 :]
                row_only = [c for c in others if _reads_only(c, var, program)]
                rest = [c for c in others if not any(c is r for r in row_only)]
                return side.name, other, _and(row_only), _and(rest)
    return None, None, None, where


class PeriodError(EvaluationError):
    """A dated parameter that changes inside the settled period (E0706, with a hint)."""

    def __init__(self, message: str, help: str, span: Any) -> None:
        super().__init__(message, "parameter")
        self.help = help
        self.span = span


def _changes(spec: ir.ParamSpec, period: tuple[dt.date, dt.date]) -> list[dt.date]:
    """The days after the first day of `period` on which a dated parameter may change value:
    a period of it starting, or the day after one ends (per-year values change on 1 January)."""
    start, end = period
    days = {p.start for p in spec.periods} | {
        p.end + dt.timedelta(days=1) for p in spec.periods if p.end is not None
    }
    days |= {dt.date(year, 1, 1) for year, _ in spec.years if year > 1}
    return sorted(d for d in days if start < d <= end)


def _period(env: Env, name: str) -> tuple[dt.date, dt.date]:
    if env.period is None:
        raise EvaluationError(
            f"`pro_rata({name})` needs a settled period, and there is none (no year)", name
        )
    return env.period


def _day(env: Env, table: str) -> dt.date:
    if env.day is None:
        raise EvaluationError(
            f"table `{table}` holds rows per period, and there is no date here", table
        )
    return env.day


def _table(env: Env, name: str) -> dict[Any, dict[str, Any]]:
    """A reference table's rows; a table that was not given is an error, never an empty table
    (an empty table would silently turn every look-up into a rejection)."""
    rows = env.tables.get(name)
    if rows is None:
        raise EvaluationError(f"table `{name}` was not given (use --table {name}=FILE)", name)
    return rows


def _compare(op: str, lf: Fn, rf: Fn) -> Fn:
    if op == "==":
        return lambda env: lf(env) == rf(env)
    if op == "!=":
        return lambda env: lf(env) != rf(env)
    if op == "<":
        return lambda env: lf(env) < rf(env)
    if op == "<=":
        return lambda env: lf(env) <= rf(env)
    if op == ">":
        return lambda env: lf(env) > rf(env)
    return lambda env: lf(env) >= rf(env)
