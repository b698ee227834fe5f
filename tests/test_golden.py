"""Golden files.

- tests/golden/errors/NAME.policy -> NAME.fail.out: the rendered diagnostics, exactly as a
  policy author sees them (code, message, file:line:col, caret, help).
- tests/golden/decisions/NAME.policy + NAME.csv -> NAME.out: every decision as JSON.

Regenerate with `POLICYLANG_REGEN=1 python -m pytest tests/test_golden.py`, then read the diff:
a golden file is a claim about behaviour, not a copy of whatever the code printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policylang
from policylang.diagnostics import render_all
from tests.conftest import ROOT, regenerate

ERRORS = sorted((ROOT / "tests/golden/errors").glob("*.policy"))
DECISIONS = sorted((ROOT / "tests/golden/decisions").glob("*.policy"))


def _compare(path: Path, actual: str) -> None:
    if regenerate():
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with POLICYLANG_REGEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("policy", ERRORS, ids=lambda p: p.stem)
def test_error_golden(policy: Path) -> None:
    relative = policy.relative_to(ROOT)
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(relative)
    _compare(policy.with_suffix(".fail.out"), render_all(caught.value.diagnostics) + "\n")


@pytest.mark.parametrize("policy", DECISIONS, ids=lambda p: p.stem)
def test_decision_golden(policy: Path) -> None:
    loaded = policylang.load(policy.relative_to(ROOT))
    decisions = loaded.check(policy.with_suffix(".csv").relative_to(ROOT))
    text = json.dumps([d.to_json() for d in decisions], indent=2, ensure_ascii=False) + "\n"
    _compare(policy.with_suffix(".out"), text)
