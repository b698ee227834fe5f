"""Find rule files, parse them and follow their imports.

A path on the command line is a rule file or a directory (every `*.policy` file below it). Its
directory is the rules tree: an import is resolved relative to the importing file and must stay
inside that tree, so a rule file can never read anything but other rule files. The directory
scan keeps the same rule: a `*.policy` entry is resolved (symlinks followed) and refused, unread,
when it leads outside the tree, so no diagnostic ever quotes a file that is not a rule file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs

from policylang.errors import Diagnostic, PolicyError
from policylang.source import SourceFile, Span
from policylang.syntax import nodes
from policylang.syntax.limits import MAX_FILE_CHARS
from policylang.syntax.parser import parse

RULE_SUFFIX = ".policy"


@attrs.frozen
class LoadedFile:
    path: Path
    display: str
    module: nodes.Module
    imports: tuple[Path, ...]


def display_name(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def rule_files(root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The rule files below the directory `root` (resolved, sorted, each once), an E0806 for
    every `*.policy` entry that leads outside `root` (a symlink to a file elsewhere, or into a
    directory elsewhere) and an E0807 for one linked to a file that is no `.policy` file.
    Refused entries are not read."""
    root = root.resolve()
    found: dict[Path, None] = {}
    refused: list[Diagnostic] = []
    for entry in sorted(root.rglob(f"*{RULE_SUFFIX}")):
        target = entry.resolve()
        if not target.is_relative_to(root):
            refused.append(_outside_the_tree(entry, root))
        elif target.suffix != RULE_SUFFIX:  # a link to a file in the tree that is no rule file
            refused.append(_not_a_rule_file(entry))
        elif target.is_file():
            found.setdefault(target)
    return list(found), refused


def _located(path: Path) -> Span:
    """A span naming a file we do not read (the diagnostic shows `--> file:1:1`, no text)."""
    return Span(SourceFile(display_name(path), ""), 0, 0)


def _outside_the_tree(entry: Path, root: Path) -> Diagnostic:
    return Diagnostic(
        "E0806",
        f"`{display_name(entry)}` leads outside the rules tree",
        _located(entry),
        f"a rules directory is read only below `{display_name(root)}`, as imports are: "
        "copy the file into the tree instead of linking to it",
    )


def _not_a_rule_file(path: Path) -> Diagnostic:
    return Diagnostic(
        "E0807",
        f"`{display_name(path)}` is not a rule file",
        _located(path),
        f"rule files end in `{RULE_SUFFIX}`"
        + (
            f" (`{display_name(path)}` is a link to a file that does not)"
            if path.suffix == RULE_SUFFIX
            else ""
        ),
    )


def _read_file(path: Path) -> str:
    return read_rule_file(path, display_name(path))


def load_files(
    paths: Iterable[str | os.PathLike[str]], read: Callable[[Path], str] = _read_file
) -> list[LoadedFile]:
    """Parse the given files and directories and everything they import.

    `read` gives a file's text (the language server passes the editor's unsaved texts).
    Raises PolicyError with every syntax and import error of every file.
    """
    diagnostics: list[Diagnostic] = []
    queue: list[tuple[Path, Path]] = []  # (file, rules tree root)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            found, refused = rule_files(root)
            diagnostics += refused
            if not found and not refused:
                diagnostics.append(
                    Diagnostic("E0801", f"no `{RULE_SUFFIX}` files in directory `{raw}`")
                )
            queue += [(p, root) for p in found]
        elif path.is_file():
            target = path.resolve()
            if target.suffix != RULE_SUFFIX:
                diagnostics.append(_not_a_rule_file(path))
                continue
            queue.append((target, target.parent))
        else:
            diagnostics.append(Diagnostic("E0801", f"rule file `{raw}` does not exist"))

    loaded: dict[Path, LoadedFile] = {}
    seen: set[Path] = set()  # also the files that failed: an import must not report them again
    omitted = 0
    while queue:
        path, root = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        display = display_name(path)
        try:
            text = read(path)
        except (OSError, UnicodeDecodeError) as error:  # a `read` of the caller's
            diagnostics.append(Diagnostic("E0802", f"cannot read `{display}`: {error}"))
            continue
        except PolicyError as error:  # too large, or not UTF-8
            diagnostics += error.diagnostics
            continue
        try:
            module = parse(text, display)
        except PolicyError as error:
            diagnostics += error.diagnostics
            omitted += error.omitted
            continue
        imports: list[Path] = []
        for item in module.items:
            if not isinstance(item, nodes.Import):
                continue
            span = item.span
            if "\x00" in item.path or not item.path.strip():
                diagnostics.append(
                    Diagnostic(
                        "E0211",
                        f"import `{item.path.replace(chr(0), '<NUL>')}` is not a file name",
                        span,
                        'name a rule file relative to this one, like "common.policy"',
                    )
                )
                continue
            target = (path.parent / item.path).resolve()
            if not target.is_relative_to(root):
                diagnostics.append(
                    Diagnostic(
                        "E0210",
                        f"import `{item.path}` points outside the rules tree",
                        span,
                        f"rule files may only import files below `{display_name(root)}`",
                    )
                )
                continue
            if target.suffix != RULE_SUFFIX or not target.is_file():
                diagnostics.append(
                    Diagnostic(
                        "E0211",
                        f"imported rule file `{item.path}` does not exist",
                        span,
                        f"imports are relative to the importing file and end in `{RULE_SUFFIX}`",
                    )
                )
                continue
            imports.append(target)
            queue.append((target, root))
        loaded[path] = LoadedFile(path, display, module, tuple(imports))
    if diagnostics or omitted:
        raise PolicyError(diagnostics, omitted)
    return list(loaded.values())


def read_rule_file(path: Path, display: str) -> str:
    """A rule file's text, or PolicyError: E0802 when it cannot be read as UTF-8, E0110 when it
    is too large (judged by its size in bytes before reading, so memory stays bounded)."""
    try:
        size = path.stat().st_size
        if size > 4 * MAX_FILE_CHARS:  # UTF-8 takes at most 4 bytes a character
            raise PolicyError.single(
                "E0110",
                f"rule file `{display}` has {size:,} bytes, more than {4 * MAX_FILE_CHARS:,}",
                help=f"a rule file may have at most {MAX_FILE_CHARS:,} characters",
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError.single("E0802", f"cannot read `{display}`: {error}") from error
