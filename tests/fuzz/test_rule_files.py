"""Fuzzing rule files: random text and structured mutations of the shipped rules/*.policy files.

Whatever the text, loading, checking, fmt, lint and the in-file tests either succeed or raise
PolicyError whose every diagnostic has a stable code and (for a problem inside a file) a place;
the command line exits 0, 1 or 2, never with a traceback. Crashes found are kept, with their exact
codes and positions, in test_rule_regressions.py.

The normal suite runs a short, fixed (derandomized) sample. The long run, with random seeds:

    POLICYLANG_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz/test_rule_files.py -p no:cacheprovider -s

prints how many inputs each test tried and the slowest one (docs/reliability.md#rule-files).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.errors import PolicyError
from policylang.evaluate.tests import run_tests
from policylang.format import format_module
from policylang.lint import lint
from policylang.syntax.parser import parse
from tests.conftest import ROOT

RULES = ROOT / "rules"
SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in sorted(RULES.glob("*.policy"))}
CLAIMS = ROOT / "examples/claims.csv"

LONG_RUN = int(os.environ.get("POLICYLANG_FUZZ_EXAMPLES", "0"))


def _settings(normal: int) -> settings:
    """`normal` examples, derandomized, in the normal suite; POLICYLANG_FUZZ_EXAMPLES random
    ones (scaled by the test's share) in a long run."""
    examples = max(1, LONG_RUN * normal // 40) if LONG_RUN else normal
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------- what is tried

TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9_.]*%?|\s+|.', re.DOTALL
)
VOCABULARY = [
    *"{}()[],.:=+-*/<>?#\"'",
    "==", "!=", "<=", "..", "EUR", "days", "not", "in", "and", "or", "if", "then", "else",
    "claim", "title", "rule", "test", "define", "parameter", "table", "key", "codes", "split",
    "settlement", "invariant", "import", "sum", "count", "prorate", "min", "round", "true",
    "0", "1", "-1", "0.5", "100%", "2025-02-30", "9999-12-31", "0001-01-01", '""', '"x"',
    "\x00", "\ufeff", "\r", "\t", "\u00e9", "\u20ac", "\u0663", "\uff11", "\U0001f600", "\\",
]  # fmt: skip
# Each nests or grows well past the limits (docs/reliability.md) and past where Python's stack or
# int parsing gave out before issue 19 (about 450 chained operators, 350 nested calls, 4,301
# digits).
SNIPPETS = [
    " + 1" * 600,
    " and true" * 600,
    " or false" * 600,
    "(" * 2000 + "1" + ")" * 2000,
    "min(" * 400 + "1" + ", 1)" * 400,
    "- " * 600 + "1",
    "not " * 600 + "true",
    "if true then 1 else " * 600 + "1",
    "{a: " * 400 + "1" + "}" * 400,
    "9" * 5000,
    "EUR " + "9" * 30 + ".99",
    "0." + "1" * 20,
    '"' + "x" * 12_000 + '"',
    "y" * 300,
    " u1 u2 u3 u4 u5" * 200,
    'import "a\x00b.policy"\n',
    'import "../outside.policy"\n',
    "\n" * 500,
]

OPERATIONS = ("delete", "duplicate", "swap", "replace", "insert")


@st.composite
def mutated_file(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, text): a shipped rule file with one to four token-level mutations."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    tokens = TOKEN.findall(SHIPPED[name])
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(OPERATIONS))
        at = draw(st.integers(0, len(tokens) - 1))
        if operation == "delete":
            del tokens[at]
        elif operation == "duplicate":
            tokens.insert(at, tokens[at])
        elif operation == "swap":
            other = draw(st.integers(0, len(tokens) - 1))
            tokens[at], tokens[other] = tokens[other], tokens[at]
        elif operation == "replace":
            tokens[at] = draw(st.sampled_from(VOCABULARY) | st.text(max_size=8))
        else:
            tokens.insert(at, draw(st.sampled_from(SNIPPETS + VOCABULARY)))
    return name, "".join(tokens)


RULE_ALPHABET = st.sampled_from(
    [*'abcdefxyzEUR0123456789 \n\t{}()[]:,.=+-*/<>"#%?_', "\x00", "\u0663", "\u00e9"]
)
random_text = st.text(RULE_ALPHABET, max_size=400) | st.text(max_size=200)

# ---------------------------------------------------------------- what must hold

FILE_LEVEL = {"E0801", "E0802", "E0110"}  # about a whole file: no place inside it
TRIED: dict[str, int] = {}
SLOWEST: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_long_run() -> Iterator[None]:
    yield
    if LONG_RUN:
        for test, count in sorted(TRIED.items()):
            sys.stderr.write(f"\n{test}: {count} inputs, slowest {SLOWEST[test]:.2f} s")
        sys.stderr.write("\n")


