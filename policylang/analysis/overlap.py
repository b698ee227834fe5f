"""Static findings with a solver (z3): lint codes L005-L008.

Conditions over claim fields are translated to z3: comparisons, and/or/not, if-then-else,
arithmetic, code-set membership (codes and digit ranges), enums, booleans, integers, decimals,
money, dates (as day numbers), optional fields (a presence flag: an empty field equals nothing)
and parameters with one value for all time. Anything else (tables, aggregates, date-dependent
parameters, year(), month()) becomes a fresh unknown, so the formula over-approximates:

- unsat is a proof, for the fragment translated: the conditions can never hold together;
- sat with nothing unknown is a proof too, and the model is a claim that shows it;
- sat with something unknown is only "may": the finding says so.

L005  two payment titles can both fund the same claim (code sets and validity overlap and both
      eligibility conditions can hold); the engine then makes such a claim an error
L006  the payment titles of one code leave a gap between validity periods
L007  a rule can never apply (its condition contradicts every title it applies to)
L008  an exception can never win (it never applies together with the rule it is an exception to)
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import z3

from policylang import ir
from policylang.errors import Diagnostic

# Plausible claims: what the readers accept. Documented in docs/invariants.md.
STANDARD_BOUNDS = ("quantity >= 1", "amount >= 0")


class Translator:
    """Translates claim conditions to z3 terms; `unknown` counts what could not be."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.vars: dict[str, Any] = {}
        self.present: dict[str, Any] = {}
        self.unknown = 0
        self.fresh = 0
        self.base: list[Any] = []
        for field in program.claim_fields:
            var = self.field(field.name)
            if field.type.startswith("enum:"):
                members = program.enums[field.type[5:]].members
                self.base.append(z3.Or(*[var == z3.StringVal(m) for m in members]))
        if program.claim_field("quantity") is not None:
            self.base.append(self.field("quantity") >= 1)
        if program.claim_field("amount") is not None:
            self.base.append(self.field("amount") >= 0)

    def field(self, name: str) -> Any:
        if name in self.vars:
            return self.vars[name]
        spec = self.program.claim_field(name)
        type_ = spec.type if spec else "text"
        var = _var(name, type_)
        self.vars[name] = var
        if spec is not None and spec.optional and name != "end_date":
            self.present[name] = z3.Bool(f"{name}?")
        return var

    def _unknown(self, type_: str) -> Any:
        self.unknown += 1
        self.fresh += 1
        return _var(f"unknown{self.fresh}", type_)

    def free(self, type_: str) -> Any:
        """A value the solver may choose freely (tariff, claimed, payable): sound, not unknown."""
        self.fresh += 1
        return _var(f"free{self.fresh}", type_)

    # ------------------------------------------------------------ expressions
    def bool(self, expr: ir.Expr) -> Any:
        term = self.term(expr)
        return term if z3.is_bool(term) else self._unknown("bool")

    def term(self, expr: ir.Expr) -> Any:
        match expr:
            case ir.Const(value=value, type=type_):
                return _const(value, type_) if value is not None else self._unknown(type_)
            case ir.ClaimField(name=name):
                return self.field(name)
            case ir.ContextValue(type=type_):
                return self.free(type_)
            case ir.ParamRef(name=name, type=type_):
                spec = self.program.params[name]
                if spec.has_always and spec.always is not None:
                    return _const(spec.always, type_)
                return self._unknown(type_)
            case ir.DefineRef(name=name):
                return self.term(self.program.defines[name].expr)
            case ir.Not(operand=operand):
                return z3.Not(self.bool(operand))
            case ir.Logic(op=op, left=left, right=right):
                lt, rt = self.bool(left), self.bool(right)
                return z3.And(lt, rt) if op == "and" else z3.Or(lt, rt)
            case ir.Compare(op=op, left=left, right=right):
                return self._compare(op, left, right)
            case ir.InCodes(value=value, codes=codes, negated=negated):
                if not isinstance(value, ir.ClaimField):
                    return self._unknown("bool")
                member = z3.And(self._present(value), in_codes(self.field(value.name), codes))
                return z3.Not(member) if negated else member
            case ir.If(condition=c, then=t, otherwise=o):
                tt, ot = self.term(t), self.term(o)
                if z3.is_int(tt) and z3.is_real(ot):
                    tt = z3.ToReal(tt)
                if z3.is_real(tt) and z3.is_int(ot):
                    ot = z3.ToReal(ot)
                if tt.sort() != ot.sort():
                    return self._unknown(expr.type)
                return z3.If(self.bool(c), tt, ot)
            case ir.Arith(op=op, left=left, right=right) if op in "+-*":
                lt, rt = _numeric(self.term(left)), _numeric(self.term(right))
                if lt is None or rt is None:
                    return self._unknown(expr.type)
                lt, rt = _same(lt, rt)
                return lt + rt if op == "+" else lt - rt if op == "-" else lt * rt
            case ir.Neg(operand=operand):
                term = _numeric(self.term(operand))
                return -term if term is not None else self._unknown(expr.type)
            case ir.Builtin(name="present", args=(ir.ClaimField() as arg,)):
                self.field(arg.name)
                return self._present(arg)
            case ir.Builtin(name="days_between", args=(a, b)):
                at, bt = self.term(a), self.term(b)
                if z3.is_int(at) and z3.is_int(bt):
                    return bt - at
                return self._unknown("days")
            case _:
                return self._unknown(expr.type)

    def _present(self, expr: ir.Expr) -> Any:
        if isinstance(expr, ir.ClaimField) and expr.name in self.present:
            return self.present[expr.name]
        return z3.BoolVal(True)

    def _compare(self, op: str, left: ir.Expr, right: ir.Expr) -> Any:
        lt, rt = self.term(left), self.term(right)
        if z3.is_arith(lt) and z3.is_arith(rt):
            lt, rt = _same(lt, rt)
        elif lt.sort() != rt.sort():
            return self._unknown("bool")
        present = z3.And(self._present(left), self._present(right))
        ops = {
            "==": lambda: lt == rt,
            "!=": lambda: lt != rt,
            "<": lambda: lt < rt,
            "<=": lambda: lt <= rt,
            ">": lambda: lt > rt,
            ">=": lambda: lt >= rt,
        }
        if op in ("<", "<=", ">", ">=") and not z3.is_arith(lt):
            return self._unknown("bool")
        result = ops[op]()
        if op == "!=":
            return z3.Or(z3.Not(present), result)
        return z3.And(present, result)

    # ------------------------------------------------------------ titles
    def title(self, title: ir.TitleSpec) -> Any:
        """The claims this title funds after phase 1: code, validity and eligibility."""
        parts = [in_codes(self.field("code"), title.codes)]
        if title.validity:
            day = self.field("start_date")
            parts.append(
                z3.Or(
                    *[
                        z3.And(
                            day >= p.start.toordinal(),
                            *([day <= p.end.toordinal()] if p.end else []),
                        )
                        for p in title.validity
                    ]
                )
            )
        parts += [self.bool(c.expr) for c in title.eligibility]
        return z3.And(*parts)

    def solve(self, *formulas: Any) -> tuple[str, Any]:
        solver = z3.Solver()
        solver.set("timeout", 2000)
        solver.add(*self.base, *formulas)
        result = solver.check()
        if result == z3.unsat:
            return "unsat", None
        if result == z3.sat:
            return "sat", solver.model()
        return "unknown", None

    def describe(self, model: Any) -> str:
        parts = []
        for name, var in self.vars.items():
            if name in self.present and z3.is_false(model.eval(self.present[name], True)):
                continue
            value = model.eval(var, model_completion=False)
            if value.eq(var):
                continue
            parts.append(f"{name}={_show(name, value, self.program)}")
        return ", ".join(parts)


