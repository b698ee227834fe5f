"""Settlement over a claim set: money lines per party, and the checks the rule files declare.

A settlement runs once per row of its table (the parties), in key order, with the decided claims
visible to aggregates. `prorate(...)`/`split(...)` allocate an amount over the parties of a
group by largest remainder, so the parts always add up to the whole to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from policylang import ir
from policylang.allocation import AllocationError, prorate, split_by_shares
from policylang.decision import Decision, format_money
from policylang.errors import Diagnostic, EvaluationError, InputError
from policylang.evaluate.compile import Compiler, Env, Fn, PeriodError, round_money
from policylang.evaluate.decided import decided_claims
from policylang.evaluate.exact import exact_decimals
from policylang.io.claims import ClaimRow


@attrs.frozen
class SettlementLine:
    settlement: str
    party: str
    item: str
    amount: Decimal  # the line's value in its unit (a percentage as a fraction: 0.25 is 25%)
    details: str
    source: str | None = None
    unit: str = "money"  # money, integer, decimal, percent or days

    @property
    def shown(self) -> str:
        """The value as the output shows it: cents for money, `25%` for a percentage."""
        return show_value(self.amount, self.unit)

    def to_json(self) -> dict[str, Any]:
        return {
            "settlement": self.settlement,
            "party": self.party,
            "item": self.item,
            "amount": self.shown,
            "unit": self.unit,
            "details": self.details,
            "source": self.source,
        }


def show_value(value: Any, unit: str) -> str:
    if unit == "money":
        return format_money(value)
    if unit == "percent":
        return f"{_plain(Decimal(value) * 100)}%"
    return _plain(Decimal(value))


def _plain(value: Decimal) -> str:
    """A number without exponent or trailing zeros after the point: 12, 12.5, 0.333..."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def line_value(value: Any, unit: str) -> Any:
    """A line's value as it is kept: money rounded half up to the cent, others exact."""
    return round_money(value) if unit == "money" else value


@attrs.frozen
class CheckResult:
    name: str
    holds: bool
    detail: str
    warn_only: bool = False
    source: str | None = None
    skipped: bool = False  # a table it reads was not given: neither holds nor fails

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holds": self.holds,
            "detail": self.detail,
            "warn_only": self.warn_only,
            "source": self.source,
            "skipped": self.skipped,
        }


@attrs.frozen
class Settlement:
    lines: tuple[SettlementLine, ...]
    checks: tuple[CheckResult, ...]
    year: int | None
    invariants: tuple[Any, ...] = ()  # evaluate/invariants.py InvariantResult
    ran: frozenset[str] = frozenset()  # the settlements that ran

    def line_rows(self) -> list[dict[str, Any]]:
        """The lines as rows for checks and invariants (`lines` in the language): the value in
        the field of its unit, the other two empty (check/expressions.py LINE_FIELDS)."""
        return [
            {
                "settlement": x.settlement,
                "party": x.party,
                "item": x.item,
                "unit": x.unit,
                "amount": x.amount if x.unit == "money" else None,
                "number": Decimal(x.amount) if x.unit in ("integer", "decimal", "days") else None,
                "percentage": x.amount if x.unit == "percent" else None,
            }
            for x in self.lines
        ]

    @property
    def failed(self) -> bool:
        return any(not c.holds and not c.warn_only and not c.skipped for c in self.checks) or any(
            not i.holds for i in self.invariants
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [line.to_json() for line in self.lines],
            "checks": [check.to_json() for check in self.checks],
            "invariants": [invariant.to_json() for invariant in self.invariants],
        }


def _party_name(spec: ir.TableSpec, row: dict[str, Any]) -> str:
    return "/".join(str(row.get(k)) for k in spec.key)


def _sort_key(key: Any) -> Any:
    return tuple(str(k) for k in key) if isinstance(key, tuple) else (str(key),)


def missing_table(spec: ir.SettlementSpec) -> InputError:
    return InputError.single(
        "E0608",
        f"settlement `{spec.name}` needs table `{spec.table}`",
        help=f"pass it with --table {spec.table}=FILE",
    )


