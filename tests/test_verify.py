"""`policylang verify` finds the violation in every broken copy under tests/broken/, shrinks it
to a minimal counterexample, and `policylang check` reproduces it from the written CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.analysis.verify import verify
from policylang.cli import app

BROKEN = Path("tests/broken")

# broken copy, invariant it breaks, claims in the minimal counterexample, what the violation says
CASES = [
    ("new_title_with_dbc", "new_title_not_with_dbc", 2, "by `meekijkconsult` and claim c2 by `dbc_zorgproduct`"),
    ("two_ic_days", "one_ic_day_per_day", 2, "by `ic_middel` and claim c2 by `ic_middel`"),
    ("dialysis_with_picu", "dialysis_not_with_nicu_picu", 3, "by `dialyse_toeslag` and claim c2 by `pediatrische_ic`"),
    ("ic_weight_without_contract", "ic_weight_needs_contract", 1, "title ic_middel"),
    pytest.param("seh_budget_and_production", "seh_budget_or_production", 2, "by `seh_bezoek_budget` and claim c2 by `seh_contact`", marks=pytest.mark.slow),
    ("two_titles_one_code", "one_title_per_claim", 1, "claim c1 (error"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "invariant", "size", "detail"), CASES)
def test_verify_finds_and_check_reproduces(
    case: str, invariant: str, size: int, detail: str, tmp_path: Path
) -> None:
    policy = policylang.load(BROKEN / case)
    (result,) = verify(policy, examples=300, seed=0, out=tmp_path, only=[invariant])
    assert not result.holds
    assert len(result.claims) == size
    assert result.violation is not None
    assert detail in result.violation.violations[0].detail
    # the written files reproduce it
    claims_file, *tables = result.files
    assert claims_file == tmp_path / f"{invariant}.claims.csv"
    if tables:
        policy = policy.with_tables({p.name.split(".")[-2]: p for p in tables})
    _, found = policy.check_invariants(claims_file)
    (again,) = [r for r in found if r.name == invariant]
    assert not again.holds
    assert again.violations == result.violation.violations


def test_verify_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    policy = policylang.load(BROKEN / "two_ic_days")
    first = verify(policy, examples=100, seed=7, out=tmp_path / "a")
    second = verify(policy, examples=100, seed=7, out=tmp_path / "b")
    assert [r.claims for r in first] == [r.claims for r in second]


def test_verify_command_prints_the_reproducing_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["verify", str(BROKEN / "two_ic_days"), "--examples", "300", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "invariant one_ic_day_per_day: VIOLATED" in result.stdout
    assert (
        f"reproduce: policylang check {BROKEN / 'two_ic_days'} --claims "
        f"{tmp_path / 'one_ic_day_per_day.claims.csv'}" in result.stdout
    )


def test_an_intact_policy_holds(tmp_path: Path) -> None:
    rules = tmp_path / "ok.policy"
    rules.write_text(
        'title a "A" { codes {"1"} funding production tariff free '
        "not combinable with b on the same day }\n"
        'title b "B" { codes {"2"} funding production tariff free '
        "not combinable with a on the same day }\n"
        'invariant ab "a and b never together" { no patient funded by both a and b on the same day }\n'
    )
    (result,) = verify(policylang.load(rules), examples=200, seed=0, out=tmp_path)
    assert result.holds
    assert result.files == ()


class _SlowClock:
    """A machine where every clock reading is a minute later than the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 60.0
        return self.now

    monotonic = perf_counter

    def time(self) -> float:
        return self.perf_counter()


@pytest.mark.slow
def test_verify_gives_the_same_counterexample_on_a_slow_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hypothesis.internal.conjecture import engine

    # Hypothesis alone stops shrinking this one after five minutes of the slow clock
    policy = policylang.load(BROKEN / "two_ic_days")
    (fast,) = verify(policy, examples=300, seed=0)
    monkeypatch.setattr(engine, "time", _SlowClock())
    (slow,) = verify(policy, examples=300, seed=0)
    assert not fast.holds
    assert slow.claims == fast.claims
    assert len(slow.claims) == 2


def test_verify_shrinking_is_bounded_by_steps(tmp_path: Path) -> None:
    policy = policylang.load(BROKEN / "two_ic_days")
    (full,) = verify(policy, examples=300, seed=0)
    (unshrunk,) = verify(policy, examples=300, seed=0, shrink_steps=0)
    assert not unshrunk.holds
    # no step left for shrinking: the first violating claim set found is reported as it is
    assert unshrunk.claims != full.claims


def test_verify_leaves_nothing_in_the_working_directory(tmp_path: Path) -> None:
    # a fresh process, so Hypothesis's default cache folder would be the working directory
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["PYTHONPATH"] = str(ROOT)
    rules = ROOT / BROKEN / "two_ic_days"
    done = subprocess.run(
        [sys.executable, "-m", "policylang", "verify", str(rules), "--examples", "300",
         "--out", str(tmp_path / "cx")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cx"]
