"""Type-check AST expressions and lower them to IR expressions.

Errors are collected, never raised one at a time: a wrong sub-expression gets the type `error`,
which is compatible with everything, so one mistake is reported once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import assert_never

import attrs

from policylang import ir
from policylang.check.builtins import BUILTINS
from policylang.errors import Diagnostic
from policylang.source import Span
from policylang.syntax import nodes

ERROR = "error"

# Fields every claim has, whatever the rule files declare (docs/language.md, "Claims").
STANDARD_CLAIM_FIELDS: tuple[ir.FieldSpec, ...] = (
    ir.FieldSpec("claim_id", "text"),
    ir.FieldSpec("provider", "code"),
    ir.FieldSpec("insurer", "code"),
    ir.FieldSpec("patient", "code"),
    ir.FieldSpec("code", "code"),
    ir.FieldSpec("start_date", "date"),
    ir.FieldSpec("end_date", "date", optional=True),  # defaults to start_date
    ir.FieldSpec("quantity", "integer", default=1, has_default=True),
    ir.FieldSpec("amount", "money"),
    # a credit line takes back (part of) an earlier claim, named in `corrects`; a debit that
    # names a claim in `corrects` is a re-claim (herdeclaratie) of it (docs/claims-formats.md)
    ir.FieldSpec("credit", "bool", default=False, has_default=True),
    ir.FieldSpec("corrects", "text", optional=True),
)

# What an aggregate over `claims` sees besides the claim fields: the claim's decision.
# `rule` is the rule of the decision's first reason (`conflict` for a conflict between titles or
# rules, `claim_id` for a repeated claim id, a field name for a broken row).
DECISION_FIELDS = {
    "status": "text",
    "payable": "money",
    "title": "text",
    "funding": "text",
    "rule": "text",
}

# What an aggregate over `lines` (in a check) sees: the settlement lines computed before it. A
# line's value is in the field of its unit (the others are empty): `amount` for money, `number`
# for counts, numbers and days, `percentage` for percentages.
LINE_FIELDS = {
    "settlement": "text",
    "party": "text",
    "item": "text",
    "unit": "text",
    "amount": "money",
    "number": "decimal",
    "percentage": "percent",
}

SCALAR_NAMES = {
    "money": "money",
    "decimal": "decimal",
    "integer": "integer",
    "percent": "percent",
    "date": "date",
    "days": "days",
    "text": "text",
    "code": "code",
    "bool": "bool",
}


def describe(type_: str) -> str:
    if type_.startswith("enum:"):
        return f"enum `{type_[5:]}`"
    if type_.startswith("row:"):
        return f"a row of table `{type_[4:]}`"
    return type_


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


@attrs.define
class Environment:
    """Everything declared in the loaded rule files, by kind."""

    claim_fields: dict[str, ir.FieldSpec] = attrs.Factory(dict)
    enums: dict[str, ir.EnumSpec] = attrs.Factory(dict)
    tables: dict[str, ir.TableSpec] = attrs.Factory(dict)
    codesets: dict[str, ir.CodeMatcher] = attrs.Factory(dict)
    params: dict[str, ir.ParamSpec] = attrs.Factory(dict)
    define_types: dict[str, str] = attrs.Factory(dict)
    titles: set[str] = attrs.Factory(set)

    def value_names(self) -> list[str]:
        return [*self.params, *self.define_types, *self.codesets, "claim"]


@attrs.define
class Scope:
    env: Environment
    allow_claim: bool = True
    locals: dict[str, str] = attrs.Factory(dict)
    context: dict[str, str] = attrs.Factory(dict)
    visible: frozenset[str] | None = None  # names of declarations this file may use
    in_settlement: bool = False  # prorate() and split() allocate over a settlement's parties
    allow_lines: bool = False  # checks may aggregate over the settlement lines
    # `year by claim.FIELD` of the settlement or check: aggregates over claims see its year only
    year_by: str | None = None

    def with_local(self, name: str, type_: str) -> Scope:
        return attrs.evolve(self, locals={**self.locals, name: type_})


def arith_type(op: str, left: str, right: str) -> str | None:
    if ERROR in (left, right):
        return ERROR
    pair = {left, right}
    if op in "+-":
        if left == right and left in ("money", "decimal", "integer", "percent", "days"):
            return left
        if pair == {"integer", "decimal"}:
            return "decimal"
        if pair in ({"percent", "integer"}, {"percent", "decimal"}):
            return "decimal"  # (1 + growth): a percentage is a fraction
        if op == "+" and pair == {"date", "days"}:
            return "date"
        if op == "-" and left == "date" and right == "days":
            return "date"
        if op == "-" and left == right == "date":
            return "days"
        return None
    if op == "*":
        if "money" in pair:
            other = (pair - {"money"}) or {"money"}
            return "money" if other <= {"integer", "decimal", "percent"} else None
        if left == right == "integer":
            return "integer"
        if pair <= {"integer", "decimal", "percent"}:
            return "decimal"
        if pair == {"days", "integer"}:
            return "days"
        return None
    if op == "/":
        if left == "money" and right in ("integer", "decimal", "percent"):
            return "money"
        if left == right == "money":
            return "decimal"
        if left in ("integer", "decimal", "percent", "days") and right in (
            "integer",
            "decimal",
            "percent",
            "days",
        ):
            return "decimal"
        return None
    return None  # pragma: no cover - the grammar has no other operators


def comparable(left: str, right: str) -> bool:
    if ERROR in (left, right) or left == right:
        return True
    pair = {left, right}
    return pair <= {"integer", "decimal"} or pair <= {"text", "code"}


@attrs.define
class ExpressionChecker:
    diagnostics: list[Diagnostic]

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    def expect(self, expr: ir.Expr, want: str, span: Span, what: str) -> None:
        got = expr.type
        if got in (ERROR, want) or (comparable(got, want) and want != "bool"):
            return
        self.error("E0301", f"{what} must be {describe(want)}, found {describe(got)}", span)

    # ------------------------------------------------------------ entry point
    def lower(self, node: nodes.Expr, scope: Scope) -> ir.Expr:
        match node:
            case nodes.Literal():
                return self._literal(node)
            case nodes.Name():
                return self._name(node, scope)
            case nodes.Member():
                return self._member(node, scope)
            case nodes.Lookup():
                return self._lookup(node, scope)
            case nodes.Call():
                return self._call(node, scope)
            case nodes.Unary():
                return self._unary(node, scope)
            case nodes.Binary():
                return self._binary(node, scope)
            case nodes.InSet():
                return self._in_set(node, scope)
            case nodes.IfThenElse():
                return self._if(node, scope)
            case nodes.Aggregate():
                return self._aggregate(node, scope)
            case nodes.Allocate():
                return self._allocate(node, scope)
            case nodes.RecordLit() | nodes.CodeSet():
                self.error(
                    "E0307",
                    "a record or code set cannot be used as a value here",
                    node.span,
                    'code sets go after `in`: claim.code in {"190015"}',
                )
                return ir.Const(None, ERROR, span=node.span)
            case _:
                assert_never(node)

    # ------------------------------------------------------------ leaves
    def _literal(self, node: nodes.Literal) -> ir.Expr:
        value = node.value
        if node.kind == "percent":
            assert isinstance(value, Decimal)
            value = value / 100
        if node.kind == "integer":
            return ir.Const(value, "integer", span=node.span)
        return ir.Const(value, node.kind, span=node.span)

    def _name(self, node: nodes.Name, scope: Scope) -> ir.Expr:
        name = node.name
        env = scope.env
        if name in scope.locals:
            return ir.Var(name, scope.locals[name], span=node.span)
        if name in scope.context:
            return ir.ContextValue(name, scope.context[name], span=node.span)
        if not self._visible(node, scope):
            return ir.Const(None, ERROR, span=node.span)
        if name in env.define_types:
            return ir.DefineRef(name, env.define_types[name], span=node.span)
        if name in env.params:
            return ir.ParamRef(name, env.params[name].type, span=node.span)
        if name == "claim":
            if not scope.allow_claim:
                self.error(
                    "E0204",
                    "`claim` cannot be used here",
                    node.span,
                    "settlements and checks see the whole claim set: use sum(... for c in claims)",
                )
                return ir.Const(None, ERROR, span=node.span)
            self.error(
                "E0302", "`claim` is a record; use one of its fields", node.span, "claim.amount"
            )
            return ir.Const(None, ERROR, span=node.span)
        if name in env.codesets:
            self.error("E0307", f"code set `{name}` can only be used after `in`", node.span)
            return ir.Const(None, ERROR, span=node.span)
        if name in env.tables:
            self.error(
                "E0302",
                f"table `{name}` is not a value",
                node.span,
                f"look a row up with {name}[key] or test a key with `x in {name}`",
            )
            return ir.Const(None, ERROR, span=node.span)
        candidates = [*env.value_names(), *scope.locals, *scope.context]
        self.error("E0201", f"unknown name `{name}`", node.span, did_you_mean(name, candidates))
        return ir.Const(None, ERROR, span=node.span)

    def _visible(self, node: nodes.Name, scope: Scope) -> bool:
        if scope.visible is None or node.name in scope.visible:
            return True
        env = scope.env
        declared = (
            node.name in env.define_types
            or node.name in env.params
            or node.name in env.tables
            or node.name in env.codesets
            or node.name in env.enums
        )
        if declared:
            self.error(
                "E0205",
                f"`{node.name}` is declared in another rule file that this file does not import",
                node.span,
                'add an `import "FILE.policy"` line for the file that declares it',
            )
            return False
        return True

    def _member(self, node: nodes.Member, scope: Scope) -> ir.Expr:
        env = scope.env
        target = node.target
        if isinstance(target, nodes.Name) and target.name not in scope.locals:
            if target.name == "settlement" and target.name not in env.define_types:
                return self._settlement_value(node, scope)
            if target.name == "claim":
                if not scope.allow_claim:
                    return self._name(target, scope)
                field = env.claim_fields.get(node.name)
                if field is None:
                    self.error(
                        "E0202",
                        f"the claim has no field `{node.name}`",
                        node.span,
                        did_you_mean(node.name, env.claim_fields)
                        or "declare extra fields in a `claim { ... }` block",
                    )
                    return ir.Const(None, ERROR, span=node.span)
                return ir.ClaimField(node.name, field.type, span=node.span)
            if target.name in env.enums:
                enum = env.enums[target.name]
                if node.name not in enum.members:
                    self.error(
                        "E0203",
                        f"enum `{enum.name}` has no member `{node.name}`",
                        node.span,
                        did_you_mean(node.name, enum.members)
                        or f"members: {', '.join(enum.members)}",
                    )
                    return ir.Const(None, ERROR, span=node.span)
                return ir.Const(node.name, f"enum:{enum.name}", span=node.span)
        base = self.lower(target, scope)
        if base.type == ERROR:
            return ir.Const(None, ERROR, span=node.span)
        if base.type.startswith("row:"):
            table = env.tables[base.type[4:]]
            field = table.field(node.name)
            if field is None:
                self.error(
                    "E0601",
                    f"table `{table.name}` has no column `{node.name}`",
                    node.span,
                    did_you_mean(node.name, [f.name for f in table.fields]),
                )
                return ir.Const(None, ERROR, span=node.span)
            return ir.FieldOf(base, node.name, field.type, span=node.span)
        if base.type == "line":
            line_type = LINE_FIELDS.get(node.name)
            if line_type is None:
                self.error(
                    "E0202",
                    f"a settlement line has no field `{node.name}`",
                    node.span,
                    did_you_mean(node.name, LINE_FIELDS) or "fields: " + ", ".join(LINE_FIELDS),
                )
                return ir.Const(None, ERROR, span=node.span)
            return ir.FieldOf(base, node.name, line_type, span=node.span)
        if base.type == "claim":
            spec = env.claim_fields.get(node.name)
            type_ = spec.type if spec else DECISION_FIELDS.get(node.name)
            if type_ is None:
                self.error(
                    "E0202",
                    f"a claim has no field `{node.name}`",
                    node.span,
                    did_you_mean(node.name, [*env.claim_fields, *DECISION_FIELDS]),
                )
                return ir.Const(None, ERROR, span=node.span)
            return ir.FieldOf(base, node.name, type_, span=node.span)
        self.error("E0302", f"{describe(base.type)} has no fields", node.span)
        return ir.Const(None, ERROR, span=node.span)

    def _settlement_value(self, node: nodes.Member, scope: Scope) -> ir.Expr:
        """`settlement.year`, `.start`, `.end`: the settled year and its first and last day."""
        fields = [
            name[len("settlement.") :] for name in scope.context if name.startswith("settlement.")
        ]
        if not fields:
            self.error(
                "E0201",
                "`settlement` is only known in a settlement or a check",
                node.span,
                "settlement.year, settlement.start and settlement.end are the settled period",
            )
            return ir.Const(None, ERROR, span=node.span)
        name = f"settlement.{node.name}"
        if name not in scope.context:
            self.error(
                "E0202",
                f"a settlement has no field `{node.name}`",
                node.span,
                did_you_mean(node.name, fields) or "fields: " + ", ".join(fields),
            )
            return ir.Const(None, ERROR, span=node.span)
        return ir.ContextValue(name, scope.context[name], span=node.span)

    def _lookup(self, node: nodes.Lookup, scope: Scope) -> ir.Expr:
        table = scope.env.tables.get(node.table)
        key = self.lower(node.key, scope)
        if table is None:
            self.error(
                "E0206",
                f"unknown table `{node.table}`",
                node.span,
                did_you_mean(node.table, scope.env.tables),
            )
            return ir.Const(None, ERROR, span=node.span)
        if not self._visible(nodes.Name(node.table, node.span), scope):
            return ir.Const(None, ERROR, span=node.span)
        if len(table.key) != 1:
            self.error(
                "E0602",
                f"table `{table.name}` has a key of {len(table.key)} columns; "
                "look-ups take a single key",
                node.span,
            )
            return ir.Const(None, ERROR, span=node.span)
        key_field = table.field(table.key[0])
        if key_field is None:  # E0603 at the table's declaration says the key is not a column
            return ir.Const(None, ERROR, span=node.span)
        if not comparable(key.type, key_field.type):
            self.error(
                "E0301",
                f"the key of `{table.name}` is {describe(key_field.type)}, "
                f"found {describe(key.type)}",
                node.key.span,
            )
        return ir.TableLookup(table.name, key, f"row:{table.name}", span=node.span)

    def _param_in_period(self, node: nodes.Call, scope: Scope) -> ir.Expr:
        """`value_on(p, DATE)` and `pro_rata(p)`: which value of a dated parameter a settlement
        or check reads when the parameter changes inside the settled period."""
        usage = "value_on(PARAMETER, settlement.end) or pro_rata(PARAMETER)"
        if "settlement.year" not in scope.context:
            self.error(
                "E0707",
                f"`{node.function}` reads a parameter for the settled period: only in a settlement or a check",
                node.span,
                "a claim reads a dated parameter on its own date: write the parameter's name",
            )
            return ir.Const(None, ERROR, span=node.span)
        want = 2 if node.function == "value_on" else 1
        first = node.args[0] if node.args else None
        param = (
            scope.env.params.get(first.name)
            if isinstance(first, nodes.Name) and first.name not in scope.locals
            else None
        )
        if len(node.args) != want or param is None:
            self.error(
                "E0707",
                f"`{node.function}` takes a parameter"
                + (" and a date" if want == 2 else "")
                + ", found "
                + (f"{len(node.args)} arguments" if len(node.args) != want else "something else"),
                node.span,
                usage,
            )
            return ir.Const(None, ERROR, span=node.span)
        if node.function == "pro_rata" and param.type not in (
            "money",
            "decimal",
            "integer",
            "percent",
        ):
            self.error(
                "E0707",
                f"`pro_rata` weighs numbers by days; parameter `{param.name}` is {describe(param.type)}",
                node.span,
                f"read one value: value_on({param.name}, settlement.end)",
            )
            return ir.Const(None, ERROR, span=node.span)
        if node.function == "pro_rata":
            result = "decimal" if param.type == "integer" else param.type
            return ir.ParamInPeriod(param.name, "pro_rata", None, result, span=node.span)
        day = self.lower(node.args[1], scope)
        self.expect(day, "date", node.args[1].span, "the date of `value_on`")
        return ir.ParamInPeriod(param.name, "on", day, param.type, span=node.span)

    def _call(self, node: nodes.Call, scope: Scope) -> ir.Expr:
        if node.function in ("value_on", "pro_rata") and node.function not in scope.env.params:
            return self._param_in_period(node, scope)
        param = scope.env.params.get(node.function)
        if param is not None:
            if not param.years or len(node.args) != 1:
                self.error(
                    "E0303",
                    f"parameter `{param.name}` is not a per-year table",
                    node.span,
                    "only `by year` parameters take a year: growth(2025)",
                )
                return ir.Const(None, ERROR, span=node.span)
            year = self.lower(node.args[0], scope)
            self.expect(year, "integer", node.args[0].span, "the year")
            return ir.ParamAtYear(param.name, year, param.type, span=node.span)
        spec = BUILTINS.get(node.function)
        if spec is None:
            self.error(
                "E0207",
                f"unknown function `{node.function}`",
                node.span,
                did_you_mean(node.function, [*BUILTINS, *scope.env.params]),
            )
            return ir.Const(None, ERROR, span=node.span)
        args = tuple(self.lower(arg, scope) for arg in node.args)
        types = [a.type for a in args]
        if ERROR in types:
            return ir.Const(None, ERROR, span=node.span)
        if node.function == "present" and (
            len(args) != 1 or not isinstance(args[0], ir.ClaimField | ir.FieldOf)
        ):
            self.error("E0303", "present() takes one claim or row field", node.span)
            return ir.Const(None, ERROR, span=node.span)
        result = spec[1](types)
        if result is None:
            shown = ", ".join(describe(t) for t in types) or "no arguments"
            self.error(
                "E0303",
                f"`{node.function}` does not take {shown}",
                node.span,
                f"{node.function}: {spec[0]}",
            )
            return ir.Const(None, ERROR, span=node.span)
        return ir.Builtin(node.function, args, result, span=node.span)

    def _unary(self, node: nodes.Unary, scope: Scope) -> ir.Expr:
        operand = self.lower(node.operand, scope)
        if node.op == "not":
            self.expect(operand, "bool", node.operand.span, "the operand of `not`")
            return ir.Not(operand, span=node.span)
        if operand.type not in ir.NUMERIC and operand.type != ERROR:
            self.error("E0304", f"cannot negate {describe(operand.type)}", node.span)
        return ir.Neg(operand, operand.type, span=node.span)

    def _binary(self, node: nodes.Binary, scope: Scope) -> ir.Expr:
        left = self.lower(node.left, scope)
        right = self.lower(node.right, scope)
        if node.op in ("and", "or"):
            self.expect(left, "bool", node.left.span, f"the left side of `{node.op}`")
            self.expect(right, "bool", node.right.span, f"the right side of `{node.op}`")
            return ir.Logic(node.op, left, right, span=node.span)
        if node.op in ("==", "!=", "<", "<=", ">", ">="):
            if not comparable(left.type, right.type):
                help_text = None
                if left.type.startswith("enum:") and right.type in ir.TEXTUAL:
                    help_text = f"write the member as `{left.type[5:]}.NAME`"
                elif {left.type, right.type} <= {"code", "text", "integer", "decimal"} and (
                    left.type in ir.TEXTUAL
                ) != (right.type in ir.TEXTUAL):
                    number = (node.left if left.type not in ir.TEXTUAL else node.right).span.text
                    if re.fullmatch(r"[0-9]+", number):  # a code written as a number literal
                        help_text = f'codes are texts: write "{number}"'
                self.error(
                    "E0305",
                    f"cannot compare {describe(left.type)} with {describe(right.type)}",
                    node.span,
                    help_text,
                )
            elif (node.op not in ("==", "!=") and left.type in ("bool", "text", "code")) or (
                node.op not in ("==", "!=") and left.type.startswith("enum:")
            ):
                self.error("E0305", f"{describe(left.type)} has no order", node.span)
            return ir.Compare(node.op, left, right, span=node.span)
        result = arith_type(node.op, left.type, right.type)
        if result is None:
            help_text = None
            if node.op == "*" and left.type == right.type == "money":
                help_text = "multiply an amount by a number or a percentage, not by an amount"
            elif (
                "money" in (left.type, right.type)
                and {left.type, right.type} & {"integer", "decimal"}
                and node.op in "+-"
            ):
                help_text = "write amounts with EUR: EUR 12.50"
            self.error(
                "E0304",
                f"cannot apply `{node.op}` to {describe(left.type)} and {describe(right.type)}",
                node.span,
                help_text,
            )
            result = ERROR
        return ir.Arith(node.op, left, right, result, span=node.span)

    def _in_set(self, node: nodes.InSet, scope: Scope) -> ir.Expr:
        value = self.lower(node.value, scope)
        codes = node.codes
        if isinstance(codes, nodes.Name):
            if codes.name in scope.env.tables:
                table = scope.env.tables[codes.name]
                key_field = table.field(table.key[0])
                if len(table.key) != 1:
                    self.error("E0602", f"table `{table.name}` has a composite key", codes.span)
                elif key_field is None:  # E0603 at the table's declaration
                    pass
                elif not comparable(value.type, key_field.type):
                    self.error(
                        "E0301",
                        f"the key of `{table.name}` is {describe(key_field.type)}, "
                        f"found {describe(value.type)}",
                        node.value.span,
                    )
                return ir.InTable(value, table.name, node.negated, span=node.span)
            if codes.name not in scope.env.codesets:
                self.error(
                    "E0208",
                    f"unknown code set `{codes.name}`",
                    codes.span,
                    did_you_mean(codes.name, [*scope.env.codesets, *scope.env.tables]),
                )
                return ir.Const(None, ERROR, span=node.span)
            if not self._visible(codes, scope):
                return ir.Const(None, ERROR, span=node.span)
            matcher = scope.env.codesets[codes.name]
        else:
            matcher = codeset_matcher(codes)
        if value.type not in (*ir.TEXTUAL, ERROR):
            self.error(
                "E0301",
                f"only codes and texts can be `in` a code set, found {describe(value.type)}",
                node.value.span,
            )
        return ir.InCodes(value, matcher, node.negated, span=node.span)

    def _if(self, node: nodes.IfThenElse, scope: Scope) -> ir.Expr:
        condition = self.lower(node.condition, scope)
        self.expect(condition, "bool", node.condition.span, "the condition of `if`")
        then = self.lower(node.then, scope)
        otherwise = self.lower(node.otherwise, scope)
        result = then.type
        if then.type == ERROR:
            result = otherwise.type
        elif otherwise.type != ERROR and then.type != otherwise.type:
            if {then.type, otherwise.type} <= {"integer", "decimal"}:
                result = "decimal"
            elif {then.type, otherwise.type} <= {"text", "code"}:
                result = "text"
            else:
                self.error(
                    "E0306",
                    f"the branches of `if` differ: {describe(then.type)} and "
                    f"{describe(otherwise.type)}",
                    node.span,
                )
                result = ERROR
        return ir.If(condition, then, otherwise, result, span=node.span)

    def _aggregate(self, node: nodes.Aggregate, scope: Scope) -> ir.Expr:
        if node.source == "claims":
            row_type = "claim"
        elif node.source == "lines" and scope.allow_lines:
            row_type = "line"
        elif node.source in scope.env.tables:
            row_type = f"row:{node.source}"
        else:
            self.error(
                "E0206",
                f"unknown source `{node.source}`",
                node.span,
                did_you_mean(node.source, ["claims", "lines", *scope.env.tables])
                or "aggregate over `claims`, a table, or (in a check) `lines`",
            )
            return ir.Const(None, ERROR, span=node.span)
        inner = attrs.evolve(scope.with_local(node.var, row_type), allow_claim=False)
        value = self.lower(node.value, inner) if node.value is not None else None
        where = self.lower(node.where, inner) if node.where is not None else None
        if where is not None:
            self.expect(where, "bool", node.where.span if node.where else node.span, "`where`")
        year_by = scope.year_by if node.source == "claims" else None
        if node.function == "count":
            return ir.Aggregate(
                "count", None, node.var, node.source, where, "integer", node.span, year_by
            )
        assert value is not None
        if value.type not in ("money", "decimal", "integer", "days", "percent", ERROR):
            self.error(
                "E0303",
                f"cannot sum {describe(value.type)}",
                node.span,
                "sum adds amounts, numbers, days and percentages; count(x in ... where ...) "
                "counts rows",
            )
        return ir.Aggregate(
            "sum", value, node.var, node.source, where, value.type, node.span, year_by
        )

    def _allocate(self, node: nodes.Allocate, scope: Scope) -> ir.Expr:
        if not scope.in_settlement:
            self.error(
                "E0702",
                f"`{node.kind}` allocates over the parties of a settlement and can only be used there",
                node.span,
                "use it in a `line` or `let` of a settlement",
            )
            return ir.Const(None, ERROR, span=node.span)
        total = self.lower(node.total, scope)
        self.expect(total, "money", node.total.span, f"the amount to {node.kind}")
        weight = self.lower(node.weight, scope)
        if weight.type not in ("decimal", "integer", "percent", "money", ERROR):
            self.error(
                "E0301", f"weights must be numbers, found {describe(weight.type)}", node.weight.span
            )
        group = self.lower(node.group, scope) if node.group is not None else None
        return ir.Allocate(node.kind, total, weight, group, span=node.span)


def codeset_matcher(codes: nodes.CodeSet) -> ir.CodeMatcher:
    return ir.CodeMatcher(frozenset(codes.codes), tuple((r.low, r.high) for r in codes.ranges))


def uses_claim(expr: ir.Expr, defines: dict[str, ir.DefineSpec]) -> bool:
    """True when the value depends on the claim being evaluated (directly or via a define)."""
    for sub in ir.walk(expr):
        if isinstance(sub, ir.ClaimField) or (
            isinstance(sub, ir.ContextValue) and sub.name in ("tariff", "claimed", "payable")
        ):
            return True
        if isinstance(sub, ir.DefineRef):
            spec = defines.get(sub.name)
            if spec is not None and uses_claim(spec.expr, defines):
                return True
        if isinstance(sub, ir.ParamRef) and sub.type != ERROR:
            continue
    return False
