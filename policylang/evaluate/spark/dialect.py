"""The batch planner's DuckDB SQL as Spark SQL: sqlglot transpiles it, this module fixes the rest.

sqlglot maps most of the SQL (quoting, `||`, CASE, casts, `strftime` to `date_format`, DuckDB's
`concat` NULL handling, `IS NOT DISTINCT FROM`); what it leaves in DuckDB's meaning, or maps to
something that is not the same on Spark, is rewritten on the parsed tree before Spark SQL is
generated, one rule per construct:

  chr(n)                      a string literal (Spark's chr(n) is chr(n % 256))
  ord(x)                      ascii(x): the first UTF-16 unit; only the range 33..132 is asked
  regexp_full_match(x, p)     x RLIKE '^(?:p)\\z' (RLIKE finds; `$` would allow a final newline)
  regexp_replace(.., '\\1', 'g')  Java's `$1` in the replacement; Spark always replaces all
  format('{:,}', bigint)      format_number(bigint, 0): the same grouping with commas
  suffix(x, s)                endswith(x, s)
  error(msg)                  raise_error(msg): the engine turns it into UnsupportedInSpark
  HUGEINT                     DECIMAL(38,0); `a // b` becomes `a DIV b` (a BIGINT quotient)
  date_diff('day', a, b)      datediff(b, a), on dates (no time zone involved)
  x IN (SELECT k FROM tbl)    x IN (the keys as literals): Spark has no IN-subquery in a
                              projection, and reference tables are small

The session must run with `spark.sql.decimalOperations.allowPrecisionLoss=false` (DECIMAL
products keep DuckDB's scale instead of rounding it away), ANSI mode (an overflow stops the
query as DuckDB's does), a case-sensitive analyser and a UTC session time zone; engine.py sets
them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from policylang.evaluate.batch.errors import UnsupportedInBatch


class UnsupportedInSpark(UnsupportedInBatch):
    """Something the Spark engine does not compile or cannot decide exactly, named."""

    def __init__(self, constructs: list[str]) -> None:
        super().__init__(constructs)
        self.args = ("not supported by the Spark engine: " + "; ".join(self.constructs),)

    def __str__(self) -> str:
        return str(self.args[0])


def to_spark(sql: str, table_keys: Mapping[str, Sequence[str]] | None = None) -> str:
    """Spark SQL for one statement of the batch planner. `table_keys` maps a table's relation
    name to the SQL literals of its keys (for `x IN (SELECT key FROM relation)`)."""
    keys = tuple((name, tuple(values)) for name, values in (table_keys or {}).items())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # sqlglot recurses once per nesting level
    try:
        return _to_spark(sql, keys)
    finally:
        sys.setrecursionlimit(limit)


@functools.lru_cache(maxsize=16)
def _to_spark(sql: str, table_keys: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """to_spark, remembered: the same policy is often run again in one process (and sqlglot
    takes seconds on the SQL of rules/)."""
    import sqlglot
    from sqlglot import exp

    keys = dict(table_keys)
    tree = sqlglot.parse_one(sql, read="duckdb")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Chr):
            (code,) = node.expressions
            if not (isinstance(code, exp.Literal) and code.is_int):
                raise UnsupportedInSpark([f"chr() of a computed value ({code.sql()})"])
            return exp.Literal.string(chr(int(code.this)))
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name == "ord":
                return exp.Anonymous(this="ascii", expressions=node.expressions)
            if name == "error":
                return exp.Anonymous(this="raise_error", expressions=node.expressions)
            if name == "suffix":
                return exp.Anonymous(this="endswith", expressions=node.expressions)
            return node
        if isinstance(node, exp.RegexpFullMatch):
            pattern = node.expression
            if not (isinstance(pattern, exp.Literal) and pattern.is_string):
                raise UnsupportedInSpark(["a regular expression that is not a constant"])
            return exp.RegexpLike(
                this=node.this, expression=exp.Literal.string(f"^(?:{pattern.this})\\z")
            )
        if isinstance(node, exp.RegexpReplace):
            modifiers = node.args.get("modifiers")
            replacement = node.args.get("replacement")
            if modifiers is None or modifiers.name != "g":
                raise UnsupportedInSpark(["regexp_replace() of the first match only"])
            if isinstance(replacement, exp.Literal):
                text = replacement.this.replace("$", "\\$")
                for digit in "0123456789":
                    text = text.replace("\\" + digit, "$" + digit)
                replacement = exp.Literal.string(text)
            return exp.Anonymous(
                this="regexp_replace", expressions=[node.this, node.expression, replacement]
            )
        if isinstance(node, exp.Format):
            pattern = node.this
            if isinstance(pattern, exp.Literal) and pattern.this == "{:,}" and node.expressions:
                return exp.Anonymous(
                    this="format_number", expressions=[node.expressions[0], exp.Literal.number(0)]
                )
            raise UnsupportedInSpark([f"format() with the pattern {pattern.sql()}"])
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
            return exp.DataType.build("DECIMAL(38, 0)")
        if isinstance(node, exp.DateDiff):
            unit = node.args.get("unit")
            if unit is not None and unit.name.upper() != "DAY":
                raise UnsupportedInSpark([f"date_diff() in {unit.name}"])
            return exp.Anonymous(this="datediff", expressions=[node.this, node.expression])
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            query = node.args["query"]
            select = query.this if isinstance(query, exp.Subquery) else query
            source = select.args.get("from_") or select.args.get("from")
            relation = source.this.name if source is not None else ""
            if relation not in keys:
                raise UnsupportedInSpark([f"a subquery in a value ({query.sql()[:80]})"])
            values = keys[relation]
            if not values:
                return exp.false()
            return exp.In(
                this=node.this, expressions=[sqlglot.parse_one(v, read="duckdb") for v in values]
            )
        return node

    tree = _postorder(tree.transform(rewrite), _calls)
    return tree.sql(dialect=_dialect())


def _postorder(node: Any, function: Any) -> Any:
    """`function` applied to every node, children first (sqlglot's transform goes top down)."""
    from sqlglot import exp

    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _postorder(value, function))
        elif isinstance(value, list):
            node.set(
                key,
                [_postorder(v, function) if isinstance(v, exp.Expression) else v for v in value],
            )
    return function(node)


