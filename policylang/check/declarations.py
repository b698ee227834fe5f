"""Check stages for names, schemas, parameters and definitions.

Each stage reads the AST of every loaded file and fills the shared CheckState; later stages rely
on what earlier ones declared. Errors are collected, never raised here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import attrs

from policylang import ir
from policylang.check.builtins import BUILTINS
from policylang.check.expressions import (
    ERROR,
    SCALAR_NAMES,
    STANDARD_CLAIM_FIELDS,
    codeset_matcher,
    describe,
    did_you_mean,
)
from policylang.check.state import CheckState, Declared
from policylang.loader import LoadedFile
from policylang.syntax import nodes

RESERVED = frozenset(
    {"claim", "claims", "tariff", "claimed", "payable", "true", "false", *BUILTINS, *SCALAR_NAMES}
)

NAMED = (
    nodes.EnumDecl,
    nodes.RecordDecl,
    nodes.TableDecl,
    nodes.CodeSetDecl,
    nodes.ParamDecl,
    nodes.DefineDecl,
    nodes.TitleDecl,
    nodes.RuleDecl,
    nodes.SettlementDecl,
    nodes.CheckDecl,
    nodes.InvariantDecl,
)


# ---------------------------------------------------------------- stage 1: names


def collect_names(state: CheckState) -> None:
    own: dict[str, set[str]] = {}
    for file in state.files:
        names = own.setdefault(file.display, set())
        for item in file.module.items:
            if not isinstance(item, NAMED):
                continue
            name = item.name
            if name in RESERVED:
                state.error(
                    "E0213",
                    f"`{name}` is a reserved word and cannot name a declaration",
                    item.span,
                )
                continue
            if name in state.names:
                first = state.names[name].node.span
                state.error(
                    "E0212",
                    f"`{name}` is declared twice",
                    item.span,
                    "give one of them another name",
                    (f"first declared at {first.location()}",),
                )
                continue
            state.names[name] = Declared(item, file)
            names.add(name)
    by_path = {file.path: file for file in state.files}
    for file in state.files:
        seen: set[str] = set()
        stack = [file]
        visible: set[str] = set()
        while stack:
            current = stack.pop()
            if current.display in seen:
                continue
            seen.add(current.display)
            visible |= own.get(current.display, set())
            stack += [by_path[p] for p in current.imports if p in by_path]
        state.visible[file.display] = frozenset(visible)


# ---------------------------------------------------------------- stage 2: types and schemas


def _field_type(state: CheckState, type_ref: nodes.TypeRef) -> str:
    if type_ref.name in SCALAR_NAMES:
        return SCALAR_NAMES[type_ref.name]
    if type_ref.name in state.env.enums:
        return f"enum:{type_ref.name}"
    state.error(
        "E0308",
        f"unknown type `{type_ref.name}`",
        type_ref.span,
        did_you_mean(type_ref.name, [*SCALAR_NAMES, *state.env.enums])
        or f"types: {', '.join(SCALAR_NAMES)}, or an enum",
    )
    return ERROR


def literal_value(state: CheckState, node: nodes.Expr, type_: str, what: str) -> Any:
    """The value of a literal written for a field or parameter of `type_`, or None on error."""
    if type_ == ERROR:
        return None
    if type_.startswith("enum:"):
        enum = state.env.enums[type_[5:]]
        if (
            isinstance(node, nodes.Member)
            and isinstance(node.target, nodes.Name)
            and node.target.name == enum.name
            and node.name in enum.members
        ):
            return node.name
        state.error(
            "E0309",
            f"{what} must be a member of enum `{enum.name}`",
            node.span,
            f"for example `{enum.name}.{enum.members[0]}`",
        )
        return None
    if not isinstance(node, nodes.Literal):
        state.error(
            "E0309",
            f"{what} must be a literal value",
            node.span,
            "parameters, defaults and test data are written as values: EUR 45.00, 2.5%, 2027-01-01",
        )
        return None
    kind, value = node.kind, node.value
    if kind == type_ or (kind == "text" and type_ == "code"):
        if kind == "percent":
            assert isinstance(value, Decimal)
            return value / 100
        return value
    if kind == "integer" and type_ == "decimal":
        return Decimal(value)  # type: ignore[arg-type]
    help_text = None
    if type_ == "money" and kind in ("integer", "decimal"):
        help_text = f"write amounts with EUR: EUR {value}"
    elif type_ == "code" and kind == "integer":
        help_text = f'codes are texts so leading zeros are kept: "{value}"'
    elif type_ == "percent" and kind in ("integer", "decimal"):
        help_text = f"write percentages with %: {value}%"
    state.error("E0301", f"{what} must be {describe(type_)}, found {kind}", node.span, help_text)
    return None


def _field_specs(
    state: CheckState, fields: tuple[nodes.FieldDecl, ...], owner: str
) -> tuple[ir.FieldSpec, ...]:
    specs: list[ir.FieldSpec] = []
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            state.error("E0212", f"{owner} declares field `{field.name}` twice", field.span)
            continue
        seen.add(field.name)
        type_ = _field_type(state, field.type)
        default = None
        if field.default is not None:
            default = literal_value(state, field.default, type_, f"the default of `{field.name}`")
        specs.append(
            ir.FieldSpec(
                field.name,
                type_,
                optional=field.optional,
                default=default,
                has_default=field.default is not None,
                span=field.span,
            )
        )
    return tuple(specs)


def declare_types(state: CheckState) -> None:
    env = state.env
    for item, _ in state.declarations(nodes.EnumDecl):
        assert isinstance(item, nodes.EnumDecl)
        if len(set(item.members)) != len(item.members):
            state.error("E0212", f"enum `{item.name}` lists a member twice", item.span)
        env.enums[item.name] = ir.EnumSpec(item.name, item.members)
    for item, _ in state.declarations(nodes.RecordDecl):
        state.error(
            "E0309",
            "record declarations are reserved for a later version",
            item.span,
            "declare claim fields in `claim { ... }` and reference data as a `table`",
        )

    standard = {f.name: f for f in STANDARD_CLAIM_FIELDS}
    fields: dict[str, ir.FieldSpec] = dict(standard)
    for item, _ in state.declarations(nodes.ClaimDecl):
        assert isinstance(item, nodes.ClaimDecl)
        for spec in _field_specs(state, item.fields, "the claim"):
            existing = fields.get(spec.name)
            if existing is not None and spec.name in standard:
                state.error(
                    "E0214",
                    f"`{spec.name}` is a standard claim field and cannot be redeclared",
                    spec.span,
                    "standard fields: " + ", ".join(standard),
                )
                continue
            if existing is not None and existing.type != spec.type:
                state.error(
                    "E0214",
                    f"claim field `{spec.name}` is declared as {describe(existing.type)} "
                    f"and as {describe(spec.type)}",
                    spec.span,
                    notes=(f"first declared at {existing.span.location()}",),
                )
                continue
            fields.setdefault(spec.name, spec)
    env.claim_fields = fields

    for item, _ in state.declarations(nodes.TableDecl):
        assert isinstance(item, nodes.TableDecl)
        specs = _field_specs(state, item.fields, f"table `{item.name}`")
        names = {f.name for f in specs}
        for key in item.key:
            if key not in names:
                state.error(
                    "E0603",
                    f"the key `{key}` of table `{item.name}` is not one of its columns",
                    item.span,
                    did_you_mean(key, names)
                    or f"declare the key as a column of the table, like `{key}: text`",
                )
        columns = {f.name: f for f in specs}
        for column in (item.valid_from, item.valid_to):
            if column is not None and (column not in columns or columns[column].type != "date"):
                state.error(
                    "E0610",
                    f"validity column `{column}` of table `{item.name}` is not a date column",
                    item.span,
                    "declare it as `valid_from: date` (the end column may be optional: `date?`)",
                )
        if item.reference is not None:
            from policylang.data.nza import REFERENCE_TABLES

            if item.reference not in REFERENCE_TABLES:
                state.error(
                    "E0611",
                    f"no bundled reference table `{item.reference}`",
                    item.span,
                    did_you_mean(item.reference, REFERENCE_TABLES)
                    or "bundled: " + ", ".join(REFERENCE_TABLES),
                )
        env.tables[item.name] = ir.TableSpec(
            item.name,
            item.key,
            specs,
            tuple(c.text for c in item.meta.citations),
            span=item.span,
            valid_from=item.valid_from,
            valid_to=item.valid_to,
            reference=item.reference,
        )

    for item, _ in state.declarations(nodes.CodeSetDecl):
        assert isinstance(item, nodes.CodeSetDecl)
        env.codesets[item.name] = codeset_matcher(item.codes)


# ---------------------------------------------------------------- stage 3: parameters


def _check_periods(
    state: CheckState, periods: list[tuple[dt.date, dt.date | None, Any]], what: str
) -> None:
    ordered = sorted(periods, key=lambda p: p[0])
    for start, end, node in ordered:
        if end is not None and end < start:
            state.error(
                "E0402",
                f"{what}: the period ends ({end}) before it starts ({start})",
                node.span,
            )
    for (start_a, end_a, _), (start_b, _, node_b) in itertools.pairwise(ordered):
        if end_a is None or end_a >= start_b:
            state.error(
                "E0401",
                f"{what}: the periods starting {start_a} and {start_b} overlap",
                node_b.span,
                "periods include both their first and last day; end the earlier one the day before",
            )


def declare_parameters(state: CheckState) -> None:
    for item, _ in state.declarations(nodes.ParamDecl):
        assert isinstance(item, nodes.ParamDecl)
        type_ = _field_type(state, item.type)
        what = f"the value of `{item.name}`"
        if item.always is not None:
            spec = ir.ParamSpec(
                item.name,
                type_,
                always=literal_value(state, item.always, type_, what),
                has_always=True,
                span=item.span,
            )
        elif item.periods:
            _check_periods(
                state,
                [(p.start, p.end, p) for p in item.periods],
                f"parameter `{item.name}`",
            )
            spec = ir.ParamSpec(
                item.name,
                type_,
                periods=tuple(
                    ir.Period(p.start, p.end, literal_value(state, p.value, type_, what))
                    for p in sorted(item.periods, key=lambda p: p.start)
                ),
                span=item.span,
            )
        else:
            years = [y.year for y in item.years]
            for year_value in item.years:
                if years.count(year_value.year) > 1:
                    state.error(
                        "E0401",
                        f"parameter `{item.name}` gives the year {year_value.year} twice",
                        year_value.span,
                    )
                    break
            spec = ir.ParamSpec(
                item.name,
                type_,
                years=tuple(
                    (y.year, literal_value(state, y.value, type_, what))
                    for y in sorted(item.years, key=lambda y: y.year)
                ),
                span=item.span,
            )
        state.env.params[item.name] = ir.ParamSpec(
            spec.name,
            spec.type,
            spec.always,
            spec.has_always,
            spec.periods,
            spec.years,
            tuple(c.text for c in item.meta.citations),
            item.meta.assumptions,
            item.span,
        )


def declare_table_requirements(state: CheckState) -> None:
    """Type each table's `require` lines, with the row's columns as names."""
    for item, file in state.declarations(nodes.TableDecl):
        assert isinstance(item, nodes.TableDecl)
        spec = state.env.tables.get(item.name)
        if spec is None or not item.requires:
            continue
        scope = state.scope(file, allow_claim=False)
        for field in spec.fields:
            scope = scope.with_local(field.name, field.type)
        requirements = []
        for require in item.requires:
            expr = state.expressions.lower(require.condition, scope)
            state.expressions.expect(expr, "bool", require.condition.span, "a table requirement")
            # the row's columns it reads (a variable of an aggregate, `x` in `sum(x.share for x
            # in t)`, is no column of the row and is not shown)
            names = {f.name for f in spec.fields}
            columns = tuple(
                sorted({s.name for s in ir.walk(expr) if isinstance(s, ir.Var)} & names)
            )
            requirements.append(
                ir.TableRequirement(
                    expr,
                    require.message or f"`{require.condition.span.text}` does not hold",
                    columns,
                )
            )
        state.env.tables[item.name] = attrs.evolve(spec, requirements=tuple(requirements))


# ---------------------------------------------------------------- stage 4: definitions


def _referenced_names(node: nodes.Expr) -> set[str]:
    found: set[str] = set()
    for sub in nodes.walk(node):
        if isinstance(sub, nodes.Name):
            found.add(sub.name)
    return found


def declare_definitions(state: CheckState) -> None:
    declared = {
        item.name: (item, file)
        for item, file in state.declarations(nodes.DefineDecl)
        if isinstance(item, nodes.DefineDecl) and state.names.get(item.name, None) is not None
    }
    order: list[str] = []
    status: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if status.get(name) == "done":
            return
        if status.get(name) == "active":
            cycle = [*path[path.index(name) :], name]
            item = declared[name][0]
            state.error(
                "E0215",
                f"definition `{name}` depends on itself: {' -> '.join(cycle)}",
                item.span,
                "a definition may not use its own value, directly or through others",
            )
            return
        status[name] = "active"
        for ref in sorted(_referenced_names(declared[name][0].value)):
            if ref in declared:
                visit(ref, [*path, name])
        status[name] = "done"
        order.append(name)

    for name in declared:
        visit(name, [])
    # Until a definition is typed, references to it are `error` (reported once, at the cycle).
    state.env.define_types.update({name: ERROR for name in declared})
    for name in order:
        item, file = declared[name]
        expr = state.expressions.lower(item.value, state.scope(file))
        type_ = expr.type
        if item.type is not None:
            wanted = _field_type(state, item.type)
            state.expressions.expect(expr, wanted, item.value.span, f"the value of `{name}`")
            if type_ != ERROR:
                type_ = wanted if wanted != ERROR else type_
        state.env.define_types[name] = type_
        state.defines[name] = ir.DefineSpec(
            name, type_, expr, tuple(c.text for c in item.meta.citations), item.span
        )


def declared_in(state: CheckState, file: LoadedFile, name: str) -> bool:
    visible = state.visible.get(file.display)
    return visible is None or name in visible
