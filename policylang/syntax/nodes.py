"""The abstract syntax tree of a rule file.

Frozen attrs classes in closed unions. Every node carries a `span` that takes no part in
equality, so `parse(fmt(ast)) == ast` compares structure only. Literal values are already
converted (Decimal, date, int): the lowering pass is the only place that reads token text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import assert_never

import attrs

from policylang.source import NO_SPAN, Span


def _span() -> Span:
    return attrs.field(default=NO_SPAN, eq=False, repr=False)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- metadata


@attrs.frozen
class Citation:
    text: str
    span: Span = _span()


@attrs.frozen
class Meta:
    """Citations, assumptions and notes attached to a declaration."""

    citations: tuple[Citation, ...] = ()
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def merge(self, other: Meta) -> Meta:
        return Meta(
            self.citations + other.citations,
            self.assumptions + other.assumptions,
            self.notes + other.notes,
        )


# ---------------------------------------------------------------- expressions


@attrs.frozen
class Literal:
    """A literal value. kind is one of: money, percent, date, days, decimal, integer, text, bool."""

    kind: str
    value: Decimal | dt.date | int | str | bool
    span: Span = _span()


@attrs.frozen
class Name:
    name: str
    span: Span = _span()


@attrs.frozen
class Member:
    target: Expr
    name: str
    span: Span = _span()


@attrs.frozen
class Lookup:
    table: str
    key: Expr
    span: Span = _span()


@attrs.frozen
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    span: Span = _span()


@attrs.frozen
class Binary:
    op: str  # + - * / == != < <= > >= and or
    left: Expr
    right: Expr
    span: Span = _span()


@attrs.frozen
class InSet:
    value: Expr
    codes: CodeSet | Name
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class IfThenElse:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span = _span()


@attrs.frozen
class Aggregate:
    """`sum(c.amount for c in claims where ...)` or `count(c in claims where ...)`."""

    function: str  # "sum" or "count"
    value: Expr | None
    var: str
    source: str
    where: Expr | None
    span: Span = _span()


@attrs.frozen
class Allocate:
    """`prorate(total by weight per group)` or `split(total by share per group)`."""

    kind: str  # "prorate" or "split"
    total: Expr
    weight: Expr
    group: Expr | None
    span: Span = _span()


@attrs.frozen
class RecordField:
    name: str
    value: Expr
    span: Span = _span()


@attrs.frozen
class RecordLit:
    fields: tuple[RecordField, ...]
    span: Span = _span()


@attrs.frozen
class CodeRange:
    low: str
    high: str
    span: Span = _span()


@attrs.frozen
class CodeSet:
    codes: tuple[str, ...]
    ranges: tuple[CodeRange, ...] = ()
    span: Span = _span()


Expr = (
    Literal
    | Name
    | Member
    | Lookup
    | Call
    | Unary
    | Binary
    | InSet
    | IfThenElse
    | Aggregate
    | Allocate
    | RecordLit
    | CodeSet
)


def children(node: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of an expression."""
    match node:
        case Literal() | Name() | CodeSet():
            return
        case Member(target=target):
            yield target
        case Lookup(key=key):
            yield key
        case Call(args=args):
            yield from args
        case Unary(operand=operand):
            yield operand
        case Binary(left=left, right=right):
            yield left
            yield right
        case InSet(value=value, codes=codes):
            yield value
            yield codes
        case IfThenElse(condition=c, then=t, otherwise=o):
            yield c
            yield t
            yield o
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
        case RecordLit(fields=fields):
            for field in fields:
                yield field.value
        case _:
            assert_never(node)


def walk(node: Expr) -> Iterator[Expr]:
    yield node
    for child in children(node):
        yield from walk(child)


# ---------------------------------------------------------------- declarations


@attrs.frozen
class TypeRef:
    name: str
    span: Span = _span()


@attrs.frozen
class FieldDecl:
    name: str
    type: TypeRef
    optional: bool = False
    default: Expr | None = None
    span: Span = _span()


@attrs.frozen
class Header:
    title: str
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class Import:
    path: str
    span: Span = _span()


@attrs.frozen
class EnumDecl:
    name: str
    members: tuple[str, ...]
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class ClaimDecl:
    fields: tuple[FieldDecl, ...]
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class TableRequire:
    condition: Expr
    message: str | None = None
    span: Span = _span()


@attrs.frozen
class TableDecl:
    name: str
    key: tuple[str, ...]
    fields: tuple[FieldDecl, ...]
    requires: tuple[TableRequire, ...] = ()
    meta: Meta = Meta()
    valid_from: str | None = None  # columns holding each row's validity period
    valid_to: str | None = None
    reference: str | None = None  # a bundled reference table used when no file is given
    span: Span = _span()


@attrs.frozen
class CodeSetDecl:
    name: str
    codes: CodeSet
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class PeriodValue:
    """A value in force from `start` to `end`, both days included; end None means open."""

    start: dt.date
    end: dt.date | None
    value: Expr
    span: Span = _span()


@attrs.frozen
class YearValue:
    year: int
    value: Expr
    span: Span = _span()


@attrs.frozen
class ParamDecl:
    name: str
    type: TypeRef
    always: Expr | None = None
    periods: tuple[PeriodValue, ...] = ()
    years: tuple[YearValue, ...] = ()
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class DefineDecl:
    name: str
    type: TypeRef | None
    value: Expr
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class Validity:
    start: dt.date
    end: dt.date | None = None
    span: Span = _span()


@attrs.frozen
class Eligibility:
    condition: Expr
    message: str | None = None
    span: Span = _span()


