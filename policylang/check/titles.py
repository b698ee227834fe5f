"""Check stages for payment titles, rules with exceptions, settlements and in-file tests."""

from __future__ import annotations

from decimal import Decimal

from policylang import ir
from policylang.check.declarations import declared_in, literal_value
from policylang.check.expressions import (
    ERROR,
    codeset_matcher,
    describe,
    did_you_mean,
    uses_claim,
)
from policylang.check.state import CheckState, citation_of
from policylang.loader import LoadedFile
from policylang.source import Span
from policylang.syntax import nodes

FUNDING_STREAMS = ("production", "budget", "lump_sum", "population", "availability")
RULE_CONTEXT = {"tariff": "money", "claimed": "money", "payable": "money"}


def _title_refs(
    state: CheckState,
    file: LoadedFile,
    names: tuple[str, ...],
    node: nodes.Exclusion | nodes.Requirement,
) -> tuple[str, ...]:
    titles = [n for n, d in state.names.items() if isinstance(d.node, nodes.TitleDecl)]
    for name in names:
        declared = state.names.get(name)
        if declared is None or not isinstance(declared.node, nodes.TitleDecl):
            state.unknown("E0501", "payment title", name, node.span, titles)
        elif not declared_in(state, file, name):
            state.error(
                "E0205",
                f"payment title `{name}` is declared in a rule file this file does not import",
                node.span,
                f'add `import "{declared.file.display}"` (relative to this file)',
            )
    return names


def declare_titles(state: CheckState) -> None:
    for item, _ in state.declarations(nodes.TitleDecl):
        assert isinstance(item, nodes.TitleDecl)
        state.env.titles.add(item.name)
    for item, file in state.declarations(nodes.TitleDecl):
        assert isinstance(item, nodes.TitleDecl)
        scope = state.scope(file)
        if not item.codes:
            state.error(
                "E0502",
                f"payment title `{item.name}` has no codes",
                item.span,
                'add a line such as `codes {"190015"}`',
            )
        matcher = ir.CodeMatcher()
        for codes in item.codes:
            if isinstance(codes, nodes.Name):
                named = state.env.codesets.get(codes.name)
                if named is None:
                    state.unknown("E0208", "code set", codes.name, codes.span, state.env.codesets)
                    continue
                matcher = matcher.union(named)
            else:
                matcher = matcher.union(codeset_matcher(codes))
        validity = tuple(ir.Period(v.start, v.end, None) for v in item.validity)
        from policylang.check.declarations import _check_periods

        _check_periods(state, [(v.start, v.end, v) for v in item.validity], f"title `{item.name}`")
        funding = "production"
        if len(item.funding) > 1:
            state.error(
                "E0503",
                f"title `{item.name}` names more than one funding stream",
                item.funding[1].span,
                "a claim is funded from exactly one stream",
            )
        for stream in item.funding[:1]:
            if stream.name not in FUNDING_STREAMS:
                state.error(
                    "E0503",
                    f"unknown funding stream `{stream.name}`",
                    stream.span,
                    did_you_mean(stream.name, FUNDING_STREAMS)
                    or "streams: " + ", ".join(FUNDING_STREAMS),
                )
            funding = stream.name
        conditions = []
        for eligibility in item.eligibility:
            expr = state.expressions.lower(eligibility.condition, scope)
            state.expressions.expect(expr, "bool", eligibility.condition.span, "a condition")
            text = eligibility.condition.span.text
            conditions.append(
                ir.Condition(
                    expr,
                    eligibility.message or f"condition `{text}` does not hold",
                    citation_of(item.meta),
                    text,
                )
            )
        tariff_kind = "free"
        tariff_expr = None
        if not item.tariffs:
            state.error(
                "E0504",
                f"payment title `{item.name}` has no tariff",
                item.span,
                "add `tariff maximum EXPR`, `tariff fixed EXPR` or `tariff free`",
            )
        elif len(item.tariffs) > 1:
            state.error(
                "E0504",
                f"payment title `{item.name}` has more than one tariff",
                item.tariffs[1].span,
            )
        for tariff in item.tariffs[:1]:
            tariff_kind = tariff.kind
            if tariff.value is not None:
                tariff_expr = state.expressions.lower(tariff.value, scope)
                state.expressions.expect(tariff_expr, "money", tariff.value.span, "a tariff")
        exclusions = tuple(
            ir.CrossClaim(
                _title_refs(state, file, e.titles, e), e.scope.days, citation_of(item.meta)
            )
            for e in item.exclusions
        )
        requirements = tuple(
            ir.CrossClaim(
                _title_refs(state, file, r.titles, r), r.scope.days, citation_of(item.meta)
            )
            for r in item.requirements
        )
        state.titles[item.name] = ir.TitleSpec(
            name=item.name,
            label=item.label or item.name,
            codes=matcher,
            validity=validity,
            funding=funding,
            eligibility=tuple(conditions),
            tariff_kind=tariff_kind,
            tariff=tariff_expr,
            exclusions=exclusions,
            requirements=requirements,
            citation=citation_of(item.meta),
            span=item.span,
        )


