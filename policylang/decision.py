"""What evaluation returns: one Decision per claim, with reasons that cite their source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Context, Decimal, InvalidOperation, getcontext, localcontext
from typing import Any

import attrs

STATUSES = ("accepted", "adjusted", "rejected", "error")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Totals are added with this many digits, not Python's default 28: a claim set's totals stay
# exact far beyond the documented range of amounts (docs/claims-formats.md, "Ranges").
TOTAL_DIGITS = 100


@attrs.frozen
class Reason:
    rule: str  # the title, rule, parameter or input field that produced the reason
    message: str
    source: str | None = None  # the citation, e.g. "002_5ce70f8dba136e3b.txt:31"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "source": self.source}


@attrs.define  # not frozen: a decision is made per claim on the hot path; treat as read-only
class Decision:
    claim_id: str
    status: str
    payable: Decimal
    claimed: Decimal | None
    title: str | None
    funding: str | None
    reasons: tuple[Reason, ...]
    row: int = attrs.field(default=0, eq=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "status": self.status,
            "payable": format_money(self.payable),
            "claimed": format_money(self.claimed) if self.claimed is not None else None,
            "title": self.title,
            "funding": self.funding,
            "reasons": [r.to_json() for r in self.reasons],
        }


def format_money(value: Decimal) -> str:
    """Two decimals, `.` as separator, no exponent: the JSON and CSV form of an amount."""
    try:
        return f"{value.quantize(CENT):f}"
    except InvalidOperation:  # more than the context's 28 digits: quantize with enough of them
        digits = max(value.adjusted(), 0) + 4
        wide = Context(prec=digits, rounding=getcontext().rounding)
        return f"{value.quantize(CENT, context=wide):f}"


@attrs.frozen
class Summary:
    claims: int
    by_status: dict[str, int]
    claimed: Decimal
    payable: Decimal

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> Summary:
        counts: Counter[str] = Counter()
        claimed = Decimal(0)
        payable = Decimal(0)
        total = 0
        with localcontext(prec=TOTAL_DIGITS):
            for decision in decisions:
                total += 1
                counts[decision.status] += 1
                if decision.claimed is not None:
                    claimed += decision.claimed
                payable += decision.payable
        return cls(total, {s: counts.get(s, 0) for s in STATUSES}, claimed, payable)

    def to_json(self) -> dict[str, Any]:
        return {
            "claims": self.claims,
            "by_status": self.by_status,
            "claimed": format_money(self.claimed),
            "payable": format_money(self.payable),
        }
