"""Built-in functions: names, arity and result types.

Every function here is total over its argument types (no loops, no I/O), so evaluating a rule
file always terminates. Rounding is explicit: `round` is half-up to the cent for money.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from policylang.ir import NUMERIC

# name -> (description for docs and hints, result-type function or None when args are wrong)
TypeRule = Callable[[Sequence[str]], str | None]


def _same_ordered(types: Sequence[str]) -> str | None:
    if not types:
        return None
    first = types[0]
    if all(t == first for t in types) and (first in NUMERIC or first == "date"):
        return first
    if all(t in ("integer", "decimal") for t in types):
        return "decimal"
    return None


def _round(types: Sequence[str]) -> str | None:
    if len(types) == 1 and types[0] in ("money", "decimal", "percent"):
        return types[0] if types[0] == "money" else "integer"
    if len(types) == 2 and types[0] in ("money", "decimal") and types[1] == "integer":
        return types[0]
    return None


def _money_round(types: Sequence[str]) -> str | None:
    return "money" if list(types) == ["money"] else None


def _abs(types: Sequence[str]) -> str | None:
    return types[0] if len(types) == 1 and types[0] in NUMERIC else None


def _date_part(types: Sequence[str]) -> str | None:
    return "integer" if list(types) == ["date"] else None


def _days_between(types: Sequence[str]) -> str | None:
    return "days" if list(types) == ["date", "date"] else None


def _present(types: Sequence[str]) -> str | None:
    return "bool" if len(types) == 1 else None


BUILTINS: dict[str, tuple[str, TypeRule]] = {
    "min": ("the smallest of its arguments (numbers, amounts or dates of one type)", _same_ordered),
    "max": ("the largest of its arguments (numbers, amounts or dates of one type)", _same_ordered),
    "round": (
        "round half-up: money to the cent, round(x, n) to n decimals, a decimal to a whole number",
        _round,
    ),
    "round_down": ("round money towards zero to the cent", _money_round),
    "round_up": ("round money away from zero to the cent", _money_round),
    "abs": ("the absolute value", _abs),
    "year": ("the year of a date", _date_part),
    "month": ("the month (1-12) of a date", _date_part),
    "days_between": ("days from the first date to the second (negative if earlier)", _days_between),
    "present": ("true when an optional claim field has a value", _present),
}