def declare_rules(state: CheckState) -> None:
    declared = {
        item.name: (item, file)
        for item, file in state.declarations(nodes.RuleDecl)
        if isinstance(item, nodes.RuleDecl)
    }
    for name, (item, file) in declared.items():
        scope = state.scope(file, context=dict(RULE_CONTEXT))
        titles: list[str] = []
        for ref in item.applies_to:
            if ref.name not in state.titles:
                state.unknown("E0501", "payment title", ref.name, ref.span, state.titles)
            else:
                titles.append(ref.name)
        exception_to = None
        if item.exception_to is not None:
            base = item.exception_to.name
            if base not in declared:
                state.error(
                    "E0505",
                    f"`{name}` is an exception to unknown rule `{base}`",
                    item.exception_to.span,
                    did_you_mean(base, [r for r in declared if r != name]),
                )
            else:
                exception_to = base
                shared = set(titles) & {r.name for r in declared[base][0].applies_to}
                if not shared:
                    state.error(
                        "E0506",
                        f"exception `{name}` and rule `{base}` apply to no common payment title",
                        item.exception_to.span,
                        "an exception can only override a rule for the titles both apply to",
                    )
        when = None
        when_text = "always"
        if item.when is not None:
            when = state.expressions.lower(item.when, scope)
            state.expressions.expect(when, "bool", item.when.span, "the condition of a rule")
            when_text = item.when.span.text
        pay = None
        if item.outcome == "pay":
            assert item.pay is not None
            pay = state.expressions.lower(item.pay, scope)
            state.expressions.expect(pay, "money", item.pay.span, "the amount a rule pays")
        if item.outcome == "reject" and item.because is None:
            state.error(
                "E0507",
                f"rule `{name}` rejects without saying why",
                item.span,
                'add `because "..."`: the text is shown to the claims checker',
            )
        state.rules[name] = ir.RuleSpec(
            name=name,
            titles=tuple(titles),
            exception_to=exception_to,
            when=when,
            when_text=when_text,
            outcome=item.outcome,
            pay=pay,
            because=item.because or _default_because(item.outcome, name),
            citation=citation_of(item.meta),
            span=item.span,
        )
    _check_exception_cycles(state)
    for title in list(state.titles):
        applying = tuple(r.name for r in state.rules.values() if title in r.titles)
        spec = state.titles[title]
        state.titles[title] = ir.TitleSpec(**{**_fields(spec), "rules": applying})


def _default_because(outcome: str, name: str) -> str:
    return {"pay": f"amount set by rule `{name}`", "accept": f"accepted by rule `{name}`"}.get(
        outcome, f"rejected by rule `{name}`"
    )


def _fields(spec: ir.TitleSpec) -> dict[str, object]:
    import attrs

    return attrs.asdict(spec, recurse=False)


def _check_exception_cycles(state: CheckState) -> None:
    for name, rule in state.rules.items():
        seen = [name]
        current = rule.exception_to
        while current is not None:
            if current in seen:
                state.error(
                    "E0508",
                    f"exceptions form a cycle: {' -> '.join([*seen, current])}",
                    rule.span,
                    "an exception must override a rule that is not (indirectly) its own exception",
                )
                break
            seen.append(current)
            current = state.rules[current].exception_to if current in state.rules else None


