"""The decided claims an aggregate over `claims` reads: each claim's fields and its decision.

A settlement, a check or an invariant sees per claim the typed fields and the decision's
`status`, `payable`, `title`, `funding` and `rule` (the rule of its first reason); the decision's
value wins over a claim field of the same name. They are read on demand: merging them into one
dict per claim cost more than the aggregates that read two or three fields of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from policylang.decision import Decision
from policylang.io.claims import ClaimRow


def _first_rule(decision: Decision) -> str | None:
    return decision.reasons[0].rule if decision.reasons else None


FROM_DECISION: dict[str, Callable[[Decision], Any]] = {
    "status": attrgetter("status"),
    "payable": attrgetter("payable"),
    "title": attrgetter("title"),
    "funding": attrgetter("funding"),
    "rule": _first_rule,
}
_ABSENT = object()


class DecidedClaim:
    """One claim's fields and its decision, as `c` in `count(c in claims where ...)` sees them."""

    __slots__ = ("decision", "values")

    def __init__(self, values: dict[str, Any], decision: Decision) -> None:
        self.values = values
        self.decision = decision

    def get(self, name: str, default: Any = None) -> Any:
        read = FROM_DECISION.get(name)
        if read is not None:
            return read(self.decision)
        return self.values.get(name, default)

    def __getitem__(self, name: str) -> Any:
        value = self.get(name, _ABSENT)
        if value is _ABSENT:
            raise KeyError(name)
        return value

    def __repr__(self) -> str:
        return f"DecidedClaim({self.values!r}, {self.decision!r})"


def field_reader(name: str) -> Callable[[DecidedClaim], Any]:
    """`claim.get(name)` as one direct function, chosen once when a policy is compiled."""
    if name == "rule":
        return lambda claim: _first_rule(claim.decision)
    if name in FROM_DECISION:
        return attrgetter(f"decision.{name}")  # a C-level read, no Python frame
    return lambda claim: claim.values.get(name)


def decided_claims(rows: Sequence[ClaimRow], decisions: Sequence[Decision]) -> list[DecidedClaim]:
    """What an aggregate over `claims` sees: each claim's fields and its decision. A credit's
    `quantity` is negative there, as its amount and payable are: sums count net, so a visit and
    its credit are zero visits (evaluate/credits.py)."""
    return list(map(DecidedClaim, map(_signed, rows), decisions))


def _signed(row: ClaimRow) -> dict[str, Any]:
    values = row.values
    if values.get("credit") and isinstance(values.get("quantity"), int):
        return {**values, "quantity": -values["quantity"]}
    return values
