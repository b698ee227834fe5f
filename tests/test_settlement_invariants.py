"""Invariants and checks over settlement lines: evaluated by settle, only for settlements that ran,
and they catch a rule file broken on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import policylang
from policylang.evaluate.settle import Settlement
from tests.conftest import ROOT

CONTRACTS = ROOT / "examples/contracts"
TABLES = {
    name: CONTRACTS / f"{name}.csv"
    for name in ("lump_sums", "market_shares", "revenue_ceilings", "population_contracts")
}


def _settle(rules: Path, settlement: str) -> Settlement:
    policy = policylang.load(rules).with_tables(TABLES)
    return policy.settle(CONTRACTS / "claims.csv", only=[settlement])


def test_lump_sum_invariant_holds_on_the_example() -> None:
    result = _settle(ROOT / "rules", "aanneemsom")
    found = {i.name: i for i in result.invariants}
    assert found["lump_sum_settles_exactly"].holds
    # The total-level schoning did not run, so its invariant over lines is not evaluated.
    assert "schoning_totaal_nets_to_zero" not in found


def test_a_lost_cent_in_the_lump_sum_settlement_is_caught(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    contracts = rules / "contracts.policy"
    text = contracts.read_text(encoding="utf-8")
    broken = text.replace(
        'line "final on the actual market share" = definitief',
        'line "final on the actual market share" = EUR 0.01 + definitief',
    )
    assert broken != text
    contracts.write_text(broken, encoding="utf-8")
    result = _settle(rules, "aanneemsom")
    (invariant,) = [i for i in result.invariants if i.name == "lump_sum_settles_exactly"]
    assert not invariant.holds
    lump_total = sum(
        int(line.split(",")[1].replace(".", ""))
        for line in (CONTRACTS / "lump_sums.csv").read_text().splitlines()[1:]
    )
    market_rows = len((CONTRACTS / "market_shares.csv").read_text().splitlines()) - 1
    assert invariant.violations[0].detail == (
        f"{(lump_total + market_rows) / 100:.2f} == {lump_total / 100:.2f} is false"
    )
