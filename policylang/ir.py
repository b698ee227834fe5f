"""The checked, backend-neutral program that every evaluator consumes.

The checker produces this from the AST; the reference interpreter (evaluate/interpreter.py) and
any compiled engine read it. Nothing here depends on an evaluator: expressions are plain typed
trees with names already resolved, literal values already converted (percent as a fraction), and
declarations in dependency order.

Types are short strings: money, decimal, integer, percent, date, days, text, code, bool, and
`enum:NAME`, `row:TABLE` for a table row and `claim` for the claim record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, assert_never

import attrs

from policylang.source import NO_SPAN, Span

Value = Any  # Decimal | int | date | str | bool | None | dict (a row)

NUMERIC = frozenset({"money", "decimal", "integer", "percent", "days"})
TEXTUAL = frozenset({"text", "code"})
SCALAR_TYPES = frozenset(
    {"money", "decimal", "integer", "percent", "date", "days", "text", "code", "bool"}
)


def _span() -> Span:
    return attrs.field(default=NO_SPAN, eq=False, repr=False)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- code sets


@attrs.frozen
class CodeMatcher:
    """Codes and inclusive ranges of same-length codes (compared as text, so zeros count)."""

    codes: frozenset[str] = frozenset()
    ranges: tuple[tuple[str, str], ...] = ()

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        if code in self.codes:
            return True
        return any(len(low) == len(code) and low <= code <= high for low, high in self.ranges)

    def union(self, other: CodeMatcher) -> CodeMatcher:
        return CodeMatcher(self.codes | other.codes, self.ranges + other.ranges)

    def describe(self) -> str:
        parts = sorted(self.codes) + [f"{low}..{high}" for low, high in self.ranges]
        return ", ".join(parts)


# ---------------------------------------------------------------- expressions


@attrs.frozen
class Const:
    value: Value
    type: str
    span: Span = _span()


@attrs.frozen
class ClaimField:
    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class Var:
    """A bound variable: an aggregate's row, a settlement's party row, or a settlement `let`."""

    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class ContextValue:
    """A value the evaluator supplies in a rule: `tariff`, `claimed`, `payable`."""

    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class ParamRef:
    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class ParamAtYear:
    """`growth(2025)`: a per-year parameter at an explicit year."""

    name: str
    year: Expr
    type: str
    span: Span = _span()


@attrs.frozen
class ParamInPeriod:
    """A dated parameter read in a settlement or check, the author saying which value: its
    value on a date (`value_on(p, settlement.end)`) or its values weighted by the days of the
    settled period (`pro_rata(p)`); `day` is None for pro rata."""

    name: str
    how: str  # "on" or "pro_rata"
    day: Expr | None
    type: str
    span: Span = _span()


@attrs.frozen
class DefineRef:
    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class TableLookup:
    """The row of `table` whose key equals `key`; missing -> evaluation error."""

    table: str
    key: Expr
    type: str
    span: Span = _span()


@attrs.frozen
class FieldOf:
    target: Expr
    name: str
    type: str
    span: Span = _span()


@attrs.frozen
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    type: str
    span: Span = _span()


@attrs.frozen
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    type: str = "bool"
    span: Span = _span()


@attrs.frozen
class Logic:
    op: str  # and, or (short-circuit)
    left: Expr
    right: Expr
    type: str = "bool"
    span: Span = _span()


@attrs.frozen
class Not:
    operand: Expr
    type: str = "bool"
    span: Span = _span()


@attrs.frozen
class Neg:
    operand: Expr
    type: str
    span: Span = _span()


@attrs.frozen
class If:
    condition: Expr
    then: Expr
    otherwise: Expr
    type: str
    span: Span = _span()


@attrs.frozen
class InCodes:
    value: Expr
    codes: CodeMatcher
    negated: bool = False
    type: str = "bool"
    span: Span = _span()


@attrs.frozen
class InTable:
    """True when `table` has a row whose key equals `value` (`claim.code in zorgproducten`)."""

    value: Expr
    table: str
    negated: bool = False
    type: str = "bool"
    span: Span = _span()


@attrs.frozen
class Builtin:
    """A built-in function; the list with signatures is in policylang/check/builtins.py."""

    name: str
    args: tuple[Expr, ...]
    type: str
    span: Span = _span()


@attrs.frozen
class Aggregate:
    """sum or count over the claim set (`claims`) or a table's rows."""

    function: str
    value: Expr | None
    var: str
    source: str  # "claims" or a table name
    where: Expr | None
    type: str
    span: Span = _span()
    # over claims in a settlement or check with `year by claim.FIELD`: only the claims whose
    # FIELD falls in the settled period
    year_by: str | None = None


@attrs.frozen
class Allocate:
    """This settlement party's part of `total`, allocated over the parties whose `group` value
    equals this one's, by largest remainder (docs/allocation.md). kind: prorate or split."""

    kind: str
    total: Expr
    weight: Expr
    group: Expr | None
    type: str = "money"
    span: Span = _span()


