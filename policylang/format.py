"""The canonical layout of a rule file (`policylang fmt`).

Formatting works on the AST, so it is idempotent and `parse(format_module(ast)) == ast`.
Comments are kept: each is written before the first declaration or clause that follows it.
Clauses inside a declaration are written in one canonical order (codes, validity, funding,
eligibility, tariff, exclusions, requirements, citations).
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from policylang.syntax import nodes

INDENT = "  "

# Binding strength of each expression form; higher binds tighter.
_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6}
_UNARY = 7
_ATOM = 8


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: Decimal | int) -> str:
    text = f"{value:f}" if isinstance(value, Decimal) else str(value)
    negative = text.startswith("-")
    digits = text.lstrip("-")
    whole, _, fraction = digits.partition(".")
    if len(whole) > 4:  # group thousands so budgets read as written: 4_100_000.00
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = "_".join(groups)
    return ("-" if negative else "") + whole + ("." + fraction if fraction else "")


def _prec(node: nodes.Expr) -> int:
    match node:
        case nodes.IfThenElse():
            return _PREC["if"]
        case nodes.Binary(op=op):
            return _PREC.get(op, _PREC["compare"])
        case nodes.Unary(op="not"):
            return _PREC["not"]
        case nodes.InSet():
            return _PREC["compare"]
        case nodes.Unary():
            return _UNARY
        case _:
            return _ATOM


def expr(node: nodes.Expr) -> str:
    match node:
        case nodes.Literal(kind=kind, value=value):
            if kind == "money":
                assert isinstance(value, Decimal | int)
                return f"EUR {_number(value)}"
            if kind == "percent":
                assert isinstance(value, Decimal | int)
                return f"{value}%"
            if kind == "date":
                return str(value)
            if kind == "days":
                return f"{value} days"
            if kind in ("decimal", "integer"):
                assert isinstance(value, Decimal | int)
                return _number(value)
            if kind == "text":
                assert isinstance(value, str)
                return _quote(value)
            return "true" if value else "false"
        case nodes.Name(name=name):
            return name
        case nodes.Member(target=target, name=name):
            return f"{_wrap(target, _ATOM)}.{name}"
        case nodes.Lookup(table=table, key=key):
            return f"{table}[{expr(key)}]"
        case nodes.Call(function=function, args=args):
            return f"{function}({', '.join(expr(a) for a in args)})"
        case nodes.Unary(op="not", operand=operand):
            return f"not {_wrap(operand, _PREC['not'])}"
        case nodes.Unary(operand=operand):
            return f"-{_wrap(operand, _UNARY)}"
        case nodes.Binary(op=op, left=left, right=right):
            prec = _prec(node)
            if prec == _PREC["compare"]:
                return f"{_wrap(left, prec + 1)} {op} {_wrap(right, prec + 1)}"
            return f"{_wrap(left, prec)} {op} {_wrap(right, prec + 1)}"
        case nodes.InSet(value=value, codes=codes, negated=negated):
            keyword = "not in" if negated else "in"
            target = codes.name if isinstance(codes, nodes.Name) else codeset(codes)
            return f"{_wrap(value, _PREC['compare'] + 1)} {keyword} {target}"
        case nodes.IfThenElse(condition=c, then=t, otherwise=o):
            return f"if {expr(c)} then {expr(t)} else {expr(o)}"
        case nodes.Aggregate(function=function, value=value, var=var, source=source, where=where):
            body = (
                f"{expr(value)} for {var} in {source}"
                if value is not None
                else f"{var} in {source}"
            )
            if where is not None:
                body += f" where {expr(where)}"
            return f"{function}({body})"
        case nodes.Allocate(kind=kind, total=total, weight=weight, group=group):
            per = f" per {expr(group)}" if group is not None else ""
            return f"{kind}({expr(total)} by {expr(weight)}{per})"
        case nodes.RecordLit(fields=fields):
            if not fields:
                return "{}"
            return "{ " + ", ".join(f"{f.name}: {expr(f.value)}" for f in fields) + " }"
        case nodes.CodeSet():
            return codeset(node)
        case _:
            assert_never(node)


def _wrap(node: nodes.Expr, minimum: int) -> str:
    text = expr(node)
    return f"({text})" if _prec(node) < minimum else text


def codeset(node: nodes.CodeSet) -> str:
    items = [_quote(c) for c in node.codes] + [
        f"{_quote(r.low)}..{_quote(r.high)}" for r in node.ranges
    ]
    return "{" + ", ".join(items) + "}"


class _Writer:
    def __init__(self, comments: tuple[nodes.Comment, ...]) -> None:
        self.lines: list[str] = []
        self.comments = sorted(comments, key=lambda c: c.span.start)

    def comments_before(self, offset: int, depth: int) -> None:
        while self.comments and self.comments[0].span.start < offset:
            self.lines.append(INDENT * depth + self.comments.pop(0).text)

    def line(self, text: str, depth: int = 0, at: int | None = None) -> None:
        if at is not None:
            self.comments_before(at, depth)
        if at is not None and self.comments:
            # A comment after code on the same source line stays at the end of that line.
            comment = self.comments[0]
            source = comment.span.source
            if source.line_col(comment.span.start)[0] == source.line_col(at)[0]:
                self.comments.pop(0)
                text += "  " + comment.text
        self.lines.append(INDENT * depth + text)

    def meta(self, meta: nodes.Meta, depth: int) -> None:
        for citation in meta.citations:
            self.line(f"source {_quote(citation.text)}", depth, citation.span.start)
        for assumption in meta.assumptions:
            self.line(f"assumption {_quote(assumption)}", depth)
        for note in meta.notes:
            self.line(f"note {_quote(note)}", depth)


def _field(field: nodes.FieldDecl) -> str:
    text = f"{field.name}: {field.type.name}{'?' if field.optional else ''}"
    if field.default is not None:
        text += f" = {expr(field.default)}"
    return text


def _scope(scope: nodes.Scope) -> str:
    return "on the same day" if scope.days == 0 else f"within {scope.days} days"


def _no_double_funding(node: nodes.NoDoubleFunding) -> str:
    text = (
        f"no patient funded by both {', '.join(node.first)} and {', '.join(node.second)} "
        f"{_scope(node.scope)}"
    )
    return text + (f" where {expr(node.where)}" if node.where is not None else "")


def _decl(w: _Writer, item: nodes.Decl) -> None:
    at = item.span.start
    match item:
        case nodes.Import(path=path):
            w.line(f"import {_quote(path)}", 0, at)
        case nodes.EnumDecl(name=name, members=members, meta=meta):
            w.line(f"enum {name} {{ {', '.join(members)} }}", 0, at)
            w.meta(meta, 1)
        case nodes.RecordDecl(name=name, fields=fields, meta=meta):
            w.line(f"record {name} {{", 0, at)
            for field in fields:
                w.line(_field(field), 1, field.span.start)
            w.line("}")
            w.meta(meta, 1)
        case nodes.ClaimDecl(fields=fields, meta=meta):
            w.line("claim {", 0, at)
            for field in fields:
                w.line(_field(field), 1, field.span.start)
            w.line("}")
            w.meta(meta, 1)
        case nodes.TableDecl(name=name, key=key, fields=fields, meta=meta):
            w.line(f"table {name} key {', '.join(key)} {{", 0, at)
            for field in fields:
                w.line(_field(field), 1, field.span.start)
            if item.valid_from is not None:
                until = f" to {item.valid_to}" if item.valid_to else ""
                w.line(f"valid from {item.valid_from}{until}", 1)
            for require in item.requires:
                message = f" else {_quote(require.message)}" if require.message else ""
                w.line(f"require {expr(require.condition)}{message}", 1, require.span.start)
            w.line("}" + (f" from reference {_quote(item.reference)}" if item.reference else ""))
            w.meta(meta, 1)
        case nodes.CodeSetDecl(name=name, codes=codes, meta=meta):
            w.line(f"codes {name} = {codeset(codes)}", 0, at)
            w.meta(meta, 1)
        case nodes.ParamDecl():
            w.line(f"parameter {item.name}: {item.type.name}", 0, at)
            w.meta(item.meta, 1)
            if item.always is not None:
                w.line(f"= {expr(item.always)}", 1)
            for period in item.periods:
                until = f" to {period.end}" if period.end is not None else ""
                w.line(f"from {period.start}{until} = {expr(period.value)}", 1, period.span.start)
            if item.years:
                w.line("by year {", 1)
                for year in item.years:
                    w.line(f"{year.year}: {expr(year.value)},", 2, year.span.start)
                w.line("}", 1)
        case nodes.DefineDecl(name=name, type=type_, value=value, meta=meta):
            annotation = f": {type_.name}" if type_ is not None else ""
            w.line(f"define {name}{annotation} = {expr(value)}", 0, at)
            w.meta(meta, 1)
        case nodes.TitleDecl():
            label = f" {_quote(item.label)}" if item.label is not None else ""
            w.line(f"title {item.name}{label} {{", 0, at)
            for codes in item.codes:
                shown = codes.name if isinstance(codes, nodes.Name) else codeset(codes)
                w.line(f"codes {shown}", 1, codes.span.start)
            for validity in item.validity:
                until = f" to {validity.end}" if validity.end is not None else ""
                w.line(f"valid from {validity.start}{until}", 1, validity.span.start)
            for funding in item.funding:
                w.line(f"funding {funding.name}", 1, funding.span.start)
            for eligibility in item.eligibility:
                message = f" else {_quote(eligibility.message)}" if eligibility.message else ""
                w.line(
                    f"eligible when {expr(eligibility.condition)}{message}",
                    1,
                    eligibility.span.start,
                )
            for tariff in item.tariffs:
                value = f" {expr(tariff.value)}" if tariff.value is not None else ""
                w.line(f"tariff {tariff.kind}{value}", 1, tariff.span.start)
            for exclusion in item.exclusions:
                w.line(
                    f"not combinable with {', '.join(exclusion.titles)} {_scope(exclusion.scope)}",
                    1,
                    exclusion.span.start,
                )
            for requirement in item.requirements:
                w.line(
                    f"requires {', '.join(requirement.titles)} {_scope(requirement.scope)}",
                    1,
                    requirement.span.start,
                )
            w.meta(item.meta, 1)
            w.line("}", 0, item.span.end)
        case nodes.RuleDecl():
            base = f" exception to {item.exception_to.name}" if item.exception_to else ""
            w.line(f"rule {item.name}{base} {{", 0, at)
            w.line(f"applies to {', '.join(n.name for n in item.applies_to)}", 1)
            if item.when is not None:
                w.line(f"when {expr(item.when)}", 1, item.when.span.start)
            if item.outcome == "pay":
                assert item.pay is not None
                w.line(f"pay {expr(item.pay)}", 1, item.pay.span.start)
            else:
                w.line(item.outcome, 1)
            if item.because is not None:
                w.line(f"because {_quote(item.because)}", 1)
            w.meta(item.meta, 1)
            w.line("}", 0, item.span.end)
        case nodes.SettlementDecl():
            w.line(f"settlement {item.name} per {item.party} in {item.table} {{", 0, at)
            if item.year_by is not None:
                w.line(f"year by claim.{item.year_by.field}", 1, item.year_by.span.start)
            for step in item.items:
                if isinstance(step, nodes.SettleLet):
                    w.line(f"let {step.name} = {expr(step.value)}", 1, step.span.start)
                else:
                    w.line(f"line {_quote(step.item)} = {expr(step.value)}", 1, step.span.start)
                    w.meta(step.meta, 2)
            w.line("}", 0, item.span.end)
            w.meta(item.meta, 1)
        case nodes.CheckDecl():
            body = f"holds {expr(item.condition)}"
            if item.tolerance is not None:
                body += f" within {expr(item.tolerance)}"
            if item.warn_only:
                body += " warn only"
            if item.year_by is not None:
                body = f"year by claim.{item.year_by.field} {body}"
            w.line(f"check {item.name} {{ {body} }}", 0, at)
            w.meta(item.meta, 1)
        case nodes.InvariantDecl():
            description = f" {_quote(item.description)}" if item.description else ""
            if isinstance(item.condition, nodes.NoDoubleFunding):
                body = _no_double_funding(item.condition)
            else:
                body = expr(item.condition)
            w.line(f"invariant {item.name}{description} {{ {body} }}", 0, at)
            w.meta(item.meta, 1)
        case nodes.TestDecl():
            w.line(f"test {_quote(item.name)} {{", 0, at)
            for given in item.given:
                if isinstance(given, nodes.GivenClaim):
                    w.line(f"given claim {expr(given.fields)}", 1, given.span.start)
                else:
                    w.line(f"given row {given.table} {expr(given.fields)}", 1, given.span.start)
            for expect in item.expect:
                if isinstance(expect, nodes.ExpectValue):
                    w.line(f"expect value {expr(expect.condition)}", 1, expect.span.start)
                    continue
                text = f"expect claim {_quote(expect.claim_id)} {expect.status}"
                if expect.payable is not None:
                    text += f" payable {expr(expect.payable)}"
                if expect.title is not None:
                    text += f" title {expect.title}"
                for reason in expect.reasons:
                    text += f" reason {_quote(reason)}"
                w.line(text, 1, expect.span.start)
            w.line("}", 0, item.span.end)
        case nodes.SplitDecl():
            _split(w, item)
        case _:
            assert_never(item)


def _split(w: _Writer, item: nodes.SplitDecl) -> None:
    """A `split` declaration (docs/splitting.md), clauses in canonical order."""
    label = f" {_quote(item.label)}" if item.label is not None else ""
    w.line(f"split {item.name}{label} {{", 0, item.span.start)
    for title in item.titles:
        w.line(f"of title {title.name}", 1, title.span.start)
    for codes in item.codes:
        shown = codes.name if isinstance(codes, nodes.Name) else codeset(codes)
        w.line(f"codes {shown}", 1, codes.span.start)
    for tariff in item.tariffs:
        w.line(f"tariff {expr(tariff.value)}", 1, tariff.span.start)
    for roles in item.roles:
        w.line(f"roles {', '.join(r.name for r in roles.roles)}", 1, roles.span.start)
    for basis in item.bases:
        if basis.field is not None:
            w.line(f"{basis.kind} from {expr(basis.field)}", 1, basis.span.start)
            continue
        parts = ", ".join(f"{p.role} {expr(p.value)}" for p in basis.parts)
        w.line(f"{basis.kind} {parts}", 1, basis.span.start)
    for fee in item.fees:
        w.line(f"coordination fee {expr(fee.amount)} to {fee.role}", 1, fee.span.start)
    for discount in item.discounts:
        w.line(
            f"discount {expr(discount.rate)} on {discount.role} when {expr(discount.condition)}",
            1,
            discount.span.start,
        )
    for network in item.networks:
        w.line(f"network in {network.name}", 1, network.span.start)
    w.meta(item.meta, 1)
    w.line("}", 0, item.span.end)


def format_module(module: nodes.Module) -> str:
    writer = _Writer(module.comments)
    if module.header is not None:
        writer.line(f"policy {_quote(module.header.title)}", 0, module.header.span.start)
        writer.meta(module.header.meta, 1)
    previous: type | None = None
    for item in module.items:
        # Blank line between declarations, except between consecutive imports.
        if writer.lines and not (previous is nodes.Import and isinstance(item, nodes.Import)):
            writer.lines.append("")
        _decl(writer, item)
        previous = type(item)
    writer.comments_before(10**12, 0)
    return "\n".join(writer.lines).rstrip() + "\n"
