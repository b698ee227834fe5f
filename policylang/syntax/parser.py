"""Parse rule-file text into our AST, collecting every syntax error of the file.

The Lark parser is built once per process (LALR, contextual lexer, positions kept) from the one
grammar in grammar/policy.lark, which the wheel ships as policylang/grammar/policy.lark. Its
tables are cached across processes only in a directory private to the user (syntax/cache.py).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

import attrs
import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policylang.errors import Diagnostic, PolicySyntaxError
from policylang.source import SourceFile, Span
from policylang.syntax import nodes
from policylang.syntax.cache import parser_cache_file
from policylang.syntax.limits import file_too_large, limit_problems

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


# How the parser is built (the tests build Lark's own temp-file cache with the same options)
LARK_OPTIONS = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": True,
}


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        **LARK_OPTIONS,
        # the compiled LALR tables, reused across processes: never Lark's `cache=True`, which
        # unpickles a file anyone can create in the shared temporary directory
        cache=parser_cache_file() or False,
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
        elif char == '"':
            help_text = "a text must end on the line where it starts: close the quote"
        elif char == "€":
            help_text = "amounts are written with `EUR`: EUR 12.50"
        elif char.isdigit() or char.isnumeric():
            help_text = "numbers are written with the digits 0-9"
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
    text = source.text
    help_text = f"expected {_describe_expected(set(error.expected))}"
    dutch = _dutch_number(text, start)
    if dutch is not None:
        written, meant = dutch
        grouping = ", `_` to group thousands" if "." in written else ""
        help_text = (
            f"`{written}` is Dutch notation: write `{meant}` (`.` before the decimals{grouping})"
        )
    elif (
        str(token) == ","
        and 0 < start < len(text) - 1
        and text[start - 1].isdigit()
        and text[start + 1].isdigit()
    ):
        help_text = "numbers use `.` as the decimal separator: EUR 12.50"
    elif token.type == "NAME" or str(token).isidentifier():
        keyword = _close_keyword(str(token), set(error.expected))
        if keyword is not None:
            help_text = f"did you mean `{keyword}`? ({help_text})"
    return Diagnostic("E0102", f"unexpected `{token}`", Span(source, start, end), help_text)


_DUTCH_NUMBER = re.compile(r"[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?|[0-9]+,[0-9]{1,2}")


def _dutch_number(text: str, at: int) -> tuple[str, str] | None:
    """The number around offset `at` when it is written the Dutch way (`4.100.000,00`), with
    the way policylang writes it (`4_100_000.00`); None otherwise."""
    first, last = at, at
    while first > 0 and (
        text[first - 1].isascii() and (text[first - 1].isdigit() or text[first - 1] in ".,")
    ):
        first -= 1
    while (
        last < len(text) and text[last].isascii() and (text[last].isdigit() or text[last] in ".,")
    ):
        last += 1
    written = text[first:last].strip(".,")
    if not _DUTCH_NUMBER.fullmatch(written):
        return None
    return written, written.replace(".", "_").replace(",", ".")


def _close_keyword(word: str, expected: set[str]) -> str | None:
    """The expected keyword a misspelt word is closest to (`tarif` -> `tariff`), if any."""
    import difflib

    keywords = []
    terminals = {t.name: t.pattern for t in _parser().terminals}
    for terminal in expected:
        pattern = terminals.get(terminal)
        if pattern is not None and pattern.type == "str" and pattern.value.isidentifier():
            keywords.append(pattern.value)
    found = difflib.get_close_matches(word, sorted(keywords), n=1, cutoff=0.75)
    return found[0] if found else None


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


def declaration_keywords(parser: lark.Lark) -> list[str]:
    """The keywords a top-level declaration starts with, read from the grammar: the first
    symbol of the header and of every alternative of `item`, so a new declaration kind needs
    no second list here."""
    expansions: dict[str, list[list[str]]] = {}
    for rule in parser.rules:
        expansions.setdefault(rule.origin.name, []).append([s.name for s in rule.expansion])
    literals = {t.name: t.pattern.value for t in parser.terminals if t.pattern.type == "str"}
    keywords: set[str] = set()
    for declaration in ["header", *(e[0] for e in expansions["item"] if len(e) == 1)]:
        for expansion in expansions.get(declaration, []):
            if expansion and expansion[0] in literals:
                keywords.add(literals[expansion[0]])
    return sorted(keywords)


@functools.cache
def _top_level() -> re.Pattern[str]:
    """A declaration starts at column 1 with its keyword."""
    words = "|".join(map(re.escape, declaration_keywords(_parser())))
    return re.compile(rf"^({words})\b", re.MULTILINE)


def _first_error(chunk: str, offset: int, source: SourceFile) -> Diagnostic | None:
    """The first syntax error of one declaration, `chunk`, which starts at `offset` in `source`.

    The chunk is parsed alone (not inside a copy of the file with the rest blanked out), so
    finding the errors of a file takes time linear in its size; the diagnostic is then moved back
    to the chunk's place in the file."""
    try:
        _parser().parse(chunk)
    except UnexpectedInput as error:
        found = _diagnostic(error, SourceFile(source.name, chunk))
        assert found.span is not None
        span = Span(source, found.span.start + offset, found.span.end + offset)
        if found.code == "E0103":  # the declaration runs to the end of the file, as reported
            end = len(source.text)
            span = Span(source, max(0, end - 1), end)
        return attrs.evolve(found, span=span)
    return None


def parse_tree(source: SourceFile) -> tuple[lark.Tree, list[nodes.Comment]]:
    """Lark tree and the comments, or PolicySyntaxError with every error of the file.

    After a first error the file is parsed again one top-level declaration at a time (each
    declaration starts at column 1 with its keyword), so every broken declaration is reported
    once, and one mistake does not echo into a cascade of follow-up errors.
    """
    text = source.text
    try:
        return _parser().parse(text), _comments(source)
    except UnexpectedInput as error:
        first = _diagnostic(error, source)
    starts = [m.start() for m in _top_level().finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    diagnostics: list[Diagnostic] = []
    for begin, finish in zip(starts, [*starts[1:], len(text)], strict=True):
        found = _first_error(text[begin:finish], begin, source)
        if found is not None:
            diagnostics.append(found)
        if len(diagnostics) >= _MAX_ERRORS:
            break
    if not diagnostics:  # the chunks parse alone, but not together: report the first error
        diagnostics.append(first)
    raise PolicySyntaxError(diagnostics)


def parse(text: str, name: str = "<string>") -> nodes.Module:
    """Parse one rule file's text into a Module, or raise PolicySyntaxError."""
    from policylang.syntax.lower import lower

    source = SourceFile(name, text)
    too_large = file_too_large(source)
    if too_large is not None:
        raise PolicySyntaxError([too_large])
    tree, comments = parse_tree(source)
    problems = limit_problems(tree, source)
    if problems:  # before lowering: every later pass recurses over the expressions
        raise PolicySyntaxError(problems)
    return lower(tree, source, comments)
