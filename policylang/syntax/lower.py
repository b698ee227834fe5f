"""Lower a Lark parse tree into our own AST (nodes.py).

This is the only module that reads Lark trees or token text. Literal conversion happens here,
so a malformed literal (a date like 2027-02-30) is reported with its exact position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import lark
from lark import Token, Transformer, v_args

from policylang.errors import Diagnostic, PolicySyntaxError
from policylang.source import SourceFile, Span
from policylang.syntax import nodes


class _Lower(Transformer[Token, Any]):
    def __init__(self, source: SourceFile) -> None:
        super().__init__()
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # ------------------------------------------------------------ helpers
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source, 0, 0)
        return Span(self.source, meta.start_pos, meta.end_pos)

    def _tok_span(self, token: Token) -> Span:
        start = token.start_pos or 0
        end = token.end_pos if token.end_pos is not None else start + len(token)
        return Span(self.source, start, end)

    def _string(self, token: Token) -> str:
        body = str(token)[1:-1]
        return body.replace('\\"', '"').replace("\\\\", "\\")

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.diagnostics.append(
                Diagnostic(
                    "E0104",
                    f"`{token}` is not a valid date",
                    self._tok_span(token),
                    "dates are written YYYY-MM-DD and must exist in the calendar",
                )
            )
            return dt.date(1, 1, 1)

    def _decimal(self, text: str, token: Token) -> Decimal:
        try:
            return Decimal(text.replace("_", ""))
        except InvalidOperation:  # pragma: no cover - the grammar only admits digits
            self.diagnostics.append(
                Diagnostic("E0105", f"`{token}` is not a number", self._tok_span(token))
            )
            return Decimal(0)

    def _meta(self, items: Sequence[Any]) -> nodes.Meta:
        meta = nodes.Meta()
        for item in items:
            if isinstance(item, nodes.Meta):
                meta = meta.merge(item)
        return meta

    # ------------------------------------------------------------ module
    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> nodes.Module:
        header = None
        items = []
        for child in children:
            if isinstance(child, nodes.Header):
                header = child
            elif child is not None:
                items.append(child)
        return nodes.Module(header, tuple(items), span=self._span(meta))

    @v_args(meta=True)
    def header(self, meta: Any, children: list[Any]) -> nodes.Header:
        return nodes.Header(self._string(children[0]), self._meta(children[1:]), self._span(meta))

    @v_args(meta=True)
    def import_decl(self, meta: Any, children: list[Any]) -> nodes.Import:
        return nodes.Import(self._string(children[0]), self._span(meta))

    @v_args(meta=True)
    def citation(self, meta: Any, children: list[Any]) -> nodes.Meta:
        return nodes.Meta(citations=(nodes.Citation(self._string(children[0]), self._span(meta)),))

    def assumption(self, children: list[Any]) -> nodes.Meta:
        return nodes.Meta(assumptions=(self._string(children[0]),))

    def note(self, children: list[Any]) -> nodes.Meta:
        return nodes.Meta(notes=(self._string(children[0]),))

    # ------------------------------------------------------------ types and schemas
    def name_list(self, children: list[Token]) -> list[Token]:
        return children

    @v_args(meta=True)
    def enum_decl(self, meta: Any, children: list[Any]) -> nodes.EnumDecl:
        return nodes.EnumDecl(
            str(children[0]),
            tuple(str(n) for n in children[1]),
            self._meta(children[2:]),
            self._span(meta),
        )

    @v_args(meta=True)
    def type_ref(self, meta: Any, children: list[Any]) -> nodes.TypeRef:
        return nodes.TypeRef(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def field_decl(self, meta: Any, children: list[Any]) -> nodes.FieldDecl:
        name, type_ref, optional, default = children
        return nodes.FieldDecl(str(name), type_ref, optional is not None, default, self._span(meta))

    def field_default(self, children: list[Any]) -> Any:
        return children[0]

    def _fields(self, children: Sequence[Any]) -> tuple[nodes.FieldDecl, ...]:
        return tuple(c for c in children if isinstance(c, nodes.FieldDecl))

    @v_args(meta=True)
    def record_decl(self, meta: Any, children: list[Any]) -> nodes.RecordDecl:
        return nodes.RecordDecl(
            str(children[0]), self._fields(children[1:]), self._meta(children), self._span(meta)
        )

    @v_args(meta=True)
    def claim_decl(self, meta: Any, children: list[Any]) -> nodes.ClaimDecl:
        return nodes.ClaimDecl(self._fields(children), self._meta(children), self._span(meta))

    @v_args(meta=True)
    def table_decl(self, meta: Any, children: list[Any]) -> nodes.TableDecl:
        validity = next(
            (c[1:] for c in children if isinstance(c, tuple) and c[0] == "valid"), (None, None)
        )
        return nodes.TableDecl(
            str(children[0]),
            tuple(str(n) for n in children[1]),
            self._fields(children[2:]),
            tuple(c for c in children if isinstance(c, nodes.TableRequire)),
            self._meta(children),
            valid_from=validity[0],
            valid_to=validity[1],
            reference=next(
                (c[1] for c in children if isinstance(c, tuple) and c[0] == "reference"), None
            ),
            span=self._span(meta),
        )

    def table_validity(self, children: list[Any]) -> tuple[str, str | None, str | None]:
        start, end = children
        return ("valid", str(start), str(end) if end is not None else None)

    def table_reference(self, children: list[Any]) -> tuple[str, str]:
        return ("reference", self._string(children[0]))

    @v_args(meta=True)
    def table_require(self, meta: Any, children: list[Any]) -> nodes.TableRequire:
        condition, message = children
        return nodes.TableRequire(
            condition, self._string(message) if message is not None else None, self._span(meta)
        )

    @v_args(meta=True)
    def codeset_decl(self, meta: Any, children: list[Any]) -> nodes.CodeSetDecl:
        return nodes.CodeSetDecl(
            str(children[0]), children[1], self._meta(children[2:]), self._span(meta)
        )

    # ------------------------------------------------------------ parameters, definitions
    @v_args(meta=True)
    def param_decl(self, meta: Any, children: list[Any]) -> nodes.ParamDecl:
        name, type_ref, *rest = children
        body = next(c for c in rest if isinstance(c, tuple))
        kind, value = body
        return nodes.ParamDecl(
            str(name),
            type_ref,
            always=value if kind == "always" else None,
            periods=value if kind == "periods" else (),
            years=value if kind == "years" else (),
            meta=self._meta(rest),
            span=self._span(meta),
        )

    def param_always(self, children: list[Any]) -> tuple[str, Any]:
        return ("always", children[0])

    def param_periods(self, children: list[Any]) -> tuple[str, Any]:
        return ("periods", tuple(children))

    def param_years(self, children: list[Any]) -> tuple[str, Any]:
        return ("years", tuple(children))

    @v_args(meta=True)
    def period_value(self, meta: Any, children: list[Any]) -> nodes.PeriodValue:
        start, end, value = children
        return nodes.PeriodValue(
            self._date(start),
            self._date(end) if end is not None else None,
            value,
            self._span(meta),
        )

    @v_args(meta=True)
    def year_value(self, meta: Any, children: list[Any]) -> nodes.YearValue:
        return nodes.YearValue(
            int(str(children[0]).replace("_", "")), children[1], self._span(meta)
        )

    @v_args(meta=True)
    def define_decl(self, meta: Any, children: list[Any]) -> nodes.DefineDecl:
        name, type_ref, value, *rest = children
        return nodes.DefineDecl(str(name), type_ref, value, self._meta(rest), self._span(meta))

    # ------------------------------------------------------------ titles
    @v_args(meta=True)
    def title_decl(self, meta: Any, children: list[Any]) -> nodes.TitleDecl:
        name, label, *clauses = children

        def of(kind: type) -> tuple[Any, ...]:
            return tuple(c for c in clauses if isinstance(c, kind))

        return nodes.TitleDecl(
            name=str(name),
            label=self._string(label) if label is not None else None,
            codes=tuple(c[1] for c in clauses if isinstance(c, tuple) and c[0] == "codes"),
            validity=of(nodes.Validity),
            funding=of(nodes.Name),
            eligibility=of(nodes.Eligibility),
            tariffs=of(nodes.Tariff),
            exclusions=of(nodes.Exclusion),
            requirements=of(nodes.Requirement),
            meta=self._meta(clauses),
            span=self._span(meta),
        )

    def codes_clause(self, children: list[Any]) -> tuple[str, nodes.CodeSet | nodes.Name]:
        if isinstance(children[0], Token):  # a named code set
            return ("codes", nodes.Name(str(children[0]), self._tok_span(children[0])))
        return ("codes", children[0])

    @v_args(meta=True)
    def validity_clause(self, meta: Any, children: list[Any]) -> nodes.Validity:
        start, end = children
        return nodes.Validity(
            self._date(start), self._date(end) if end is not None else None, self._span(meta)
        )

    def funding_clause(self, children: list[Token]) -> nodes.Name:
        return nodes.Name(str(children[0]), self._tok_span(children[0]))

    @v_args(meta=True)
    def eligible_clause(self, meta: Any, children: list[Any]) -> nodes.Eligibility:
        condition, message = children
        return nodes.Eligibility(
            condition, self._string(message) if message is not None else None, self._span(meta)
        )

    @v_args(meta=True)
    def tariff_maximum(self, meta: Any, children: list[Any]) -> nodes.Tariff:
        return nodes.Tariff("maximum", children[0], self._span(meta))

    @v_args(meta=True)
    def tariff_fixed(self, meta: Any, children: list[Any]) -> nodes.Tariff:
        return nodes.Tariff("fixed", children[0], self._span(meta))

    @v_args(meta=True)
    def tariff_free(self, meta: Any, children: list[Any]) -> nodes.Tariff:
        return nodes.Tariff("free", None, self._span(meta))

    @v_args(meta=True)
    def exclusion_clause(self, meta: Any, children: list[Any]) -> nodes.Exclusion:
        return nodes.Exclusion(tuple(str(n) for n in children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def requirement_clause(self, meta: Any, children: list[Any]) -> nodes.Requirement:
        return nodes.Requirement(tuple(str(n) for n in children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def no_double_funding(self, meta: Any, children: list[Any]) -> nodes.NoDoubleFunding:
        first, second, scope, where = children
        return nodes.NoDoubleFunding(
            tuple(str(n) for n in first),
            tuple(str(n) for n in second),
            scope,
            where,
            self._span(meta),
        )

    @v_args(meta=True)
    def same_day(self, meta: Any, children: list[Any]) -> nodes.Scope:
        return nodes.Scope(0, self._span(meta))

    @v_args(meta=True)
    def within_days(self, meta: Any, children: list[Any]) -> nodes.Scope:
        return nodes.Scope(int(str(children[0]).replace("_", "")), self._span(meta))

    # ------------------------------------------------------------ rules
    @v_args(meta=True)
    def rule_decl(self, meta: Any, children: list[Any]) -> nodes.RuleDecl:
        name, exception_of, applies, when, outcome, because, *rest = children
        kind, pay = outcome
        return nodes.RuleDecl(
            name=str(name),
            exception_to=exception_of,
            applies_to=applies,
            when=when,
            outcome=kind,
            pay=pay,
            because=because,
            meta=self._meta(rest),
            span=self._span(meta),
        )

    def exception_of(self, children: list[Token]) -> nodes.Name:
        return nodes.Name(str(children[0]), self._tok_span(children[0]))

    def rule_applies(self, children: list[Any]) -> tuple[nodes.Name, ...]:
        return tuple(nodes.Name(str(n), self._tok_span(n)) for n in children[0])

    def rule_when(self, children: list[Any]) -> Any:
        return children[0]

    def outcome_pay(self, children: list[Any]) -> tuple[str, Any]:
        return ("pay", children[0])

    def outcome_reject(self, children: list[Any]) -> tuple[str, Any]:
        return ("reject", None)

    def outcome_accept(self, children: list[Any]) -> tuple[str, Any]:
        return ("accept", None)

    def rule_because(self, children: list[Token]) -> str:
        return self._string(children[0])

    # ------------------------------------------------------------ settlement
    @v_args(meta=True)
    def settlement_decl(self, meta: Any, children: list[Any]) -> nodes.SettlementDecl:
        name, party, table, *rest = children
        items = tuple(c for c in rest if isinstance(c, nodes.SettleLet | nodes.SettleLine))
        scopes = [c for c in rest if isinstance(c, nodes.SettleYear)]
        if len(scopes) > 1:
            self.diagnostics.append(
                Diagnostic(
                    "E0705",
                    f"settlement `{name}` says `year by` twice",
                    scopes[1].span,
                    "one `year by claim.FIELD` line names the date that puts a claim in the year",
                )
            )
        return nodes.SettlementDecl(
            str(name),
            str(party),
            str(table),
            items,
            self._meta(rest),
            self._span(meta),
            scopes[0] if scopes else None,
        )

    @v_args(meta=True)
    def settle_year(self, meta: Any, children: list[Any]) -> nodes.SettleYear:
        return nodes.SettleYear(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def settle_let(self, meta: Any, children: list[Any]) -> nodes.SettleLet:
        return nodes.SettleLet(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def settle_line(self, meta: Any, children: list[Any]) -> nodes.SettleLine:
        return nodes.SettleLine(
            self._string(children[0]), children[1], self._meta(children[2:]), self._span(meta)
        )

    @v_args(meta=True)
    def check_decl(self, meta: Any, children: list[Any]) -> nodes.CheckDecl:
        name, year_by, (condition, tolerance, warn_only), *rest = children
        return nodes.CheckDecl(
            str(name),
            condition,
            tolerance,
            warn_only,
            self._meta(rest),
            self._span(meta),
            year_by,
        )

    def check_body(self, children: list[Any]) -> tuple[Any, Any, bool]:
        condition, tolerance, warn_only = children
        return condition, tolerance, warn_only is not None

    def warn_only(self, _: list[Any]) -> bool:
        return True

    @v_args(meta=True)
    def invariant_decl(self, meta: Any, children: list[Any]) -> nodes.InvariantDecl:
        name, description, condition, *rest = children
        return nodes.InvariantDecl(
            str(name),
            self._string(description) if description is not None else None,
            condition,
            self._meta(rest),
            self._span(meta),
        )

    # ------------------------------------------------------------ splits (docs/splitting.md)
    @v_args(meta=True)
    def split_decl(self, meta: Any, children: list[Any]) -> nodes.SplitDecl:
        name, label, *clauses = children

        def of(kind: type) -> tuple[Any, ...]:
            return tuple(c for c in clauses if isinstance(c, kind))

        def tagged(tag: str) -> tuple[Any, ...]:
            return tuple(c[1] for c in clauses if isinstance(c, tuple) and c[0] == tag)

        return nodes.SplitDecl(
            name=str(name),
            label=self._string(label) if label is not None else None,
            titles=tagged("of"),
            codes=tagged("codes"),
            tariffs=of(nodes.SplitTariff),
            roles=of(nodes.SplitRoles),
            bases=of(nodes.SplitBasis),
            fees=of(nodes.SplitFee),
            discounts=of(nodes.SplitDiscount),
            networks=tagged("network"),
            meta=self._meta(clauses),
            span=self._span(meta),
        )

    def split_of(self, children: list[Token]) -> tuple[str, nodes.Name]:
        return ("of", nodes.Name(str(children[0]), self._tok_span(children[0])))

    def split_network(self, children: list[Token]) -> tuple[str, nodes.Name]:
        return ("network", nodes.Name(str(children[0]), self._tok_span(children[0])))

    @v_args(meta=True)
    def split_tariff(self, meta: Any, children: list[Any]) -> nodes.SplitTariff:
        return nodes.SplitTariff(children[0], self._span(meta))

    @v_args(meta=True)
    def split_roles(self, meta: Any, children: list[Token]) -> nodes.SplitRoles:
        roles = tuple(nodes.Name(str(t), self._tok_span(t)) for t in children)
        return nodes.SplitRoles(roles, self._span(meta))

    @v_args(meta=True)
    def split_shares(self, meta: Any, children: list[Any]) -> nodes.SplitBasis:
        return nodes.SplitBasis("shares", tuple(children), self._span(meta))

    @v_args(meta=True)
    def split_weights(self, meta: Any, children: list[Any]) -> nodes.SplitBasis:
        return nodes.SplitBasis("weights", tuple(children), self._span(meta))

    @v_args(meta=True)
    def split_weights_from(self, meta: Any, children: list[Token]) -> nodes.SplitBasis:
        span = self._span(meta)
        field = nodes.Member(
            nodes.Name("claim", span), str(children[0]), self._tok_span(children[0])
        )
        return nodes.SplitBasis("weights", (), span, field)

    @v_args(meta=True)
    def split_costs(self, meta: Any, children: list[Any]) -> nodes.SplitBasis:
        return nodes.SplitBasis("costs", tuple(children), self._span(meta))

    @v_args(meta=True)
    def split_part(self, meta: Any, children: list[Any]) -> nodes.SplitPart:
        return nodes.SplitPart(str(children[0]), children[1], self._span(meta))

    def split_value(self, children: list[Token]) -> nodes.Expr:
        token = children[0]
        span = self._tok_span(token)
        text = str(token)
        if token.type == "MONEY":
            return nodes.Literal("money", self._decimal(text[3:].strip(), token), span)
        if token.type == "PERCENT":
            return nodes.Literal("percent", self._decimal(text[:-1], token), span)
        if token.type == "DECIMAL":
            return nodes.Literal("decimal", self._decimal(text, token), span)
        if token.type == "INT":
            return nodes.Literal("integer", int(text.replace("_", "")), span)
        return nodes.Name(text, span)

    @v_args(meta=True)
    def split_fee(self, meta: Any, children: list[Any]) -> nodes.SplitFee:
        return nodes.SplitFee(children[0], str(children[1]), self._span(meta))

    @v_args(meta=True)
    def split_discount(self, meta: Any, children: list[Any]) -> nodes.SplitDiscount:
        rate, role, field = children
        start = self._span(meta)
        claim = nodes.Name("claim", start)
        condition = nodes.Member(claim, str(field), self._tok_span(field))
        return nodes.SplitDiscount(rate, str(role), condition, start)

    # ------------------------------------------------------------ tests
    @v_args(meta=True)
    def test_decl(self, meta: Any, children: list[Any]) -> nodes.TestDecl:
        name, *rest = children
        given = tuple(c for c in rest if isinstance(c, nodes.GivenClaim | nodes.GivenRow))
        expect = tuple(c for c in rest if isinstance(c, nodes.ExpectClaim | nodes.ExpectValue))
        return nodes.TestDecl(self._string(name), given, expect, self._span(meta))

    @v_args(meta=True)
    def given_claim(self, meta: Any, children: list[Any]) -> nodes.GivenClaim:
        return nodes.GivenClaim(children[0], self._span(meta))

    @v_args(meta=True)
    def given_row(self, meta: Any, children: list[Any]) -> nodes.GivenRow:
        return nodes.GivenRow(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def expect_claim(self, meta: Any, children: list[Any]) -> nodes.ExpectClaim:
        claim_id, status, *details = children
        payable = None
        title = None
        reasons: list[str] = []
        for kind, value in details:
            if kind == "payable":
                payable = value
            elif kind == "title":
                title = value
            else:
                reasons.append(value)
        return nodes.ExpectClaim(
            self._string(claim_id), status, payable, title, tuple(reasons), self._span(meta)
        )

    def status_accepted(self, _: list[Any]) -> str:
        return "accepted"

    def status_adjusted(self, _: list[Any]) -> str:
        return "adjusted"

    def status_rejected(self, _: list[Any]) -> str:
        return "rejected"

    def status_error(self, _: list[Any]) -> str:
        return "error"

    def expect_payable(self, children: list[Any]) -> tuple[str, Any]:
        return ("payable", children[0])

    def expect_title(self, children: list[Token]) -> tuple[str, Any]:
        return ("title", str(children[0]))

    def expect_reason(self, children: list[Token]) -> tuple[str, Any]:
        return ("reason", self._string(children[0]))

    @v_args(meta=True)
    def expect_value(self, meta: Any, children: list[Any]) -> nodes.ExpectValue:
        return nodes.ExpectValue(children[0], self._span(meta))

    # ------------------------------------------------------------ expressions
    @v_args(meta=True)
    def if_then_else(self, meta: Any, children: list[Any]) -> nodes.IfThenElse:
        return nodes.IfThenElse(children[0], children[1], children[2], self._span(meta))

    @v_args(meta=True)
    def or_op(self, meta: Any, children: list[Any]) -> nodes.Binary:
        return nodes.Binary("or", children[0], children[1], self._span(meta))

    @v_args(meta=True)
    def and_op(self, meta: Any, children: list[Any]) -> nodes.Binary:
        return nodes.Binary("and", children[0], children[1], self._span(meta))

    @v_args(meta=True)
    def not_op(self, meta: Any, children: list[Any]) -> nodes.Unary:
        return nodes.Unary("not", children[0], self._span(meta))

    @v_args(meta=True)
    def compare(self, meta: Any, children: list[Any]) -> nodes.Binary:
        left, op, right = children
        return nodes.Binary(str(op), left, right, self._span(meta))

    @v_args(meta=True)
    def binop(self, meta: Any, children: list[Any]) -> nodes.Binary:
        left, op, right = children
        return nodes.Binary(str(op), left, right, self._span(meta))

    @v_args(meta=True)
    def in_set(self, meta: Any, children: list[Any]) -> nodes.InSet:
        return nodes.InSet(children[0], children[1], False, self._span(meta))

    @v_args(meta=True)
    def not_in_set(self, meta: Any, children: list[Any]) -> nodes.InSet:
        return nodes.InSet(children[0], children[2], True, self._span(meta))

    def named_set(self, children: list[Token]) -> nodes.Name:
        return nodes.Name(str(children[0]), self._tok_span(children[0]))

    @v_args(meta=True)
    def negate(self, meta: Any, children: list[Any]) -> nodes.Expr:
        operand = children[0]
        # Fold `-literal` so `EUR -5` and `-EUR 5` read the same to fmt and the checker.
        if isinstance(operand, nodes.Literal) and operand.kind in (
            "money",
            "decimal",
            "integer",
            "percent",
            "days",
        ):
            assert isinstance(operand.value, Decimal | int)
            return nodes.Literal(operand.kind, -operand.value, self._span(meta))
        return nodes.Unary("-", operand, self._span(meta))

    @v_args(meta=True)
    def member(self, meta: Any, children: list[Any]) -> nodes.Member:
        return nodes.Member(children[0], str(children[1]), self._span(meta))

    @v_args(meta=True)
    def lookup(self, meta: Any, children: list[Any]) -> nodes.Lookup:
        return nodes.Lookup(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> nodes.Call:
        name, *args = children
        return nodes.Call(str(name), tuple(a for a in args if a is not None), self._span(meta))

    @v_args(meta=True)
    def name_ref(self, meta: Any, children: list[Token]) -> nodes.Name:
        return nodes.Name(str(children[0]), self._span(meta))

    @v_args(meta=True)
    def agg_sum(self, meta: Any, children: list[Any]) -> nodes.Aggregate:
        value, var, source, where = children
        return nodes.Aggregate("sum", value, str(var), str(source), where, self._span(meta))

    @v_args(meta=True)
    def agg_count(self, meta: Any, children: list[Any]) -> nodes.Aggregate:
        var, source, where = children
        return nodes.Aggregate("count", None, str(var), str(source), where, self._span(meta))

    @v_args(meta=True)
    def alloc_prorate(self, meta: Any, children: list[Any]) -> nodes.Allocate:
        return nodes.Allocate("prorate", children[0], children[1], children[2], self._span(meta))

    @v_args(meta=True)
    def alloc_split(self, meta: Any, children: list[Any]) -> nodes.Allocate:
        return nodes.Allocate("split", children[0], children[1], children[2], self._span(meta))

    # ------------------------------------------------------------ literals
    @v_args(meta=True)
    def money_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        text = str(children[0])[3:].strip()
        return nodes.Literal("money", self._decimal(text, children[0]), self._span(meta))

    @v_args(meta=True)
    def percent_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        text = str(children[0])[:-1]
        return nodes.Literal("percent", self._decimal(text, children[0]), self._span(meta))

    @v_args(meta=True)
    def date_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal("date", self._date(children[0]), self._span(meta))

    @v_args(meta=True)
    def days_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal("days", int(str(children[0]).replace("_", "")), self._span(meta))

    @v_args(meta=True)
    def decimal_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal(
            "decimal", self._decimal(str(children[0]), children[0]), self._span(meta)
        )

    @v_args(meta=True)
    def int_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal("integer", int(str(children[0]).replace("_", "")), self._span(meta))

    @v_args(meta=True)
    def text_lit(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal("text", self._string(children[0]), self._span(meta))

    @v_args(meta=True)
    def true_lit(self, meta: Any, children: list[Any]) -> nodes.Literal:
        return nodes.Literal("bool", True, self._span(meta))

    @v_args(meta=True)
    def false_lit(self, meta: Any, children: list[Any]) -> nodes.Literal:
        return nodes.Literal("bool", False, self._span(meta))

    @v_args(meta=True)
    def record_lit(self, meta: Any, children: list[Any]) -> nodes.RecordLit:
        return nodes.RecordLit(tuple(c for c in children if c is not None), self._span(meta))

    @v_args(meta=True)
    def record_field(self, meta: Any, children: list[Any]) -> nodes.RecordField:
        return nodes.RecordField(str(children[0]), children[1], self._span(meta))

    @v_args(meta=True)
    def codeset(self, meta: Any, children: list[Any]) -> nodes.CodeSet:
        singles = tuple(c for c in children if isinstance(c, str))
        ranges = tuple(c for c in children if isinstance(c, nodes.CodeRange))
        return nodes.CodeSet(singles, ranges, self._span(meta))

    def code_single(self, children: list[Token]) -> str:
        return self._string(children[0])

    @v_args(meta=True)
    def code_range(self, meta: Any, children: list[Token]) -> nodes.CodeRange:
        low, high = self._string(children[0]), self._string(children[1])
        if len(low) != len(high) or low > high:
            self.diagnostics.append(
                Diagnostic(
                    "E0106",
                    f'code range `"{low}".."{high}"` is empty or mixes code lengths',
                    self._span(meta),
                    "both ends have the same number of characters and the low end comes first",
                )
            )
        return nodes.CodeRange(low, high, self._span(meta))


def lower(
    tree: lark.Tree, source: SourceFile, comments: Sequence[nodes.Comment] = ()
) -> nodes.Module:
    lowerer = _Lower(source)
    module = lowerer.transform(tree)
    if lowerer.diagnostics:
        raise PolicySyntaxError(lowerer.diagnostics)
    assert isinstance(module, nodes.Module)
    return nodes.Module(module.header, module.items, tuple(comments), module.span)
