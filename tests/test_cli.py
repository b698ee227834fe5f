"""The command line: exit codes, output formats and messages, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from policylang.cli import app

runner = CliRunner()
GOLDEN = "tests/golden/decisions"
FIXTURES = "tests/fixtures/policies"

ACCEPTED_ONLY = """claim_id,provider,insurer,patient,code,start_date,amount,referrer
a1,01234567,3311,p1,990001,2025-03-03,60.00,huisarts
a2,01234567,3311,p2,190153,2025-03-03,1999.99,
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_json_has_one_decision_per_claim_and_exact_summary() -> None:
    code, out, _ = run(
        "check", f"{GOLDEN}/core.policy", "--claims", f"{GOLDEN}/core.csv", "--format", "json"
    )
    assert code == 1
    document = json.loads(out)
    assert len(document["decisions"]) == 24
    assert document["summary"] == {
        "claims": 24,
        "by_status": {"accepted": 6, "adjusted": 5, "rejected": 7, "error": 6},
        "claimed": "12477.50",
        "payable": "8952.50",
    }
    c14 = next(d for d in document["decisions"] if d["claim_id"] == "c14")
    assert c14["payable"] == "3000.00"
    assert c14["reasons"][-1] == {
        "rule": "contract_exception",
        "message": "each calendar day is an add-on of its own",
        "source": None,
    }


def test_check_exits_0_when_everything_is_paid(tmp_path: Path) -> None:
    claims = tmp_path / "ok.csv"
    claims.write_text(ACCEPTED_ONLY)
    code, out, err = run(
        "check", f"{GOLDEN}/core.policy", "--claims", str(claims), "--format", "csv"
    )
    assert code == 0
    assert out.splitlines()[1:] == [
        "a1,accepted,60.00,60.00,meekijkconsult,production,"
        "meekijkconsult: funded as Meekijkconsult (production) (001_158c496e59021edc.txt:1189)",
        "a2,accepted,1999.99,1999.99,ic_day,production,"
        "ic_day: funded as IC-behandeldag (production) (NZa NR/CU-263 art. 33a lid 3)",
    ]
    assert "2 claims: 2 accepted; claimed EUR 2059.99, payable EUR 2059.99" in err


def test_check_jsonl_writes_one_line_per_claim(tmp_path: Path) -> None:
    output = tmp_path / "decisions.jsonl"
    code, _, _ = run(
        "check",
        f"{GOLDEN}/core.policy",
        "--claims",
        f"{GOLDEN}/core.csv",
        "--format",
        "jsonl",
        "--output",
        str(output),
    )
    assert code == 1
    lines = output.read_text().splitlines()
    assert len(lines) == 24
    assert json.loads(lines[18])["reasons"][0]["message"] == (
        "field `amount`: `12,50` is not an amount: use `.` as the decimal separator"
    )


def test_broken_policy_exits_2_with_located_diagnostic(tmp_path: Path) -> None:
    code, out, err = run(
        "check", "tests/golden/errors/typo_parameter.policy", "--claims", f"{GOLDEN}/core.csv"
    )
    assert code == 2
    assert out == ""
    assert "error[E0201]: unknown name `seh_budjet`" in err
    assert "--> tests/golden/errors/typo_parameter.policy:3:26" in err
    assert "help: did you mean `seh_budget`?" in err
    assert "nothing was evaluated" in err


def test_missing_claims_file_is_a_one_line_error() -> None:
    code, _, err = run("check", f"{GOLDEN}/core.policy", "--claims", "nope.csv")
    assert code == 2
    assert "error[E0804]: claims file `nope.csv` does not exist" in err


def test_unknown_format_is_a_usage_error() -> None:
    code, _, err = run(
        "check", f"{GOLDEN}/core.policy", "--claims", f"{GOLDEN}/core.csv", "--format", "xml"
    )
    assert code == 2
    assert "unknown --format `xml`" in err


def test_explain_shows_the_steps_with_citations() -> None:
    code, out, _ = run(
        "explain", f"{GOLDEN}/core.policy", "--claims", f"{GOLDEN}/core.csv", "--claim", "c15"
    )
    assert code == 1
    assert "claim c15: rejected, payable EUR 0.00" in out
    assert (
        "validity    home_monitoring -> valid: on 2025-06-10 (from 2025-01-01 to 2025-12-31)" in out
    )
    assert (
        "exclusion   meekijkconsult -> found: within 7 days (001_158c496e59021edc.txt:1209)" in out
    )


def test_explain_unknown_claim_exits_2() -> None:
    code, _, err = run(
        "explain", f"{GOLDEN}/core.policy", "--claims", f"{GOLDEN}/core.csv", "--claim", "zz"
    )
    assert code == 2
    assert "no claim with claim_id `zz`" in err


