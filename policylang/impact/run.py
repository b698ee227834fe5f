"""One run of a policy over a claims file, joined with the claim rows, and its money totals.

Decisions carry no provider or insurer; the claim rows do. Decisions come in input order, one
per claim record, so decision i belongs to raw claim i: the join is by position, never by a
claim_id that may repeat or be missing in a broken row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from policylang.api import Policy
from policylang.decision import Decision, Summary, format_money
from policylang.errors import InputError
from policylang.evaluate.settle import Settlement
from policylang.io.claims import RawClaims

GROUPINGS = ("provider", "insurer", "title", "funding", "month")
NONE_KEY = "(none)"  # the group of claims without the value (an error row has no title)
_MONTH = re.compile(r"^(\d{4}-\d{2})-\d{2}")


@attrs.frozen
class Run:
    """A policy's decisions over one claims file, with the claim fields of each decision."""

    label: str
    claims_label: str
    decisions: list[Decision]
    fields: list[dict[str, str | None]]  # the raw claim fields, by position
    invariants: tuple[Any, ...]
    settlement: Settlement | None

    @property
    def summary(self) -> Summary:
        return Summary.of(self.decisions)

    def key(self, grouping: str, index: int) -> str:
        """The group decision `index` falls in under `grouping`."""
        decision = self.decisions[index]
        if grouping == "title":
            return decision.title or NONE_KEY
        if grouping == "funding":
            return decision.funding or NONE_KEY
        if grouping == "month":
            found = _MONTH.match((self.fields[index].get("start_date") or "").strip())
            return found.group(1) if found else NONE_KEY
        value = (self.fields[index].get(grouping) or "").strip()
        return value or NONE_KEY


def run(
    policy: Policy,
    claims: str | os.PathLike[str],
    *,
    label: str,
    by: Sequence[str] = (),
    settlements: Iterable[str] | None = None,
    year: int | None = None,
    engine: str = "interpret",
) -> Run:
    """Check `claims` with `policy` (and settle, when `settlements` names any)."""
    raw = list(policy.raw_claims(claims))
    _require_columns(raw[0].fields if raw else {}, by, str(claims))
    source: Any = RawClaims(raw) if engine == "interpret" else claims
    decisions, invariants = policy.check_invariants(source, year, engine)
    if len(decisions) != len(raw):  # the engines promise one decision per claim record
        raise AssertionError(f"{len(decisions)} decisions for {len(raw)} claims")
    settlement = None
    names = list(settlements or ())
    if names:
        settle_engine = engine if engine in ("interpret", "batch", "auto") else "interpret"
        settlement = policy.settle(source, year, names, settle_engine)
    return Run(
        label, str(claims), decisions, [r.fields for r in raw], tuple(invariants), settlement
    )


def _require_columns(fields: Mapping[str, Any], by: Sequence[str], origin: str) -> None:
    for column in by:
        if column not in GROUPINGS and column not in fields:
            known = ", ".join(fields) or "none"
            raise InputError.single(
                "E0854",
                f"`--by {column}`: the claims file `{origin}` has no column `{column}`",
                help=f"columns: {known}",
            )


@attrs.frozen
class Totals:
    """Money of one group on one side."""

    claims: int = 0
    claimed: Decimal = Decimal("0.00")
    payable: Decimal = Decimal("0.00")

    def plus(self, decision: Decision) -> Totals:
        claimed = decision.claimed if decision.claimed is not None else Decimal(0)
        return Totals(self.claims + 1, self.claimed + claimed, self.payable + decision.payable)


def totals(side: Run, grouping: str) -> dict[str, Totals]:
    grouped: dict[str, Totals] = {}
    for index, decision in enumerate(side.decisions):
        key = side.key(grouping, index)
        grouped[key] = grouped.get(key, Totals()).plus(decision)
    return grouped


def money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)
