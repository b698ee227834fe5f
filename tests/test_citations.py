"""Citations that hold: `policylang lint --sources DIR` opens the cited documents, `rules/` is
lint-clean, and a decision carries every citation of its title."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from tests.conftest import ROOT, write_claims

SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
REGULATION = SHARED / "data" / "real" / "regelgeving"

POLICY = """policy "cited"
  source "doc.txt:1"

parameter fee: money = EUR 1.00
  source "doc.txt:2"
  source "doc.txt:4-5"

title t "T" {
  codes {"1"}
  funding production
  tariff maximum fee
  source "Kamerstuk 29 247 nr. 469, doc.txt:3"
  source "doc.txt:9"
  source "other.txt:1"
  source "NZa NR/CU-263 art. 33a lid 3"
}
"""


@pytest.fixture
def cited(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cited.policy").write_text(POLICY, encoding="utf-8")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "doc.txt").write_text("first\n\nthird\nfourth\n\n", encoding="utf-8")
    return rules, sources


def test_lint_sources_reports_blank_missing_and_past_the_end(cited: tuple[Path, Path]) -> None:
    rules, sources = cited
    result = CliRunner().invoke(app, ["lint", str(rules), "--sources", str(sources)])
    assert result.exit_code == 1
    err = result.stderr
    assert "warning[L010]: `doc.txt:2` is a blank line" in err
    assert "cited.policy:5:3" in err
    assert "warning[L011]: `doc.txt:9` is past the end of the file" in err
    assert f"warning[L011]: cited file `other.txt` is not in {sources}" in err
    # doc.txt:1, 4-5 (one line of the range has text) and 3 inside a public reference hold
    assert "doc.txt:1`" not in err and "doc.txt:4-5" not in err and "doc.txt:3`" not in err
    assert err.strip().endswith("3 findings")


def test_lint_show_prints_the_cited_text_next_to_the_declaration(cited: tuple[Path, Path]) -> None:
    rules, sources = cited
    result = CliRunner().invoke(app, ["lint", str(rules), "--sources", str(sources), "--show"])
    out = result.stdout
    assert (
        "cited.policy:12:3: source 'Kamerstuk 29 247 nr. 469, doc.txt:3'\n    doc.txt:3 | third"
        in out
    )
    assert "source 'doc.txt:4-5'\n    doc.txt:4 | fourth\n    doc.txt:5 | \n" in out
    assert "source 'NZa NR/CU-263 art. 33a lid 3'\n    (no FILE:LINE to open)" in out
    assert "source 'other.txt:1'\n    other.txt: not found" in out


def test_show_needs_sources_and_sources_must_be_a_folder(cited: tuple[Path, Path]) -> None:
    rules, sources = cited
    shown = CliRunner().invoke(app, ["lint", str(rules), "--show"])
    assert shown.exit_code == 2
    assert "--show prints the cited text, and needs --sources DIR" in shown.stderr
    missing = CliRunner().invoke(app, ["lint", str(rules), "--sources", str(sources / "nope")])
    assert missing.exit_code == 2
    assert "is not a folder" in missing.stderr


def test_the_shipped_rules_are_lint_clean() -> None:
    result = CliRunner().invoke(app, ["lint", "rules/"])
    assert result.stderr.strip().endswith("0 findings")
    assert result.exit_code == 0


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents (../shared/seeds) are not here")
def test_every_citation_of_the_shipped_rules_points_at_a_line_with_text() -> None:
    folders = ["--sources", str(SEEDS)]
    if REGULATION.is_dir():
        folders += ["--sources", str(REGULATION)]
    result = CliRunner().invoke(app, ["lint", "rules/", *folders])
    assert result.stderr.strip().endswith("0 findings"), result.stderr
    assert result.exit_code == 0


def test_a_decision_carries_every_citation_of_its_title(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    policy = policylang.loads(POLICY.replace('policy "cited"\n  source "doc.txt:1"\n', ""))
    claims = write_claims(
        tmp_path / "claims.csv",
        [
            {
                "claim_id": "c1",
                "provider": "01",
                "insurer": "3311",
                "patient": "p",
                "code": "1",
                "start_date": "2026-01-01",
                "amount": "1.00",
            }
        ],
    )
    want = (
        "Kamerstuk 29 247 nr. 469, doc.txt:3; doc.txt:9; other.txt:1; NZa NR/CU-263 art. 33a lid 3"
    )
    for engine in ("interpret", "batch"):
        (decision,) = policy.check(claims, engine=engine)
        assert [r.source for r in decision.reasons] == [want], engine
