"""IR expressions to SQL: each expression becomes a value and, where it can fail, an error.

The reference interpreter raises `EvaluationError` in the middle of a claim (an empty field whose
value is needed, a parameter without a value on the claim's date, a missing table row); that
claim becomes an `error` decision naming the first failure. SQL cannot raise per row, so every
compiled expression is an `S`: its value, and `e`, SQL that is the reason (as JSON text) of the
first failure in the interpreter's evaluation order, NULL when evaluation succeeds, or None when
the expression can never fail. Short-circuit operators (`and`, `or`, `if`) carry the failure of
the branch the interpreter would evaluate and no other.

An empty optional field is NULL, as the interpreter's None: `==` compares with
`IS NOT DISTINCT FROM`, code-set membership of NULL is false, and `and`/`or` return their operand
as Python does, so `None and x` stays falsy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

import attrs

from policylang import ir
from policylang.evaluate.batch.sqltext import Msg, date_text, literal, quote, reason
from policylang.evaluate.compile import LAST_DAY_SHIFT

TEXT_KEYS = ("text", "code", "integer", "date")
GUARD = 8  # digits kept beyond the rounding place when a quotient is rounded


@attrs.frozen
class S:
    v: str
    e: str | None = None
    null: bool = False


def first_error(*errors: str | None) -> str | None:
    """The first failure of operands that are all evaluated, left to right."""
    present = [e for e in errors if e]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return f"coalesce({', '.join(present)})"


def truthy(s: S) -> str:
    return f"coalesce({s.v}, FALSE)" if s.null else f"({s.v})"


def col(name: str) -> str:
    return f'"f_{name}"'


def decided_col(name: str, net: bool = False) -> str:
    """A claim field as the decided claims show it: a credit's amount as claimed (phase 1
    decides it turned) and, in aggregates (`net`), its quantity negative, as decided.py."""
    if name == "amount":
        return '"f_amount0"'
    if name == "quantity" and net:
        return '(CASE WHEN "f_credit" THEN 0 - "f_quantity" ELSE "f_quantity" END)'
    return col(name)


def key_text(sql: str, type_: str) -> str:
    if type_ == "date":
        return date_text(sql)
    return f"CAST({sql} AS VARCHAR)"


@attrs.define
class Lookup:
    alias: str
    table: str
    key: S
    key_type: str


class ExprCompiler:
    """Compiles the expressions of one program against the typed claim columns `f_<field>`."""

    def __init__(self, program: ir.Program, tables: dict[str, str]) -> None:
        self.program = program
        self.tables = tables  # loaded table name -> SQL relation name
        self.day = col("start_date")
        self.context: dict[str, S] | None = None
        self.lookups: dict[tuple[str, str], Lookup] = {}
        self.unsupported: list[str] = []
        self._defines: dict[str, S] = {}
        self.where = ""

    def unsupported_(self, what: str) -> S:
        self.unsupported.append(f"{what}{self.where}")
        return S("NULL")

    # ------------------------------------------------------------ parameters
    def _param(self, spec: ir.ParamSpec, day: str, explicit_year: bool) -> S:
        if spec.has_always:
            return S(literal(spec.always, spec.type))
        source = spec.citations[0] if spec.citations else None
        if spec.years:
            year = f"year({day})"
            cases = " ".join(f"WHEN {y} THEN {literal(v, spec.type)}" for y, v in spec.years)
            known = ", ".join(str(y) for y, _ in spec.years)
            message = Msg(
                f"parameter `{spec.name}` has no value for ",
                ("safe", f"CAST({year} AS VARCHAR)"),
                f"; it is given {spec.describe_validity()}",
            )
            return S(
                f"(CASE {year} {cases} END)",
                f"(CASE WHEN {year} NOT IN ({known}) THEN {reason(spec.name, message, source)} END)",
            )
        covers = [
            f"({day} >= DATE '{p.start.isoformat()}'"
            + (f" AND {day} <= DATE '{p.end.isoformat()}')" if p.end else ")")
            for p in spec.periods
        ]
        cases = " ".join(
            f"WHEN {c} THEN {literal(p.value, spec.type)}"
            for c, p in zip(covers, spec.periods, strict=True)
        )
        day_text = (
            f"lpad(CAST(year({day}) AS VARCHAR), 4, '0') || '-01-01'"
            if explicit_year
            else date_text(day)
        )
        message = Msg(
            f"parameter `{spec.name}` has no value on ",
            ("safe", day_text),
            f"; it is defined {spec.describe_validity()}",
        )
        any_cover = " OR ".join(covers) or "FALSE"
        return S(
            f"(CASE {cases} END)" if cases else "NULL",
            f"(CASE WHEN NOT ({any_cover}) THEN {reason(spec.name, message, source)} END)",
        )

    # ------------------------------------------------------------ expressions
    def compile(self, expr: ir.Expr) -> S:
        match expr:
            case ir.Const(value=value, type=type_):
                return S(literal(value, type_), None, value is None)
            case ir.ClaimField(name=name):
                spec = self.program.claim_field(name)
                nullable = (
                    spec is not None
                    and spec.optional
                    and not spec.has_default
                    and name != "end_date"
                )
                return S(col(name), None, nullable)
            case ir.Var(name=name):
                return self.unsupported_(f"a variable `{name}` (aggregates, settlements)")
            case ir.ContextValue(name=name):
                if self.context is None or name not in self.context:
                    return self.unsupported_(f"`{name}` outside a rule")
                return self.context[name]
            case ir.ParamRef(name=name):
                return self._param(self.program.params[name], self.day, False)
            case ir.ParamAtYear(name=name, year=year_expr):
                year = self.value(year_expr)
                day = f"make_date(CAST({year.v} AS INTEGER), 1, 1)"
                param = self._param(self.program.params[name], day, True)
                return S(param.v, first_error(year.e, param.e), param.null)
            case ir.ParamInPeriod(name=name):
                return self.unsupported_(f"`{name}` read for a settled period")
            case ir.DefineRef(name=name):
                if name not in self._defines:
                    self._defines[name] = self.compile(self.program.defines[name].expr)
                return self._defines[name]
            case ir.TableLookup():
                return self.unsupported_("a table row used as a value (only `lookup.field`)")
            case ir.FieldOf(target=target, name=name):
                if not isinstance(target, ir.TableLookup):
                    return self.unsupported_(f"the field `{name}` of a variable row")
                return self._field_of(target, name)
            case ir.Arith():
                return self._arith(expr)
            case ir.Compare(op=op, left=left, right=right):
                if op in ("==", "!="):
                    lv, rv = self.compile(left), self.compile(right)
                    if lv.null or rv.null:
                        sql_op = "IS NOT DISTINCT FROM" if op == "==" else "IS DISTINCT FROM"
                    else:
                        sql_op = "=" if op == "==" else "<>"
                else:
                    lv, rv = self.value(left), self.value(right)
                    sql_op = op
                return S(f"({lv.v} {sql_op} {rv.v})", first_error(lv.e, rv.e))
            case ir.Logic(op=op, left=left, right=right):
                return self._logic(op, self.compile(left), self.compile(right))
            case ir.Not(operand=operand):
                inner = self.compile(operand)
                return S(f"(NOT {truthy(inner)})", inner.e)
            case ir.Neg(operand=operand):
                inner = self.value(operand)
                return S(f"(-{inner.v})", inner.e)
            case ir.If(condition=c, then=t, otherwise=o):
                cs, ts, os_ = self.compile(c), self.compile(t), self.compile(o)
                error = None
                if cs.e or ts.e or os_.e:
                    error = (
                        "(CASE"
                        + (f" WHEN {cs.e} IS NOT NULL THEN {cs.e}" if cs.e else "")
                        + f" WHEN {truthy(cs)} THEN {ts.e or 'NULL'} ELSE {os_.e or 'NULL'} END)"
                    )
                return S(
                    f"(CASE WHEN {truthy(cs)} THEN {ts.v} ELSE {os_.v} END)",
                    error,
                    ts.null or os_.null,
                )
            case ir.InCodes(value=value, codes=codes, negated=negated):
                inner = self.compile(value)
                if value.type not in ("code", "text") and not value.type.startswith("enum:"):
                    return self.unsupported_(f"a {value.type} value tested against a code set")
                test = in_codes(inner.v, codes)
                held = f"coalesce({test}, FALSE)" if inner.null else test
                return S(f"(NOT {held})" if negated else held, inner.e)
            case ir.InTable(value=value, table=table, negated=negated):
                inner = self.compile(value)
                spec = self.program.tables[table]
                if len(spec.key) != 1:
                    return self.unsupported_(f"`in {table}` on a table with a composite key")
                relation = self.tables.get(table)
                if spec.valid_from is not None:
                    return self.unsupported_(f"`in {table}` on a table with rows per period")
                if relation is None:
                    return S("FALSE", first_error(inner.e, not_given(table)))
                else:
                    key = f'"{spec.key[0]}"'
                    held = f"coalesce({inner.v} IN (SELECT {key} FROM {relation}), FALSE)"
                return S(f"(NOT {held})" if negated else held, inner.e)
            case ir.Builtin():
                return self._builtin(expr)
            case ir.Aggregate(source=source):
                return self.unsupported_(f"an aggregate over `{source}`")
            case ir.Allocate(kind=kind):
                return self.unsupported_(f"`{kind}` (settlements)")
            case _:
                assert_never(expr)

    def value(self, expr: ir.Expr) -> S:
        """An operand whose value is needed: an empty field is a failure, as in `_value`."""
        s = self.compile(expr)
        if not isinstance(expr, ir.ClaimField | ir.FieldOf) or not s.null:
            return s
        failure = reason(expr.name, f"field `{expr.name}` is empty but its value is needed", None)
        return S(s.v, first_error(s.e, f"(CASE WHEN {s.v} IS NULL THEN {failure} END)"))

    def _logic(self, op: str, left: S, right: S) -> S:
        if not left.null:
            value = f"({left.v} {op.upper()} {right.v})"
        elif op == "and":
            value = f"(CASE WHEN {truthy(left)} THEN {right.v} ELSE {left.v} END)"
        else:
            value = f"(CASE WHEN {truthy(left)} THEN {left.v} ELSE {right.v} END)"
        error = left.e
        if right.e:
            gate = truthy(left) if op == "and" else f"NOT {truthy(left)}"
            error = (
                "(CASE"
                + (f" WHEN {left.e} IS NOT NULL THEN {left.e}" if left.e else "")
                + f" WHEN {gate} THEN {right.e} END)"
            )
        return S(value, error, left.null or right.null)

    def _field_of(self, target: ir.TableLookup, name: str) -> S:
        table = target.table
        spec = self.program.tables[table]
        key = self.value(target.key)
        if len(spec.key) != 1 or (
            target.key.type not in TEXT_KEYS and not (target.key.type.startswith("enum:"))
        ):
            return self.unsupported_(f"a lookup in `{table}` by a {target.key.type} key")
        if any(isinstance(e, ir.ContextValue | ir.TableLookup) for e in ir.walk(target.key)):
            return self.unsupported_(f"a lookup in `{table}` whose key uses a rule value or row")
        missing_message = Msg(
            f"table `{table}` has no row with key `",
            ("dyn", key_text(key.v, target.key.type)),
            "`",
        )
        missing = reason(table, missing_message, None)
        if spec.valid_from is not None:
            return self.unsupported_(f"a lookup in `{table}`, a table with rows per period")
        if table not in self.tables:
            return S("NULL", first_error(key.e, not_given(table)), True)
        ident = (table, key.v)
        lookup = self.lookups.get(ident)
        if lookup is None:
            lookup = Lookup(f"lk{len(self.lookups)}", table, key, target.key.type)
            self.lookups[ident] = lookup
        field = spec.field(name)
        nullable = field is None or (field.optional and not field.has_default)
        present = f'"{lookup.alias}____found"'
        return S(
            f'"{lookup.alias}__{name}"',
            first_error(key.e, f"(CASE WHEN {present} IS NULL THEN {missing} END)"),
            nullable,
        )

    def _arith(self, expr: ir.Arith) -> S:
        left, right = self.value(expr.left), self.value(expr.right)
        error = first_error(left.e, right.e)
        op = expr.op
        if expr.type == "date":
            if op == "+" and expr.left.type == "days":
                return self._shift(right, "+", left, error)
            return self._shift(left, op, right, error)
        if expr.type == "days" and expr.left.type == "date":
            return S(f"date_diff('day', {right.v}, {left.v})", error)
        if op == "/":
            return self.unsupported_(
                "division (`/`) whose quotient is not rounded at once by round(), round_down() "
                "or round_up() (Python's 28-digit Decimal quotient has no SQL type)"
            )
        return S(f"({left.v} {op} {right.v})", error)

    @staticmethod
    def _shift(day: S, op: str, days: S, error: str | None) -> S:
        """compile.py `shift_date`: a date outside 0001-01-01..9999-12-31 is the claim's error
        (DuckDB's dates go on to the year 294247)."""
        shifted = f"({day.v} {op} CAST({days.v} AS INTEGER))"
        message = Msg(
            "`",
            ("safe", date_text(day.v)),
            f"` {op} ",
            ("safe", f"CAST({days.v} AS VARCHAR)"),
            " days is outside the dates policylang handles (0001-01-01 to 9999-12-31)",
        )
        outside = (
            f"(CASE WHEN abs({days.v}) > {LAST_DAY_SHIFT} THEN TRUE "
            f"ELSE {shifted} NOT BETWEEN DATE '0001-01-01' AND DATE '9999-12-31' END)"
        )
        value = f"(CASE WHEN abs({days.v}) <= {LAST_DAY_SHIFT} THEN {shifted} END)"
        failure = f"(CASE WHEN {outside} THEN {reason('arithmetic', message, None)} END)"
        return S(value, first_error(error, failure))

    def _builtin(self, expr: ir.Builtin) -> S:
        name = expr.name
        if name == "present":
            arg = self.compile(expr.args[0])
            return S(f"({arg.v} IS NOT NULL)", arg.e)
        first = expr.args[0]
        if (
            name in ("round", "round_down", "round_up")
            and isinstance(first, ir.Arith)
            and (first.op == "/")
        ):
            return self._rounded_quotient(expr)
        args = [self.value(a) for a in expr.args]
        error = first_error(*(a.e for a in args))
        if name in ("min", "max"):
            function = "least" if name == "min" else "greatest"
            return S(f"{function}({', '.join(a.v for a in args)})", error)
        if name == "round":
            if len(args) == 2:
                places = expr.args[1]
                if not isinstance(places, ir.Const) or not isinstance(places.value, int):
                    return self.unsupported_("round(x, n) with n not a constant")
                if places.value < 0:
                    return self.unsupported_("round(x, n) with n below zero")
                return S(f"round({args[0].v}, {places.value})", error)
            if expr.type == "money":
                return S(f"round({args[0].v}, 2)", error)
            return S(f"CAST(round({args[0].v}, 0) AS BIGINT)", error)
        if name in ("round_down", "round_up"):
            x = args[0].v
            toward, away = f"floor(({x}) * 100)", f"ceil(({x}) * 100)"
            if name == "round_down":
                pick = f"CASE WHEN {x} < 0 THEN {away} ELSE {toward} END"
            else:
                pick = f"CASE WHEN {x} < 0 THEN {toward} ELSE {away} END"
            return S(f"(CAST({pick} AS DECIMAL(38,0)) * CAST(0.01 AS DECIMAL(3,2)))", error)
        if name == "abs":
            return S(f"abs({args[0].v})", error)
        if name in ("year", "month"):
            return S(f"CAST({name}({args[0].v}) AS BIGINT)", error)
        if name == "days_between":
            return S(f"date_diff('day', {args[0].v}, {args[1].v})", error)
        return self.unsupported_(f"the built-in `{name}`")

    def _rounded_quotient(self, expr: ir.Builtin) -> S:
        """round(a / b [, n]), round_down(a / b), round_up(a / b) exactly as the interpreter.

        Python divides to 28 significant digits (half-even), then rounds. The SQL divides the
        exact scaled integers, keeps GUARD more digits than the result, and rounds those
        exactly; where the 28-digit quotient could round differently (the guard digits are
        4999..., 9999... or 0000... with a remainder, or the quotient is too large) the query
        stops with a fallback so the interpreter decides.
        """
        quotient = expr.args[0]
        assert isinstance(quotient, ir.Arith)
        places = 2
        if expr.name == "round" and len(expr.args) == 2:
            given = expr.args[1]
            if (
                not isinstance(given, ir.Const)
                or not isinstance(given.value, int)
                or given.value < 0
            ):
                return self.unsupported_("round(a / b, n) with n not a constant of zero or more")
            places = given.value
        elif expr.name == "round" and expr.type != "money":
            places = 0
        right, left = self.value(quotient.right), self.value(quotient.left)
        zero = reason(
            "arithmetic",
            f"division by zero ({quotient.left.type} / {quotient.right.type})",
            None,
        )
        error = first_error(right.e, f"(CASE WHEN {right.v} = 0 THEN {zero} END)", left.e)

        def scaled(sql: str) -> tuple[str, str]:
            text = f"CAST({sql} AS VARCHAR)"
            return (
                f"abs(CAST(replace({text}, '.', '') AS HUGEINT))",
                f"length(split_part({text}, '.', 2))",
            )

        def power(exponent: str) -> str:
            return f"CAST('1' || repeat('0', CAST({exponent} AS INTEGER)) AS HUGEINT)"

        # Each value is bound once by a one-element list_transform (SQL has no `let`): the
        # formula reads the operands, the scaled integers and the quotient several times, and
        # a quotient of quotients (rules/: a budget share of a budget share) repeated its
        # inner quotient's text at every read, ~100 KB of SQL for one tariff.
        a, sa = scaled("q.l")
        b, sb = scaled("q.r")
        num = f"({a} * {power(f'{sb} + {places + GUARD}')})"
        den = f"({b} * {power(sa)})"
        negative = "((q.l < 0) <> (q.r < 0))"
        whole = "(CASE WHEN w.d = 0 THEN NULL ELSE w.n // w.d END)"
        rest = "(CASE WHEN w.d = 0 THEN NULL ELSE w.n % w.d END)"
        units, guard = f"(z.whole // {10**GUARD})", f"(z.whole % {10**GUARD})"
        if expr.name == "round":
            up, risky = (
                f"{guard} >= {5 * 10 ** (GUARD - 1)}",
                f"{guard} = {5 * 10 ** (GUARD - 1) - 1}",
            )
        elif expr.name == "round_down":
            up, risky = "FALSE", f"{guard} = {10**GUARD - 1}"
        else:
            up, risky = f"({guard} > 0 OR z.rest > 0)", f"({guard} = 0 AND z.rest > 0)"
        magnitude = f"({units} + (CASE WHEN {up} THEN 1 ELSE 0 END))"
        stop = (
            "error('batch-fallback: a quotient whose 28-digit rounding the batch engine "
            "does not reproduce')"
        )
        body = (
            f"(CASE WHEN w.zero THEN NULL WHEN {risky} OR {units} >= {10 ** (28 - GUARD)} "
            f"OR ({magnitude} = 0 AND w.neg) THEN {stop} "
            f"WHEN w.neg THEN -{magnitude} ELSE {magnitude} END)"
        )
        signed = _let(
            {"l": left.v, "r": right.v},
            "q",
            _let(
                {"n": num, "d": den, "neg": negative, "zero": "(q.r = 0)"},
                "w",
                _let({"whole": whole, "rest": rest}, "z", body),
            ),
        )
        if places == 0 and expr.type == "integer":
            return S(f"CAST({signed} AS BIGINT)", error)
        step = f"CAST('{Decimal(1).scaleb(-places):f}' AS DECIMAL({places + 1},{places}))"
        return S(f"(CAST({signed} AS DECIMAL(38,0)) * {step})", error)


def _let(values: dict[str, str], name: str, body: str) -> str:
    """`body` with `name.KEY` bound to each value, each value evaluated once per row."""
    fields = ", ".join(f"{key} := {sql}" for key, sql in values.items())
    return f"list_transform([struct_pack({fields})], lambda {name}: {body})[1]"


def not_given(table: str) -> str:
    return reason(table, f"table `{table}` was not given (use --table {table}=FILE)", None)


def in_codes(sql: str, codes: ir.CodeMatcher) -> str:
    tests = []
    if codes.codes:
        tests.append(f"{sql} IN ({', '.join(quote(c) for c in sorted(codes.codes))})")
    for low, high in codes.ranges:
        tests.append(
            f"(length({sql}) = {len(low)} AND {sql} >= {quote(low)} AND {sql} <= {quote(high)})"
        )
    return "(" + (" OR ".join(tests) or "FALSE") + ")"


def period_test(day: str, periods: tuple[ir.Period, ...]) -> str:
    if not periods:
        return "TRUE"
    parts = [
        f"({day} >= DATE '{p.start.isoformat()}'"
        + (f" AND {day} <= DATE '{p.end.isoformat()}')" if p.end else ")")
        for p in periods
    ]
    return "(" + " OR ".join(parts) + ")"
