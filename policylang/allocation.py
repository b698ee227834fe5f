"""Allocation: split an amount of money into parts that add up to it exactly, to the cent.

`prorate` splits a total in proportion to weights, `split_by_shares` in given shares that add up
to 1. Both use the largest-remainder method (also called Hamilton's method):

1. Count the total in quanta (cents by default) and give every part the whole number of quanta
   its exact proportional share contains (rounded down).
2. The quanta left over (fewer than the number of parts) go one each to the parts whose exact share
   lost the most in step 1. Equal losses are broken by declared order: the earlier part first.

A negative total is split as its magnitude and then negated, so splitting -x gives the negatives
of splitting x. Every computation is exact integer arithmetic on the Decimals' integer ratios: no
float, no rounding context, no dependence on `decimal.getcontext()`.

docs/allocation.md explains the method with examples for policy authors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Rounded,
)

__all__ = ["CENT", "AllocationError", "prorate", "split_by_shares"]

CENT = Decimal("0.01")

# Exact arithmetic for the few Decimal operations done here (multiply by the quantum, add shares for
# a message): with unbounded precision these never round, and Inexact would trap if they did.
_EXACT = Context(
    prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, Rounded, InvalidOperation]
)


class AllocationError(ValueError):
    """The amount, the weights or the shares cannot be allocated as asked."""


def prorate(
    total: Decimal, weights: Sequence[Decimal], *, quantum: Decimal = CENT
) -> list[Decimal]:
    """Split `total` over `weights` proportionally, each part a multiple of `quantum`.

    The parts sum exactly to `total`, which must itself be a multiple of `quantum`. Weights must be
    Decimals (TypeError otherwise, float included), finite, non-negative and not all zero; a zero
    weight gets exactly zero. Leftover quanta go to the largest remainders, equal remainders to the
    earlier position. Every other problem raises `AllocationError`.

    >>> prorate(Decimal("1000.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('333.34'), Decimal('333.33'), Decimal('333.33')]
    """
    _check_quantum(quantum)
    count = _quanta(total, quantum)
    integer_weights = _integer_weights(weights, "weight")
    counts = _largest_remainder(abs(count), integer_weights)
    sign = -1 if count < 0 else 1
    return [_times_quantum(sign * c, quantum) for c in counts]


def split_by_shares(
    total: Decimal,
    shares: Sequence[Decimal],
    *,
    quantum: Decimal = CENT,
    tolerance: Decimal = Decimal(0),
) -> list[Decimal]:
    """Split `total` in `shares` that sum to 1 (exactly, or within `tolerance`).

    The shares are then used as weights for `prorate`, so the parts still sum exactly to `total`
    when the shares sum to slightly more or less than 1.

    >>> split_by_shares(Decimal("1234.57"), [Decimal("0.6"), Decimal("0.4")])
    [Decimal('740.74'), Decimal('493.83')]
    """
    _require_decimal("tolerance", tolerance)
    if not tolerance.is_finite() or tolerance < 0:
        raise AllocationError(f"tolerance must be finite and >= 0, not `{tolerance}`")
    # Validates type, sign and finiteness of every share, naming the position.
    _integer_weights(shares, "share")
    shares_sum = _exact_sum(shares)
    if _EXACT.subtract(shares_sum, Decimal(1)).copy_abs() > tolerance:
        within = f" (tolerance `{tolerance}`)" if tolerance else ""
        raise AllocationError(f"shares sum to `{shares_sum}`, not 1{within}")
    return prorate(total, shares, quantum=quantum)


def _require_decimal(what: str, value: object) -> None:
    # Money and weights are exact: a float (or an int posing as an amount) is a caller bug.
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")


def _check_quantum(quantum: Decimal) -> None:
    _require_decimal("quantum", quantum)
    if not quantum.is_finite() or quantum <= 0:
        raise AllocationError(f"quantum must be finite and > 0, not `{quantum}`")


def _quanta(total: Decimal, quantum: Decimal) -> int:
    """`total / quantum` as an int; raise if `total` is not a whole number of quanta."""
    _require_decimal("total", total)
    if not total.is_finite():
        raise AllocationError(f"total must be finite, not `{total}`")
    t_n, t_d = total.as_integer_ratio()
    q_n, q_d = quantum.as_integer_ratio()
    # total / quantum = (t_n * q_d) / (t_d * q_n)
    count, rest = divmod(t_n * q_d, t_d * q_n)
    if rest:
        raise AllocationError(f"total `{total}` is not a multiple of the quantum `{quantum}`")
    return count


def _integer_weights(weights: Sequence[Decimal], noun: str) -> list[int]:
    """Check the weights and scale them to integers with the same proportions."""
    if len(weights) == 0:
        raise AllocationError(f"there are no {noun}s to allocate over")
    ratios: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        where = f"{noun} {index + 1} of {len(weights)} (index {index})"
        _require_decimal(where, weight)
        if not weight.is_finite():
            raise AllocationError(f"{where} is `{weight}`, not a finite number")
        if weight < 0:
            raise AllocationError(f"{where} is negative: `{weight}`")
        ratios.append(weight.as_integer_ratio())
    common = math.lcm(*(d for _, d in ratios))
    scaled = [n * (common // d) for n, d in ratios]
    if not any(scaled):
        raise AllocationError(f"all {len(weights)} {noun}s are zero")
    return scaled


def _largest_remainder(count: int, weights: list[int]) -> list[int]:
    """Split `count` (>= 0) units over integer `weights` by largest remainder."""
    weight_sum = sum(weights)
    floors: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        floor, remainder = divmod(count * weight, weight_sum)
        floors.append(floor)
        remainders.append(remainder)
    leftover = count - sum(floors)
    # Largest remainder first; equal remainders in declared order. A zero weight has remainder 0
    # and never gets a leftover unit: `leftover` < the number of parts with a positive remainder,
    # because the remainders add up to `leftover * weight_sum` and each is below `weight_sum`.
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return floors


def _exact_sum(values: Sequence[Decimal]) -> Decimal:
    """The exact sum of finite Decimals, for messages (the caller's context could round it)."""
    result = Decimal(0)
    for value in values:
        result = _EXACT.add(result, value)
    return result


def _times_quantum(count: int, quantum: Decimal) -> Decimal:
    """`count * quantum`, exactly: the result keeps the quantum's exponent (cents stay cents)."""
    return _EXACT.multiply(Decimal(count), quantum)
