"""Shared test helpers. Tests run from the repository root so file names in diagnostics are
stable (`tests/golden/...`)."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def regenerate() -> bool:
    """POLICYLANG_REGEN=1 rewrites golden files instead of comparing (review the diff!)."""
    return os.environ.get("POLICYLANG_REGEN") == "1"


def write_claims(
    path: Path, rows: Sequence[Mapping[str, object]], fields: Sequence[str] | None = None
) -> Path:
    """Claim rows as a CSV file: header `fields`, or every key of the rows in first-seen order."""
    names = list(fields) if fields is not None else list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path
