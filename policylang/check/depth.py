"""How deep an expression nests counting the definitions it uses, checked before the checker runs.

The parser limits each expression to MAX_NESTING levels (E0107), but a definition can use another:
`define a2 = a1 + 1`, `define a3 = a2 + 1`, ... The checker, the compiler and the batch SQL (which
inlines definitions) follow such a chain recursively, so 2,000 definitions in a chain overflowed
Python's stack although each is one level deep. Here every expression's depth is its own nesting
plus the deepest definition (or settlement `let`) it names, computed with an explicit stack; more
than MAX_NESTING is E0107 at the first definition of the chain that goes past the limit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

import attrs

from policylang.errors import Diagnostic
from policylang.loader import LoadedFile
from policylang.source import Span
from policylang.syntax import nodes
from policylang.syntax.limits import MAX_NESTING

_LEAVES = (nodes.Literal, nodes.Name, nodes.CodeSet)


def _own_depth_and_names(expr: nodes.Expr) -> tuple[int, set[str]]:
    """Nesting levels of one expression (a leaf is 0) and the plain names it uses."""
    deepest = 0
    names: set[str] = set()
    stack: list[tuple[nodes.Expr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, nodes.Name):
            names.add(node.name)
        if isinstance(node, _LEAVES):
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in nodes.children(node))
    return deepest, names


def _expressions(value: object) -> Iterator[nodes.Expr]:
    """The top-level expressions of a declaration (its clauses, tests, lines), not their parts."""
    if isinstance(value, nodes.Expr):  # type: ignore[misc, arg-type]
        yield value  # type: ignore[misc]
    elif isinstance(value, tuple):
        for item in value:
            yield from _expressions(item)
    elif attrs.has(type(value)) and not isinstance(value, nodes.Meta):
        for field in attrs.fields(type(value)):
            yield from _expressions(getattr(value, field.name))


class _Depths:
    """Effective depth of each named value: its own nesting plus the deepest value it names."""

    def __init__(self, values: dict[str, nodes.Expr]) -> None:
        self.facts = {name: _own_depth_and_names(expr) for name, expr in values.items()}
        self.known: dict[str, int] = {}

    def of(self, name: str) -> int:
        """Post-order over the names, with an explicit stack; a cycle (E0215 later) adds 0."""
        if name in self.known:
            return self.known[name]
        visiting = {name}
        stack: list[tuple[str, bool]] = [(name, False)]
        while stack:
            current, ready = stack.pop()
            own, used = self.facts[current]
            inner = [n for n in used if n in self.facts and n != current]
            if ready:
                self.known[current] = own + max((self.known.get(n, 0) for n in inner), default=0)
                visiting.discard(current)
                continue
            stack.append((current, True))
            for other in inner:
                if other not in self.known and other not in visiting:
                    visiting.add(other)
                    stack.append((other, False))
        return self.known[name]

    def too_deep_first(self, name: str) -> bool:
        """Past the limit, while every value it names is within it: where a chain goes over."""
        _, used = self.facts[name]
        return self.of(name) > MAX_NESTING and all(
            self.of(n) <= MAX_NESTING for n in used if n in self.facts and n != name
        )


def _error(what: str, depth: int, span: Span) -> Diagnostic:
    return Diagnostic(
        "E0107",
        f"{what} nests {depth} levels deep through the definitions it uses "
        f"(more than {MAX_NESTING})",
        span,
        f"an expression with the definitions it uses, and the ones those use, may nest at most "
        f"{MAX_NESTING} levels: shorten the chain of definitions",
    )


def definition_depth_problems(files: list[LoadedFile]) -> list[Diagnostic]:
    items = [item for loaded in files for item in loaded.module.items]
    defines: dict[str, nodes.DefineDecl] = {}
    for item in items:
        if isinstance(item, nodes.DefineDecl):
            defines.setdefault(item.name, item)
    depths = _Depths({name: item.value for name, item in defines.items()})
    found = _too_deep_names({name: item.span for name, item in defines.items()}, depths)
    if found:
        return found
    for item in items:
        if isinstance(item, nodes.SettlementDecl):
            found += _settlement_problems(item, defines, depths)
        elif not isinstance(item, nodes.DefineDecl):
            uses = (("this expression", expr, expr.span) for expr in _expressions(item))
            found += _too_deep_uses(uses, depths, defines)
    return found


def _settlement_problems(
    item: nodes.SettlementDecl, defines: dict[str, nodes.DefineDecl], depths: _Depths
) -> list[Diagnostic]:
    """A settlement's `let`s name each other and the definitions: one scope over both (a `let`
    hides a definition of the same name)."""
    lets = {part.name: part for part in item.items if isinstance(part, nodes.SettleLet)}
    values: dict[str, nodes.Expr] = {name: d.value for name, d in defines.items()}
    values.update({name: part.value for name, part in lets.items()})
    local = _Depths(values)
    local.known.update({n: d for n, d in depths.known.items() if n not in lets})
    found = _too_deep_names({name: part.span for name, part in lets.items()}, local)
    if found:
        return found
    lines = (
        (f'line "{part.item}"', part.value, part.span)
        for part in item.items
        if isinstance(part, nodes.SettleLine)
    )
    return _too_deep_uses(lines, local, values)


def _too_deep_names(named: dict[str, Span], depths: _Depths) -> list[Diagnostic]:
    """The named values (definitions, lets) past the limit, each reported at the first one."""
    return [
        _error(f"`{name}`", depths.of(name), span)
        for name, span in named.items()
        if depths.too_deep_first(name)
    ]


def _too_deep_uses(
    uses: Iterable[tuple[str, nodes.Expr, Span]], depths: _Depths, names: Collection[str]
) -> list[Diagnostic]:
    """The expressions whose own nesting plus that of the named values they use is too deep."""
    found = []
    for what, expr, span in uses:
        own, used = _own_depth_and_names(expr)
        depth = own + max((depths.of(n) for n in used if n in names), default=0)
        if depth > MAX_NESTING:
            found.append(_error(what, depth, span))
    return found
