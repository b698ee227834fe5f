"""Exact-value tests for policylang.allocation (the cases in docs/allocation.md)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from policylang.allocation import CENT, AllocationError, prorate, split_by_shares


def d(*values: str | int) -> list[Decimal]:
    return [Decimal(v) for v in values]


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        # three equal parts: the one leftover cent goes to the first part
        ("1000.00", d(1, 1, 1), d("333.34", "333.33", "333.33")),
        # one cent over three: only the first part gets it
        ("0.01", d(1, 1, 1), d("0.01", "0.00", "0.00")),
        # a zero weight gets exactly zero
        ("100.00", d(1, 0, 1), d("50.00", "0.00", "50.00")),
        # negative totals are the mirror image of positive ones
        ("-1000.00", d(1, 1, 1), d("-333.34", "-333.33", "-333.33")),
        ("-0.01", d(1, 1, 1), d("-0.01", "0.00", "0.00")),
        # the largest remainder wins, not the earliest position:
        # exact shares 33.333.., 66.666.. -> floors 33.33, 66.66, remainders 1/3 and 2/3 of a cent
        ("100.00", d(1, 2), d("33.33", "66.67")),
        # exact shares 0.8, 0.8 and 0.4 cent: the two leftover cents go to the two largest
        ("0.02", d(2, 2, 1), d("0.01", "0.01", "0.00")),
        # ties are broken by position even when a later part has a larger weight
        # (shares 1.5 and 2.5 cents have the same remainder, 0.5 cent)
        ("0.04", d(3, 5), d("0.02", "0.02")),
        ("0.04", d(5, 3), d("0.03", "0.01")),
        # a zero total gives zero parts with the quantum's exponent
        ("0.00", d(1, 2), d("0.00", "0.00")),
        # a single part takes everything
        ("123.45", d("0.000001"), d("123.45")),
        # weights with decimals and different scales
        # (exact 1.0526.., 2.6315.., 6.3157..; the leftover cent goes to the largest remainder, 0.57 cent)
        ("10.00", d("0.5", "1.25", "3"), d("1.05", "2.63", "6.32")),
    ],
)
def test_prorate_exact_values(total: str, weights: list[Decimal], expected: list[Decimal]) -> None:
    parts = prorate(Decimal(total), weights)
    assert parts == expected
    # same exponent as the quantum: 0.00 and 50.00, not 0 and 5E+1
    assert [p.as_tuple().exponent for p in parts] == [-2] * len(parts)
    assert all(not p.is_signed() for p in parts if p == 0)  # no -0.00


def test_prorate_other_quantum() -> None:
    assert prorate(Decimal("100"), d(1, 1, 1), quantum=Decimal(1)) == d(34, 33, 33)
    # five-cent rounding: 1.00 is 20 quanta of 0.05; 20/3 = 6 r 2 -> 7, 7, 6 quanta
    assert prorate(Decimal("1.00"), d(1, 1, 1), quantum=Decimal("0.05")) == d(
        "0.35", "0.35", "0.30"
    )
    # whole euros
    assert prorate(Decimal("1000.00"), d(1, 1, 1), quantum=Decimal(1)) == d(334, 333, 333)


def test_prorate_huge_values_stay_exact() -> None:
    # 10^40 cents cannot be computed in the default 28-digit context without rounding
    total = Decimal(f"{10**38}.01")
    parts = prorate(total, d(1, 1))
    assert parts == [Decimal(f"{5 * 10**37}.01"), Decimal(f"{5 * 10**37}.00")]
    assert sum(Fraction(p) for p in parts) == Fraction(total)


def test_split_by_shares_exact_values() -> None:
    assert split_by_shares(Decimal("1234.57"), d("0.6", "0.4")) == d("740.74", "493.83")
    assert split_by_shares(Decimal("1000.00"), d("0.5", "0.25", "0.25")) == d(
        "500.00", "250.00", "250.00"
    )


def test_split_by_shares_within_tolerance_still_sums_to_total() -> None:
    thirds = d("0.333333", "0.333333", "0.333333")  # sum 0.999999
    parts = split_by_shares(Decimal("1000.00"), thirds, tolerance=Decimal("0.000001"))
    assert parts == d("333.34", "333.33", "333.33")


def test_split_by_shares_rejects_shares_not_summing_to_one() -> None:
    with pytest.raises(AllocationError, match=r"^shares sum to `0\.999999`, not 1$"):
        split_by_shares(Decimal("1000.00"), d("0.333333", "0.333333", "0.333333"))
    with pytest.raises(
        AllocationError, match=r"^shares sum to `1\.1`, not 1 \(tolerance `0\.01`\)$"
    ):
        split_by_shares(Decimal("1.00"), d("0.6", "0.5"), tolerance=Decimal("0.01"))


def test_split_by_shares_rejects_negative_share_by_position() -> None:
    with pytest.raises(AllocationError, match=r"^share 2 of 3 \(index 1\) is negative: `-0\.5`$"):
        split_by_shares(Decimal("1.00"), d("1", "-0.5", "0.5"))


def test_split_by_shares_rejects_negative_tolerance() -> None:
    with pytest.raises(AllocationError, match=r"^tolerance must be finite and >= 0, not `-1`$"):
        split_by_shares(Decimal("1.00"), d(1), tolerance=Decimal(-1))


@pytest.mark.parametrize(
    ("total", "weights", "quantum", "message"),
    [
        ("1.005", d(1), CENT, r"^total `1\.005` is not a multiple of the quantum `0\.01`$"),
        ("1.00", d(1, -2), CENT, r"^weight 2 of 2 \(index 1\) is negative: `-2`$"),
        ("1.00", d(0, 0, 0), CENT, r"^all 3 weights are zero$"),
        ("1.00", [], CENT, r"^there are no weights to allocate over$"),
        ("1.00", d(1, "NaN"), CENT, r"^weight 2 of 2 \(index 1\) is `NaN`, not a finite number$"),
        ("1.00", d("Infinity"), CENT, r"^weight 1 of 1 \(index 0\) is `Infinity`, not a finite"),
        ("Infinity", d(1), CENT, r"^total must be finite, not `Infinity`$"),
        ("1.00", d(1), Decimal(0), r"^quantum must be finite and > 0, not `0`$"),
        ("1.00", d(1), Decimal("-0.01"), r"^quantum must be finite and > 0, not `-0\.01`$"),
        (
            "1.00",
            d(1),
            Decimal("0.03"),
            r"^total `1\.00` is not a multiple of the quantum `0\.03`$",
        ),
    ],
)
def test_prorate_errors(total: str, weights: list[Decimal], quantum: Decimal, message: str) -> None:
    with pytest.raises(AllocationError, match=message):
        prorate(Decimal(total), weights, quantum=quantum)


def test_allocation_error_is_a_value_error() -> None:
    assert issubclass(AllocationError, ValueError)


def test_float_is_rejected_with_type_error() -> None:
    with pytest.raises(
        TypeError, match=r"^weight 1 of 2 \(index 0\) must be a Decimal, not float$"
    ):
        prorate(Decimal("1.00"), [1.0, Decimal(1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"^total must be a Decimal, not float$"):
        prorate(1.0, d(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^quantum must be a Decimal, not str$"):
        prorate(Decimal(1), d(1), quantum="0.01")  # type: ignore[arg-type]


def test_negative_zero_weight_counts_as_zero() -> None:
    assert prorate(Decimal("1.00"), d("-0", 1)) == d("0.00", "1.00")