Expr = (
    Const
    | ClaimField
    | Var
    | ContextValue
    | ParamRef
    | ParamAtYear
    | ParamInPeriod
    | DefineRef
    | TableLookup
    | FieldOf
    | Arith
    | Compare
    | Logic
    | Not
    | Neg
    | If
    | InCodes
    | InTable
    | Builtin
    | Aggregate
    | Allocate
)


def children(expr: Expr) -> Iterator[Expr]:
    match expr:
        case Const() | ClaimField() | Var() | ContextValue() | ParamRef() | DefineRef():
            return
        case ParamAtYear(year=year):
            yield year
        case ParamInPeriod(day=day):
            if day is not None:
                yield day
        case TableLookup(key=key):
            yield key
        case FieldOf(target=target):
            yield target
        case Arith(left=left, right=right) | Compare(left=left, right=right):
            yield left
            yield right
        case Logic(left=left, right=right):
            yield left
            yield right
        case Not(operand=operand) | Neg(operand=operand):
            yield operand
        case If(condition=c, then=t, otherwise=o):
            yield c
            yield t
            yield o
        case InCodes(value=value) | InTable(value=value):
            yield value
        case Builtin(args=args):
            yield from args
        case Aggregate(value=value, where=where):
            if value is not None:
                yield value
            if where is not None:
                yield where
        case Allocate(total=total, weight=weight, group=group):
            yield total
            yield weight
            if group is not None:
                yield group
        case _:
            assert_never(expr)


def walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    for child in children(expr):
        yield from walk(child)


# ---------------------------------------------------------------- declarations


@attrs.frozen
class FieldSpec:
    name: str
    type: str
    optional: bool = False
    default: Value = None
    has_default: bool = False
    span: Span = _span()


@attrs.frozen
class EnumSpec:
    name: str
    members: tuple[str, ...]


@attrs.frozen
class TableRequirement:
    """A condition every row must meet; columns are `Var`s named after the column."""

    expr: Expr
    message: str
    columns: tuple[str, ...]


@attrs.frozen
class TableSpec:
    name: str
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    citations: tuple[str, ...] = ()
    requirements: tuple[TableRequirement, ...] = ()
    valid_from: str | None = None  # validity columns: rows hold per period (a temporal table)
    valid_to: str | None = None
    reference: str | None = None  # bundled rows (policylang/data) used when no file is given
    span: Span = _span()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


@attrs.frozen
class Period:
    """Both ends included; end None means open-ended."""

    start: dt.date
    end: dt.date | None
    value: Value

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@attrs.frozen
class ParamSpec:
    name: str
    type: str
    always: Value = None
    has_always: bool = False
    periods: tuple[Period, ...] = ()
    years: tuple[tuple[int, Value], ...] = ()
    citations: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    span: Span = _span()

    def describe_validity(self) -> str:
        if self.has_always:
            return "always"
        if self.years:
            years = [year for year, _ in self.years]
            return f"for the years {min(years)}-{max(years)}"
        parts = [
            f"from {p.start.isoformat()}" + (f" to {p.end.isoformat()}" if p.end else "")
            for p in self.periods
        ]
        return "; ".join(parts)


@attrs.frozen
class DefineSpec:
    name: str
    type: str
    expr: Expr
    citations: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class Condition:
    expr: Expr
    message: str
    citation: str | None
    text: str  # the condition as written, for explanations


@attrs.frozen
class CrossClaim:
    """Same patient, other titles, dates at most `days` apart."""

    titles: tuple[str, ...]
    days: int
    citation: str | None


@attrs.frozen
class TitleSpec:
    name: str
    label: str
    codes: CodeMatcher
    validity: tuple[Period, ...]  # value unused; empty means always valid
    funding: str
    eligibility: tuple[Condition, ...]
    tariff_kind: str  # maximum, fixed, free
    tariff: Expr | None
    exclusions: tuple[CrossClaim, ...]
    requirements: tuple[CrossClaim, ...]
    citation: str | None
    rules: tuple[str, ...] = ()  # rules that apply to this title, in declaration order
    span: Span = _span()

    def valid_on(self, day: dt.date) -> bool:
        return not self.validity or any(p.covers(day) for p in self.validity)


@attrs.frozen
class RuleSpec:
    name: str
    titles: tuple[str, ...]
    exception_to: str | None
    when: Expr | None
    when_text: str
    outcome: str  # pay, reject, accept
    pay: Expr | None
    because: str
    citation: str | None
    span: Span = _span()


@attrs.frozen
class SettleLineSpec:
    item: str
    expr: Expr
    citation: str | None
    unit: str = "money"  # money, integer, decimal, percent or days: how the line is kept and shown


@attrs.frozen
class SettlementSpec:
    name: str
    party: str
    table: str
    lets: tuple[tuple[str, Expr], ...]
    steps: tuple[tuple[str, Any], ...]  # ("let", (name, expr)) or ("line", SettleLineSpec)
    citation: str | None
    year_by: str | None = None  # `year by claim.FIELD`: the claim date that puts it in the year


