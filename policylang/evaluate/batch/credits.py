"""Phase 3 in SQL: re-claims, then credits of claims in the set (evaluate/credits.py).

Two change queries over the decided claims `d`, applied in order after the cross-claim steps,
each a line-for-line image of `apply_corrections`:

- `reclaims`: a clean debit whose `corrects` names a claim of the set (its first row) that is
  still paid, and that no clean credit with the same patient, provider and code takes back, is
  rejected when it is paid itself;
- `credits`: a clean credit (first row of its claim_id) whose original is in the set is an error
  when it names itself, a credit, or a claim of another patient, provider or code; of the
  others, per original the one with the smallest claim_id takes back the original's payable
  (title, funding and citation too), the rest are rejected; an original that pays nothing
  gives a rejected credit.
"""

from __future__ import annotations

from policylang import ir
from policylang.evaluate.batch.sqltext import Msg, money_text, quote, reason

PAID = "('accepted', 'adjusted')"
FIRSTS = "SELECT _dup, min(_row) AS fr FROM d WHERE _dup IS NOT NULL GROUP BY _dup"
MATCHED = (("patient", "patient"), ("provider", "_prov"), ("code", "_code"))


def _by_title(program: ir.Program, column: str, message: Msg, fallback: str) -> str:
    """The reason `message` with the rule and citation of the title in `column`."""
    cases = " ".join(
        f"WHEN {quote(name)} THEN {reason(name, message, spec.citation)}"
        for name, spec in program.titles.items()
    )
    default = reason(fallback, message, None)
    return f"(CASE {column} {cases} ELSE {default} END)" if cases else default


def reclaims(program: ir.Program) -> str:
    message = Msg(
        "re-claim of claim `",
        ("dyn", "a._corrects"),
        "`, which is paid and not credited: paying both would fund the same care twice",
    )
    matched = " AND ".join(f"c.{column} = x.{column}" for _, column in MATCHED)
    taken_back = (
        f"SELECT 1 FROM d AS c JOIN ({FIRSTS}) AS fc ON c._row = fc.fr WHERE c._clean "
        f"AND c._credit AND c._corrects = x._dup AND {matched}"
    )
    # the rule is `corrects`, the citation the re-claim's title's
    cases = " ".join(
        f"WHEN {quote(name)} THEN {reason('corrects', message, spec.citation)}"
        for name, spec in program.titles.items()
    )
    why = f"(CASE a.title {cases} END)" if cases else reason("corrects", message, None)
    return (
        f"SELECT a._row, 'rejected' AS status, {why} AS reasons, FALSE AS untitled, "
        "CAST(NULL AS DECIMAL(18,2)) AS payable, CAST(NULL AS VARCHAR) AS new_title, "
        "CAST(NULL AS VARCHAR) AS new_funding "
        f"FROM d AS a JOIN ({FIRSTS}) AS fa ON a._row = fa.fr "
        f"JOIN ({FIRSTS}) AS fx ON fx._dup = a._corrects JOIN d AS x ON x._row = fx.fr "
        "WHERE a._clean AND NOT a._credit AND a._corrects IS NOT NULL AND x._row <> a._row "
        f"AND x._credit IS NOT TRUE AND a.status IN {PAID} AND x.status IN {PAID} "
        f"AND NOT EXISTS ({taken_back})"
    )


def credits(program: ir.Program) -> str:
    target = ("dyn", "_corrects")
    mismatch = " ".join(
        f"WHEN {column} IS DISTINCT FROM x{column} THEN {i + 3}"
        for i, (_, column) in enumerate(MATCHED)
    )
    candidates = (
        "SELECT a._row, a._cid, a._corrects, a.claimed, a.patient, a._prov, a._code, "
        "x._row AS xr, x._credit AS xcredit, x.patient AS xpatient, x._prov AS x_prov, "
        "x._code AS x_code, x.status AS xstatus, x.payable AS xpay, x.title AS xtitle, "
        f"x.funding AS xfunding FROM d AS a JOIN ({FIRSTS}) AS fa ON a._row = fa.fr "
        f"JOIN ({FIRSTS}) AS fx ON fx._dup = a._corrects JOIN d AS x ON x._row = fx.fr "
        "WHERE a._clean AND a._credit AND a._corrects IS NOT NULL"
    )
    judged = (
        "SELECT *, (CASE WHEN xr = _row THEN 1 WHEN xcredit THEN 2 "
        f"{mismatch} ELSE 0 END) AS problem FROM ({candidates}) AS c"
    )
    ranked = (
        "SELECT *, row_number() OVER (PARTITION BY xr ORDER BY _cid, _row) AS rank, "
        "first_value(_cid) OVER (PARTITION BY xr ORDER BY _cid, _row) AS firstc "
        "FROM (SELECT * FROM j WHERE problem = 0) AS k"
    )
    errors = [
        Msg("credit `", target, "` names itself in `corrects`"),
        Msg("claim `", target, "` that this credit takes back is itself a credit"),
    ]
    for name, column in MATCHED:
        errors.append(
            Msg(
                "credit of claim `",
                target,
                f"` has {name} `",
                ("dyn", f"coalesce({column}, 'None')"),
                "` but claim `",
                target,
                "` has `",
                ("dyn", f"coalesce(x{column}, 'None')"),
                "`",
            )
        )
    error_reason = (
        "(CASE problem "
        + " ".join(f"WHEN {i + 1} THEN {reason('corrects', m, None)}" for i, m in enumerate(errors))
        + " END)"
    )
    errored = (
        "SELECT _row, 'error' AS status, "
        f"{error_reason} AS reasons, TRUE AS untitled, CAST(NULL AS DECIMAL(18,2)) AS payable, "
        "CAST(NULL AS VARCHAR) AS new_title, CAST(NULL AS VARCHAR) AS new_funding "
        "FROM j WHERE problem <> 0"
    )
    again = reason(
        "corrects",
        Msg("claim `", target, "` is already taken back by credit `", ("dyn", "firstc"), "`"),
        None,
    )
    nothing = reason(
        "corrects",
        Msg(
            "claim `",
            target,
            "` pays nothing (it is ",
            ("dyn", "xstatus"),
            "): nothing to take back",
        ),
        None,
    )
    taken = _by_title(
        program,
        "xtitle",
        Msg(
            "credit of claim `",
            target,
            "`: takes back its payable EUR ",
            ("safe", money_text("xpay")),
            (
                "safe",
                "(CASE WHEN 0 - xpay = claimed THEN '' ELSE ', not the EUR ' || "
                f"{money_text('0 - claimed')} || ' credited' END)",
            ),
        ),
        "credit",
    )
    decided = (
        "SELECT _row, (CASE WHEN rank > 1 OR xstatus NOT IN " + PAID + " THEN 'rejected' "
        "WHEN 0 - xpay = claimed THEN 'accepted' ELSE 'adjusted' END) AS status, "
        f"(CASE WHEN rank > 1 THEN {again} WHEN xstatus NOT IN {PAID} THEN {nothing} "
        f"ELSE {taken} END) AS reasons, TRUE AS untitled, "
        f"(CASE WHEN rank = 1 AND xstatus IN {PAID} THEN 0 - xpay END) AS payable, "
        f"(CASE WHEN rank = 1 AND xstatus IN {PAID} THEN xtitle END) AS new_title, "
        f"(CASE WHEN rank = 1 AND xstatus IN {PAID} THEN xfunding END) AS new_funding "
        f"FROM ({ranked}) AS r"
    )
    return f"WITH j AS ({judged}) {errored} UNION ALL {decided}"
