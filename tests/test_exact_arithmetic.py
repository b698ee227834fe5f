"""Rule arithmetic is exact inside the documented range (docs/reliability.md#rule-files), runs in
its own Decimal context, and a value no type can hold fails one test or one claim, not the run."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

import policylang
from policylang.cli import app

runner = CliRunner()

# 999999999999999.99 * 0.500000000001 = 500000000000999.99499999999999 (29 digits): Python's
# default 28-digit context rounded it to ...999.9950000000000 and then to cents, EUR 0.01 too much.
TITLE = """title t "T" {{
  codes {{"990001"}}
  funding production
  tariff fixed {tariff}
  source "x"
}}
"""
CLAIMS = "claim_id,provider,insurer,patient,code,start_date,amount\nc1,01234567,3311,p1,990001,2025-03-01,1.00\n"


def _decide(tmp_path: Path, tariff: str, engine: str = "interpret") -> tuple[int, str]:
    rules = tmp_path / "p.policy"
    rules.write_text(TITLE.format(tariff=tariff), encoding="utf-8")
    claims = tmp_path / "c.csv"
    claims.write_text(CLAIMS, encoding="utf-8")
    args = ["check", str(rules), "--claims", str(claims), "--engine", engine, "--format", "json"]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout + result.stderr


def test_a_29_digit_product_is_rounded_to_cents_exactly(tmp_path: Path) -> None:
    code, out = _decide(tmp_path, "EUR 999999999999999.99 * 0.500000000001")
    assert code == 0
    assert '"payable": "500000000000999.99"' in out


def test_auto_engine_gives_the_exact_amount_too(tmp_path: Path) -> None:
    """The batch engine's DECIMAL(18) product overflows here: auto decides on the interpreter."""
    code, out = _decide(tmp_path, "EUR 999999999999999.99 * 0.500000000001", "auto")
    assert code == 0
    assert '"payable": "500000000000999.99"' in out
    code, out = _decide(tmp_path, "EUR 999999999999999.99 * 0.500000000001", "batch")
    assert code == 2  # refused with a reason, never a different amount
    assert "not supported by the batch engine" in out


def test_a_value_too_large_to_round_is_an_error_decision(tmp_path: Path) -> None:
    big = " * ".join(["EUR 999999999999999.99"] + ["999999999999999"] * 6)
    code, out = _decide(tmp_path, f"round({big})")
    assert code == 1
    assert '"status": "error"' in out
    assert "too large to round: amounts stay below 10^15" in out


def test_the_callers_decimal_context_is_left_alone() -> None:
    policy = policylang.loads(TITLE.format(tariff="EUR 10.00 / 3"))
    with decimal.localcontext() as context:
        context.prec = 5
        [decision] = policy.check(
            [
                {
                    "claim_id": "c1",
                    "provider": "01234567",
                    "insurer": "3311",
                    "patient": "p1",
                    "code": "990001",
                    "start_date": "2025-03-01",
                    "amount": "1.00",
                }
            ]
        )
        assert decimal.getcontext().prec == 5
    assert decision.payable == Decimal("3.33")


def test_test_blocks_report_values_no_type_can_hold(tmp_path: Path) -> None:
    rules = tmp_path / "t.policy"
    big = " * ".join(["EUR 999999999999999.99"] + ["999999999999999"] * 6)
    rules.write_text(
        "parameter g: decimal by year { 2024: 1.0 }\n"
        'test "year 10000" {\n  expect value g(10000) == 1.0\n}\n'
        f'test "round of a huge amount" {{\n  expect value round({big}) == EUR 0.00\n}}\n'
        'test "date past the end" {\n  expect value 9999-12-31 + 1 days == 9999-12-31\n}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["test", str(rules)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[1] == (
        "`g(10000) == 1.0`: parameter `g` has no value for 10000; "
        "it is given for the years 2024-2024"
    )
    assert lines[3].endswith(
        "the value 1.000000E+105 is too large to round: amounts stay below 10^15 "
        "(docs/reliability.md#rule-files)"
    )
    assert lines[5] == (
        "`9999-12-31 + 1 days == 9999-12-31`: `9999-12-31` + 1 days is outside the dates "
        "policylang handles (0001-01-01 to 9999-12-31)"
    )
    assert lines[-1] == "0 passed, 3 failed"
