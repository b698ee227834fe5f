"""Where the compiled parser may be cached: a directory only this user can write, or nowhere.

Lark's `cache=True` pickles the LALR tables to a file whose name anyone can predict, in the
shared temporary directory, and unpickles whatever is there on the next start: another local
user who creates that file first runs code as whoever runs policylang. Unpickling is only as
safe as the place the file comes from, so the cache lives in `$XDG_CACHE_HOME/policylang` (by
default `~/.cache/policylang`), created with mode 0700, and is used only after checking that
the directory and its parent are what they should be. When the check fails the parser is built
in memory (about 0.16 s more per start; docs/security.md).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import lark

_GROUP_OR_OTHER_WRITE = stat.S_IWGRP | stat.S_IWOTH


def cache_root() -> Path | None:
    """`$XDG_CACHE_HOME` when it is an absolute path (as the XDG spec requires), else
    `~/.cache`; None when there is no home directory to speak of."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    home = os.path.expanduser("~")
    if not os.path.isabs(home):  # no HOME and no password entry: `~` stays `~`
        return None
    return Path(home) / ".cache"


def parser_cache_file() -> str | None:
    """The file Lark may cache the parser in, or None: no private directory could be had."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: owners are not uids
        return None
    root = cache_root()
    if root is None:
        return None
    directory = root / "policylang"
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _safe_parent(root):
            return None
        directory.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not _private(directory):
        return None
    file = directory / parser_cache_file_name()
    if not _own_regular_file_or_absent(file):
        return None
    return str(file)


def parser_cache_file_name() -> str:
    """One file per Lark and Python version (Lark checks the grammar's hash inside it)."""
    return f"parser-{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.lark-cache"


def _private(directory: Path) -> bool:
    """A real directory (not a symlink), ours, that no one else may read, write or enter."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def _safe_parent(root: Path) -> bool:
    """The cache root is ours or root's and no one else can write it: otherwise someone else
    could move our directory away and put theirs in its place."""
    try:
        info = os.stat(root)
    except OSError:
        return False
    return info.st_uid in (0, os.geteuid()) and not info.st_mode & _GROUP_OR_OTHER_WRITE


def _own_regular_file_or_absent(file: Path) -> bool:
    try:
        info = os.lstat(file)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & _GROUP_OR_OTHER_WRITE
    )
