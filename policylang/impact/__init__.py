"""Impact of a change: `policylang.diff(...)` compares two runs (docs/impact.md).

import policylang
comparison = policylang.diff("rules@HEAD~1", "rules/", claims="examples/claims.csv")
for change in comparison.changes:
    print(change.claim_id, change.fields, change.payable_change)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack

from policylang.api import Policy, load
from policylang.errors import InputError
from policylang.impact.diff import Comparison, compare
from policylang.impact.run import Run, run
from policylang.impact.sources import resolve_rules

RulesInput = Policy | str | os.PathLike[str]
PathLike = str | os.PathLike[str]

__all__ = ["Comparison", "Run", "diff", "load_side", "single_run"]


def load_side(
    rules: RulesInput, tables: Mapping[str, PathLike] | None = None
) -> tuple[Policy, str]:
    """The policy of one side and its label. `rules` is a Policy, a path, or PATH@REV."""
    if isinstance(rules, Policy):
        policy, label = rules, "<policy>"
    else:
        with ExitStack() as stack:  # a revision's temporary copy lives only while it loads
            policy, label = load(resolve_rules(rules, stack)), str(rules)
    if tables:
        policy = policy.with_tables(dict(tables))
    return policy, label


def diff(
    base: RulesInput,
    new: RulesInput | None = None,
    *,
    claims: PathLike,
    against: PathLike | None = None,
    tables: Mapping[str, PathLike] | None = None,
    base_tables: Mapping[str, PathLike] | None = None,
    new_tables: Mapping[str, PathLike] | None = None,
    by: Sequence[str] = (),
    settlements: Iterable[str] | None = None,
    year: int | None = None,
    engine: str = "interpret",
) -> Comparison:
    """Compare two policies over `claims`, or (with `against`, and `new` left out) one policy
    over two claims files: `claims` is the old file, `against` the new. PolicyError/InputError
    on bad input, before anything is compared."""
    if against is not None and new is not None:
        raise InputError.single(
            "E0855",
            "compare two rule versions or two claims files, not both at once",
            help="leave out NEW with --against, or --against with NEW",
        )
    if against is None and new is None:
        raise InputError.single(
            "E0855", "nothing to compare against", help="give NEW rules, or --against NEW.csv"
        )
    names = list(settlements or ())
    base_policy, base_label = load_side(base, {**(tables or {}), **(base_tables or {})})
    if new is None:
        new_label = base_label
        new_policy = base_policy.with_tables(dict(new_tables)) if new_tables else base_policy
    else:
        new_policy, new_label = load_side(new, {**(tables or {}), **(new_tables or {})})
    for policy in (base_policy, new_policy):
        if names:
            policy.settlements_to_run(names)  # unknown names and missing tables: refused now

    def side(policy: Policy, file: PathLike, label: str) -> Run:
        return run(
            policy, file, label=label, by=tuple(by), settlements=names, year=year, engine=engine
        )

    before = side(base_policy, claims, base_label)
    after = side(new_policy, against if against is not None else claims, new_label)
    return compare(before, after, "claims" if against is not None else "rules", tuple(by))


def single_run(
    rules: RulesInput,
    claims: PathLike,
    *,
    tables: Mapping[str, PathLike] | None = None,
    by: Sequence[str] = (),
    settlements: Iterable[str] | None = None,
    year: int | None = None,
    engine: str = "interpret",
) -> Run:
    """One policy over one claims file, for `policylang report`."""
    policy, label = load_side(rules, tables)
    names = list(settlements or ())
    if names:
        policy.settlements_to_run(names)
    return run(
        policy, claims, label=label, by=tuple(by), settlements=names, year=year, engine=engine
    )
