"""What hovering over a name shows: its declaration in the canonical layout, and its sources.

A citation is `"FILE:LINE"` (or free text). When FILE lies next to the rules (in the rules
directory, its `seeds/` folder, or a `seeds/` folder beside it) the cited line is shown too.
"""

from __future__ import annotations

import re
from pathlib import Path

from policylang import format as fmt
from policylang.check.builtins import BUILTINS
from policylang.check.expressions import STANDARD_CLAIM_FIELDS
from policylang.lsp.symbols import Symbol
from policylang.syntax import nodes

_CITATION = re.compile(r"^(?P<file>[\w.-]+):(?P<line>\d+)")


def _code(text: str) -> str:
    return f"```policy\n{text}\n```"


def cited_line(citation: str, root: Path) -> tuple[str, int, str] | None:
    """(file, line, text) of a `FILE:LINE` citation whose file lies next to the rules."""
    match = _CITATION.match(citation)
    if match is None:
        return None
    name, number = match["file"], int(match["line"])
    for folder in (root, root / "seeds", root.parent / "seeds"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        if 1 <= number <= len(lines):
            return name, number, lines[number - 1].strip()
        return None
    return None


def citations(meta: nodes.Meta, root: Path) -> list[str]:
    shown = []
    for citation in meta.citations:
        text = f"source: `{citation.text}`"
        found = cited_line(citation.text, root)
        if found is not None:
            text += f"\n\n> {found[2]}"
        shown.append(text)
    shown += [f"assumption: {a}" for a in meta.assumptions]
    shown += [f"note: {n}" for n in meta.notes]
    return shown


def _parameter(node: nodes.ParamDecl) -> str:
    lines = [f"parameter {node.name}: {node.type.name}"]
    if node.always is not None:
        lines.append(f"  = {fmt.expr(node.always)}")
    for period in node.periods:
        until = f" to {period.end}" if period.end is not None else ""
        lines.append(f"  from {period.start}{until} = {fmt.expr(period.value)}")
    if node.years:
        lines.append(
            "  by year { " + ", ".join(f"{y.year}: {fmt.expr(y.value)}" for y in node.years) + " }"
        )
    return "\n".join(lines)


def _codes(codes: nodes.CodeSet | nodes.Name) -> str:
    return codes.name if isinstance(codes, nodes.Name) else fmt.codeset(codes)


def _title(node: nodes.TitleDecl) -> str:
    label = f' "{node.label}"' if node.label else ""
    lines = [f"title {node.name}{label}"]
    lines += [f"  codes {_codes(c)}" for c in node.codes]
    for validity in node.validity:
        until = f" to {validity.end}" if validity.end is not None else ""
        lines.append(f"  valid from {validity.start}{until}")
    lines += [f"  funding {f.name}" for f in node.funding]
    for tariff in node.tariffs:
        value = f" {fmt.expr(tariff.value)}" if tariff.value is not None else ""
        lines.append(f"  tariff {tariff.kind}{value}")
    return "\n".join(lines)


def _first_line(symbol: Symbol, text: str) -> str:
    start = text.rfind("\n", 0, symbol.start) + 1
    end = text.find("\n", symbol.start)
    return text[start : end if end != -1 else len(text)].strip()


def describe(symbol: Symbol, text: str, root: Path) -> str:
    """Markdown for a declared name; `text` is the text of the file that declares it."""
    node = symbol.node
    if isinstance(node, nodes.FieldDecl):
        shown = f"{node.name}: {node.type.name}{'?' if node.optional else ''}"
        if node.default is not None:
            shown += f" = {fmt.expr(node.default)}"
        owner = symbol.key.split(".", 1)[0]
        return _code(f"{owner}.{shown}")
    if symbol.kind == "member":
        return _code(f"{symbol.key}") + f"\n\nmember of enum `{symbol.key.split('.', 1)[0]}`"
    parts: list[str] = []
    if isinstance(node, nodes.ParamDecl):
        parts.append(_code(_parameter(node)))
    elif isinstance(node, nodes.TitleDecl):
        parts.append(_code(_title(node)))
    elif isinstance(node, nodes.CodeSetDecl):
        parts.append(_code(f"codes {node.name} = {fmt.codeset(node.codes)}"))
    elif isinstance(node, nodes.DefineDecl):
        annotation = f": {node.type.name}" if node.type else ""
        parts.append(_code(f"define {node.name}{annotation} = {fmt.expr(node.value)}"))
    elif isinstance(node, nodes.EnumDecl):
        parts.append(_code(f"enum {node.name} {{ {', '.join(node.members)} }}"))
    else:
        parts.append(_code(_first_line(symbol, text).rstrip("{").rstrip()))
    meta = getattr(node, "meta", None)
    if isinstance(meta, nodes.Meta):
        parts += citations(meta, root)
    return "\n\n".join(parts)


def describe_builtin(name: str) -> str | None:
    if name in BUILTINS:
        return _code(f"{name}(...)") + f"\n\n{BUILTINS[name][0]}"
    return None


def describe_standard_field(name: str) -> str | None:
    for field in STANDARD_CLAIM_FIELDS:
        if field.name == name:
            optional = "?" if field.optional else ""
            return (
                _code(f"claim.{field.name}: {field.type}{optional}") + "\n\na standard claim field"
            )
    return None
