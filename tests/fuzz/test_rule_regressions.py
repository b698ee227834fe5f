"""Rule files that crashed, hung or exhausted memory before issue 19, each kept as a case with its
exact error code and position (docs/reliability.md#rule-files).

Every one of them ended in a traceback (RecursionError, VisitError, AssertionError, ValueError)
or in hundreds of megabytes of output; now each is a located diagnostic and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.diagnostics import render_all
from policylang.errors import MAX_DIAGNOSTICS_PER_FILE
from policylang.evaluate.tests import run_tests
from policylang.syntax.limits import MAX_FILE_CHARS, MAX_NESTING, MAX_TEXT_CHARS

runner = CliRunner()

DEEP = MAX_NESTING + 1
ONE_LINE_CASES = {
    # name: (text, code, line, column)
    "plus chain": ("define x = " + " + ".join(["1"] * 500), "E0107", 1, 12),
    "and chain": ("define x = " + " and ".join(["true"] * 500), "E0107", 1, 12),
    "or chain": ("define x = " + " or ".join(["true"] * 500), "E0107", 1, 12),
    # A chain nests to the left, so its level 101 starts where the chain starts; a right-nested
    # expression is reported where its level 101 starts.
    "minus minus": ("define x = " + "- " * 500 + "y", "E0107", 1, 12 + 2 * MAX_NESTING),
    "not not": ("define x = " + "not " * 500 + "true", "E0107", 1, 12 + 4 * MAX_NESTING),
    "nested if": (
        "define x = " + "if true then 1 else " * 400 + "1",
        "E0107",
        1,
        12 + 20 * MAX_NESTING,
    ),
    "nested min": (
        "define x = " + "min(" * 350 + "1" + ", 1)" * 350,
        "E0107",
        1,
        12 + 4 * MAX_NESTING,
    ),
    "just over the limit": (
        "define x = " + "min(" * DEEP + "1" + ", 1)" * DEEP,
        "E0107",
        1,
        12 + 4 * MAX_NESTING,
    ),
    "deep in a title": (
        'title t "T" {\n  codes {"1"}\n  funding production\n  tariff fixed '
        + "abs(" * DEEP
        + "EUR 1.00"
        + ")" * DEEP
        + "\n}",
        "E0107",
        4,
        16 + 4 * MAX_NESTING,
    ),
    "4301-digit integer": ("define x = " + "1" * 4301, "E0108", 1, 12),
    "4301-digit days": ("define x = 2025-01-01 + " + "9" * 4301 + " days", "E0108", 1, 25),
    "4301-digit year": ("parameter g: decimal by year { " + "2" * 4301 + ": 1.0 }", "E0108", 1, 32),
    "days past the calendar": ("define x = 2025-01-01 + 3_652_059 days", "E0108", 1, 25),
    "within days past the calendar": (
        'title t "T" {\n  codes {"1"}\n  not combinable with t within 99999999999 days\n}',
        "E0108",
        3,
        32,
    ),
    "16-digit amount": ("define x = EUR 1234567890123456.00", "E0108", 1, 12),
    "13 decimals": ("define x = 0.1234567890123", "E0108", 1, 12),
    "huge percent": ("define x = " + "9" * 30 + "%", "E0108", 1, 12),
    "split value": ("split s {\n  of title t\n  tariff EUR " + "1" * 40 + "\n}", "E0108", 3, 10),
    "long text": ('define x = "' + "a" * (MAX_TEXT_CHARS + 1) + '"', "E0109", 1, 12),
    "long name": ("define " + "a" * 201 + " = 1", "E0109", 1, 8),
    "arabic-indic year": ("parameter g: decimal by year { 2024\u0663: 1.0 }", "E0101", 1, 36),
    "arabic-indic amount": ("define x = EUR \u0664\u0665.\u0660\u0660", "E0101", 1, 16),
    "fullwidth digit": ("define x = \uff11", "E0101", 1, 12),
    "look-up in a table keyed by no column": (
        'table prices key code {\n  name: text\n}\ndefine p = prices["x"].name',
        "E0603",
        1,
        1,
    ),
    "`in` a table keyed by no column": (
        'table prices key code {\n  name: text\n}\ndefine p = "x" in prices',
        "E0603",
        1,
        1,
    ),
}


@pytest.mark.parametrize("case", ONE_LINE_CASES, ids=str)
def test_broken_rule_text_is_one_located_error(case: str) -> None:
    text, code, line, column = ONE_LINE_CASES[case]
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(text + "\n", "case.policy")
    diagnostics = caught.value.diagnostics
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics if d.span] == [
        (code, line, column)
    ]
    assert diagnostics[0].help  # every one of them says what to do


def test_nesting_at_the_limit_is_accepted_by_every_pass(tmp_path: Path) -> None:
    """MAX_NESTING levels pass lowering, the checker, the compiler, fmt and lint."""
    deep = "min(" * (MAX_NESTING - 1) + "EUR 1.00" + ", EUR 2.00)" * (MAX_NESTING - 1)
    rules = tmp_path / "deep.policy"
    rules.write_text(
        'title t "T" {\n  codes {"990001"}\n  funding production\n'
        f'  tariff maximum {deep}\n  source "x"\n}}\n'
        'test "deep" {\n  given claim { claim_id: "c1", provider: "01234567", insurer: "3311", '
        'patient: "p1", code: "990001", start_date: 2025-03-01, amount: EUR 5.00 }\n'
        '  expect claim "c1" adjusted payable EUR 1.00\n}\n',
        encoding="utf-8",
    )
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount\n"
        "c1,01234567,3311,p1,990001,2025-03-01,5.00\n",
        encoding="utf-8",
    )
    for args, expected in (
        (["test", str(rules)], 0),
        (["check", str(rules), "--claims", str(claims)], 0),
        (["check", str(rules), "--claims", str(claims), "--engine", "batch"], 0),
        (["lint", str(rules)], 0),
        (["fmt", str(rules)], 0),
        (["fmt", "--check", str(rules)], 0),  # what fmt wrote parses and stays within the limit
        (["test", str(rules)], 0),
    ):
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert result.exit_code == expected, (args, result.stderr)


@pytest.mark.parametrize("command", ["check", "test", "lint", "fmt", "batch"])
def test_too_deep_is_exit_2_on_every_command(command: str, tmp_path: Path) -> None:
    rules = tmp_path / "deep.policy"
    rules.write_text("define x = " + " + ".join(["1"] * 500) + "\n", encoding="utf-8")
    claims = tmp_path / "claims.csv"
    claims.write_text("claim_id,provider,insurer,patient,code,start_date,amount\n")
    args = {
        "check": ["check", str(rules), "--claims", str(claims)],
        "batch": ["check", str(rules), "--claims", str(claims), "--engine", "batch"],
        "test": ["test", str(rules)],
        "lint": ["lint", str(rules)],
        "fmt": ["fmt", str(rules)],
    }[command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "error[E0107]: expression nested too deeply (more than 100 levels)" in result.stderr
    assert "deep.policy:1:12" in result.stderr


def test_nul_in_an_import_is_a_located_error(tmp_path: Path) -> None:
    rules = tmp_path / "a.policy"
    rules.write_text('import "a\x00b.policy"\n', encoding="utf-8")
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(rules)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E0211"
    assert diagnostic.message == "import `a<NUL>b.policy` is not a file name"
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 1)


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    rules = tmp_path / "big.policy"
    rules.write_text("#" * (MAX_FILE_CHARS + 1) + "\n", encoding="utf-8")
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(rules)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E0110"
    assert (diagnostic.span.line, diagnostic.span.column) == (1, MAX_FILE_CHARS + 1)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    rules = tmp_path / "huge.policy"
    with rules.open("wb") as handle:  # sparse: 5 MB of NUL bytes on disk, not in memory
        handle.truncate(4 * MAX_FILE_CHARS + 1)
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.load(rules)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E0110"


def test_fmt_on_a_non_utf8_file_is_exit_2(tmp_path: Path) -> None:
    rules = tmp_path / "latin1.policy"
    rules.write_bytes('define x = "caf\xe9"\n'.encode("latin-1"))
    result = runner.invoke(app, ["fmt", str(rules)])
    assert result.exit_code == 2
    assert "error[E0802]: cannot read" in result.stderr


def test_many_unknown_names_on_one_line_are_capped_and_cut() -> None:
    """10,000 unknown names on one 100 KB line wrote 602 MB; now 50 short diagnostics and a count."""
    line = "define x = min(" + ", ".join(f"u{i}" for i in range(10_000)) + ")\n"
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(line, "many.policy")
    error = caught.value
    assert len(error.diagnostics) == MAX_DIAGNOSTICS_PER_FILE
    assert error.omitted == 10_000 - MAX_DIAGNOSTICS_PER_FILE
    text = render_all(error.diagnostics, error.omitted)
    assert len(text) < 50 * 600
    assert text.endswith("9950 more errors not shown (at most 50 per file)\n\n10000 errors")
    last = render_all(error.diagnostics[-1:]).splitlines()
    assert last[:2] == ["error[E0201]: unknown name `u49`", " --> many.policy:1:251"]
    assert last[3:] == [  # 40 characters before the caret, 120 in all
        "1 | ...u41, u42, u43, u44, u45, u46, u47, u48, u49, u50, u51, u52, u53, u54, u55, u56, "
        "u57, u58, u59, u60, u61, u62, u63, u64, ...",
        "  |" + " " * 44 + "^^^",
    ]


def test_the_same_error_twice_is_shown_once() -> None:
    error = policylang.PolicyError(
        [policylang.errors.Diagnostic("E0801", "rule file `x` does not exist")] * 3
    )
    assert len(error.diagnostics) == 1


def _deep_condition(levels: int) -> str:
    """A condition of `levels` nesting levels of `not`, `and`, `or` and `if` over claim fields."""
    condition = "claim.quantity > 0"
    for level in range(levels - 1):
        condition = [
            f"not ({condition})",
            f"({condition}) and claim.quantity < {level + 1000}",
            f"({condition}) or claim.amount > EUR {level}.00",
            f"if {condition} then true else false",
        ][level % 4]
    return condition


def test_deep_conditions_reach_lint_z3_verify_and_both_engines(tmp_path: Path) -> None:
    """A condition at the nesting limit goes through lint's z3 translation (two titles share the
    code), verify's generated claims and both engines."""
    rules = tmp_path / "deep.policy"
    rules.write_text(
        'title t1 "T1" {\n  codes {"990001"}\n  funding production\n'
        f'  eligible when {_deep_condition(MAX_NESTING - 1)} else "no"\n'
        '  tariff maximum EUR 10.00\n  source "x"\n}\n'
        'title t2 "T2" {\n  codes {"990001"}\n  funding production\n'
        '  eligible when claim.quantity > 5 else "no"\n  tariff maximum EUR 20.00\n'
        '  source "x"\n}\n',
        encoding="utf-8",
    )
    with pytest.raises(policylang.PolicyError):  # one nesting level more is refused
        policylang.loads(
            rules.read_text().replace("claim.quantity > 0", "not (claim.quantity > 0)", 1)
        )
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount,quantity\n"
        "c1,01234567,3311,p1,990001,2025-03-01,5.00,1\n",
        encoding="utf-8",
    )
    outputs = {}
    check = ["check", str(rules), "--claims", str(claims), "--format", "json"]
    for name, args in (
        ("lint", ["lint", str(rules)]),
        ("verify", ["verify", str(rules)]),
        ("interpret", check),
        ("batch", [*check, "--engine", "batch"]),
    ):
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert result.exit_code in (0, 1), (args, result.stderr)
        outputs[name] = result.stdout + result.stderr.replace(
            "engine: batch (--engine batch)\n", ""
        )
    lint_out = outputs["lint"]  # the solver did read the deep condition:
    assert "warning[L005]: payment titles `t1` and `t2` can both fund the same claim" in lint_out
    assert "= note: proved with z3" in lint_out
    assert '"status": "accepted"' in outputs["interpret"]
    assert outputs["interpret"] == outputs["batch"]