@attrs.frozen
class Tariff:
    kind: str  # "maximum", "fixed" or "free"
    value: Expr | None = None
    span: Span = _span()


@attrs.frozen
class Scope:
    """Same patient, and dates at most `days` apart (0 = on the same day)."""

    days: int
    span: Span = _span()


@attrs.frozen
class Exclusion:
    titles: tuple[str, ...]
    scope: Scope
    span: Span = _span()


@attrs.frozen
class Requirement:
    titles: tuple[str, ...]
    scope: Scope
    span: Span = _span()


@attrs.frozen
class TitleDecl:
    name: str
    label: str | None
    codes: tuple[CodeSet | Name, ...] = ()
    validity: tuple[Validity, ...] = ()
    funding: tuple[Name, ...] = ()
    eligibility: tuple[Eligibility, ...] = ()
    tariffs: tuple[Tariff, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class RuleDecl:
    name: str
    exception_to: Name | None
    applies_to: tuple[Name, ...]
    when: Expr | None
    outcome: str  # "pay", "reject" or "accept"
    pay: Expr | None
    because: str | None
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class SettleLet:
    name: str
    value: Expr
    span: Span = _span()


@attrs.frozen
class SettleLine:
    item: str
    value: Expr
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class SettleYear:
    """`year by claim.FIELD`: the claims of the settled year are those whose FIELD is in it."""

    field: str
    span: Span = _span()


@attrs.frozen
class SettlementDecl:
    name: str
    party: str  # the variable bound to each row, e.g. `location`
    table: str  # the table whose rows are the parties
    items: tuple[SettleLet | SettleLine, ...]
    meta: Meta = Meta()
    span: Span = _span()
    year_by: SettleYear | None = None  # None: every claim in the file


@attrs.frozen
class CheckDecl:
    name: str
    condition: Expr
    tolerance: Expr | None
    warn_only: bool
    meta: Meta = Meta()
    span: Span = _span()
    year_by: SettleYear | None = None


@attrs.frozen
class NoDoubleFunding:
    """`no patient funded by both A, B and C on the same day [where EXPR]`: names are payment
    titles or funding streams; `where` filters both claims of a pair (docs/invariants.md)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    scope: Scope
    where: Expr | None = None
    span: Span = _span()


@attrs.frozen
class InvariantDecl:
    name: str
    description: str | None
    condition: Expr | NoDoubleFunding
    meta: Meta = Meta()
    span: Span = _span()


@attrs.frozen
class GivenClaim:
    fields: RecordLit
    span: Span = _span()


@attrs.frozen
class GivenRow:
    table: str
    fields: RecordLit
    span: Span = _span()


@attrs.frozen
class ExpectClaim:
    claim_id: str
    status: str
    payable: Expr | None = None
    title: str | None = None
    reasons: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class ExpectValue:
    condition: Expr
    span: Span = _span()


@attrs.frozen
class TestDecl:
    name: str
    given: tuple[GivenClaim | GivenRow, ...]
    expect: tuple[ExpectClaim | ExpectValue, ...]
    span: Span = _span()


# ---------------------------------------------------------------- splitting a DBC (docs/splitting.md)


@attrs.frozen
class SplitPart:
    """`diagnostics 55%` in a `shares`, `weights` or `costs` clause."""

    role: str
    value: Expr  # a Literal or a Name
    span: Span = _span()


@attrs.frozen
class SplitBasis:
    kind: str  # "shares", "weights" or "costs"
    parts: tuple[SplitPart, ...]  # empty for `weights from claim.FIELD`
    span: Span = _span()
    field: Member | None = None  # `weights from claim.FIELD`: each part claim carries its weight


@attrs.frozen
class SplitRoles:
    roles: tuple[Name, ...]
    span: Span = _span()


@attrs.frozen
class SplitTariff:
    value: Expr
    span: Span = _span()


@attrs.frozen
class SplitFee:
    """`coordination fee EUR 75.00 to main_treater`."""

    amount: Expr
    role: str
    span: Span = _span()


@attrs.frozen
class SplitDiscount:
    """`discount 10% on diagnostics when claim.redone`."""

    rate: Expr
    role: str
    condition: Member  # claim.FIELD
    span: Span = _span()


@attrs.frozen
class SplitDecl:
    name: str
    label: str | None
    titles: tuple[Name, ...] = ()  # `of title NAME`; exactly one is valid
    codes: tuple[CodeSet | Name, ...] = ()  # a literal or a named code set
    tariffs: tuple[SplitTariff, ...] = ()
    roles: tuple[SplitRoles, ...] = ()
    bases: tuple[SplitBasis, ...] = ()
    fees: tuple[SplitFee, ...] = ()
    discounts: tuple[SplitDiscount, ...] = ()
    networks: tuple[Name, ...] = ()  # `network in TABLE`
    meta: Meta = Meta()
    span: Span = _span()


Decl = (
    Import
    | EnumDecl
    | RecordDecl
    | ClaimDecl
    | TableDecl
    | CodeSetDecl
    | ParamDecl
    | DefineDecl
    | TitleDecl
    | RuleDecl
    | SettlementDecl
    | CheckDecl
    | InvariantDecl
    | TestDecl
    | SplitDecl
)


@attrs.frozen
class Comment:
    text: str
    span: Span = _span()


@attrs.frozen
class Module:
    header: Header | None
    items: tuple[Decl, ...]
    comments: tuple[Comment, ...] = attrs.field(default=(), eq=False, repr=False)
    span: Span = _span()
