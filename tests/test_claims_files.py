"""`check` on whole claims files: the file's own problems, and files of a kind it does not read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.errors import InputError

VEKTIS = Path("tests/fixtures/vektis")
CLOSING = (
    "record 10 (type 99) field 9909 TOTAAL DECLARATIEBEDRAG at position 46: closing total is "
    "`1234.55` but the declared amounts add up to `1134.55`"
)
ACCEPTED = "policylang reads CSV, JSON Lines, Parquet or Vektis EI ZH308"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_wrong_closing_record_is_reported_and_every_claim_decided() -> None:
    code, out, err = run(
        "check", "rules/", "--claims", str(VEKTIS / "broken_wrong_closing_total.zh308")
    )
    assert code == 1  # every claim is paid, but the file is not clean
    assert f"file problem: {CLOSING}" in err
    assert "3 claims: 3 accepted" in out


def test_json_output_lists_the_file_problems() -> None:
    code, out, err = run(
        "check", "rules/", "--claims", str(VEKTIS / "broken_wrong_closing_total.zh308"),
        "--format", "json",
    )  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert data["file_problems"] == [CLOSING]
    assert len(data["decisions"]) == 3
    assert "file problem" not in err


def test_a_clean_vektis_file_has_no_file_problems() -> None:
    code, out, _ = run(
        "check", "rules/", "--claims", str(VEKTIS / "valid.zh308"), "--format", "json"
    )
    assert "file_problems" not in json.loads(out)
    assert code == 0


@pytest.mark.parametrize("engine", ["interpret", "batch", "auto"])
def test_an_mz301_file_is_exit_2_naming_its_kind(engine: str) -> None:
    path = VEKTIS / "MZ301_sample_testbestand.asc"
    code, _, err = run("check", "rules/", "--claims", str(path), "--engine", engine)
    assert code == 2
    assert (
        f"error[E0811]: claims file `{path}` is a Vektis EI MZ301 file (EI code 176), not a "
        f"claims file: {ACCEPTED}"
    ) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("claims.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "a spreadsheet (`.xlsx`)"),
        ("claims.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "a spreadsheet (`.xls`)"),
        ("claims.dat", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (
            "claims.csv",
            "claim_id,code\nc1,990001\n".encode("utf-16"),
            "UTF-16 text (save it as UTF-8 CSV)",
        ),
    ],
)
def test_a_spreadsheet_or_binary_file_is_exit_2(
    tmp_path: Path, name: str, data: bytes, kind: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = run("check", "rules/", "--claims", str(path))
    assert code == 2
    assert f"claims file `{path}` is {kind}, not a claims file: {ACCEPTED}" in err
    with pytest.raises(InputError) as raised:
        policylang.load("rules").check(path)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "E0811"
    assert diagnostic.message.endswith(f"is {kind}, not a claims file: {ACCEPTED}")