def test_the_longest_day_count_reaches_the_last_date() -> None:
    policy = policylang.loads(
        'test "calendar" {\n  expect value 0001-01-01 + 3_652_058 days == 9999-12-31\n}\n'
    )
    [result] = run_tests(policy.program)
    assert result.passed, result.failures


def _define_chain(length: int, backwards: bool = False) -> str:
    """`define a1 = a0 + 1` ... : each definition one level deep, the chain `length` long."""
    step = 1 if backwards else -1
    lines = [f"define a{i} = a{i + step} + 1" for i in range(1, length + 1)]
    lines.append(f"define a{length + 1 if backwards else 0} = 0")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("backwards", "line"), [(False, MAX_NESTING + 1), (True, 2000 - MAX_NESTING)], ids=str
)
def test_a_long_chain_of_definitions_is_one_located_error(backwards: bool, line: int) -> None:
    """2,000 definitions, each using the one before (or after), overflowed the checker's stack."""
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(_define_chain(2000, backwards), "chain.policy")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E0107"
    assert (diagnostic.span.line, diagnostic.span.column) == (line, 1)
    name = f"a{MAX_NESTING + 1}" if not backwards else f"a{2000 - MAX_NESTING}"
    assert diagnostic.message == (
        f"`{name}` nests 101 levels deep through the definitions it uses (more than 100)"
    )


