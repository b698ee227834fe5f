"""Check stage for `split` declarations: a title's tariff divided over a care network's roles.

A split is correct by construction or it does not load: it names exactly one payment title, every
role has exactly one part, shares are percentages that add up to exactly 100%, weights and costs
are non-negative and not all zero, and the claim schema has the `trajectory` and `role` fields the
evaluator reads, and the numeric field of `weights from claim.FIELD` (docs/splitting.md). Errors
are E0710-E0719, collected like every other stage's.
"""

from __future__ import annotations

from decimal import Decimal

from policylang import ir
from policylang.check.declarations import RESERVED, declared_in
from policylang.check.expressions import ERROR, codeset_matcher, describe, did_you_mean
from policylang.check.state import CheckState, citation_of
from policylang.loader import LoadedFile
from policylang.source import Span
from policylang.syntax import nodes

# The claim fields a network claim carries; their names are fixed so every split reads the same.
TRAJECTORY_FIELD = "trajectory"
ROLE_FIELD = "role"

_BASIS_TYPES = {
    "shares": ("percent",),
    "weights": ("integer", "decimal"),
    "costs": ("money",),
}
_BASIS_HELP = {
    "shares": "write shares as percentages: `diagnostics 55%`",
    "weights": "write weights as plain numbers: `diagnostics 5` or `diagnostics 2.5`",
    "costs": "write cost components as amounts: `diagnostics EUR 1_150.00`",
}


def declare_splits(state: CheckState) -> None:
    seen: dict[str, nodes.SplitDecl] = {}
    for item, file in state.declarations(nodes.SplitDecl):
        assert isinstance(item, nodes.SplitDecl)
        if not _unique_name(state, item, seen):
            continue
        seen[item.name] = item
        spec = _split(state, item, file)
        if spec is not None:
            state.splits[item.name] = spec


def _unique_name(
    state: CheckState, item: nodes.SplitDecl, seen: dict[str, nodes.SplitDecl]
) -> bool:
    if item.name in RESERVED:
        state.error(
            "E0213", f"`{item.name}` is a reserved word and cannot name a declaration", item.span
        )
        return False
    first = seen[item.name].span if item.name in seen else None
    if first is None and item.name in state.names:
        first = state.names[item.name].node.span
    if first is not None:
        state.error(
            "E0212",
            f"`{item.name}` is declared twice",
            item.span,
            "give one of them another name",
            (f"first declared at {first.location()}",),
        )
        return False
    return True


def _one(state: CheckState, clauses: tuple[object, ...], what: str, item: nodes.SplitDecl) -> bool:
    """Report a missing or repeated clause; True when there is exactly one."""
    if not clauses:
        state.error(
            "E0714",
            f"split `{item.name}` has no `{what}` clause",
            item.span,
            _CLAUSE_HELP[what],
        )
        return False
    if len(clauses) > 1:
        extra = clauses[1]
        state.error(
            "E0714",
            f"split `{item.name}` has more than one `{what}` clause",
            getattr(extra, "span", item.span),
        )
    return True


_CLAUSE_HELP = {
    "of title": "name the payment title whose tariff is split: `of title prostate_dbc`",
    "roles": "list the roles in order: `roles main_treater, diagnostics, aftercare`",
    "shares": "divide the tariff with `shares`, `weights` or `costs`: "
    "`shares main_treater 20%, diagnostics 55%, aftercare 25%`",
}


