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


PYTHON = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def _python_examples() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in PYTHON.finditer(text):
            line = text[: match.start()].count("\n") + 2
            indent = len(match.group(1))
            code = "\n".join(row[indent:] for row in match.group(2).splitlines())
            found.append((f"{doc.name}:{line}", code))
    return found


PYTHON_EXAMPLES = _python_examples()


def test_the_docs_have_python_examples() -> None:
    assert {name.split(":")[0] for name, _ in PYTHON_EXAMPLES} >= {"README.md", "invariants.md"}


@pytest.mark.parametrize(("name", "code"), PYTHON_EXAMPLES, ids=[n for n, _ in PYTHON_EXAMPLES])
def test_python_example_runs(name: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples use paths from the project root
    exec(compile(code, name, "exec"), {"__name__": "__doc_example__"})