def test_a_chain_of_definitions_at_the_limit_runs_on_both_engines(tmp_path: Path) -> None:
    rules = tmp_path / "chain.policy"
    rules.write_text(
        _define_chain(MAX_NESTING - 1)
        .replace("define a0 = 0", "define a0 = EUR 1.00")
        .replace(" + 1\n", " + EUR 0.01\n")
        + 'title t "T" {\n  codes {"990001"}\n  funding production\n'
        f'  tariff fixed a{MAX_NESTING - 1}\n  source "x"\n}}\n',
        encoding="utf-8",
    )
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount\n"
        "c1,01234567,3311,p1,990001,2025-03-01,5.00\n",
        encoding="utf-8",
    )
    for engine in ("interpret", "batch"):
        args = ["check", str(rules), "--claims", str(claims), "--engine", engine]
        result = runner.invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        assert '"payable": "1.99"' in result.stdout  # EUR 1.00 + 99 * EUR 0.01
    using = rules.read_text().replace(f"tariff fixed a{MAX_NESTING - 1}", "tariff fixed abs(a99)")
    rules.write_text(using.replace("define a99 = a98", "define a99 = abs(a98)"), encoding="utf-8")
    result = runner.invoke(app, ["check", str(rules), "--claims", str(claims)])
    assert result.exit_code == 2
    assert "error[E0107]: this expression nests 101 levels deep" in result.stderr