class SettlementRun:
    """One settlement's evaluation: its parties, their `let` values, cached allocations."""

    def __init__(self, compiler: Compiler, spec: ir.SettlementSpec, env: Env) -> None:
        self.spec = spec
        self.env = env
        self.table = env.program.tables[spec.table]
        rows = env.tables.get(spec.table)
        if rows is None:
            raise missing_table(spec)
        self.parties = [rows[k] for k in sorted(rows, key=_sort_key)]
        self.steps: list[tuple[str, Any, Fn]] = []
        for kind, payload in spec.steps:
            if kind == "let":
                name, expr = payload
                self.steps.append(("let", name, compiler.compile(expr)))
            else:
                self.steps.append(("line", payload, compiler.compile(payload.expr)))
        self._lets: dict[int, dict[str, Any]] = {}
        self._let_deps: dict[str, frozenset[str]] = {
            name: frozenset(s.name for s in ir.walk(expr) if isinstance(s, ir.Var))
            for name, expr in spec.lets
        }
        self._allocations: dict[tuple[int, Any], dict[int, Decimal]] = {}
        self._in_progress: set[tuple[int, Any]] = set()
        self.current = 0

    def needed_lets(self, *exprs: ir.Expr | None) -> frozenset[str]:
        """The `let`s these expressions use, directly or through other lets."""
        wanted = {
            sub.name
            for e in exprs
            if e is not None
            for sub in ir.walk(e)
            if isinstance(sub, ir.Var)
        }
        changed = True
        while changed:
            changed = False
            for name in list(wanted):
                for dep in self._let_deps.get(name, ()):
                    if dep not in wanted:
                        wanted.add(dep)
                        changed = True
        return frozenset(wanted & self._let_deps.keys())

    def lets_for(self, index: int, needed: frozenset[str]) -> dict[str, Any]:
        """Party `index`'s values of the `needed` lets (computed once, in declaration order)."""
        values = self._lets.setdefault(index, {})
        missing = needed - values.keys()
        if not missing:
            return values
        saved, saved_current = self.env.locals, self.current
        self.current = index
        try:
            self.env.locals = {self.spec.party: self.parties[index], **values}
            for kind, name, fn in self.steps:
                if kind == "let" and name in missing and name not in values:
                    values[name] = fn(self.env)
                    self.env.locals[name] = values[name]
        finally:
            self.env.locals, self.current = saved, saved_current
        return values

    def allocate(
        self, expr: ir.Allocate, env: Env, total_fn: Fn, weight_fn: Fn, group_fn: Fn | None
    ) -> Decimal:
        current = self.current
        group = group_fn(env) if group_fn is not None else None
        cache_key = (id(expr), group)
        parts = self._allocations.get(cache_key)
        if parts is None:
            if cache_key in self._in_progress:
                raise EvaluationError(
                    f"the weights of `{expr.kind}` depend on its own result", "allocation"
                )
            self._in_progress.add(cache_key)
            total = round_money(total_fn(env))
            saved = env.locals
            members: list[int] = []
            weights: list[Decimal] = []
            try:
                needed = self.needed_lets(expr.weight, expr.group)
                for index in range(len(self.parties)):
                    lets = self._lets.get(index) if index == current else None
                    if lets is None or not needed <= lets.keys():
                        lets = self.lets_for(index, needed)
                    env.locals = {self.spec.party: self.parties[index], **lets}
                    if group_fn is not None and group_fn(env) != group:
                        continue
                    members.append(index)
                    weights.append(Decimal(weight_fn(env)))
            finally:
                env.locals = saved
            try:
                if expr.kind == "split":
                    amounts = split_by_shares(total, weights)
                else:
                    amounts = prorate(total, weights)
            except AllocationError as error:
                where = f" for group `{group}`" if group is not None else ""
                raise EvaluationError(f"{expr.kind}{where}: {error}", "allocation") from error
            parts = dict(zip(members, amounts, strict=True))
            self._allocations[cache_key] = parts
            self._in_progress.discard(cache_key)
        return parts[current]

    def run(self) -> list[SettlementLine]:
        lines: list[SettlementLine] = []
        for index, row in enumerate(self.parties):
            self.current = index
            party = _party_name(self.table, row)
            self.env.locals = {self.spec.party: row}
            for kind, payload, fn in self.steps:
                try:
                    value = fn(self.env)
                except PeriodError as error:
                    where = f"settlement `{self.spec.name}`, party `{party}`"
                    raise period_error(where, error) from error
                except EvaluationError as error:
                    raise InputError(
                        [
                            Diagnostic(
                                "E0703",
                                f"settlement `{self.spec.name}`, party `{party}`: {error.message}",
                            )
                        ]
                    ) from error
                if kind == "let":
                    self.env.locals[payload] = value
                    self._lets.setdefault(index, {})[payload] = value
                else:
                    lines.append(
                        SettlementLine(
                            self.spec.name,
                            party,
                            payload.item,
                            line_value(value, payload.unit),
                            self.spec.name,
                            payload.citation or self.spec.citation,
                            payload.unit,
                        )
                    )
        return lines


def settlement_year(rows: Sequence[ClaimRow], year: int | None) -> int | None:
    if year is not None:
        return year
    years = Counter(
        r.values["start_date"].year
        for r in rows
        if not r.problems and isinstance(r.values.get("start_date"), dt.date)
    )
    return years.most_common(1)[0][0] if years else None


@exact_decimals
def settle(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    rows: Sequence[ClaimRow],
    decisions: Sequence[Decision],
    year: int | None = None,
    only: Sequence[str] | None = None,
) -> Settlement:
    year = settlement_year(rows, year)
    claims = decided_claims(rows, decisions)
    day = dt.date(year, 1, 1) if year is not None else None
    lines: list[SettlementLine] = []
    for spec in program.settlements.values():
        if only is not None and spec.name not in only:
            continue
        env = period_env(program, tables, year, claims)
        run = SettlementRun(compiler, spec, env)
        env.settlement = run
        lines += run.run()
    ran = {name for name in program.settlements if only is None or name in only}
    line_rows = Settlement(tuple(lines), (), year).line_rows()
    checks = [
        _run_check(program, compiler, tables, claims, line_rows, day, spec, ran)
        for spec in program.checks.values()
    ]
    return Settlement(tuple(lines), tuple(checks), year, ran=frozenset(ran))


