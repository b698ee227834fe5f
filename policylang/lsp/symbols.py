"""Declarations of a rules tree and the names in its files that refer to them.

Every named declaration lives in one namespace (declaring a name twice is an error), so a name
token resolves to a declaration by its text alone. Claim fields and enum members are found after
a dot: `claim.setting`, `Setting.seh`. Tokens come from a scan of the text, not the parser, so
references are found in a file that does not parse at the moment too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from policylang.check.expressions import STANDARD_CLAIM_FIELDS
from policylang.lsp.project import Project
from policylang.syntax import nodes

# Strings and comments are matched first so that names inside them are skipped.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\d[\d_.%-]*|[A-Za-z_][A-Za-z0-9_]*|\.')
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_KINDS: dict[type, str] = {
    nodes.EnumDecl: "enum",
    nodes.RecordDecl: "record",
    nodes.TableDecl: "table",
    nodes.CodeSetDecl: "codes",
    nodes.ParamDecl: "parameter",
    nodes.DefineDecl: "define",
    nodes.TitleDecl: "title",
    nodes.RuleDecl: "rule",
    nodes.SettlementDecl: "settlement",
    nodes.CheckDecl: "check",
    nodes.InvariantDecl: "invariant",
    nodes.SplitDecl: "split",
}


@attrs.frozen
class Symbol:
    """A declared name: `key` is `NAME`, `claim.FIELD` or `ENUM.MEMBER`."""

    key: str
    kind: str  # a declaration keyword, or "field" / "member"
    path: Path
    start: int  # the name's offsets in its file
    end: int
    node: object = attrs.field(eq=False)  # the AST node (a Decl or a FieldDecl)


@attrs.frozen
class Token:
    path: Path
    start: int
    end: int
    key: str  # what it would resolve to: NAME, claim.FIELD or TARGET.MEMBER
    text: str


def tokens(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _TOKEN.finditer(text):
        yield match.start(), match.end(), match.group(0)


def _name_in(text: str, name: str, start: int, end: int) -> tuple[int, int] | None:
    """The first `name` as a whole word in text[start:end], outside strings and comments."""
    for begin, finish, token in tokens(text[start:end]):
        if token == name:
            return start + begin, start + finish
    return None


class Index:
    def __init__(self, project: Project, previous: Index | None = None) -> None:
        """`previous`: the index before this edit, whose declarations stand in for a file that
        does not parse now (so completion keeps offering them while the author types)."""
        self.project = project
        self.symbols: dict[str, Symbol] = {}
        self.texts: dict[Path, str] = {}  # the text each file's symbols were found in
        for path, rule_file in project.files.items():
            if rule_file.module is not None:
                self._declare(path, rule_file.text, rule_file.module)
                self.texts[path] = rule_file.text
            elif previous is not None and path in previous.texts:
                for symbol in previous.symbols.values():
                    if symbol.path == path:
                        self._add(symbol)
                self.texts[path] = previous.texts[path]
        self.tokens: dict[Path, list[Token]] = {
            path: list(self._tokens(path, f.text)) for path, f in project.files.items()
        }

    def _add(self, symbol: Symbol) -> None:
        self.symbols.setdefault(symbol.key, symbol)

    def _declare(self, path: Path, text: str, module: nodes.Module) -> None:
        for item in module.items:
            span = item.span
            if isinstance(item, nodes.ClaimDecl):
                for field in item.fields:
                    found = _name_in(text, field.name, field.span.start, field.span.end)
                    if found:
                        self._add(Symbol(f"claim.{field.name}", "field", path, *found, field))
                continue
            kind = _KINDS.get(type(item))
            if kind is None:
                continue
            name = item.name  # type: ignore[union-attr]
            # Skip the keyword: `codes codes_x` or a name equal to a later keyword stays exact.
            found = _name_in(text, name, span.start + len(kind), span.end)
            if found is None:
                continue
            self._add(Symbol(name, kind, path, *found, item))
            if isinstance(item, nodes.EnumDecl):
                after = found[1]
                for member in item.members:
                    place = _name_in(text, member, after, span.end)
                    if place:
                        self._add(Symbol(f"{name}.{member}", "member", path, *place, item))
                        after = place[1]
            if isinstance(item, nodes.TableDecl | nodes.RecordDecl):
                for field in item.fields:
                    place = _name_in(text, field.name, field.span.start, field.span.end)
                    if place:
                        self._add(Symbol(f"{name}.{field.name}", "field", path, *place, field))

    def _tokens(self, path: Path, text: str) -> Iterator[Token]:
        previous: list[str] = []  # the last two tokens, to see `TARGET .` before a name
        for start, end, token in tokens(text):
            if token.startswith(("#", '"')) or token[0].isdigit():
                previous = []
                continue
            if token != "." and len(previous) == 2 and previous[1] == ".":
                yield Token(path, start, end, f"{previous[0]}.{token}", token)
            elif token != ".":
                yield Token(path, start, end, token, token)
            previous = [*previous[-1:], token]

    # ------------------------------------------------------------ queries
    def token_at(self, path: Path, offset: int) -> Token | None:
        for token in self.tokens.get(path, ()):
            if token.start <= offset <= token.end:
                return token
        return None

    def resolve(self, token: Token) -> Symbol | None:
        return self.symbols.get(token.key)

    def references(self, symbol: Symbol) -> list[Token]:
        return [t for tokens in self.tokens.values() for t in tokens if t.key == symbol.key]

    def claim_fields(self) -> list[tuple[str, str]]:
        """(name, detail) of every claim field: the standard ones and those declared."""
        fields = [(f.name, f.type) for f in STANDARD_CLAIM_FIELDS]
        for key, symbol in self.symbols.items():
            if key.startswith("claim.") and isinstance(symbol.node, nodes.FieldDecl):
                node = symbol.node
                fields.append((node.name, node.type.name + ("?" if node.optional else "")))
        return fields

    def members(self, target: str) -> list[Symbol]:
        prefix = f"{target}."
        return [s for key, s in self.symbols.items() if key.startswith(prefix)]
