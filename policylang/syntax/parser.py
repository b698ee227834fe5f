"""Parse rule-file text into our AST, collecting every syntax error of the file.

The Lark parser is built once per process (LALR, contextual lexer, positions kept) from the one
grammar in grammar/policy.lark, which the wheel ships as policylang/grammar/policy.lark.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policylang.errors import Diagnostic, PolicySyntaxError
from policylang.source import SourceFile, Span
from policylang.syntax import nodes

# Readable names for the grammar's terminals, used in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a quoted text",
    "DATE": "a date (YYYY-MM-DD)",
    "INT": "a whole number",
    "DECIMAL": "a number",
    "MONEY": "an amount (EUR 12.50)",
    "PERCENT": "a percentage (1.5%)",
    "COMPARE_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "EQUAL": "`=`",
    "DOT": "`.`",
    "$END": "the end of the file",
}

_MAX_ERRORS = 20


def grammar_text() -> str:
    """The grammar, from the installed package or, in a checkout, from the top-level grammar/."""
    packaged = resources.files("policylang").joinpath("grammar/policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / "policy.lark"
    return checkout.read_text(encoding="utf-8")


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


def _describe_expected(expected: set[str]) -> str:
    names: list[str] = []
    for terminal in sorted(expected):
        if terminal in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[terminal])
            continue
        pattern = _parser().get_terminal(terminal).pattern
        if pattern.type == "str":
            names.append(f"`{pattern.value}`")
        else:
            names.append(terminal.lower())
    unique = sorted(set(names))
    if len(unique) > 8:
        return ", ".join(unique[:8]) + ", ..."
    return ", ".join(unique)


def _diagnostic(error: UnexpectedInput, source: SourceFile) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        start = error.pos_in_stream
        char = source.text[start] if start < len(source.text) else ""
        help_text = None
        if char == "'":
            help_text = 'texts and codes use double quotes: "190015"'
        elif char == ",":
            help_text = "numbers use `.` as the decimal separator: EUR 12.50"
        return Diagnostic(
            "E0101", f"unexpected character `{char}`", Span(source, start, start + 1), help_text
        )
    if isinstance(error, UnexpectedEOF):
        end = len(source.text)
        return Diagnostic(
            "E0103",
            "the file ends in the middle of a declaration",
            Span(source, max(0, end - 1), end),
            f"expected {_describe_expected(set(error.expected))}",
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    if token.type == "$END":
        end = len(source.text)
        return Diagnostic(
            "E0103",
            "the file ends in the middle of a declaration",
            Span(source, max(0, end - 1), end),
            f"expected {_describe_expected(set(error.expected))}",
        )
    start = token.start_pos or 0
    end = token.end_pos or start + len(str(token))
    return Diagnostic(
        "E0102",
        f"unexpected `{token}`",
        Span(source, start, end),
        f"expected {_describe_expected(set(error.expected))}",
    )


def _comments(source: SourceFile) -> list[nodes.Comment]:
    """Every `# ...` comment with its span (texts cannot span lines, so a line scan is exact)."""
    found: list[nodes.Comment] = []
    offset = 0
    for line in source.text.splitlines(keepends=True):
        in_string = False
        escaped = False
        for index, char in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                text = line[index:].rstrip("\r\n")
                start = offset + index
                found.append(nodes.Comment(text, Span(source, start, start + len(text))))
                break
        offset += len(line)
    return found


def parse_tree(source: SourceFile) -> tuple[lark.Tree, list[nodes.Comment]]:
    """Lark tree and the comment tokens, or PolicySyntaxError with every error found."""
    diagnostics: list[Diagnostic] = []

    def on_error(error: UnexpectedInput) -> bool:
        diagnostics.append(_diagnostic(error, source))
        if len(diagnostics) >= _MAX_ERRORS or isinstance(error, UnexpectedEOF):
            return False
        if isinstance(error, UnexpectedToken) and error.token.type == "$END":
            return False
        if isinstance(error, UnexpectedCharacters):
            return True  # the lexer skips the character and goes on
        return True  # drop the token and try again: later errors are still reported

    parser = _parser()
    try:
        tree = parser.parse(source.text, on_error=on_error)
    except UnexpectedInput as error:
        # Recovery gave up: report what was collected (and this one, if new).
        found = _diagnostic(error, source)
        if found not in diagnostics:
            diagnostics.append(found)
        tree = None
    if diagnostics or tree is None:
        raise PolicySyntaxError(_deduplicate(diagnostics))
    return tree, _comments(source)


def _deduplicate(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Keep the first error per line: the rest are usually the same mistake echoing."""
    seen: set[tuple[str, int]] = set()
    kept: list[Diagnostic] = []
    for diagnostic in diagnostics:
        key = (diagnostic.span.source.name, diagnostic.span.line) if diagnostic.span else ("", 0)
        if key in seen:
            continue
        seen.add(key)
        kept.append(diagnostic)
    return kept


def parse(text: str, name: str = "<string>") -> nodes.Module:
    """Parse one rule file's text into a Module, or raise PolicySyntaxError."""
    from policylang.syntax.lower import lower

    source = SourceFile(name, text)
    tree, comments = parse_tree(source)
    return lower(tree, source, comments)