def test_a_chain_of_settlement_lets_is_one_located_error() -> None:
    lets = "\n".join(f"  let b{i} = b{i - 1} + EUR 1.00" for i in range(1, 300))
    text = (
        "table places key name {\n  name: text\n}\n"
        f"settlement s per place in places {{\n  let b0 = EUR 0.00\n{lets}\n"
        '  line "total" = b299\n}\n'
    )
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(text, "lets.policy")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E0107"
    assert diagnostic.message.startswith("`b101` nests 101 levels deep")
    assert (diagnostic.span.line, diagnostic.span.column) == (4 + 1 + 101, 3)


def test_many_rules_on_one_title_are_left_to_the_interpreter(tmp_path: Path) -> None:
    """The batch plan's conflict check is quadratic in the rules of a title: 400 took 3.2 GB."""
    from policylang.evaluate.batch.plan import MAX_RULES_PER_TITLE

    count = MAX_RULES_PER_TITLE + 1
    rules = tmp_path / "rules.policy"
    rules.write_text(
        'title t "T" {\n  codes {"990001"}\n  funding production\n'
        '  tariff maximum EUR 10.00\n  source "x"\n}\n'
        'rule r0 {\n  applies to t\n  when claim.quantity > 0\n  reject\n  because "r0"\n}\n'
        + "".join(
            f"rule r{i} exception to r{i - 1} {{\n  applies to t\n"
            f"  when claim.quantity > {i}\n  accept\n}}\n"
            for i in range(1, count)
        ),
        encoding="utf-8",
    )
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount,quantity\n"
        "c1,01234567,3311,p1,990001,2025-03-01,5.00,1\n",
        encoding="utf-8",
    )
    args = ["check", str(rules), "--claims", str(claims)]
    batch = runner.invoke(app, [*args, "--engine", "batch"])
    assert batch.exit_code == 2
    assert (
        f"error: not supported by the batch engine: {count} rules on payment title `t` (the "
        f"batch plan takes at most {MAX_RULES_PER_TITLE}: it checks every pair for a conflict)"
    ) in batch.stderr
    auto = runner.invoke(app, [*args, "--engine", "auto", "--format", "json"])
    interpreted = runner.invoke(app, [*args, "--format", "json"])
    assert auto.exit_code == interpreted.exit_code == 1
    assert '"status": "rejected"' in interpreted.stdout
    assert auto.stdout == interpreted.stdout
