"""A CSV header that lacks a column the claim schema requires is one exit-2 message about the
file (E0812), for check, settle and explain, on every engine; nothing is evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from policylang.cli import app

HEADER = "claim_id,provider,insurer,patient,code,start_date,quantity,amount_eur\n"
ROWS = (
    "C1,06010203,3311,P1,990001,2026-03-01,1,75.00\nC2,06010203,3311,P2,990001,2026-03-01,1,75.00\n"
)


def _claims(tmp_path: Path, header: str = HEADER) -> Path:
    path = tmp_path / "claims.csv"
    path.write_text(header + ROWS, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_check_names_the_missing_and_the_unknown_column(tmp_path: Path, engine: str) -> None:
    claims = _claims(tmp_path)
    result = CliRunner().invoke(
        app, ["check", "rules/", "--claims", str(claims), "--engine", engine]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error[E0812]: the header of `{claims}` lacks the claim field `amount` the rules "
        "require; it has column `amount_eur` the rules do not know",
        "  = help: `amount_eur`: did you mean `amount`?; rename the columns in the file to "
        "the names of the claim schema (docs/claims-formats.md)",
        "",
        "nothing was evaluated",
    ]


def test_several_missing_columns_are_named_in_schema_order(tmp_path: Path) -> None:
    claims = _claims(tmp_path, "claim_id,provider,insurer,code,start_date,quantity,bedrag\n")
    result = CliRunner().invoke(app, ["settle", "rules/", "--claims", str(claims)])
    assert result.exit_code == 2
    assert (
        f"error[E0812]: the header of `{claims}` lacks the claim fields `patient`, `amount` "
        "the rules require; it has column `bedrag` the rules do not know"
    ) in result.stderr
    # `bedrag` is close to no missing name: no "did you mean"
    assert "  = help: rename the columns in the file" in result.stderr


def test_explain_refuses_the_file_before_looking_for_the_claim(tmp_path: Path) -> None:
    claims = _claims(tmp_path)
    result = CliRunner().invoke(
        app, ["explain", "rules/", "--claims", str(claims), "--claim", "C1"]
    )
    assert result.exit_code == 2
    assert "error[E0812]" in result.stderr


def test_an_unknown_extra_column_alone_is_no_error(tmp_path: Path) -> None:
    claims = _claims(
        tmp_path,
        "claim_id,provider,insurer,patient,code,start_date,quantity,amount,afdeling\n",
    )
    claims.write_text(
        claims.read_text(encoding="utf-8").replace("75.00\n", "75.00,\n"), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["check", "rules/", "--claims", str(claims)])
    assert "E0812" not in result.stderr
    assert "2 claims:" in result.output  # both rows decided
