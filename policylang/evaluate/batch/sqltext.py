"""SQL text helpers: literals, JSON text built inside the query, money formatting.

Every decision leaves the batch engine as the exact JSON text `Decision.to_json()` gives through
`json.dumps(..., ensure_ascii=False)`, built in SQL. Constant parts (rule names, messages,
citations) are escaped here in Python; parts that come from the data (claim ids, codes, the text
of a broken field) are escaped in SQL by `jdyn`, which does what `json.dumps` does: `\\`, `"` and
the control characters below U+0020, nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

# The characters Python's str.strip() removes (`c.isspace()`), so trim() in SQL strips exactly
# the same; spelled out because computing them walks 1.1M code points at import (a test does).
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_SHORT = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# DuckDB expands `*`, `?`, `[...]` (and `**`) in every file name it reads, also inside a list;
# a character in brackets is that character only. `{` is not special today; escaped anyway.
_GLOB_CHARS = re.compile(r"([*?\[{])")


def path_literal(path: str) -> str:
    """A SQL string literal DuckDB reads as exactly this one file, never as a glob pattern:
    `c?.csv` is the file of that name, not also `cA.csv` beside it."""
    return quote(_GLOB_CHARS.sub(r"[\1]", path))


def ws_literal() -> str:
    return "(" + " || ".join(f"chr({ord(c)})" for c in PY_WHITESPACE) + ")"


# A regular expression (RE2) matching any one of them, for `has_py_whitespace`.
WS_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"


def has_py_whitespace(*sqls: str) -> str:
    """True where any of the VARCHAR expressions holds a character of Python's whitespace
    anywhere (NULLs count as empty). Where it is false, `str.strip()` changes none of them: one
    search over the row's text is cheaper than testing both ends of every field."""
    return f"regexp_matches(concat({', '.join(sqls)}), {quote(WS_CLASS)})"


def py_strip(sql: str) -> str:
    """`str.strip()`: trim() with Python's whitespace. trim() with a character set costs about
    a microsecond a value, so it runs only where the first or the last character is not plain
    ASCII (33..132 holds no Python whitespace; NULL and '' take the trim branch)."""
    return (
        f"(CASE WHEN ord({sql}) BETWEEN 33 AND 132 AND ord(right({sql}, 1)) BETWEEN 33 AND 132 "
        f"THEN {sql} ELSE trim({sql}, {ws_literal()}) END)"
    )


def column_type(type_: str) -> tuple[str, int, int]:
    """How a table column of a policy type is stored for the compiled SQL, whatever the engine:
    (kind, precision, scale), kind one of decimal, bigint, date, bool, text. Money is
    DECIMAL(18,2) and other numbers DECIMAL(38,12), as the planner's casts assume."""
    if type_ == "money":
        return "decimal", 18, 2
    if type_ in ("decimal", "percent"):
        return "decimal", 38, 12
    if type_ in ("integer", "days"):
        return "bigint", 0, 0
    if type_ in ("date", "bool"):
        return type_, 0, 0
    return "text", 0, 0


def literal(value: Any, type_: str) -> str:
    """A typed value of the IR as a SQL literal of the type the engine uses for it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"CAST({value} AS BIGINT)"
    if isinstance(value, Decimal):
        return decimal_literal(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no SQL literal for {value!r} ({type_})")


def decimal_literal(value: Decimal) -> str:
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    width = max(len(digits) + max(0, exponent), scale + 1)
    if width > 38:  # pragma: no cover - the checker keeps literals far smaller
        from policylang.evaluate.batch.errors import UnsupportedInBatch

        raise UnsupportedInBatch([f"the number {value} has more than 38 digits"])
    return f"CAST('{value:f}' AS DECIMAL({width},{scale}))"


def jconst(text: str) -> str:
    """The JSON-escaped body (no quotes) of a constant string."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def jdyn(sql: str) -> str:
    """SQL for the JSON-escaped body (no quotes) of a VARCHAR expression."""
    chain = f"replace(replace({sql}, '\\', '\\\\'), '\"', '\\\"')"
    for code in range(32):  # NUL too: a claim file may hold one
        escaped = _SHORT.get(code, f"\\u{code:04x}")
        chain = f"replace({chain}, chr({code}), '{escaped}')"
    return f"(CASE WHEN regexp_matches({sql}, '[\\x00-\\x1f\"\\\\]') THEN {chain} ELSE {sql} END)"


class Msg:
    """A message assembled from constant text and SQL parts, JSON-escaped."""

    def __init__(self, *parts: str | tuple[str, str]) -> None:
        # str: constant text; ("dyn", sql): data text; ("safe", sql): text needing no escaping
        self.parts = parts

    def sql(self) -> str:
        pieces: list[str] = []
        pending = ""
        for part in self.parts:
            if isinstance(part, str):
                pending += jconst(part)
                continue
            if pending:
                pieces.append(quote(pending))
                pending = ""
            kind, sql = part
            pieces.append(jdyn(sql) if kind == "dyn" else f"({sql})")
        if pending or not pieces:
            pieces.append(quote(pending))
        return " || ".join(pieces)


def reason(rule: str, message: Msg | str, source: str | None) -> str:
    """SQL for one reason's JSON object text."""
    msg = message if isinstance(message, Msg) else Msg(message)
    head = '{"rule": "' + jconst(rule) + '", "message": "'
    tail = '", "source": ' + (json.dumps(source, ensure_ascii=False) if source else "null") + "}"
    return f"({quote(head)} || {msg.sql()} || {quote(tail)})"


def reason_dyn_rule(rule_sql: str, message: Msg, source: str | None) -> str:
    tail = '", "source": ' + (json.dumps(source, ensure_ascii=False) if source else "null") + "}"
    return (
        f"""('{{"rule": "' || {jdyn(rule_sql)} || '", "message": "' || {message.sql()} """
        f"|| {quote(tail)})"
    )


def money_text(sql: str) -> str:
    """`f"{round_money(x):,f}"`: half-up to the cent, thousands separated by commas."""
    rounded = f"CAST(round({sql}, 2) AS DECIMAL(38,2))"
    # below 10^16 the amount in cents is a BIGINT: format() groups its euros exactly and the
    # cents are its last two digits (one cast, no text splitting; about 3x faster)
    cents = f"TRY_CAST(abs({rounded}) * 100 AS BIGINT)"
    fast = (
        f"format('{{:,}}', {cents} // 100) || '.' || lpad(CAST({cents} % 100 AS VARCHAR), 2, '0')"
    )
    text = f"CAST(abs({rounded}) AS VARCHAR)"
    whole = f"split_part({text}, '.', 1)"
    wide = (
        f"rtrim(ltrim(regexp_replace(lpad({whole}, 39, ' '), '(...)', '\\1,', 'g'), ' ,'), ',') "
        f"|| '.' || split_part({text}, '.', 2)"
    )
    return (
        f"((CASE WHEN {rounded} < 0 THEN '-' ELSE '' END) || "
        f"(CASE WHEN abs({rounded}) < 10000000000000000 THEN {fast} ELSE {wide} END))"
    )


def date_text(sql: str) -> str:
    return f"strftime({sql}, '%Y-%m-%d')"