def _calls(node: Any) -> Any:
    """Operators as calls of Spark's own operator functions (`*`(a, b) is Multiply(a, b), the
    expression `a * b` parses to), and no parentheses: Spark's ANTLR parser needs time and memory
    exponential in the nesting of `(` in an expression (rules/ took over a minute and 1 GB to
    parse), while nested calls parse in linear time."""
    from sqlglot import exp

    def call(name: str, *args: Any) -> Any:
        return exp.Anonymous(this=exp.to_identifier(name, quoted=True), expressions=list(args))

    match node:
        case exp.Cast() if not isinstance(node, exp.TryCast):
            return _cast_node()(this=node.this, to=node.args["to"])
        case exp.Paren() if not isinstance(node.this, exp.Query):
            return node.this
        case exp.Not(this=exp.Is(this=value, expression=exp.Null())):
            return exp.Anonymous(this="isnotnull", expressions=[value])
        case exp.Is(this=value, expression=exp.Null()):
            return exp.Anonymous(this="isnull", expressions=[value])
        case exp.Not():
            return call("!", node.this)
        case exp.Neg():
            return exp.Anonymous(this="negative", expressions=[node.this])
        case exp.NEQ():
            return call("!", call("=", node.this, node.expression))
        case exp.Between():
            return call(
                "and",
                call(">=", node.this, node.args["low"]),
                call("<=", node.this.copy(), node.args["high"]),
            )
        case exp.In() if node.args.get("query") is None and node.expressions:
            return call("in", node.this, *node.expressions)
        case exp.DPipe():
            return exp.Anonymous(this="concat", expressions=[node.this, node.expression])
        case exp.Like():
            return exp.Anonymous(this="like", expressions=[node.this, node.expression])
        case exp.RegexpLike():
            return exp.Anonymous(this="rlike", expressions=[node.this, node.expression])
    name = OPERATORS.get(type(node).__name__)
    if name is not None:
        return call(name, node.this, node.expression)
    return node


OPERATORS = {
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "IntDiv": "div",
    "Mod": "%",
    "EQ": "=",
    "NullSafeEQ": "<=>",
    "GT": ">",
    "GTE": ">=",
    "LT": "<",
    "LTE": "<=",
    "And": "and",
    "Or": "or",
}


@functools.cache
def _cast_node() -> Any:
    """`x::T`, Spark 4's postfix cast: CAST(x AS T) opens an ambiguity in the parser."""
    from sqlglot import exp

    class PostfixCast(exp.Expression):
        arg_types: ClassVar[dict[str, bool]] = {"this": True, "to": True}

    return PostfixCast


@functools.cache
def _dialect() -> Any:
    """Spark's sqlglot dialect, writing PostfixCast as `x::T`."""
    from sqlglot.dialects.spark import Spark

    cast = _cast_node()

    class PolicySpark(Spark):
        class Generator(Spark.Generator):
            TRANSFORMS = {  # noqa: RUF012 - sqlglot's generators are configured this way
                **Spark.Generator.TRANSFORMS,
                cast: lambda self, e: f"{self.sql(e, 'this')}::{self.sql(e, 'to')}",
            }

    return PolicySpark
