"""Static findings L005-L008 (policylang/analysis/overlap.py, z3)."""

from __future__ import annotations

from pathlib import Path

import policylang
from policylang.lint import lint

POLICY = """
enum Referrer { huisarts, specialist }
claim { referrer: Referrer? }
title a "A" { codes {"PB1"} valid from 2026-01-01 to 2026-06-30 funding production tariff free
  eligible when claim.quantity <= 2 and claim.referrer == Referrer.huisarts source "x" }
title b "B" { codes {"PB1"} valid from 2026-03-01 funding budget tariff free
  eligible when claim.quantity >= 2 source "x" }
title c "C" { codes {"PB2"} valid from 2026-01-01 to 2026-03-31 funding production tariff free source "x" }
title d "D" { codes {"PB2"} valid from 2026-05-01 funding production tariff free source "x" }
title e "E" { codes {"PB3"} funding production tariff free
  eligible when claim.quantity == 1 source "x" }
title f "F" { codes {"PB3"} funding production tariff free
  eligible when claim.quantity > 1 source "x" }
rule never { applies to a when claim.quantity > 5 reject because "x" }
rule base { applies to a when claim.quantity == 1 reject because "x" }
rule exc exception to base { applies to a when claim.quantity == 2 accept because "y" }
"""


def findings(text: str = POLICY) -> dict[str, list[policylang.Diagnostic]]:
    found: dict[str, list[policylang.Diagnostic]] = {}
    for d in lint(policylang.loads(text).program):
        found.setdefault(d.code, []).append(d)
    return found


def test_l005_overlapping_titles_with_a_witness_claim() -> None:
    (finding,) = findings()["L005"]  # e and f are separated by quantity: proved, not reported
    assert finding.message == "payment titles `a` and `b` can both fund the same claim"
    assert finding.notes[0] == (
        "for example a claim with code=PB1, start_date=2026-03-01, quantity=2, amount=0, "
        "referrer=huisarts"
    )
    assert finding.notes[2] == "proved with z3"


def test_l005_untranslatable_condition_is_only_may() -> None:
    text = """
table t key k { k: code }
title a "A" { codes {"1"} funding production tariff free eligible when claim.code in t source "x" }
title b "B" { codes {"1"} funding production tariff free eligible when claim.quantity == 1 source "x" }
"""
    (finding,) = findings(text)["L005"]
    assert finding.message == "payment titles `a` and `b` may both fund the same claim"
    assert finding.notes[2].startswith("searched: some conditions could not be translated")


def test_l006_gap_between_validity_periods() -> None:
    (finding,) = findings()["L006"]
    assert finding.message == "code `PB2` has no payment title from 2026-04-01 to 2026-04-30"


def test_l007_rule_that_can_never_apply() -> None:
    (finding,) = findings()["L007"]
    assert finding.message == "rule `never` can never apply"


def test_l008_exception_that_can_never_win() -> None:
    (finding,) = findings()["L008"]
    assert finding.message == "exception `exc` can never win over `base`"


def test_lint_catches_the_broken_copy_with_two_titles_for_one_code() -> None:
    program = policylang.load(Path("tests/broken/two_titles_one_code")).program
    (finding,) = [d for d in lint(program) if d.code == "L005"]
    assert finding.message == (
        "payment titles `thuismonitoring` and `thuistoediening` can both fund the same claim"
    )
    assert "code=PB0010" in finding.notes[0]
    assert "setting=thuis" in finding.notes[0]