@attrs.frozen
class CheckSpec:
    name: str
    expr: Expr
    tolerance: Expr | None
    warn_only: bool
    citation: str | None
    text: str
    year_by: str | None = None


@attrs.frozen
class DoubleFunding:
    """`no patient funded by both ...`: no two paid claims of one patient, one with a title of
    `first` and the other with a title of `second` (funding streams already expanded to their
    titles), at most `days` apart, both meeting `where` (per claim, sees `decision`)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    days: int
    where: Expr | None = None


@attrs.frozen
class InvariantSpec:
    name: str
    description: str
    expr: Expr  # evaluated per claim decision, or over the claim set (aggregates)
    per_claim: bool
    citation: str | None
    text: str
    double_funding: DoubleFunding | None = None  # the first-class form; then expr is `true`
    span: Span = _span()


@attrs.frozen
class ClaimExpectation:
    claim_id: str
    status: str
    payable: Decimal | None
    title: str | None
    reasons: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class TestSpec:
    name: str
    claims: tuple[dict[str, Value], ...]  # typed claim records
    rows: tuple[tuple[str, dict[str, Value]], ...]
    claim_expectations: tuple[ClaimExpectation, ...]
    value_expectations: tuple[tuple[Expr, str], ...]  # expression and its text
    span: Span = _span()


@attrs.frozen
class SplitDiscountSpec:
    """`discount RATE on ROLE when claim.FIELD`: RATE of ROLE's part is not paid."""

    rate: Expr  # percent
    role: str
    condition: Expr  # bool, evaluated on the claim
    text: str


@attrs.frozen
class SplitSpec:
    """A title's tariff divided over the roles of a care network (docs/splitting.md).

    `weights` are in `roles` order: shares as fractions summing to exactly 1 (basis `shares`),
    or non-negative weights / cost amounts to prorate by (`weights`, `costs`). The coordination
    fee comes off the top for `fee_role`; the rest is divided by largest remainder, ties to the
    earlier role. `tariff` None means the title's tariff.

    `weight_field` set (`weights from claim.FIELD`): the weights are not declared but read from
    that numeric claim field of the trajectory's counted part claims; `weights` is then empty.
    """

    name: str
    label: str
    title: str
    codes: CodeMatcher | None  # None: every code of the title
    tariff: Expr | None
    roles: tuple[str, ...]
    basis: str  # shares, weights, costs
    weights: tuple[Decimal, ...]
    fee: Expr | None
    fee_role: str | None
    discounts: tuple[SplitDiscountSpec, ...]
    network: str | None  # table of network members, keyed by provider
    citation: str | None
    span: Span = _span()
    weight_field: str | None = None  # `weights from claim.FIELD` (docs/splitting.md)

    @property
    def main_role(self) -> str:
        """The main treater (hoofdbehandelaar): the fee's role, else the first role."""
        return self.fee_role or self.roles[0]


@attrs.frozen
class Program:
    name: str
    citations: tuple[str, ...]
    files: tuple[str, ...]
    claim_fields: tuple[FieldSpec, ...]
    enums: dict[str, EnumSpec]
    tables: dict[str, TableSpec]
    params: dict[str, ParamSpec]
    defines: dict[str, DefineSpec]  # in dependency order
    titles: dict[str, TitleSpec]
    rules: dict[str, RuleSpec]
    settlements: dict[str, SettlementSpec]
    checks: dict[str, CheckSpec]
    invariants: dict[str, InvariantSpec]
    tests: tuple[TestSpec, ...]
    splits: dict[str, SplitSpec] = attrs.field(factory=dict)  # docs/splitting.md

    def claim_field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.claim_fields if f.name == name), None)

    def expressions(self) -> Iterator[Expr]:
        """Every expression of the program: definitions, titles, rules, settlements, checks,
        invariants, splits and test expectations (for analyses that look at all of them)."""
        yield from (d.expr for d in self.defines.values())
        for title in self.titles.values():
            yield from (c.expr for c in title.eligibility)
            if title.tariff is not None:
                yield title.tariff
        for rule in self.rules.values():
            yield from (e for e in (rule.when, rule.pay) if e is not None)
        for settlement in self.settlements.values():
            yield from (e for _, e in settlement.lets)
            yield from (step[1].expr for step in settlement.steps if step[0] == "line")
        for check in self.checks.values():
            yield from (e for e in (check.expr, check.tolerance) if e is not None)
        for invariant in self.invariants.values():
            yield invariant.expr
            double = invariant.double_funding
            if double is not None and double.where is not None:
                yield double.where
        for split in self.splits.values():
            yield from (e for e in (split.tariff, split.fee) if e is not None)
            for discount in split.discounts:
                yield discount.rate
                yield discount.condition
        for test in self.tests:
            yield from (e for e, _ in test.value_expectations)
