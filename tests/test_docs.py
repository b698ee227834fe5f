"""Every `policy` example in docs/*.md loads, and its in-file tests pass."""

from __future__ import annotations

import re

import pytest

import policylang
from policylang.evaluate.tests import run_tests
from tests.conftest import ROOT

BLOCK = re.compile(r"```policy\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for number, match in enumerate(BLOCK.finditer(text), start=1):
            line = text[: match.start()].count("\n") + 2
            found.append((f"{doc.name}:{line}#{number}", match.group(1)))
    return found


EXAMPLES = _examples()


def test_the_language_guide_has_examples() -> None:
    assert sum(1 for name, _ in EXAMPLES if name.startswith("language.md")) >= 12


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_loads_and_passes_its_tests(name: str, text: str) -> None:
    policy = policylang.loads(text, name=name.replace(":", "-line-").replace("#", "-") + ".policy")
    failures = [(r.name, r.failures) for r in run_tests(policy.program) if not r.passed]
    assert failures == []
