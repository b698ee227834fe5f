"""Property tests for `split` (docs/splitting.md): money is conserved whatever the numbers.

- the parts always sum to the tariff exactly and none is negative;
- the insurer pays the same in today's mode (whole DBC) as in split mode (one claim per part);
- the decisions do not depend on the order of the claims.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from random import Random

import attrs
from hypothesis import given, note, settings
from hypothesis import strategies as st

import policylang
from policylang.evaluate.splits import divide

ROLES = ("main_treater", "diagnostics", "treatment", "aftercare")

cents = st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def percent_shares(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[Decimal, ...]]:
    """2-4 roles and shares with up to two decimals (in percent) that sum to exactly 100%."""
    count = draw(st.integers(min_value=2, max_value=len(ROLES)))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    shares = tuple(Decimal(b - a).scaleb(-2) for a, b in itertools.pairwise(bounds))
    return ROLES[:count], shares


def policy_text(roles: tuple[str, ...], shares: tuple[Decimal, ...], tariff: Decimal) -> str:
    parts = ", ".join(f"{r} {s}%" for r, s in zip(roles, shares, strict=True))
    return f"""policy "property"
enum Role {{ {", ".join(ROLES)} }}
claim {{ trajectory: code?  role: Role?  redone: bool = false }}
title dbc "DBC" {{ codes {{"020109023"}} tariff free }}
split s {{
  of title dbc
  tariff EUR {tariff}
  roles {", ".join(roles)}
  shares {parts}
  discount 10% on {roles[-1]} when claim.redone
}}
"""


@given(
    tariff=cents,
    layout=percent_shares(),
    fee_cents=st.integers(min_value=0, max_value=10**9),
)
def test_parts_sum_to_the_tariff_and_none_is_negative(
    tariff: Decimal, layout: tuple[tuple[str, ...], tuple[Decimal, ...]], fee_cents: int
) -> None:
    roles, shares = layout
    policy = _policy(roles, shares, Decimal("1.00"))
    spec = policy.program.splits["s"]
    fee = min(Decimal(fee_cents).scaleb(-2), tariff)
    spec = attrs.evolve(spec, fee_role=roles[0])
    parts = divide(spec, tariff, fee)
    note(f"parts {parts}")
    assert sum(parts.values(), Decimal(0)) == tariff
    assert all(part >= 0 for part in parts.values())
    assert all(part == part.quantize(Decimal("0.01")) for part in parts.values())
    assert parts[roles[0]] >= fee


_CACHE: dict[str, policylang.Policy] = {}


def _policy(
    roles: tuple[str, ...], shares: tuple[Decimal, ...], tariff: Decimal
) -> policylang.Policy:
    text = policy_text(roles, shares, tariff)
    if text not in _CACHE:
        _CACHE[text] = policylang.loads(text, "property.policy")
    return _CACHE[text]


def _claim(claim_id: str, provider: str, trajectory: str, role: str, redone: bool) -> dict:
    return {
        "claim_id": claim_id,
        "provider": provider,
        "insurer": "3311",
        "patient": "P" + trajectory,
        "code": "020109023",
        "start_date": "2025-03-03",
        "amount": "0.00",
        "trajectory": trajectory,
        "role": role,
        "redone": "true" if redone else "false",
    }


@settings(max_examples=60, deadline=None)
@given(
    tariff=cents,
    layout=percent_shares(),
    trajectories=st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from("ABC"), min_size=4, max_size=4)),
        min_size=1,
        max_size=3,
    ),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_insurer_pays_the_same_in_both_modes_whatever_the_order(
    tariff: Decimal,
    layout: tuple[tuple[str, ...], tuple[Decimal, ...]],
    trajectories: list[tuple[bool, list[str]]],
    seed: int,
) -> None:
    roles, shares = layout
    policy = _policy(roles, shares, tariff)
    today: list[dict] = []
    split: list[dict] = []
    for number, (redone, providers) in enumerate(trajectories):
        trajectory = f"T{number}"
        main = providers[0]
        today.append(_claim(f"w{number}", main, trajectory, "", redone))
        for index, role in enumerate(roles):
            provider = main if index == 0 else providers[index]
            split.append(_claim(f"p{number}{index}", provider, trajectory, role, redone))
    result = policy.compare_modes(today, split)
    note(f"{result.to_json()}")
    assert result.insurer_today == result.insurer_split
    assert result.holds
    # Every claim is paid: nothing was rejected, and the parts never exceed the whole.
    decisions = policy.check(split)
    assert all(d.status in ("accepted", "adjusted") for d in decisions)
    # The decisions do not depend on the order of the claims.
    shuffled = list(split)
    Random(seed).shuffle(shuffled)
    by_id = {d.claim_id: d for d in policy.check(shuffled)}
    assert [by_id[d.claim_id] for d in decisions] == decisions


# ---------------------------------------------------------------- weights from the claims


def activity_text(tariff: Decimal, fee: Decimal) -> str:
    return f"""policy "property by activity"