def test_settle_json_is_exact() -> None:
    code, out, _ = run(
        "settle",
        f"{FIXTURES}/seh_settlement.policy",
        "--claims",
        f"{FIXTURES}/seh_claims.csv",
        "--table",
        f"seh_locations={FIXTURES}/seh_locations.csv",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    amounts = {(line["party"], line["item"]): line["amount"] for line in document["lines"]}
    assert amounts[("L2", "budget")] == "2562500.00"  # 105 of 168 hours of EUR 4.1 million
    assert amounts[("L1", "settlement")] == "4099863.33"  # 4,100,000 - 136.67 x 1 visit
    shares = [amounts[(p, "share of EUR 100")] for p in ("L1", "L2", "L3")]
    assert shares == ["45.04", "28.15", "26.81"]
    assert document["checks"] == [
        {
            "name": "sum_ok",
            "holds": True,
            "detail": "30.00 == 30.00",
            "warn_only": False,
            "source": None,
            "skipped": False,
        }
    ]


def test_settle_rejects_a_bad_table_row_with_exit_2(tmp_path: Path) -> None:
    table = tmp_path / "locations.csv"
    table.write_text("location,provider,hours_per_week,expected_visits\nL1,01,200,10\nL2,01,40,0\n")
    code, out, err = run(
        "settle",
        f"{FIXTURES}/seh_settlement.policy",
        "--claims",
        f"{FIXTURES}/seh_claims.csv",
        "--table",
        f"seh_locations={table}",
    )
    assert code == 2
    assert out == ""
    assert (
        f"error[E0609]: table `seh_locations` ({table}) row 1 (key `L1`): "
        "hours per week must be between 0 and 168" in err
    )
    assert "help: hours_per_week = 200" in err
    assert "row 2 (key `L2`): expected visits must be above zero" in err


def test_settle_missing_table_exits_2() -> None:
    code, _, err = run(
        "settle", f"{FIXTURES}/seh_settlement.policy", "--claims", f"{FIXTURES}/seh_claims.csv"
    )
    assert code == 2
    assert "settlement `seh_settle` needs table `seh_locations`" in err


def test_fmt_check_then_rewrite_then_clean(tmp_path: Path) -> None:
    policy = tmp_path / "x.policy"
    policy.write_text('title t "T" { codes {"1"} tariff free }  # keep me\n')
    assert run("fmt", "--check", str(policy))[0] == 1
    assert run("fmt", str(policy))[0] == 0
    assert policy.read_text() == 'title t "T" {  # keep me\n  codes {"1"}\n  tariff free\n}\n'
    assert run("fmt", "--check", str(policy))[0] == 0


def test_test_command_reports_failures(tmp_path: Path) -> None:
    policy = tmp_path / "t.policy"
    policy.write_text(
        'title t "T" { codes {"1"} tariff maximum EUR 10.00 }\n'
        'test "pays the maximum" {\n'
        '  given claim { claim_id: "x", provider: "1", insurer: "2", patient: "p", code: "1",'
        " start_date: 2025-01-01, amount: EUR 12.00 }\n"
        '  expect claim "x" accepted payable EUR 12.00\n'
        "}\n"
    )
    code, out, _ = run("test", str(policy))
    assert code == 1
    assert "FAIL pays the maximum" in out
    assert "claim x: expected accepted, got adjusted" in out
    assert "claim x: expected payable EUR 12.00, got EUR 10.00" in out
    assert "0 passed, 1 failed" in out


def test_lint_reports_uncited_titles_and_overlaps(tmp_path: Path) -> None:
    policy = tmp_path / "l.policy"
    policy.write_text(
        'title a "A" { codes {"1".."5"} tariff free source "x:1" }\n'
        'title b "B" { codes {"3"} tariff free }\n'
    )
    code, _, err = run("lint", str(policy))
    assert code == 1
    assert "warning[L001]: payment title `b` cites no source" in err
    assert "warning[L002]: payment titles `a` and `b` can fund the same claim" in err
    assert "= note: shared codes: 3" in err


def test_the_bundled_rule_files_are_formatted() -> None:
    code, _, err = run("fmt", "--check", "rules/")
    assert code == 0, err


def test_pseudonymise_replaces_patients_consistently(tmp_path: Path) -> None:
    from policylang.io.ei import pseudonym

    claims = tmp_path / "c.csv"
    claims.write_text(
        "claim_id,provider,insurer,patient,code,start_date,amount,referrer\n"
        "a,1,3311,123456782,990001,2025-03-03,60.00,huisarts\n"
        "b,1,3311,123456782,029999021,2025-03-03,850.00,\n"
    )
    code, out, _ = run(
        "check",
        f"{GOLDEN}/core.policy",
        "--claims",
        str(claims),
        "--format",
        "json",
        "--pseudonymise",
    )
    assert code == 1
    decisions = json.loads(out)["decisions"]
    # The exclusion still finds the same patient: the pseudonym is stable.
    assert decisions[0]["reasons"][0]["message"].startswith("double funding")
    from policylang.io.claims import pseudonymised, read_csv

    first = next(pseudonymised(read_csv(claims)))
    assert first.fields["patient"] == pseudonym("123456782")
    assert len(first.fields["patient"]) == 32
    assert first.fields["patient"] != "123456782"


def test_version_prints_the_package_version() -> None:
    import policylang

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"policylang {policylang.__version__}\n"


def test_claims_from_stdin_and_decisions_to_stdout() -> None:
    by_file = runner.invoke(
        app, ["check", "rules/", "--claims", "examples/claims.csv", "--format", "jsonl"]
    )
    data = Path("examples/claims.csv").read_bytes()
    piped = runner.invoke(
        app,
        ["check", "rules/", "--claims", "-", "--format", "jsonl", "--output", "-"],
        input=data,
    )
    assert piped.exit_code == by_file.exit_code == 1
    assert piped.stdout == by_file.stdout
    assert len(piped.stdout.splitlines()) == 38  # one decision per claim row
    assert not Path("-").exists()  # `--output -` is standard output, not a file named `-`


def test_a_vektis_file_from_stdin_is_read_as_vektis() -> None:
    path = "examples/vektis/declaratie_2026.zh308"
    by_file = runner.invoke(app, ["check", "rules/", "--claims", path, "--format", "jsonl"])
    piped = runner.invoke(
        app,
        ["check", "rules/", "--claims", "-", "--format", "jsonl"],
        input=Path(path).read_bytes(),
    )
    assert piped.stdout == by_file.stdout
    assert [json.loads(line)["claim_id"] for line in piped.stdout.splitlines()][:2] == [
        "A-DBC",
        "A-IC1",
    ]