def declare_settlements(state: CheckState) -> None:
    for item, file in state.declarations(nodes.SettlementDecl):
        assert isinstance(item, nodes.SettlementDecl)
        table = state.env.tables.get(item.table)
        if table is None:
            state.unknown("E0206", "table", item.table, item.span, state.env.tables)
            continue
        year_by = _year_by(state, item.year_by)
        scope = state.scope(
            file,
            allow_claim=False,
            in_settlement=True,
            context=dict(PERIOD_CONTEXT),
            year_by=year_by,
        ).with_local(item.party, f"row:{table.name}")
        steps: list[tuple[str, object]] = []
        lets: list[tuple[str, ir.Expr]] = []
        for step in item.items:
            expr = state.expressions.lower(step.value, scope)
            _no_claim(state, expr, step.value.span)
            if isinstance(step, nodes.SettleLet):
                if step.name in scope.locals:
                    state.error("E0212", f"`{step.name}` is already defined here", step.span)
                scope = scope.with_local(step.name, expr.type)
                lets.append((step.name, expr))
                steps.append(("let", (step.name, expr)))
            else:
                unit = _line_unit(state, expr, step.value.span)
                steps.append(
                    ("line", ir.SettleLineSpec(step.item, expr, citation_of(step.meta), unit))
                )
        state.settlements[item.name] = ir.SettlementSpec(
            item.name,
            item.party,
            item.table,
            tuple(lets),
            tuple(steps),
            citation_of(item.meta),
            year_by,
        )
    for item, file in state.declarations(nodes.CheckDecl):
        assert isinstance(item, nodes.CheckDecl)
        scope = state.scope(
            file,
            allow_claim=False,
            allow_lines=True,
            context=dict(PERIOD_CONTEXT),
            year_by=_year_by(state, item.year_by),
        )
        expr = state.expressions.lower(item.condition, scope)
        _no_claim(state, expr, item.condition.span)
        tolerance = None
        if item.tolerance is not None:
            tolerance = state.expressions.lower(item.tolerance, scope)
            if not isinstance(expr, ir.Compare) or expr.op != "==":
                state.error(
                    "E0701",
                    "a tolerance only applies to an equality check (`a == b within t`)",
                    item.tolerance.span,
                )
        else:
            state.expressions.expect(expr, "bool", item.condition.span, "a check")
        state.checks[item.name] = ir.CheckSpec(
            item.name,
            expr,
            tolerance,
            item.warn_only,
            citation_of(item.meta),
            item.condition.span.text,
            scope.year_by,
        )
    for item, file in state.declarations(nodes.InvariantDecl):
        assert isinstance(item, nodes.InvariantDecl)
        # Invariants see `decision.FIELD` too; the double-funding form: check/invariants.py.
        from policylang.check.invariants import double_funding_invariant, invariant_scope

        if isinstance(item.condition, nodes.NoDoubleFunding):
            state.invariants[item.name] = double_funding_invariant(state, item, file)
            continue
        expr = state.expressions.lower(item.condition, invariant_scope(state, file))  # type: ignore[arg-type]
        state.expressions.expect(expr, "bool", item.condition.span, "an invariant")
        state.invariants[item.name] = ir.InvariantSpec(
            item.name,
            item.description or item.name,
            expr,
            uses_claim(expr, state.defines),
            citation_of(item.meta),
            item.condition.span.text,
            span=item.span,
        )


# What a settlement and a check know of the period they settle (evaluate/settle.py fills it in).
PERIOD_CONTEXT = {
    "year": "integer",
    "settlement.year": "integer",
    "settlement.start": "date",
    "settlement.end": "date",
}
LINE_UNITS = ("money", "integer", "decimal", "percent", "days")


