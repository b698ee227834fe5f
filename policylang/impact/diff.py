"""The impact of a change: two runs compared claim by claim, in money per group, and in
settlements, checks and invariants.

Either the rules change (one claims file, two policies: claims pair up by position) or the
claims do (one policy, two claims files, this year against last: claims pair up by claim_id,
the n-th occurrence of an id with the n-th). Amounts are Decimal throughout and are only turned
into text by `to_json`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from policylang.decision import Decision, Reason
from policylang.impact.run import GROUPINGS, Run, Totals, money, totals

CHANGED_FIELDS = ("status", "payable", "title", "funding")


@attrs.frozen
class ClaimChange:
    """One claim whose decision differs; `before` or `after` is None when the claim is only in
    one claims file."""

    claim_id: str
    before: Decision | None
    after: Decision | None
    provider: str | None
    insurer: str | None
    fields: tuple[str, ...]  # which of status, payable, title, funding (or "reasons") changed
    reason_before: Reason | None  # the first reason that differs, on each side
    reason_after: Reason | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    @property
    def payable_change(self) -> Decimal:
        return _payable(self.after) - _payable(self.before)

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "kind": self.kind,
            "provider": self.provider,
            "insurer": self.insurer,
            "changed": list(self.fields),
            "before": _side_json(self.before),
            "after": _side_json(self.after),
            "payable_change": money(self.payable_change),
            "reason_before": self.reason_before.to_json() if self.reason_before else None,
            "reason_after": self.reason_after.to_json() if self.reason_after else None,
        }


@attrs.frozen
class GroupChange:
    key: str
    before: Totals
    after: Totals

    @property
    def payable_change(self) -> Decimal:
        return self.after.payable - self.before.payable

    @property
    def claimed_change(self) -> Decimal:
        return self.after.claimed - self.before.claimed

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "claims_before": self.before.claims,
            "claims_after": self.after.claims,
            "claimed_before": money(self.before.claimed),
            "claimed_after": money(self.after.claimed),
            "claimed_change": money(self.claimed_change),
            "payable_before": money(self.before.payable),
            "payable_after": money(self.after.payable),
            "payable_change": money(self.payable_change),
        }


@attrs.frozen
class LineChange:
    """A settlement line before and after (None: the line is on one side only)."""

    settlement: str
    party: str
    item: str
    before: Decimal | None
    after: Decimal | None
    source: str | None

    @property
    def change(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "settlement": self.settlement,
            "party": self.party,
            "item": self.item,
            "before": money(self.before),
            "after": money(self.after),
            "change": money(self.change),
            "source": self.source,
        }


@attrs.frozen
class StateChange:
    """A check or an invariant before and after: holds, fails, warning, skipped or absent."""

    kind: str  # check or invariant
    name: str
    before: str
    after: str
    detail_before: str
    detail_after: str

    @property
    def verdict(self) -> str:
        """broken (held, now fails), mended (failed, now holds), same or changed."""
        if self.before == self.after:
            return "same"
        if self.before == "holds" and self.after == "fails":
            return "broken"
        if self.before == "fails" and self.after == "holds":
            return "mended"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "verdict": self.verdict,
            "detail_before": self.detail_before,
            "detail_after": self.detail_after,
        }


@attrs.frozen
class Comparison:
    base: Run
    new: Run
    mode: str  # "rules" (two policies, one claims file) or "claims" (one policy, two files)
    changes: tuple[ClaimChange, ...]
    groups: dict[str, tuple[GroupChange, ...]]
    lines: tuple[LineChange, ...]
    states: tuple[StateChange, ...]

    @property
    def changed(self) -> bool:
        """Anything differs: a decision, a settlement line, a check or an invariant."""
        return (
            bool(self.changes)
            or any(line.changed for line in self.lines)
            or any(state.verdict != "same" for state in self.states)
        )

    def largest(self, count: int = 20) -> list[ClaimChange]:
        """The changed claims with the largest change in payable money first (ties: input
        order)."""
        ordered = sorted(
            enumerate(self.changes), key=lambda pair: (-abs(pair[1].payable_change), pair[0])
        )
        return [change for _, change in ordered[:count]]

    def summary_json(self) -> dict[str, Any]:
        before, after = self.base.summary, self.new.summary
        fields: Counter[str] = Counter(f for c in self.changes for f in c.fields)
        return {
            "claims_before": before.claims,
            "claims_after": after.claims,
            "changed_claims": len(self.changes),
            "changed_by_field": {f: fields.get(f, 0) for f in (*CHANGED_FIELDS, "reasons")},
            "by_status_before": before.by_status,
            "by_status_after": after.by_status,
            "claimed_before": money(before.claimed),
            "claimed_after": money(after.claimed),
            "claimed_change": money(after.claimed - before.claimed),
            "payable_before": money(before.payable),
            "payable_after": money(after.payable),
            "payable_change": money(after.payable - before.payable),
            "settlement_lines_changed": sum(1 for line in self.lines if line.changed),
            "broken": [s.name for s in self.states if s.verdict == "broken"],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "base": {"rules": self.base.label, "claims": self.base.claims_label},
            "new": {"rules": self.new.label, "claims": self.new.claims_label},
            "changed": self.changed,
            "summary": self.summary_json(),
            "changes": [change.to_json() for change in self.changes],
            "groups": {
                name: [group.to_json() for group in rows] for name, rows in self.groups.items()
            },
            "settlement_lines": [line.to_json() for line in self.lines],
            "checks_and_invariants": [state.to_json() for state in self.states],
        }


def compare(base: Run, new: Run, mode: str, by: tuple[str, ...] = ()) -> Comparison:
    pairs = _by_position(base, new) if mode == "rules" else _by_claim_id(base, new)
    changes = tuple(c for c in (_change(base, new, i, j) for i, j in pairs) if c is not None)
    groupings = tuple(dict.fromkeys((*GROUPINGS, *by)))
    groups = {name: _group_changes(base, new, name) for name in groupings}
    return Comparison(
        base, new, mode, changes, groups, _line_changes(base, new), _state_changes(base, new)
    )


def _by_position(base: Run, new: Run) -> Iterator[tuple[int | None, int | None]]:
    for index in range(max(len(base.decisions), len(new.decisions))):
        yield (
            index if index < len(base.decisions) else None,
            index if index < len(new.decisions) else None,
        )


def _by_claim_id(base: Run, new: Run) -> Iterator[tuple[int | None, int | None]]:
    """Pair the n-th occurrence of an id in one file with its n-th in the other; then the
    claims only in the new file, in its order."""
    waiting: dict[str, list[int]] = {}
    for index, decision in enumerate(new.decisions):
        waiting.setdefault(decision.claim_id, []).append(index)
    for index, decision in enumerate(base.decisions):
        found = waiting.get(decision.claim_id)
        yield index, (found.pop(0) if found else None)
    left = sorted(i for indices in waiting.values() for i in indices)
    for index in left:
        yield None, index


def _change(base: Run, new: Run, i: int | None, j: int | None) -> ClaimChange | None:
    before = base.decisions[i] if i is not None else None
    after = new.decisions[j] if j is not None else None
    fields: tuple[str, ...] = ()
    if before is not None and after is not None:
        fields = tuple(f for f in CHANGED_FIELDS if getattr(before, f) != getattr(after, f))
        if not fields and before.reasons != after.reasons:
            fields = ("reasons",)
        if not fields:
            return None
    else:
        fields = CHANGED_FIELDS
    first_before, first_after = _first_difference(before, after)
    row = base.fields[i] if i is not None else new.fields[j]  # type: ignore[index]
    decision = before or after
    assert decision is not None
    return ClaimChange(
        decision.claim_id,
        before,
        after,
        row.get("provider"),
        row.get("insurer"),
        fields,
        first_before,
        first_after,
    )


def _first_difference(
    before: Decision | None, after: Decision | None
) -> tuple[Reason | None, Reason | None]:
    """The first reason that is not the same on both sides (None past the end of one list)."""
    old = before.reasons if before else ()
    new = after.reasons if after else ()
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        if a != b:
            return a, b
    return None, None


def _group_changes(base: Run, new: Run, grouping: str) -> tuple[GroupChange, ...]:
    """Before: each claim in its group on the base side; after: in its group on the new side
    (a claim that moves to another title leaves one group and joins another)."""
    old, now = totals(base, grouping), totals(new, grouping)
    keys = sorted(set(old) | set(now))
    return tuple(GroupChange(k, old.get(k, Totals()), now.get(k, Totals())) for k in keys)


def _line_changes(base: Run, new: Run) -> tuple[LineChange, ...]:
    """Settlement lines matched by settlement, party, item (and occurrence, should a party
    have one item twice)."""

    def keyed(side: Run) -> dict[tuple[str, str, str, int], Any]:
        found: dict[tuple[str, str, str, int], Any] = {}
        seen: Counter[tuple[str, str, str]] = Counter()
        for line in side.settlement.lines if side.settlement else ():
            name = (line.settlement, line.party, line.item)
            found[(*name, seen[name])] = line
            seen[name] += 1
        return found

    old, now = keyed(base), keyed(new)
    keys = list(old) + [k for k in now if k not in old]
    changes = []
    for key in keys:
        a, b = old.get(key), now.get(key)
        source = (b or a).source
        changes.append(
            LineChange(
                key[0], key[1], key[2], a.amount if a else None, b.amount if b else None, source
            )
        )
    return tuple(changes)


def _state_changes(base: Run, new: Run) -> tuple[StateChange, ...]:
    def states(side: Run) -> dict[tuple[str, str], tuple[str, str]]:
        found: dict[tuple[str, str], tuple[str, str]] = {}
        for check in side.settlement.checks if side.settlement else ():
            found[("check", check.name)] = (check_state(check), check.detail)
        for invariant in side.invariants:
            found[("invariant", invariant.name)] = (invariant_state(invariant), "")
        return found

    old, now = states(base), states(new)
    keys = list(old) + [k for k in now if k not in old]
    absent = ("absent", "")
    return tuple(
        StateChange(kind, name, *_zip(old.get((kind, name), absent), now.get((kind, name), absent)))
        for kind, name in keys
    )


def _zip(a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str, str, str]:
    return a[0], b[0], a[1], b[1]


def check_state(check: Any) -> str:
    if check.skipped:
        return "skipped"
    if check.holds:
        return "holds"
    return "warning" if check.warn_only else "fails"


def invariant_state(invariant: Any) -> str:
    return "holds" if invariant.holds else "fails"


def _payable(decision: Decision | None) -> Decimal:
    return decision.payable if decision is not None else Decimal("0.00")


def _side_json(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "status": decision.status,
        "claimed": money(decision.claimed),
        "payable": money(decision.payable),
        "title": decision.title,
        "funding": decision.funding,
    }