def _split(state: CheckState, item: nodes.SplitDecl, file: LoadedFile) -> ir.SplitSpec | None:
    scope = state.scope(file)
    errors_before = len(state.diagnostics)

    title = _title(state, item, file)
    matcher = _codes(state, item)

    roles: tuple[str, ...] = ()
    if _one(state, item.roles, "roles", item):
        names = item.roles[0].roles
        roles = tuple(r.name for r in names)
        for index, role in enumerate(names):
            if role.name in roles[:index]:
                state.error("E0712", f"role `{role.name}` is listed twice", role.span)
    _claim_fields(state, item, roles)

    basis, weights = "shares", tuple(Decimal(0) for _ in roles)
    weight_field = None
    if _one(state, item.bases, "shares", item):
        basis = item.bases[0].kind
        if item.bases[0].field is not None:
            weight_field = _weight_field(state, item, item.bases[0].field)
            weights = ()
        else:
            weights = _weights(state, item, item.bases[0], roles)

    tariff = None
    if len(item.tariffs) > 1:
        state.error(
            "E0714", f"split `{item.name}` has more than one `tariff`", item.tariffs[1].span
        )
    for clause in item.tariffs[:1]:
        tariff = state.expressions.lower(clause.value, scope)
        state.expressions.expect(tariff, "money", clause.value.span, "the tariff of a split")
    if not item.tariffs and title is not None and title.tariff_kind == "free":
        state.error(
            "E0715",
            f"split `{item.name}` has no amount to split: title `{title.name}` has `tariff free`",
            item.titles[0].span,
            "give the whole DBC's tariff in the split: `tariff tarief_NAME`",
        )

    fee = None
    fee_role = None
    if len(item.fees) > 1:
        state.error(
            "E0714", f"split `{item.name}` has more than one coordination fee", item.fees[1].span
        )
    for fee_clause in item.fees[:1]:
        fee = state.expressions.lower(fee_clause.amount, scope)
        state.expressions.expect(fee, "money", fee_clause.amount.span, "a coordination fee")
        _not_negative(state, fee_clause.amount, "the coordination fee")
        fee_role = _role(state, fee_clause.role, roles, fee_clause.span)

    discounts = []
    for discount in item.discounts:
        if item.bases and item.bases[0].field is not None:
            state.error(
                "E0719",
                f"split `{item.name}` cannot take a discount: its weights come from "
                f"`{expr_text(item.bases[0].field)}` of the part claims",
                discount.span,
                "a whole DBC claimed in today's mode has no part claims to weigh, so it could not "
                "take the same discount; declare the parts (`shares`, `weights` or `costs`) to "
                "use a discount",
            )
        rate = state.expressions.lower(discount.rate, scope)
        state.expressions.expect(rate, "percent", discount.rate.span, "a discount")
        value = discount.rate.value if isinstance(discount.rate, nodes.Literal) else None
        if isinstance(value, Decimal) and not Decimal(0) <= value <= Decimal(100):
            state.error(
                "E0718",
                f"a discount of {value}% is not between 0% and 100%",
                discount.rate.span,
                "a discount takes part of one role's part away; it cannot add money",
            )
        target = _role(state, discount.role, roles, discount.span)
        condition = state.expressions.lower(discount.condition, scope)
        state.expressions.expect(
            condition, "bool", discount.condition.span, "the condition of a discount"
        )
        discounts.append(
            ir.SplitDiscountSpec(
                rate, target or discount.role, condition, f"claim.{discount.condition.name}"
            )
        )

    network = None
    if len(item.networks) > 1:
        state.error(
            "E0714", f"split `{item.name}` names more than one network", item.networks[1].span
        )
    for ref in item.networks[:1]:
        network = _network(state, ref)

    if len(state.diagnostics) > errors_before or title is None:
        return None
    return ir.SplitSpec(
        name=item.name,
        label=item.label or item.name,
        title=title.name,
        codes=matcher,
        tariff=tariff,
        roles=roles,
        basis=basis,
        weights=weights,
        fee=fee,
        fee_role=fee_role,
        discounts=tuple(discounts),
        network=network,
        citation=citation_of(item.meta),
        span=item.span,
        weight_field=weight_field,
    )


def _title(state: CheckState, item: nodes.SplitDecl, file: LoadedFile) -> ir.TitleSpec | None:
    if not _one(state, item.titles, "of title", item):
        return None
    ref = item.titles[0]
    spec = state.titles.get(ref.name)
    if spec is None:
        state.unknown("E0501", "payment title", ref.name, ref.span, state.titles)
        return None
    if not declared_in(state, file, ref.name):
        declared = state.names[ref.name]
        state.error(
            "E0205",
            f"payment title `{ref.name}` is declared in a rule file this file does not import",
            ref.span,
            f'add `import "{declared.file.display}"` (relative to this file)',
        )
    return spec


def _codes(state: CheckState, item: nodes.SplitDecl) -> ir.CodeMatcher | None:
    if not item.codes:
        return None
    matcher = ir.CodeMatcher()
    for codes in item.codes:
        if isinstance(codes, nodes.CodeSet):
            matcher = matcher.union(codeset_matcher(codes))
        elif codes.name in state.env.codesets:
            matcher = matcher.union(state.env.codesets[codes.name])
        else:
            state.unknown("E0208", "code set", codes.name, codes.span, state.env.codesets)
    return matcher


def _role(state: CheckState, role: str, roles: tuple[str, ...], span: Span) -> str | None:
    if role in roles:
        return role
    if roles:
        state.error(
            "E0712",
            f"`{role}` is not one of the roles of this split",
            span,
            did_you_mean(role, roles) or f"roles: {', '.join(roles)}",
        )
    return None


def _not_negative(state: CheckState, value: nodes.Expr, what: str) -> None:
    literal = isinstance(value, nodes.Literal) and isinstance(value.value, Decimal | int)
    if literal and value.value < 0:  # type: ignore[union-attr, operator]
        state.error("E0713", f"{what} is negative", value.span, "no part can be negative")