def _var(name: str, type_: str) -> Any:
    if type_ in ("money", "decimal", "percent"):
        return z3.Real(name)
    if type_ in ("integer", "days", "date"):
        return z3.Int(name)
    if type_ == "bool":
        return z3.Bool(name)
    return z3.String(name)


def _const(value: Any, type_: str) -> Any:
    if isinstance(value, bool):
        return z3.BoolVal(value)
    if isinstance(value, dt.date):
        return z3.IntVal(value.toordinal())
    if isinstance(value, int):
        return z3.IntVal(value)
    if isinstance(value, Decimal):
        return z3.RealVal(str(value))
    return z3.StringVal(str(value))


def _numeric(term: Any) -> Any:
    return term if z3.is_arith(term) else None


def _same(a: Any, b: Any) -> tuple[Any, Any]:
    if z3.is_int(a) and z3.is_real(b):
        return z3.ToReal(a), b
    if z3.is_real(a) and z3.is_int(b):
        return a, z3.ToReal(b)
    return a, b


def in_codes(var: Any, codes: ir.CodeMatcher) -> Any:
    options = [var == z3.StringVal(c) for c in sorted(codes.codes)]
    for low, high in codes.ranges:
        if low.isdigit() and high.isdigit():
            options.append(
                z3.And(
                    z3.Length(var) == len(low),
                    z3.StrToInt(var) >= int(low),
                    z3.StrToInt(var) <= int(high),
                )
            )
        else:  # same-length text ranges: only the two ends are tried
            options += [var == z3.StringVal(low), var == z3.StringVal(high)]
    return z3.Or(*options) if options else z3.BoolVal(False)