enum Role {{ {", ".join(ROLES)} }}
claim {{ trajectory: code?  role: Role?  activities: integer? }}
title dbc "DBC" {{ codes {{"020109023"}} tariff free }}
split s {{
  of title dbc
  tariff EUR {tariff}
  roles {", ".join(ROLES)}
  weights from claim.activities
  coordination fee EUR {fee} to main_treater
}}
"""


@st.composite
def claimed_activities(draw: st.DrawFn) -> dict[str, int]:
    """A part claim for some of the roles, each with its activities (not all zero)."""
    chosen = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=len(ROLES), unique=True))
    counts = {role: draw(st.integers(min_value=0, max_value=10_000)) for role in chosen}
    if not any(counts.values()):
        counts[chosen[0]] = draw(st.integers(min_value=1, max_value=10_000))
    return counts


@settings(max_examples=80, deadline=None)
@given(
    tariff=cents,
    fee_cents=st.integers(min_value=0, max_value=10**9),
    activities=claimed_activities(),
    providers=st.lists(st.sampled_from("ABC"), min_size=len(ROLES), max_size=len(ROLES)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_claim_weights_conserve_money_in_any_order(
    tariff: Decimal,
    fee_cents: int,
    activities: dict[str, int],
    providers: list[str],
    seed: int,
) -> None:
    fee = min(Decimal(fee_cents).scaleb(-2), tariff)
    text = activity_text(tariff, fee)
    if text not in _CACHE:
        _CACHE[text] = policylang.loads(text, "activity.policy")
    policy = _CACHE[text]
    main = providers[0]
    split = []
    for index, role in enumerate(ROLES):
        if role in activities:
            provider = main if role == "main_treater" else providers[index]
            row = _claim(f"p{index}", provider, "T0", role, False)
            del row["redone"]
            split.append({**row, "activities": str(activities[role])})
    decisions = policy.check(split)
    note(f"{[(d.claim_id, d.status, d.payable) for d in decisions]}")
    assert all(d.status in ("accepted", "adjusted") for d in decisions)
    payable = {d.claim_id: d.payable for d in decisions}
    # The parts sum to the whole (less the fee when the main treater claims no part), none negative,
    # every part in cents, and a part with no activities gets nothing but its fee.
    expected = tariff if "main_treater" in activities else tariff - fee
    assert sum(payable.values(), Decimal(0)) == expected
    assert all(
        amount >= 0 and amount == amount.quantize(Decimal("0.01")) for amount in payable.values()
    )
    for index, role in enumerate(ROLES):
        if activities.get(role) == 0:
            assert payable[f"p{index}"] == (fee if role == "main_treater" else 0)
    # Order-independent.
    shuffled = list(split)
    Random(seed).shuffle(shuffled)
    by_id = {d.claim_id: d for d in policy.check(shuffled)}
    assert [by_id[d.claim_id] for d in decisions] == decisions
    # Today's mode pays the same: the main treater claims the whole and passes on the same parts.
    if "main_treater" in activities:
        today = [_claim("w0", main, "T0", "", False)]
        del today[0]["redone"]
        result = policy.compare_modes(today, shuffled)
        note(f"{result.to_json()}")
        assert result.insurer_today == result.insurer_split == tariff
        assert result.holds
