"""Find rule files, parse them and follow their imports.

A path on the command line is a rule file or a directory (every `*.policy` file below it). Its
directory is the rules tree: an import is resolved relative to the importing file and must stay
inside that tree, so a rule file can never read anything but other rule files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import attrs

from policylang.errors import Diagnostic, PolicyError
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


def load_files(paths: Iterable[str | os.PathLike[str]]) -> list[LoadedFile]:
    """Parse the given files and directories and everything they import.

    Raises PolicyError with every syntax and import error of every file.
    """
    diagnostics: list[Diagnostic] = []
    queue: list[tuple[Path, Path]] = []  # (file, rules tree root)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            found = sorted(p for p in root.rglob(f"*{RULE_SUFFIX}") if p.is_file())
            if not found:
                diagnostics.append(
                    Diagnostic("E0801", f"no `{RULE_SUFFIX}` files in directory `{raw}`")
                )
            queue += [(p, root) for p in found]
        elif path.is_file():
            queue.append((path.resolve(), path.resolve().parent))
        else:
            diagnostics.append(Diagnostic("E0801", f"rule file `{raw}` does not exist"))

    loaded: dict[Path, LoadedFile] = {}
    omitted = 0
    while queue:
        path, root = queue.pop(0)
        if path in loaded:
            continue
        display = display_name(path)
        try:
            module = parse(read_rule_file(path, display), display)
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
