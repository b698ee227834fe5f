"""The rules tree of an open file, loaded and checked with the editor's unsaved texts.

An editor opens one file; its imports are resolved against its rules tree (its directory, or the
highest directory above it whose every level holds rule files), as `policylang check DIR` does,
so every rule file of that tree is loaded and checked together and each gets its own
diagnostics. The parsed module of every file that parses is kept, also when
another file has errors, so hover and go to definition keep working while the author types.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from policylang.check import check
from policylang.errors import Diagnostic, PolicyError
from policylang.loader import RULE_SUFFIX, display_name, load_files
from policylang.syntax import nodes
from policylang.syntax.parser import parse

Reader = Callable[[Path], str]


@attrs.frozen
class RuleFile:
    path: Path
    text: str
    module: nodes.Module | None  # None while the file does not parse


@attrs.frozen
class Project:
    root: Path
    files: dict[Path, RuleFile]
    diagnostics: dict[Path, list[Diagnostic]]  # every file of the tree, an empty list when clean
    unplaced: list[Diagnostic]  # diagnostics with no file (an empty directory, say)


def rules_root(path: Path) -> Path:
    """The rules tree of a file: its directory, and the directories above it as long as they hold
    rule files themselves (rules/care/x.policy may import ../common.policy)."""
    root = path.resolve().parent
    while root.parent != root and any(p.is_file() for p in root.parent.glob(f"*{RULE_SUFFIX}")):
        root = root.parent
    return root


def rule_files(root: Path) -> list[Path]:
    return sorted(p.resolve() for p in root.rglob(f"*{RULE_SUFFIX}") if p.is_file())


def load_project(root: Path, read: Reader, extra: tuple[Path, ...] = ()) -> Project:
    """Parse and check every rule file below `root` (and `extra`: open files not yet saved)."""
    root = root.resolve()
    paths = sorted({*rule_files(root), *(p.resolve() for p in extra)})
    files: dict[Path, RuleFile] = {}
    found_early: list[Diagnostic] = []
    for path in paths:
        try:
            text = read(path)
        except (OSError, UnicodeDecodeError):
            continue
        try:
            module: nodes.Module | None = parse(text, display_name(path))
        except PolicyError as error:
            module = None
            if not path.is_file():  # an unsaved new file: the loader below cannot see it
                found_early += error.diagnostics
        files[path] = RuleFile(path, text, module)
    found: list[Diagnostic] = list(found_early)
    try:
        _, warnings = check(load_files([root], read=read))
        found += warnings
    except PolicyError as error:
        found += error.diagnostics
    by_display = {display_name(path): path for path in files}
    diagnostics: dict[Path, list[Diagnostic]] = {path: [] for path in files}
    unplaced: list[Diagnostic] = []
    for diagnostic in found:
        span = diagnostic.span
        path = by_display.get(span.source.name) if span is not None else None
        if path is None:
            unplaced.append(diagnostic)
        else:
            diagnostics[path].append(diagnostic)
    return Project(root, files, diagnostics, unplaced)
