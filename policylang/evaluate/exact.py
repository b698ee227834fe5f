"""The Decimal context every evaluation runs in, so rule arithmetic does not depend on (or change)
the caller's `decimal.getcontext()`.

Python's default context keeps 28 significant digits, so an amount of 15 integer digits times a
decimal of 12 places (44 digits) was silently rounded before the result was rounded to cents.
With 100 digits every sum, difference and product of values in the documented range
(docs/reliability.md#rule-files: 15 digits before the point, 12 after) and of their products
of three is exact; only division rounds, at the 100th digit. Overflow, division by zero and
invalid operations trap, and round_money turns a value too large to round into an error
decision instead of a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

EVALUATION_PRECISION = 100

EVALUATION = Context(
    prec=EVALUATION_PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

P = ParamSpec("P")
R = TypeVar("R")


def exact_decimals(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` in the EVALUATION context (the caller's context is restored after)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(EVALUATION):
            return function(*args, **kwargs)

    return wrapper