def _run_check(
    program: ir.Program,
    compiler: Compiler,
    tables: dict[str, dict[Any, dict[str, Any]]],
    claims: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    day: dt.date | None,
    spec: ir.CheckSpec,
    ran: set[str],
) -> CheckResult:
    env = period_env(program, tables, day.year if day is not None else None, claims)
    env.lines = lines
    not_run = sorted(settlements_read(spec.expr, spec.tolerance) - ran)
    if not_run:
        names = ", ".join(f"`{name}`" for name in not_run)
        return CheckResult(
            spec.name,
            False,
            f"not evaluated: settlement {names} was not run",
            spec.warn_only,
            spec.citation,
            skipped=True,
        )
    missing = sorted(_tables_used(spec) - tables.keys())
    if missing:
        needed = ", ".join(f"`{name}`" for name in missing)
        return CheckResult(
            spec.name,
            False,
            f"not evaluated: needs table {needed}",
            spec.warn_only,
            spec.citation,
            skipped=True,
        )
    try:
        if spec.tolerance is not None and isinstance(spec.expr, ir.Compare):
            left = compiler.compile(spec.expr.left)(env)
            right = compiler.compile(spec.expr.right)(env)
            tolerance = compiler.compile(spec.tolerance)(env)
            holds = abs(left - right) <= tolerance
            kind = spec.expr.left.type
            detail = (
                f"{_show(left, kind)} vs {_show(right, kind)}, difference "
                f"{_show(left - right, kind)}, tolerance {_show(tolerance, spec.tolerance.type)}"
            )
        elif isinstance(spec.expr, ir.Compare):
            left = compiler.compile(spec.expr.left)(env)
            right = compiler.compile(spec.expr.right)(env)
            holds = bool(compiler.compile(spec.expr)(env))
            detail = (
                f"{_show(left, spec.expr.left.type)} {spec.expr.op} "
                f"{_show(right, spec.expr.right.type)}"
            )
        else:
            holds = bool(compiler.compile(spec.expr)(env))
            detail = spec.text
    except PeriodError as error:
        raise period_error(f"check `{spec.name}`", error) from error
    except EvaluationError as error:
        return CheckResult(spec.name, False, error.message, spec.warn_only, spec.citation)
    return CheckResult(spec.name, holds, detail, spec.warn_only, spec.citation)


def period_env(
    program: ir.Program,
    tables: dict[str, dict[Any, dict[str, Any]]],
    year: int | None,
    claims: list[Any],
) -> Env:
    """What a settlement or check sees: the claims, parameters on 1 January of the settled
    year (checked not to change inside it), `settlement.year`, `.start` and `.end`."""
    start = dt.date(year, 1, 1) if year is not None else None
    end = dt.date(year, 12, 31) if year is not None else None
    env = Env(program, tables, start, None, claims)
    env.period = (start, end) if start is not None and end is not None else None
    env.context = {
        "year": year,
        "settlement.year": year,
        "settlement.start": start,
        "settlement.end": end,
    }
    return env


def period_error(where: str, error: PeriodError) -> InputError:
    return InputError([Diagnostic("E0706", f"{where}: {error.message}", error.span, error.help)])


def settlements_read(*exprs: ir.Expr | None) -> set[str]:
    """The settlements whose lines an expression reads (`x.settlement == "NAME"` filters)."""
    names: set[str] = set()
    for expr in exprs:
        for sub in ir.walk(expr) if expr is not None else ():
            if isinstance(sub, ir.Compare) and sub.op == "==":
                for side, other in ((sub.left, sub.right), (sub.right, sub.left)):
                    if (
                        isinstance(side, ir.FieldOf)
                        and side.name == "settlement"
                        and side.target.type == "line"
                        and isinstance(other, ir.Const)
                    ):
                        names.add(str(other.value))
    return names


def _tables_used(spec: ir.CheckSpec) -> set[str]:
    used: set[str] = set()
    for expr in (spec.expr, spec.tolerance):
        for sub in ir.walk(expr) if expr is not None else ():
            if isinstance(sub, ir.TableLookup | ir.InTable):
                used.add(sub.table)
            elif isinstance(sub, ir.Aggregate) and sub.source not in ("claims", "lines"):
                used.add(sub.source)
    return used


def _show(value: Any, type_: str = "") -> str:
    if type_ == "percent" and isinstance(value, Decimal):
        return show_value(value, "percent")
    if isinstance(value, Decimal):
        return format_money(value) if value == value.quantize(Decimal("0.01")) else f"{value:f}"
    return str(value)
