"""Shared test helpers. Tests run from the repository root so file names in diagnostics are
stable (`tests/golden/...`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def regenerate() -> bool:
    """POLICYLANG_REGEN=1 rewrites golden files instead of comparing (review the diff!)."""
    return os.environ.get("POLICYLANG_REGEN") == "1"
