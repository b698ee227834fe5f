"""What editors and CI call on the command line: `lint --format json`, `fmt --diff`, `fmt -`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from policylang.cli import app

runner = CliRunner()

MESSY = "parameter   base : money\n  = EUR 1.00\n"
TIDY = "parameter base: money\n  = EUR 1.00\n"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_lint_json_lists_every_finding_with_its_position(tmp_path: Path) -> None:
    policy = tmp_path / "l.policy"
    policy.write_text(
        'title a "A" { codes {"1".."5"} tariff free source "x:1" }\n'
        'title b "B" { codes {"3"} tariff free }\n'
    )
    code, out, _ = run("lint", "--format", "json", str(policy))
    assert code == 1
    findings = json.loads(out)
    assert [(f["code"], f["line"], f["column"], f["end_line"]) for f in findings] == [
        ("L001", 2, 1, 2),
        ("L002", 2, 1, 2),
    ]
    first = findings[0]
    assert first["severity"] == "warning"
    assert first["message"] == "payment title `b` cites no source"
    assert (
        first["help"]
        == 'add `source "FILE:LINE"` so every decision can be traced to the policy text'
    )
    assert first["file"].endswith("l.policy")
    assert "shared codes: 3" in findings[1]["notes"]


def test_lint_json_of_a_clean_policy_is_an_empty_list(tmp_path: Path) -> None:
    policy = tmp_path / "c.policy"
    policy.write_text('title a "A" { codes {"1"} tariff free source "x:1" }\n')
    assert run("lint", "--format", "json", str(policy))[:2] == (0, "[]\n")


def test_lint_json_gives_the_errors_that_stop_loading_as_json(tmp_path: Path) -> None:
    policy = tmp_path / "e.policy"
    policy.write_text("parameter base: money\n  = 'x'\n")
    code, out, _ = run("lint", "--format", "json", str(policy))
    assert code == 2
    [error] = json.loads(out)
    assert (error["code"], error["severity"], error["line"], error["column"]) == (
        "E0101",
        "error",
        2,
        5,
    )
    assert error["message"] == "unexpected character `'`"


def test_lint_refuses_an_unknown_format(tmp_path: Path) -> None:
    code, _, err = run("lint", "--format", "xml", "rules/")
    assert code == 2
    assert "unknown --format `xml`; use text or json" in err


def test_fmt_diff_prints_the_change_and_leaves_the_file(tmp_path: Path) -> None:
    policy = tmp_path / "x.policy"
    policy.write_text(MESSY)
    code, out, err = run("fmt", "--diff", str(policy))
    assert code == 1
    assert out == (
        f"--- {policy} (as written)\n"
        f"+++ {policy} (formatted)\n"
        "@@ -1,2 +1,2 @@\n"
        "-parameter   base : money\n"
        "+parameter base: money\n"
        "   = EUR 1.00\n"
    )
    assert f"would reformat {policy}" in err
    assert policy.read_text() == MESSY
    policy.write_text(TIDY)
    assert run("fmt", "--diff", str(policy))[:2] == (0, "")


def test_fmt_stdin_writes_the_formatted_text(tmp_path: Path) -> None:
    assert run("fmt", "-", stdin=MESSY)[:2] == (0, TIDY)
    assert run("fmt", "--check", "-", stdin=MESSY)[:2] == (1, "")
    assert run("fmt", "--check", "-", stdin=TIDY)[:2] == (0, "")
    code, out, _ = run("fmt", "--diff", "-", stdin=MESSY)
    assert code == 1
    assert out.splitlines()[:2] == ["--- <stdin> (as written)", "+++ <stdin> (formatted)"]


def test_fmt_stdin_with_a_syntax_error_exits_2_with_the_position() -> None:
    code, out, err = run("fmt", "-", stdin="parameter base: money\n  = 'x'\n")
    assert code == 2
    assert out == ""
    assert "error[E0101]: unexpected character `'`" in err
    assert "--> <stdin>:2:5" in err
