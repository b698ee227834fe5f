"""Phase 2 in SQL: duplicate claim ids, exclusions, requirements (to a fixpoint).

Each step is a query over the decided claims `d` that returns the rows it changes (`_row`, the
new status and the reasons as JSON text); the engine applies them (an UPDATE in DuckDB, a join
in Spark). The steps follow `Interpreter.cross_check` exactly:

- duplicates: a claim_id seen in an earlier row is an error naming that row;
- exclusions: judged once against the claims paid after phase 1 (and duplicates); the first
  exclusion of the title with a hit rejects, naming the other claim with the smallest claim_id;
- requirements: judged against the claims still paid, all claims of a pass against the same
  state (as the interpreter's loop does), repeated until a pass changes nothing.

Same patient, other row, the other claim's title in the listed titles, and the gap
`max(start) - min(end)` between the two periods [start_date, end_date] at most N days.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policylang import ir
from policylang.evaluate.batch.sqltext import Msg, quote, reason

PAID = "('accepted', 'adjusted')"
# a change that only takes the payable to zero: no new payable, title or funding (credits.py
# sets them; the engines lay NULLs as "zero, the title as `untitled` says")
NO_MONEY = (
    "CAST(NULL AS DECIMAL(18,2)) AS payable, CAST(NULL AS VARCHAR) AS new_title, "
    "CAST(NULL AS VARCHAR) AS new_funding"
)


def _scope(cross: ir.CrossClaim) -> str:
    return "on the same day" if cross.days == 0 else f"within {cross.days} days"


def _gap(a: str, b: str) -> str:
    return f"date_diff('day', least({a}.ed, {b}.ed), greatest({a}.sd, {b}.sd))"


def duplicates() -> str:
    message = Msg(
        "claim_id `",
        ("dyn", "d._cid"),
        "` appears more than once (first in row ",
        ("safe", "CAST(f.first_row AS VARCHAR)"),
        ")",
    )
    return (
        f"SELECT d._row, 'error' AS status, {reason('claim_id', message, None)} AS reasons, "
        f"TRUE AS untitled, {NO_MONEY} FROM d JOIN (SELECT _dup, min(_row) AS first_row FROM d "
        "WHERE _dup IS NOT NULL GROUP BY _dup HAVING count(*) > 1) AS f "
        "ON d._dup = f._dup WHERE d._row <> f.first_row"
    )


def _values(rows: list[tuple[object, ...]]) -> str:
    def lit(v: object) -> str:
        return quote(v) if isinstance(v, str) else str(v)

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def exclusions(program: ir.Program) -> str | None:
    rows: list[tuple[object, ...]] = []
    reasons = []
    index = 0
    for name, spec in program.titles.items():
        for exclusion in spec.exclusions:
            for other in exclusion.titles:
                rows.append((name, index, other, exclusion.days))
            message = Msg(
                f"double funding: `{name}` is not combinable with `",
                ("dyn", "h.ht"),
                "` (claim ",
                ("dyn", "h.hc"),
                f") {_scope(exclusion)} for the same patient",
            )
            reasons.append(f"WHEN {index} THEN {reason(name, message, exclusion.citation)}")
            index += 1
    if not rows:
        return None
    hits = (
        "SELECT a._row AS r, x.xi, b.title AS ht, b._cid AS hc, "
        "row_number() OVER (PARTITION BY a._row ORDER BY x.xi, b._cid, b._row) AS rank "
        f"FROM d AS a JOIN (VALUES {_values(rows)}) AS x(xt, xi, xo, xd) ON a.title = x.xt "
        "JOIN d AS b ON b.patient = a.patient AND b.title = x.xo AND b._row <> a._row "
        f"WHERE a.status IN {PAID} AND b.status IN {PAID} AND {_gap('a', 'b')} <= x.xd "
        "AND NOT a._credit AND NOT b._credit"  # credits take part in phase 3 only
    )
    return (
        f"SELECT h.r AS _row, 'rejected' AS status, (CASE h.xi {' '.join(reasons)} END) "
        f"AS reasons, FALSE AS untitled, {NO_MONEY} FROM ({hits}) AS h WHERE h.rank = 1"
    )


def requirements(program: ir.Program) -> str | None:
    reqs: list[tuple[object, ...]] = []
    others: list[tuple[object, ...]] = []
    reasons = []
    index = 0
    for name, spec in program.titles.items():
        for requirement in spec.requirements:
            reqs.append((name, index, requirement.days))
            for other in requirement.titles:
                others.append((index, other))
            wanted = " or ".join(f"`{t}`" for t in requirement.titles)
            message = (
                f"`{name}` may only be claimed together with {wanted} "
                f"{_scope(requirement)} for the same patient; none was found"
            )
            reasons.append(f"WHEN {index} THEN {reason(name, message, requirement.citation)}")
            index += 1
    if not reqs:
        return None
    found = (
        f"SELECT 1 FROM (VALUES {_values(others)}) AS o(oi, ot) JOIN d AS b ON b.title = o.ot "
        f"WHERE o.oi = q.ri AND b.patient = a.patient AND b._row <> a._row "
        f"AND b.status IN {PAID} AND {_gap('a', 'b')} <= q.rd AND NOT b._credit"
    )
    failing = (
        f"SELECT a._row AS r, min(q.ri) AS fi FROM d AS a JOIN (VALUES {_values(reqs)}) "
        f"AS q(rt, ri, rd) ON a.title = q.rt WHERE a.status IN {PAID} AND NOT a._credit "
        f"AND NOT EXISTS ({found}) GROUP BY a._row"
    )
    return (
        f"SELECT f.r AS _row, 'rejected' AS status, (CASE f.fi {' '.join(reasons)} END) "
        f"AS reasons, FALSE AS untitled, {NO_MONEY} FROM ({failing}) AS f"
    )


def run_phase2(
    program: ir.Program,
    apply: Callable[[str], int],
    first_value: Callable[[str], Any],
    unsupported: Callable[[list[str]], Exception],
) -> None:
    """Phase 2 over the decided claims `d`, for any engine: `apply(sql)` applies the changes a
    query selects and returns how many, `first_value(sql)` gives the first column of its first
    row. Duplicates, then exclusions, then requirements until a pass changes nothing."""
    apply(duplicates())
    if program.splits:
        split = first_value(f"SELECT min(_cid) FROM d WHERE _split AND status IN {PAID}")
        if split is not None:
            raise unsupported(
                [f"claims of a network trajectory that a `split` divides (claim {split})"]
            )
    excluded = exclusions(program)
    if excluded:
        apply(excluded)
    required = requirements(program)
    while required and apply(required):
        pass
    from policylang.evaluate.batch.credits import credits, reclaims

    apply(reclaims(program))
    apply(credits(program))
