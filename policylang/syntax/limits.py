"""Limits on the size of a rule file, so every input ends in a located error, never a crash.

Every later pass (lowering, the checker, the interpreter's compiler, the batch SQL compiler, fmt,
lint, the z3 analysis) walks expressions recursively. Instead of making each of them iterative, a
rule file is refused, with a located error, before any of them runs when it is larger, nests
deeper or has longer literals than the limits below. The limits are far beyond any real policy
(the shipped rules nest at most 14 deep) and are documented in docs/reliability.md.

The checks here walk the Lark tree with an explicit stack, so they cannot recurse too deep
themselves.
"""

from __future__ import annotations

import lark
from lark import Token

from policylang.errors import Diagnostic
from policylang.source import SourceFile, Span

# A rule file of more characters is refused before it is parsed (E0110).
MAX_FILE_CHARS = 1_000_000
# Operators, calls, `if`s, look-ups, record literals, ... nested in one another (E0107). Each
# binary operator of a chain `a + b + c` counts once: the chain is a left-nested tree.
MAX_NESTING = 100
# Digits before and after the decimal point of a number literal (E0108); amounts, decimals,
# percentages, whole numbers and day counts alike.
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 12
# A day count (`30 days`, `within 30 days`) is at most the distance between the first and the last
# date there is, 0001-01-01 and 9999-12-31 (E0108): a larger one cannot be added to any date.
MAX_DAYS = 3_652_058
# Characters of one quoted text, and of one name (E0109).
MAX_TEXT_CHARS = 10_000
MAX_NAME_CHARS = 200

# Tree nodes that nest an expression in another; other nodes (declarations, clauses) cannot nest
# without one of these in between, so they add a bounded depth and are not counted.
_NESTING_RULES = frozenset(
    {
        "if_then_else",
        "or_op",
        "and_op",
        "not_op",
        "compare",
        "in_set",
        "not_in_set",
        "binop",
        "negate",
        "member",
        "lookup",
        "call",
        "agg_sum",
        "agg_count",
        "alloc_prorate",
        "alloc_split",
        "record_lit",
    }
)
_NUMBER_TOKENS = frozenset({"INT", "DECIMAL", "MONEY", "PERCENT"})


def file_too_large(source: SourceFile) -> Diagnostic | None:
    """E0110 for a file over MAX_FILE_CHARS, located at the first character past the limit."""
    if len(source.text) <= MAX_FILE_CHARS:
        return None
    return Diagnostic(
        "E0110",
        f"the rule file has {len(source.text):,} characters, more than {MAX_FILE_CHARS:,}",
        Span(source, MAX_FILE_CHARS, MAX_FILE_CHARS + 1),
        f"a rule file may have at most {MAX_FILE_CHARS:,} characters: split it into files that "
        "import each other",
    )


def limit_problems(tree: lark.Tree, source: SourceFile) -> list[Diagnostic]:
    """E0107 for the outermost too-deep expression of each nest, E0108 and E0109 for each
    too-large literal; in source order."""
    found: list[Diagnostic] = []
    stack: list[tuple[lark.Tree | Token, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            problem = _token_problem(node, source)
            if problem is not None:
                found.append(problem)
            continue
        if node.data in ("days_lit", "within_days"):
            problem = _days_problem(node.children[0], source)
            if problem is not None:
                found.append(problem)
                continue
        if node.data in _NESTING_RULES:
            depth += 1
            if depth > MAX_NESTING:
                found.append(_too_deep(node, source))
                continue  # one error per nest, not one per level below the limit
        stack.extend((child, depth) for child in reversed(node.children) if child is not None)
    return sorted(found, key=lambda d: d.span.start if d.span else 0)


def _too_deep(node: lark.Tree, source: SourceFile) -> Diagnostic:
    start = node.meta.start_pos if not node.meta.empty else 0
    end = node.meta.end_pos if not node.meta.empty else start + 1
    return Diagnostic(
        "E0107",
        f"expression nested too deeply (more than {MAX_NESTING} levels)",
        Span(source, start, end),
        f"at most {MAX_NESTING} operators, calls and `if`s may nest in one another (each `+` "
        "of a chain counts): give parts a name with `define`",
    )


def _days_problem(token: Token, source: SourceFile) -> Diagnostic | None:
    digits = str(token).replace("_", "").lstrip("0")
    if len(digits) <= len(str(MAX_DAYS)) and int(digits or "0") <= MAX_DAYS:
        return None
    start = token.start_pos or 0
    shown = str(token) if len(token) <= 40 else str(token)[:37] + "..."
    return Diagnostic(
        "E0108",
        f"`{shown} days` is more days than there are between any two dates",
        Span(source, start, token.end_pos if token.end_pos is not None else start + 1),
        f"a day count is at most {MAX_DAYS:,} (from 0001-01-01 to 9999-12-31)",
    )


def _token_problem(token: Token, source: SourceFile) -> Diagnostic | None:
    start = token.start_pos or 0
    span = Span(source, start, token.end_pos if token.end_pos is not None else start + 1)
    if token.type == "STRING" and len(token) - 2 > MAX_TEXT_CHARS:
        return Diagnostic(
            "E0109",
            f"text of {len(token) - 2:,} characters is too long",
            span,
            f"a quoted text may have at most {MAX_TEXT_CHARS:,} characters",
        )
    if token.type == "NAME" and len(token) > MAX_NAME_CHARS:
        return Diagnostic(
            "E0109",
            f"name `{token[:40]}...` of {len(token):,} characters is too long",
            span,
            f"a name may have at most {MAX_NAME_CHARS} characters",
        )
    if token.type not in _NUMBER_TOKENS:
        return None
    digits = str(token).removeprefix("EUR").strip().lstrip("-").rstrip("%").replace("_", "")
    whole, _, fraction = digits.partition(".")
    if len(whole.lstrip("0")) <= MAX_INTEGER_DIGITS and len(fraction) <= MAX_FRACTION_DIGITS:
        return None
    shown = str(token) if len(token) <= 40 else str(token)[:37] + "..."
    return Diagnostic(
        "E0108",
        f"number `{shown}` is too large or too precise",
        span,
        f"numbers have at most {MAX_INTEGER_DIGITS} digits before the decimal point and "
        f"{MAX_FRACTION_DIGITS} after it",
    )
