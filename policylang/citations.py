"""`policylang lint --sources DIR`: open the documents the rule files cite and check each line.

A citation names a document and a line (`source "002_5ce70f8dba136e3b.txt:31"`), or a range of
lines (`...txt:1186-1188`); it may also carry a public reference around it (`"Kamerstuk 29 247
nr. 469, 002_5ce70f8dba136e3b.txt:31"`). Every `FILE:LINE` in a citation is looked up by file
name in the given folders (and as a path from the current directory, for the project's own data
files): a file that is in none of them, a line past its end, or a line that is blank, is a
finding. A citation without `FILE:LINE` (an article label) is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from policylang.errors import Diagnostic
from policylang.loader import LoadedFile
from policylang.syntax import nodes

# FILE:LINE or FILE:FIRST-LAST, FILE a name with an extension (no spaces)
LINE_REFERENCE = re.compile(r"(?P<file>[\w./-]+\.[A-Za-z]+):(?P<first>\d+)(?:-(?P<last>\d+))?")


@attrs.frozen
class Cited:
    """One `FILE:LINE(-LINE)` of a citation, with the text of the cited lines once read."""

    citation: nodes.Citation
    file: str
    first: int
    last: int
    lines: tuple[str, ...] | None = None  # None: the file was not found


def citations(files: Sequence[LoadedFile]) -> Iterator[nodes.Citation]:
    """Every `source` of the rule files, in file order."""
    for loaded in files:
        yield from _walk(loaded.module)  # the `policy` header's sources, then every declaration


def _walk(node: Any) -> Iterator[nodes.Citation]:
    if isinstance(node, nodes.Citation):
        yield node
    elif isinstance(node, tuple | list):
        for child in node:
            yield from _walk(child)
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            if field.name != "span":
                yield from _walk(getattr(node, field.name))


class SourceFolders:
    """The cited documents, found by file name in the folders (read once each)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self._texts: dict[str, list[str] | None] = {}

    def lines_of(self, name: str) -> list[str] | None:
        if name not in self._texts:
            found = [f / name for f in self.folders if (f / name).is_file()]
            if not found and Path(name).is_file():
                found = [Path(name)]
            # lines as an editor counts them: split at newlines only (str.splitlines also
            # splits at form feeds and Unicode separators that extracted PDFs contain)
            self._texts[name] = (
                found[0].read_text(encoding="utf-8").removesuffix("\n").split("\n")
                if found
                else None
            )
        return self._texts[name]

    def resolve(self, citation: nodes.Citation) -> list[Cited]:
        resolved = []
        for match in LINE_REFERENCE.finditer(citation.text):
            first = int(match["first"])
            last = int(match["last"]) if match["last"] else first
            text = self.lines_of(match["file"])
            lines = None if text is None else tuple(text[first - 1 : last])
            resolved.append(Cited(citation, match["file"], first, last, lines))
        return resolved


def check_sources(files: Sequence[LoadedFile], folders: Sequence[Path]) -> list[Diagnostic]:
    """L010 a citation to a blank line, L011 to a file that is not there or a line past its end."""
    sources = SourceFolders(folders)
    findings: list[Diagnostic] = []
    shown_folders = ", ".join(str(f) for f in folders)
    for citation in citations(files):
        for cited in sources.resolve(citation):
            where = f"{cited.file}:{cited.first}" + (
                f"-{cited.last}" if cited.last != cited.first else ""
            )
            if cited.lines is None:
                findings.append(
                    Diagnostic(
                        "L011",
                        f"cited file `{cited.file}` is not in {shown_folders}",
                        citation.span,
                        "pass the folder that holds it with --sources",
                        severity="warning",
                    )
                )
            elif len(cited.lines) < cited.last - cited.first + 1 or cited.first < 1:
                findings.append(
                    Diagnostic(
                        "L011",
                        f"`{where}` is past the end of the file",
                        citation.span,
                        "cite a line of the file",
                        severity="warning",
                    )
                )
            elif not any(line.strip() for line in cited.lines):
                findings.append(
                    Diagnostic(
                        "L010",
                        f"`{where}` is a blank line",
                        citation.span,
                        f"cite the line that states the rule (`policylang lint --sources "
                        f"{shown_folders} --show` prints every cited line)",
                        severity="warning",
                    )
                )
    return findings


def show_sources(files: Sequence[LoadedFile], folders: Sequence[Path]) -> Iterator[str]:
    """Each citation with the text it points at, for reading next to the declaration."""
    sources = SourceFolders(folders)
    for citation in citations(files):
        line, column = citation.span.source.line_col(citation.span.start)
        head = f"{citation.span.source.name}:{line}:{column}: source {citation.text!r}"
        resolved = sources.resolve(citation)
        if not resolved:
            yield f"{head}\n    (no FILE:LINE to open)"
            continue
        texts = []
        for cited in resolved:
            if cited.lines is None:
                texts.append(f"    {cited.file}: not found")
                continue
            for number, text in enumerate(cited.lines, start=cited.first):
                texts.append(f"    {cited.file}:{number} | {text.strip()}")
        yield "\n".join([head, *texts])