def _year_by(state: CheckState, year_by: nodes.SettleYear | None) -> str | None:
    """The claim date field of `year by claim.FIELD`, or None (no scoping, or an error)."""
    if year_by is None:
        return None
    field = state.env.claim_fields.get(year_by.field)
    if field is None or field.type != "date":
        dates = [name for name, spec in state.env.claim_fields.items() if spec.type == "date"]
        found = (
            f"the claim has no field `{year_by.field}`"
            if field is None
            else f"claim field `{year_by.field}` is {describe(field.type)}, not a date"
        )
        state.error(
            "E0705",
            f"`year by` names a claim date; {found}",
            year_by.span,
            "the claim's dates: " + ", ".join(f"claim.{name}" for name in dates),
        )
        return None
    return year_by.field


def _line_unit(state: CheckState, expr: ir.Expr, span: Span) -> str:
    """A settlement line is a number of one unit; a line of another type is an error."""
    if expr.type in LINE_UNITS:
        return expr.type
    if expr.type != ERROR:
        state.error(
            "E0301",
            f"a settlement line must be a number, found {describe(expr.type)}",
            span,
            "a line is an amount (EUR), a count, a number, days or a percentage; "
            "put a condition in `if ... then ... else ...`",
        )
    return "money"


def _no_claim(state: CheckState, expr: ir.Expr, span: object) -> None:
    if expr.type != ERROR and uses_claim(expr, state.defines):
        state.error(
            "E0204",
            "this uses a single claim, but settlements and checks run over the whole claim set",
            getattr(expr, "span", None),
            "use an aggregate: sum(c.payable for c in claims where ...)",
        )


def declare_tests(state: CheckState) -> None:
    fields = state.env.claim_fields
    for item, file in state.declarations(nodes.TestDecl):
        assert isinstance(item, nodes.TestDecl)
        claims: list[dict[str, object]] = []
        rows: list[tuple[str, dict[str, object]]] = []
        for given in item.given:
            if isinstance(given, nodes.GivenClaim):
                record: dict[str, object] = {}
                for field in given.fields.fields:
                    spec = fields.get(field.name)
                    if spec is None:
                        state.error(
                            "E0202",
                            f"the claim has no field `{field.name}`",
                            field.span,
                            did_you_mean(field.name, fields),
                        )
                        continue
                    record[field.name] = literal_value(
                        state, field.value, spec.type, f"claim field `{field.name}`"
                    )
                claims.append(record)
            else:
                table = state.env.tables.get(given.table)
                if table is None:
                    state.unknown("E0206", "table", given.table, given.span, state.env.tables)
                    continue
                row: dict[str, object] = {}
                for field in given.fields.fields:
                    column = table.field(field.name)
                    if column is None:
                        state.error(
                            "E0601",
                            f"table `{table.name}` has no column `{field.name}`",
                            field.span,
                            did_you_mean(field.name, [f.name for f in table.fields]),
                        )
                        continue
                    row[field.name] = literal_value(
                        state, field.value, column.type, f"column `{field.name}`"
                    )
                rows.append((table.name, row))
        expectations: list[ir.ClaimExpectation] = []
        values: list[tuple[ir.Expr, str]] = []
        for expect in item.expect:
            if isinstance(expect, nodes.ExpectClaim):
                payable = None
                if expect.payable is not None:
                    value = literal_value(state, expect.payable, "money", "the expected payable")
                    payable = value if isinstance(value, Decimal) else None
                if expect.title is not None and expect.title not in state.titles:
                    state.unknown("E0501", "payment title", expect.title, expect.span, state.titles)
                expectations.append(
                    ir.ClaimExpectation(
                        expect.claim_id,
                        expect.status,
                        payable,
                        expect.title,
                        expect.reasons,
                        expect.span,
                    )
                )
            else:
                scope = state.scope(file)
                expr = state.expressions.lower(expect.condition, scope)
                state.expressions.expect(expr, "bool", expect.condition.span, "an expectation")
                values.append((expr, expect.condition.span.text))
        state.tests.append(
            ir.TestSpec(
                item.name,
                tuple(claims),
                tuple(rows),
                tuple(expectations),
                tuple(values),
                item.span,
            )
        )
