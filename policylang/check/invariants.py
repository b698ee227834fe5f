"""Check the first-class invariant form `no patient funded by both A and B <scope> [where E]`.

Names in the two lists are payment titles or funding streams (`budget`, `production`, ...); a
funding stream stands for every title with that funding. The `where` condition is a per-claim
condition, applied to both claims of a pair; it sees `claim.FIELD` and `decision.FIELD` (status,
payable, title, funding). docs/invariants.md has the semantics.
"""

from __future__ import annotations

from policylang import ir
from policylang.check.declarations import declared_in
from policylang.check.expressions import did_you_mean
from policylang.check.state import CheckState, citation_of
from policylang.loader import LoadedFile
from policylang.syntax import nodes

# Names an invariant sees besides the claim: `decision.status`, `decision.payable`,
# `decision.title`, `decision.funding` (and the claim's own fields again as `decision.FIELD`).
# Bound as a local of the claim-record type, so the checker's field rules for `c.status` in
# aggregates over `claims` apply unchanged.
DECISION_LOCAL = ("decision", "claim")


def invariant_scope(state: CheckState, file: LoadedFile) -> object:
    return state.scope(file, allow_claim=True, allow_lines=True).with_local(*DECISION_LOCAL)


def _resolve(
    state: CheckState, file: LoadedFile, names: tuple[str, ...], span: object
) -> tuple[str, ...]:
    from policylang.check.titles import FUNDING_STREAMS

    found: list[str] = []
    for name in names:
        declared = state.names.get(name)
        if declared is not None and isinstance(declared.node, nodes.TitleDecl):
            if not declared_in(state, file, name):
                state.error(
                    "E0205",
                    f"payment title `{name}` is declared in a rule file this file does not import",
                    span,  # type: ignore[arg-type]
                    f'add `import "{declared.file.display}"` (relative to this file)',
                )
            found.append(name)
        elif name in FUNDING_STREAMS:
            found += [t.name for t in state.titles.values() if t.funding == name]
        else:
            titles = [n for n, d in state.names.items() if isinstance(d.node, nodes.TitleDecl)]
            state.error(
                "E0901",
                f"unknown payment title or funding stream `{name}`",
                span,  # type: ignore[arg-type]
                did_you_mean(name, [*titles, *FUNDING_STREAMS])
                or f"funding streams: {', '.join(FUNDING_STREAMS)}",
            )
    return tuple(dict.fromkeys(found))


def double_funding_invariant(
    state: CheckState, item: nodes.InvariantDecl, file: LoadedFile
) -> ir.InvariantSpec:
    node = item.condition
    assert isinstance(node, nodes.NoDoubleFunding)
    first = _resolve(state, file, node.first, node.span)
    second = _resolve(state, file, node.second, node.span)
    where = None
    if node.where is not None:
        where = state.expressions.lower(node.where, invariant_scope(state, file))  # type: ignore[arg-type]
        state.expressions.expect(where, "bool", node.where.span, "`where`")
    return ir.InvariantSpec(
        item.name,
        item.description or item.name,
        ir.Const(True, "bool"),
        True,
        citation_of(item.meta),
        node.span.text,
        ir.DoubleFunding(first, second, node.scope.days, where),
        item.span,
    )