def _timed(test: str, body: Callable[[], None]) -> None:
    start = time.perf_counter()
    body()
    TRIED[test] = TRIED.get(test, 0) + 1
    SLOWEST[test] = max(SLOWEST.get(test, 0.0), time.perf_counter() - start)


def _assert_located(error: PolicyError) -> None:
    assert error.diagnostics or error.omitted
    for diagnostic in error.diagnostics:
        assert re.fullmatch(r"E\d{4}", diagnostic.code), diagnostic
        assert diagnostic.message, diagnostic
        if diagnostic.code not in FILE_LEVEL:
            assert diagnostic.span is not None, diagnostic
            line, column = diagnostic.span.source.line_col(diagnostic.span.start)
            assert line >= 1 and column >= 1
    str(error)  # renders (bounded: at most 50 diagnostics, lines cut around the caret)


def _parse_and_format(text: str, name: str) -> None:
    try:
        module = parse(text, name)
    except PolicyError as error:
        _assert_located(error)
        return
    formatted = format_module(module)
    again = format_module(parse(formatted, name))  # what fmt writes parses again
    assert again == formatted  # and fmt is idempotent


def _load_check_lint_test(name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for other, body in SHIPPED.items():
            (root / other).write_text(body, encoding="utf-8")
        (root / name).write_text(text, encoding="utf-8", newline="")
        try:
            policy = policylang.load(root / name)
        except PolicyError as error:
            _assert_located(error)
            return
        lint(policy.program)
        run_tests(policy.program)


@_settings(25)
@given(mutated_file())
def test_mutated_rule_files_load_check_lint_and_test(case: tuple[str, str]) -> None:
    name, text = case
    _timed("mutations", lambda: (_parse_and_format(text, name), _load_check_lint_test(name, text)))


@_settings(150)
@given(random_text)
def test_random_text_parses_or_is_a_located_error(text: str) -> None:
    _timed("random text", lambda: _parse_and_format(text, "random.policy"))


@st.composite
def deep_or_big(draw: st.DrawFn) -> str:
    """One definition that nests or grows around the limits (docs/reliability.md)."""
    depth = draw(st.integers(1, 1000))
    shape = draw(st.sampled_from(SNIPPETS[:8]))
    kind = draw(st.sampled_from(["chain", "nest", "literal"]))
    if kind == "chain":
        return "define x = 1" + " + 1" * depth
    if kind == "nest":
        return "define x = " + "abs(" * depth + "EUR 1.00" + ")" * depth
    return "define x = " + shape[: depth * 10]


# A tariff expression that every pass (checker, compiler, lint's z3, fmt, tests) reads.
TARIFF = "  tariff maximum tarief_meekijkconsult\n"


@pytest.mark.parametrize("snippet", range(len(SNIPPETS)), ids=lambda i: SNIPPETS[i][:12])
def test_each_snippet_in_a_shipped_tariff(snippet: int) -> None:
    """Every snippet once, at a fixed place, so the short run covers each of them."""
    text = SHIPPED["betaaltitels_passende_zorg.policy"]
    assert TARIFF in text
    piece = SNIPPETS[snippet]
    grown = piece if piece.startswith(" ") else f" + ({piece})"  # a chain goes on, others nest
    mutated = text.replace(TARIFF, TARIFF.rstrip("\n") + grown + "\n", 1)
    _parse_and_format(mutated, "betaaltitels_passende_zorg.policy")
    _load_check_lint_test("betaaltitels_passende_zorg.policy", mutated)


@_settings(40)
@given(deep_or_big())
def test_nesting_and_literals_near_the_limits(text: str) -> None:
    def body() -> None:
        try:
            policy = policylang.loads(text + "\n", "deep.policy")
        except PolicyError as error:
            _assert_located(error)
            return
        lint(policy.program)
        _parse_and_format(text, "deep.policy")

    _timed("near the limits", body)


runner = CliRunner()
COMMANDS = {
    "check": ["check", "{rules}", "--claims", str(CLAIMS)],
    "batch": ["check", "{rules}", "--claims", str(CLAIMS), "--engine", "batch"],
    "test": ["test", "{rules}"],
    "lint": ["lint", "{rules}"],
    "fmt": ["fmt", "--check", "{rules}"],
}


@_settings(3)
@given(mutated_file(), st.sampled_from(sorted(COMMANDS)))
def test_command_line_exits_0_1_or_2_on_mutated_files(case: tuple[str, str], command: str) -> None:
    name, text = case

    def body() -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            for other, content in SHIPPED.items():
                (root / other).write_text(content, encoding="utf-8")
            (root / name).write_text(text, encoding="utf-8", newline="")
            args = [a.replace("{rules}", str(root)) for a in COMMANDS[command]]
            result = runner.invoke(app, args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code in (0, 1, 2), result.stderr
        if result.exit_code == 2:
            assert re.search(r"error(\[E\d{4}\])?: ", result.stderr), result.stderr

    _timed("command line", body)
