"""Property tests for policylang.allocation: money is conserved to the cent.

Exact shares are computed with `fractions.Fraction`, independently of the implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Context, Decimal
from fractions import Fraction
from random import Random

from hypothesis import given, note
from hypothesis import strategies as st

from policylang.allocation import CENT, prorate, split_by_shares

BOUND = 10**12

# Totals: whole cents within +-10^12 euro.
totals = st.integers(min_value=-BOUND * 100, max_value=BOUND * 100).map(
    lambda cents: Decimal(cents).scaleb(-2)
)
non_negative_totals = totals.map(abs)

# Weights: non-negative Decimals with up to 6 places; small integers mixed in so that equal
# weights and equal remainders (ties) are common.
weight = st.one_of(
    st.integers(min_value=0, max_value=5).map(Decimal),
    st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
)
weight_lists = st.lists(weight, min_size=1, max_size=50).filter(any)

# Big enough to multiply any weight above by any scale factor below without rounding.
EXACT = Context(prec=100)


def exact_shares(total: Decimal, weights: Sequence[Decimal]) -> list[Fraction]:
    weight_sum = sum(Fraction(w) for w in weights)
    return [Fraction(total) * Fraction(w) / weight_sum for w in weights]


def remainders_in_quanta(total: Decimal, weights: Sequence[Decimal]) -> list[Fraction]:
    """What rounding each exact share down to the cent loses, in cents (magnitude)."""
    shares = exact_shares(abs(total), weights)
    return [s / Fraction(CENT) - math.floor(s / Fraction(CENT)) for s in shares]


@given(totals, weight_lists)
def test_parts_sum_exactly_to_total(total: Decimal, weights: list[Decimal]) -> None:
    parts = prorate(total, weights)
    assert len(parts) == len(weights)
    assert sum(Fraction(p) for p in parts) == Fraction(total)


@given(totals, weight_lists)
def test_parts_are_whole_cents_within_one_cent_of_exact_share(
    total: Decimal, weights: list[Decimal]
) -> None:
    parts = prorate(total, weights)
    for part, share in zip(parts, exact_shares(total, weights), strict=True):
        assert (Fraction(part) / Fraction(CENT)).denominator == 1
        assert abs(Fraction(part) - share) < Fraction(CENT)
        # rounded toward zero, or one quantum further from zero; never the other way
        assert abs(Fraction(part)) >= abs(share) - Fraction(CENT)
        assert abs(Fraction(part)) < abs(share) + Fraction(CENT)


@given(non_negative_totals, weight_lists)
def test_no_negative_part_for_non_negative_total(total: Decimal, weights: list[Decimal]) -> None:
    assert all(part >= 0 and not part.is_signed() for part in prorate(total, weights))


@given(totals, weight_lists)
def test_zero_weight_gets_exactly_zero(total: Decimal, weights: list[Decimal]) -> None:
    for w, part in zip(weights, prorate(total, weights), strict=True):
        if w == 0:
            assert part == 0
            assert not part.is_signed()


@given(totals, weight_lists)
def test_negative_total_is_the_mirror_image(total: Decimal, weights: list[Decimal]) -> None:
    assert prorate(-total, weights) == [-p if p else p for p in prorate(total, weights)]


@given(
    totals,
    weight_lists,
    st.one_of(
        st.integers(min_value=1, max_value=10**6).map(Decimal),
        st.decimals(min_value="0.001", max_value=1000, places=3),
    ),
)
def test_scaling_all_weights_changes_nothing(
    total: Decimal, weights: list[Decimal], factor: Decimal
) -> None:
    scaled = [EXACT.multiply(w, factor) for w in weights]
    assert prorate(total, scaled) == prorate(total, weights)


@given(totals, weight_lists, st.randoms(use_true_random=False))
def test_permuting_weights_permutes_parts_up_to_ties(
    total: Decimal, weights: list[Decimal], rng: Random
) -> None:
    order = list(range(len(weights)))
    rng.shuffle(order)
    parts = prorate(total, weights)
    permuted = prorate(total, [weights[i] for i in order])
    remainders = remainders_in_quanta(total, weights)
    assert sum(Fraction(p) for p in permuted) == Fraction(total)
    for new_position, old_position in enumerate(order):
        if permuted[new_position] != parts[old_position]:
            # Only a tie can move a leftover cent: another part must have the same remainder.
            note(f"part {old_position} moved to {new_position} and changed")
            r = remainders[old_position]
            assert r != 0
            assert sum(1 for other in remainders if other == r) >= 2
            assert abs(permuted[new_position] - parts[old_position]) == CENT


@given(totals, weight_lists)
def test_leftover_cents_go_to_largest_remainder_then_earliest(
    total: Decimal, weights: list[Decimal]
) -> None:
    """The full characterisation of the method, including the tie-break by declared order."""
    parts = prorate(total, weights)
    shares = exact_shares(abs(total), weights)
    remainders = remainders_in_quanta(total, weights)
    got_extra = [
        abs(Fraction(p)) / Fraction(CENT) != math.floor(s / Fraction(CENT))
        for p, s in zip(parts, shares, strict=True)
    ]
    for i in range(len(weights)):
        for j in range(len(weights)):
            ahead = remainders[i] > remainders[j] or (remainders[i] == remainders[j] and i < j)
            if ahead and got_extra[j]:
                assert got_extra[i], (i, j)


@given(
    non_negative_totals,
    weight_lists,
    st.data(),
)
def test_more_own_weight_never_gives_a_smaller_part(
    total: Decimal, weights: list[Decimal], data: st.DataObject
) -> None:
    # Largest remainder is monotone in a part's own weight with the others and the total fixed:
    # if its floor does not grow, its remainder grows, every other remainder shrinks or (when that
    # floor drops) frees one more leftover cent, so nothing that was behind it can overtake it.
    # (The Alabama paradox is about growing the total, which is not what this varies.)
    i = data.draw(st.integers(min_value=0, max_value=len(weights) - 1), label="position")
    extra = data.draw(
        st.decimals(min_value="0.000001", max_value=10**9, places=6), label="extra weight"
    )
    bigger = list(weights)
    bigger[i] = EXACT.add(bigger[i], extra)
    assert prorate(total, bigger)[i] >= prorate(total, weights)[i]


@given(totals, weight_lists)
def test_split_by_shares_agrees_with_prorate(total: Decimal, weights: list[Decimal]) -> None:
    # Shares written with 20 decimals (rounded down) sum to 1 within 50 * 10^-20.
    weight_sum = sum(Fraction(w) for w in weights)
    shares = [_decimal_share(Fraction(w) / weight_sum) for w in weights]
    parts = split_by_shares(total, shares, tolerance=Decimal("1e-18"))
    assert parts == prorate(total, shares)
    assert sum(Fraction(p) for p in parts) == Fraction(total)


def _decimal_share(share: Fraction) -> Decimal:
    """`share` rounded down to 20 places, exactly."""
    return Decimal(share.numerator * 10**20 // share.denominator).scaleb(-20)
