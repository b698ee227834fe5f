"""The realistic ZH308 example (examples/vektis): the exact decisions its README explains."""

from __future__ import annotations

import datetime as dt
import json
import runpy
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.io.ei import inspect_ei

EXAMPLE = Path("examples/vektis/declaratie_2026.zh308")

WANT = {
    "A-DBC": ("accepted", "2345.60", "dbc_zorgproduct"),
    "A-IC1": ("accepted", "2100.00", "ic_licht"),
    "A-DIA": ("accepted", "600.00", "dialyse_toeslag"),
    "A-IC2": ("adjusted", "3600.00", "ic_zwaar"),
    "B-DBC": ("accepted", "1875.00", "dbc_zorgproduct"),
    "B-DBC-C": ("accepted", "-1875.00", "dbc_zorgproduct"),
    "B-DBC-R": ("accepted", "1795.00", "dbc_zorgproduct"),
    "C-SEH": ("accepted", "250.00", "seh_contact"),
    "C-DBC": ("accepted", "640.00", "dbc_zorgproduct"),
    "C-FAKE": ("rejected", "0.00", None),
    "C-2028": ("rejected", "0.00", None),
    "C-DBC-R": ("rejected", "0.00", "dbc_zorgproduct"),
}


def test_the_example_is_what_its_script_writes(tmp_path: Path) -> None:
    script = runpy.run_path("examples/vektis/make_example.py")
    script["write_zh308"](
        script["CLAIMS"], tmp_path / "x.zh308", invoice_number="2026-0815",
        invoice_date=dt.date(2027, 2, 28),
    )  # fmt: skip
    assert (tmp_path / "x.zh308").read_bytes() == EXAMPLE.read_bytes()
    assert inspect_ei(EXAMPLE).problems == ()


def test_every_prestatie_is_decided_as_the_readme_says() -> None:
    decisions = policylang.load("rules").check(EXAMPLE)
    assert [d.claim_id for d in decisions] == list(WANT)
    assert {d.claim_id: (d.status, str(d.payable), d.title) for d in decisions} == WANT
    by_id = {d.claim_id: d for d in decisions}
    assert by_id["B-DBC-C"].reasons[0].message == (
        "credit of claim `B-DBC`: takes back its payable EUR 1,875.00"
    )
    assert by_id["C-DBC-R"].reasons[0].message == (
        "re-claim of claim `C-DBC`, which is paid and not credited: paying both would fund the "
        "same care twice"
    )
    assert by_id["C-FAKE"].reasons[0].message.endswith("unknown to the bundled NZa list")
    assert (
        by_id["C-2028"]
        .reasons[0]
        .message.startswith("no NZa zorgproduct list is bundled for the claim's date")
    )
    assert sum(d.payable for d in decisions) == Decimal("11330.60")


def test_check_on_the_example_through_the_command_line() -> None:
    result = CliRunner().invoke(
        app, ["check", "rules/", "--claims", str(EXAMPLE), "--format", "json"]
    )
    assert result.exit_code == 1  # three claims are rejected; the file itself is clean
    data = json.loads(result.stdout)
    assert "file_problems" not in data
    assert data["summary"] == {
        "claims": 12,
        "by_status": {"accepted": 8, "adjusted": 1, "rejected": 3, "error": 0},
        "claimed": "13710.60",
        "payable": "11330.60",
    }
