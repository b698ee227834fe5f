"""The engine's own properties, with hypothesis (docs/invariants.md, "The engine's promises").

What holds about splitting claims over files: decisions are the same when no cross-claim rule
(exclusion, requirement) spans the split, i.e. when every patient's claims stay in one file.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang.allocation import prorate
from policylang.format import format_module
from policylang.syntax import nodes
from policylang.syntax.parser import parse

GOLDEN = Path("tests/golden/decisions/core.policy")
POLICY = policylang.load(GOLDEN)
CODES = ("990001", "190153", "190154", "190156", "990010", "123456789", "X")


@st.composite
def claim(draw, index: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    broken = draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())
    return {
        "claim_id": f"c{index}",
        "provider": "1",
        "insurer": "1",
        "patient": draw(st.sampled_from(("p1", "p2", "p3"))),
        "code": draw(st.sampled_from(CODES)),
        "start_date": "not a date" if broken else draw(st.sampled_from(("2025-03-01", "2025-03-02", "2026-01-05"))),
        "quantity": str(draw(st.integers(1, 3))),
        "amount": draw(st.sampled_from(("10.00", "450.00", "2000.00", "62.50"))),
        "referrer": draw(st.sampled_from(("", "huisarts", "specialist"))),
        "ic_contract": draw(st.sampled_from(("", "true", "false"))),
    }  # fmt: skip


claim_sets = st.integers(0, 8).flatmap(lambda n: st.tuples(*[claim(i) for i in range(n)]))


@settings(max_examples=60, deadline=None)
@given(claim_sets, st.randoms(use_true_random=False))
def test_decisions_out_equal_claims_in_and_order_does_not_matter(claims, rnd) -> None:  # type: ignore[no-untyped-def]
    decisions = POLICY.check(list(claims))
    assert [d.claim_id for d in decisions] == [c["claim_id"] for c in claims]
    shuffled = list(claims)
    rnd.shuffle(shuffled)
    by_id = {d.claim_id: d for d in POLICY.check(shuffled)}
    assert [by_id[d.claim_id] for d in decisions] == decisions
    assert POLICY.check(list(claims)) == decisions  # deterministic


@settings(max_examples=40, deadline=None)
@given(claim_sets)
def test_splitting_by_patient_over_files_changes_nothing(claims) -> None:  # type: ignore[no-untyped-def]
    whole = {d.claim_id: d for d in POLICY.check(list(claims))}
    for patient in ("p1", "p2", "p3"):
        part = [c for c in claims if c["patient"] == patient]
        for decision in POLICY.check(part):
            assert whole[decision.claim_id] == decision


@settings(max_examples=100, deadline=None)
@given(
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.lists(st.integers(0, 1000).map(Decimal), min_size=1, max_size=8).filter(any),
)
def test_allocation_conserves_money(total: Decimal, weights: list[Decimal]) -> None:
    assert sum(prorate(total, weights)) == total


# ---------------------------------------------------------------- fmt round trip on generated ASTs
names = st.sampled_from(("a", "tariff", "b_2", "Hours"))
literals = st.one_of(
    st.integers(0, 999).map(lambda v: nodes.Literal("integer", v)),
    st.sampled_from(("x", "190015")).map(lambda v: nodes.Literal("text", v)),
    st.booleans().map(lambda v: nodes.Literal("bool", v)),
)
exprs = st.recursive(
    st.one_of(literals, names.map(nodes.Name)),
    lambda inner: st.one_of(
        st.builds(nodes.Binary, st.sampled_from(("+", "-", "*", "/", "==", "<", "and", "or")), inner, inner),
        st.builds(nodes.Unary, st.just("not"), inner),
        st.builds(nodes.Member, names.map(nodes.Name), names),
        st.builds(nodes.IfThenElse, inner, inner, inner),
    ),
    max_leaves=8,
)  # fmt: skip


def _decl(name: str, condition: nodes.Expr) -> nodes.Module:
    return nodes.Module(None, (nodes.InvariantDecl(name, None, condition),))


@settings(max_examples=200, deadline=None)
@given(names, exprs)
def test_fmt_round_trips_generated_expressions(name: str, expr: nodes.Expr) -> None:
    module = _decl(name, expr)
    assert parse(format_module(module), "g.policy").items == module.items


@settings(max_examples=50, deadline=None)
@given(
    st.lists(names, min_size=1, max_size=3),
    st.lists(names, min_size=1, max_size=3),
    st.integers(0, 30),
)
def test_fmt_round_trips_double_funding(first, second, days) -> None:  # type: ignore[no-untyped-def]
    node = nodes.NoDoubleFunding(tuple(first), tuple(second), nodes.Scope(days))
    module = _decl("x", node)
    assert parse(format_module(module), "g.policy").items == module.items


def test_fmt_is_idempotent_on_every_rule_file() -> None:
    for path in sorted(Path("rules").glob("*.policy")):
        once = format_module(parse(path.read_text(encoding="utf-8"), str(path)))
        assert format_module(parse(once, str(path))) == once, path


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list('title{}"() =<>.,-+*/0123456789abcnot in and or\n#EUR%')),
        max_size=60,
    )
)
def test_any_text_parses_or_raises_only_policy_error(text: str) -> None:
    with contextlib.suppress(policylang.PolicyError):
        parse(text, "fuzz.policy")