def _show(name: str, value: Any, program: ir.Program) -> str:
    spec = program.claim_field(name)
    if spec is not None and spec.type == "date" and z3.is_int_value(value):
        return dt.date.fromordinal(value.as_long()).isoformat()
    if z3.is_string_value(value):
        return value.as_string()
    if z3.is_rational_value(value):
        return str(Decimal(value.numerator_as_long()) / Decimal(value.denominator_as_long()))
    return str(value)


def _warning(
    code: str, message: str, span: Any, help: str | None, notes: tuple[str, ...]
) -> Diagnostic:
    return Diagnostic(code, message, span, help, notes, severity="warning")


# ---------------------------------------------------------------- the findings


def title_overlaps(program: ir.Program) -> list[Diagnostic]:
    """L005, for titles that both have eligibility conditions (L002 reports the others)."""
    from policylang.lint import _overlap, _shared_codes

    findings = []
    for a, b in itertools.combinations(program.titles.values(), 2):
        if not (a.eligibility and b.eligibility):
            continue
        if not _shared_codes(a.codes, b.codes) or _overlap(a, b) is None:
            continue
        translator = Translator(program)
        result, model = translator.solve(translator.title(a), translator.title(b))
        if result != "sat":
            continue
        exact = translator.unknown == 0
        verb = "can" if exact else "may"
        findings.append(
            _warning(
                "L005",
                f"payment titles `{a.name}` and `{b.name}` {verb} both fund the same claim",
                b.span,
                "make the eligibility conditions exclude each other, or split the codes",
                (
                    f"for example a claim with {translator.describe(model)}",
                    f"conditions that can both hold: `{_conditions(a)}` and `{_conditions(b)}`",
                    "proved with z3"
                    if exact
                    else "searched: some conditions could not be "
                    "translated and were treated as unknown",
                    f"`{a.name}` is declared at {a.span.location()}",
                ),
            )
        )
    return findings


def _conditions(title: ir.TitleSpec) -> str:
    return " and ".join(c.text for c in title.eligibility) or "true"


def validity_gaps(program: ir.Program) -> list[Diagnostic]:
    """L006: a code whose titles' validity periods leave a gap between two of them."""
    by_code: dict[str, list[tuple[ir.Period, ir.TitleSpec]]] = {}
    for title in program.titles.values():
        for code in title.codes.codes:
            for period in title.validity:
                by_code.setdefault(code, []).append((period, title))
    findings = []
    for code, periods in sorted(by_code.items()):
        periods.sort(key=lambda p: p[0].start)
        covered_to: dt.date | None = None
        last: ir.TitleSpec | None = None
        for period, title in periods:
            if last is not None and covered_to is not None:
                gap_start = covered_to + dt.timedelta(days=1)
                if period.start > gap_start:
                    findings.append(
                        _warning(
                            "L006",
                            f"code `{code}` has no payment title from {gap_start} to "
                            f"{period.start - dt.timedelta(days=1)}",
                            title.span,
                            "extend the earlier period or start this one earlier",
                            (
                                f"`{last.name}` ends {covered_to}; `{title.name}` starts {period.start}",
                            ),
                        )
                    )
            if covered_to is not None and period.end is None:
                covered_to = None
                last = title
                break
            if last is None or (
                covered_to is not None and period.end is not None and period.end > covered_to
            ):
                covered_to, last = period.end, title
            if period.end is None:
                break
    return findings


def dead_rules(program: ir.Program) -> list[Diagnostic]:
    """L007 (a rule that can never apply) and L008 (an exception that can never win)."""
    findings = []
    for rule in program.rules.values():
        if rule.when is None or not rule.titles:
            continue
        translator = Translator(program)
        titles = z3.Or(*[translator.title(program.titles[t]) for t in rule.titles])
        when = translator.bool(rule.when)
        result, _ = translator.solve(titles, when)
        if result == "unsat":
            findings.append(
                _warning(
                    "L007",
                    f"rule `{rule.name}` can never apply",
                    rule.span,
                    "its condition contradicts the codes, validity or eligibility of "
                    f"{', '.join(f'`{t}`' for t in rule.titles)}",
                    (f"condition: `{rule.when_text}`", "proved with z3 (unsat)"),
                )
            )
            continue
        base = program.rules.get(rule.exception_to) if rule.exception_to else None
        if base is None:
            continue
        base_when = translator.bool(base.when) if base.when is not None else z3.BoolVal(True)
        result, _ = translator.solve(titles, when, base_when)
        if result == "unsat":
            findings.append(
                _warning(
                    "L008",
                    f"exception `{rule.name}` can never win over `{base.name}`",
                    rule.span,
                    "an exception only matters when both conditions hold; here they never do",
                    (
                        f"`{rule.name}`: `{rule.when_text}`",
                        f"`{base.name}`: `{base.when_text}`",
                        "proved with z3 (unsat)",
                    ),
                )
            )
    return findings


def analyse(program: ir.Program) -> list[Diagnostic]:
    return [*title_overlaps(program), *validity_gaps(program), *dead_rules(program)]
