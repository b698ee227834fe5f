"""Where one side of a comparison takes its rules from: files on disk, or a git revision.

`rules@v2026.1` or `rules@HEAD~1` names the tree `rules` as it was at that revision. It is read
with `git archive` into a private temporary directory; the working tree is never checked out or
touched, so a diff against last release is safe in a dirty checkout.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from pathlib import Path

from policylang.errors import InputError


def resolve_rules(spec: str | os.PathLike[str], stack: ExitStack) -> Path:
    """A path to load rules from. A path that exists wins over `PATH@REV`; the temporary copy
    of a revision lives until `stack` closes."""
    path = Path(spec)
    if path.exists():
        return path
    text = str(spec)
    where, at, revision = text.rpartition("@")
    if not at or not where or not revision:
        raise InputError.single(
            "E0801",
            f"rules `{text}` do not exist",
            help="give a rule file, a directory, or a git revision as PATH@REV (`rules@HEAD~1`)",
        )
    return _from_git(where, revision, stack)


def _from_git(where: str, revision: str, stack: ExitStack) -> Path:
    parent = Path(where).parent
    start = (parent if parent.exists() else Path.cwd()).resolve()
    top = _git(start, "rev-parse", "--show-toplevel")
    if top is None:
        raise InputError.single(
            "E0851",
            f"`{where}@{revision}` names a git revision, but `{start}` is not in a git repository",
            help="run the diff inside the repository, or give the rules as a path",
        )
    root = Path(top.strip())
    inside = os.path.relpath((Path.cwd() / where).resolve(), root.resolve())
    if inside.startswith(".."):
        raise InputError.single("E0851", f"`{where}` is outside the git repository `{root}`")
    if _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}") is None:
        raise InputError.single(
            "E0852",
            f"unknown git revision `{revision}`",
            help="a tag, branch or commit, e.g. `HEAD~1` or `v2026.1`",
        )
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "--", inside],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise InputError.single("E0853", f"`{inside}` does not exist at git revision `{revision}`")
    target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="policylang-rev-")))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")  # "data": no links or paths out of the directory
    return target / inside


def _git(where: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git installed
        return None
    return done.stdout if done.returncode == 0 else None