def _weights(
    state: CheckState, item: nodes.SplitDecl, basis: nodes.SplitBasis, roles: tuple[str, ...]
) -> tuple[Decimal, ...]:
    """The parts' values in `roles` order, as fractions (shares) or weights."""
    wanted = _BASIS_TYPES[basis.kind]
    by_role: dict[str, Decimal] = {}
    for part in basis.parts:
        role = _role(state, part.role, roles, part.span)
        value = part.value
        if not isinstance(value, nodes.Literal) or value.kind not in wanted:
            found = value.kind if isinstance(value, nodes.Literal) else f"`{expr_text(value)}`"
            state.error(
                "E0713",
                f"the {basis.kind} of a split are written as {' or '.join(wanted)} values, "
                f"found {found}",
                value.span,
                _BASIS_HELP[basis.kind],
            )
            continue
        assert isinstance(value.value, Decimal | int)
        amount = Decimal(value.value)
        if amount < 0:
            state.error(
                "E0713",
                f"the part of `{part.role}` is negative: {expr_text(value)}",
                value.span,
                "no part of a split can be negative",
            )
            continue
        if role is None:
            continue
        if role in by_role:
            state.error("E0712", f"role `{role}` has two parts", part.span)
            continue
        by_role[role] = amount
    missing = [r for r in roles if r not in by_role]
    errors = [
        d
        for d in state.diagnostics
        if d.span is not None and basis.span.start <= d.span.start < basis.span.end
    ]
    if missing and not errors:
        state.error(
            "E0712",
            f"{', '.join(f'`{r}`' for r in missing)} {'has' if len(missing) == 1 else 'have'} "
            f"no part in the {basis.kind} of split `{item.name}`",
            basis.span,
            "give every role a part (0% is allowed)",
        )
    if missing or errors:
        return tuple(by_role.get(r, Decimal(0)) for r in roles)
    values = [by_role[r] for r in roles]
    if basis.kind == "shares":
        total = sum(values, Decimal(0))
        if total != 100:
            gap = Decimal(100) - total
            fix = f"add {gap}% to" if gap > 0 else f"take {-gap}% off"
            state.error(
                "E0711",
                f"the shares of split `{item.name}` sum to {total}%, not 100%",
                basis.span,
                f"shares must add up to exactly 100%: {fix} one of the roles",
            )
        return tuple(v / 100 for v in values)
    if not any(values):
        state.error(
            "E0713",
            f"every {basis.kind[:-1]} of split `{item.name}` is zero",
            basis.span,
            "at least one role needs a part",
        )
    return tuple(values)


def _weight_field(state: CheckState, item: nodes.SplitDecl, field: nodes.Member) -> str | None:
    """`weights from claim.FIELD`: FIELD must be a declared integer or decimal claim field."""
    fields = state.env.claim_fields
    spec = fields.get(field.name)
    if spec is None:
        state.error(
            "E0716",
            f"split `{item.name}` reads its weights from `claim.{field.name}`, "
            f"but the claim has no field `{field.name}`",
            field.span,
            did_you_mean(field.name, fields)
            or f"declare it in a claim block: `claim {{ {field.name}: integer? }}`",
        )
        return None
    if spec.type not in _BASIS_TYPES["weights"]:
        state.error(
            "E0716",
            f"claim field `{field.name}` is {describe(spec.type)}; the weights of a split "
            "are integer or decimal numbers",
            field.span,
            f"declare it as `{field.name}: integer?` (a number of activities) or "
            f"`{field.name}: decimal?` (a weight)",
        )
        return None
    return field.name


def _claim_fields(state: CheckState, item: nodes.SplitDecl, roles: tuple[str, ...]) -> None:
    fields = state.env.claim_fields
    trajectory = fields.get(TRAJECTORY_FIELD)
    role = fields.get(ROLE_FIELD)
    help_text = "declare them in a claim block: `claim { trajectory: code?  role: Role? }`"
    for name, spec, types in (
        (TRAJECTORY_FIELD, trajectory, ("code", "text")),
        (ROLE_FIELD, role, ("code", "text")),
    ):
        if spec is None:
            state.error(
                "E0716",
                f"split `{item.name}` needs the claim field `{name}`",
                item.span,
                help_text,
            )
        elif (spec.type not in types and not spec.type.startswith("enum:")) or (
            name == TRAJECTORY_FIELD and spec.type.startswith("enum:")
        ):
            state.error(
                "E0716",
                f"claim field `{name}` is {describe(spec.type)}; a split needs "
                f"{' or '.join(types)}{' or an enum' if name == ROLE_FIELD else ''}",
                spec.span,
            )
    if role is not None and role.type.startswith("enum:") and item.roles:
        enum = state.env.enums[role.type[5:]]
        for ref in item.roles[0].roles:
            if ref.name not in enum.members:
                state.error(
                    "E0716",
                    f"role `{ref.name}` is not a member of enum `{enum.name}` "
                    f"(the type of claim field `role`)",
                    ref.span,
                    did_you_mean(ref.name, enum.members) or f"members: {', '.join(enum.members)}",
                )


def _network(state: CheckState, ref: nodes.Name) -> str | None:
    table = state.env.tables.get(ref.name)
    if table is None:
        state.unknown("E0206", "table", ref.name, ref.span, state.env.tables)
        return None
    key = table.field(table.key[0]) if len(table.key) == 1 else None
    if key is None or key.type not in ("code", "text"):
        state.error(
            "E0717",
            f"the network table `{table.name}` must be keyed by one code column: the provider",
            ref.span,
            f"for example `table {table.name} key provider {{ provider: code  name: text }}`",
        )
        return None
    return table.name


def expr_text(node: nodes.Expr) -> str:
    from policylang.format import expr

    return expr(node)


__all__ = ["ERROR", "ROLE_FIELD", "TRAJECTORY_FIELD", "declare_splits"]
