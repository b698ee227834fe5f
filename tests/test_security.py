"""The promises of docs/security.md, one test (or a few) each: nothing outside the rules runs or
is read, claim data stays private, and what policylang writes cannot attack whoever reads it."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from policylang.syntax import cache
from tests.conftest import ROOT

# ------------------------------------------------------------------ the parser cache


class _Planted:
    """A pickle that, when loaded, writes a marker file: what an attacker would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def _planted_cache(marker: Path) -> bytes:
    # Lark's cache file: a hash line, then pickles; the first pickle is loaded before any check
    return b"0" * 64 + b"\n" + pickle.dumps(_Planted(marker))


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    full = {**inherited, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True, check=True
    )


LARK_TEMP_CACHE = (
    "import lark; from policylang.syntax.parser import LARK_OPTIONS, grammar_text; "
    "lark.Lark(grammar_text(), **LARK_OPTIONS, cache=True)"  # the order is hashed: as parser.py
)
PARSE = "from policylang.syntax.parser import parse; parse('policy \"p\"')"


def test_a_pickle_planted_at_larks_temp_file_cache_is_not_loaded(tmp_path: Path) -> None:
    # where Lark's `cache=True` puts the parser: found by letting Lark write it in a probe dir
    probe = tmp_path / "probe"
    probe.mkdir()
    _python(LARK_TEMP_CACHE, {"TMPDIR": str(probe)})
    (name,) = [p.name for p in probe.iterdir() if p.name.startswith(".lark_cache_")]
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    marker = tmp_path / "marker"
    (shared / name).write_bytes(_planted_cache(marker))
    env = {"TMPDIR": str(shared), "HOME": str(tmp_path / "home")}

    _python(PARSE, env)
    assert not marker.exists()
    # the planted file is where Lark's temp-file cache looks: it would have run
    _python(LARK_TEMP_CACHE, env)
    assert marker.read_text() == "ran"


def test_the_parser_cache_is_a_private_directory_of_the_user(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    _python(PARSE, env)
    directory = tmp_path / "cache" / "policylang"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == [Path(cache.parser_cache_file_name()).name]
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing in the shared temporary directory


def _cache_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))


def test_the_cache_is_used_only_when_the_checks_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cache_env(monkeypatch, tmp_path / "ok")
    assert cache.parser_cache_file() == str(
        tmp_path / "ok" / "policylang" / cache.parser_cache_file_name()
    )


def test_a_cache_root_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o777)
    _cache_env(monkeypatch, root)
    assert cache.parser_cache_file() is None
    assert list(root.iterdir()) == []  # not even the directory was made


def test_a_cache_directory_others_can_enter_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir()
    (tmp_path / "policylang").chmod(0o755)
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None


def test_a_symlinked_cache_directory_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "root").mkdir(mode=0o700)
    (tmp_path / "root" / "policylang").symlink_to(elsewhere)
    _cache_env(monkeypatch, tmp_path / "root")
    assert cache.parser_cache_file() is None


def test_a_symlinked_cache_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir(mode=0o700)
    (tmp_path / "policylang" / cache.parser_cache_file_name()).symlink_to(tmp_path / "x")
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_directory_of_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir(mode=0o700)
    os.chown(tmp_path / "policylang", 4242, 4242)
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None
