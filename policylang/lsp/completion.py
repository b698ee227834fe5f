"""Completion: after `claim.` the claim fields, after `Enum.` its members, after `row.` a table's
or record's fields, and otherwise the declared names, the built-in functions and the keywords."""

from __future__ import annotations

import functools
import re

from lsprotocol import types

from policylang.check.builtins import BUILTINS
from policylang.lsp.symbols import Index
from policylang.syntax.parser import grammar_text

_AFTER_DOT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z0-9_]*)$")

_KIND = {
    "enum": types.CompletionItemKind.Enum,
    "record": types.CompletionItemKind.Struct,
    "table": types.CompletionItemKind.Struct,
    "codes": types.CompletionItemKind.Constant,
    "parameter": types.CompletionItemKind.Constant,
    "define": types.CompletionItemKind.Variable,
    "title": types.CompletionItemKind.Class,
    "rule": types.CompletionItemKind.Event,
    "field": types.CompletionItemKind.Field,
    "member": types.CompletionItemKind.EnumMember,
}


@functools.cache
def keywords() -> tuple[str, ...]:
    """Every word the grammar writes as a literal (`title`, `eligible`, `when` ...)."""
    code = "\n".join(line.split("//", 1)[0] for line in grammar_text().splitlines())
    return tuple(sorted(set(re.findall(r'"([a-z_]+)"', code))))


def complete(index: Index, before: str) -> list[types.CompletionItem]:
    """Items for a cursor after the text `before` on its line."""
    member = _AFTER_DOT.search(before)
    if member is not None:
        return _members(index, member.group(1))
    items = [
        types.CompletionItem(
            label=key,
            kind=_KIND.get(symbol.kind, types.CompletionItemKind.Reference),
            detail=symbol.kind,
        )
        for key, symbol in sorted(index.symbols.items())
        if "." not in key
    ]
    items += [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Function, detail=description)
        for name, (description, _) in BUILTINS.items()
    ]
    items += [
        types.CompletionItem(label=word, kind=types.CompletionItemKind.Keyword, detail="keyword")
        for word in keywords()
    ]
    return items


def _members(index: Index, target: str) -> list[types.CompletionItem]:
    if target == "claim":
        return [
            types.CompletionItem(label=name, kind=types.CompletionItemKind.Field, detail=detail)
            for name, detail in index.claim_fields()
        ]
    symbols = index.members(target)
    if not symbols and target not in index.symbols:
        # A row variable (`location.`): offer the fields of every table and record.
        symbols = [
            s
            for s in index.symbols.values()
            if s.kind == "field" and not s.key.startswith("claim.")
        ]
    return [
        types.CompletionItem(
            label=s.key.split(".", 1)[1], kind=_KIND[s.kind], detail=s.key.split(".", 1)[0]
        )
        for s in symbols
    ]
