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
from policylang.lint import lint
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
    # every file of the tree, an empty list when clean; with the lint findings once it checks
    diagnostics: dict[Path, list[Diagnostic]]
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


# The last parse of each file: a keystroke re-checks the whole tree, but re-parses only the
# files whose text changed (the loader parses what it loads; this serves the files it did not).
_PARSED: dict[Path, tuple[str, nodes.Module | None, tuple[Diagnostic, ...]]] = {}


def _parse(path: Path, text: str) -> tuple[nodes.Module | None, tuple[Diagnostic, ...]]:
    cached = _PARSED.get(path)
    if cached is not None and cached[0] == text:
        return cached[1], cached[2]
    try:
        module: nodes.Module | None = parse(text, display_name(path))
        problems: tuple[Diagnostic, ...] = ()
    except PolicyError as error:
        module, problems = None, error.diagnostics
    _PARSED[path] = (text, module, problems)
    return module, problems


def load_project(root: Path, read: Reader, extra: tuple[Path, ...] = ()) -> Project:
    """Parse and check every rule file below `root` (and `extra`: open files not yet saved)."""
    root = root.resolve()
    texts: dict[Path, str] = {}
    for path in sorted({*rule_files(root), *(p.resolve() for p in extra)}):
        try:
            texts[path] = read(path)
        except (OSError, UnicodeDecodeError):
            continue
    found: list[Diagnostic] = []
    modules: dict[Path, nodes.Module] = {}
    try:
        loaded = load_files([root], read=lambda path: texts[path] if path in texts else read(path))
    except PolicyError as error:
        found += error.diagnostics
    else:
        modules = {file.path: file.module for file in loaded}
        for file in loaded:
            if file.path in texts:
                _PARSED[file.path] = (texts[file.path], file.module, ())
        try:
            program, warnings = check(loaded)
        except PolicyError as error:
            found += error.diagnostics
        else:
            found += [*warnings, *lint(program)]  # `policylang lint`: about 0.2 s for rules/
    files: dict[Path, RuleFile] = {}
    for path, text in texts.items():
        module = modules.get(path)
        if module is None:
            module, problems = _parse(path, text)
            if not path.is_file():  # an unsaved new file: the loader could not see it
                found += problems
        files[path] = RuleFile(path, text, module)
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
