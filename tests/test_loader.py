"""The loader reports a broken file once, also when another file imports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from policylang.errors import PolicyError
from policylang.loader import load_files


def test_a_broken_imported_file_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "common.policy").write_text("parameter base: money\n  = 'x'\n", encoding="utf-8")
    (tmp_path / "main.policy").write_text('import "common.policy"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_files([tmp_path])
    assert [(d.code, d.span.line, d.span.column) for d in raised.value.diagnostics] == [
        ("E0101", 2, 5)
    ]


def test_read_gives_the_text_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "main.policy").write_text("parameter base: money\n  = 'x'\n", encoding="utf-8")
    [loaded] = load_files([tmp_path], read=lambda path: "parameter base: money = EUR 1.00\n")
    assert [item.name for item in loaded.module.items] == ["base"]
