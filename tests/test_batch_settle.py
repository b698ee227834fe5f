"""`settle --engine batch`: the same lines, checks and invariants as the interpreter, to the cent.

The batch engine decides the claims on DuckDB and pushes each aggregate over `claims` down as
one grouped query (evaluate/batch/settle.py); the settlement runner is the interpreter's. Every
test compares `Settlement.to_json()` (and the year) of both engines.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("duckdb")

import policylang
from policylang.cli import app
from policylang.errors import PolicyError
from policylang.evaluate.batch import UnsupportedInBatch
from policylang.evaluate.batch import select as select_module
from policylang.evaluate.batch.settle import batch_settle, settle_supported
from tests.conftest import write_claims

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
SEH_2027 = ROOT / "examples" / "seh_2027"
CONTRACTS = ROOT / "examples" / "contracts"


def both(policy: policylang.Policy, claims: object, **options: object) -> dict:
    interpreted = policy.settle(claims, **options)  # type: ignore[arg-type]
    batch = policy.settle(claims, engine="batch", **options)  # type: ignore[arg-type]
    assert batch.year == interpreted.year
    want, got = interpreted.to_json(), batch.to_json()
    assert got == want, json.dumps({"interpreter": want, "batch": got}, indent=1)
    return got


def test_fixture_settlement_identical_and_on_the_command_line() -> None:
    policy = policylang.load(FIXTURES / "seh_settlement.policy").with_tables(
        {"seh_locations": FIXTURES / "seh_locations.csv"}
    )
    got = both(policy, FIXTURES / "seh_claims.csv")
    amounts = {(x["party"], x["item"]): x["amount"] for x in got["lines"]}
    assert amounts[("L1", "settlement")] == "4099863.33"
    assert [c["holds"] for c in got["checks"]] == [True]

    runner = CliRunner()
    args = [
        "settle",
        str(FIXTURES / "seh_settlement.policy"),
        "--claims",
        str(FIXTURES / "seh_claims.csv"),
        "--table",
        f"seh_locations={FIXTURES / 'seh_locations.csv'}",
        "--format",
        "json",
    ]
    interpreted = runner.invoke(app, args)
    batch = runner.invoke(app, [*args, "--engine", "batch"])
    assert interpreted.exit_code == batch.exit_code == 0
    assert batch.stdout == interpreted.stdout
    assert "engine: batch (--engine batch)" in batch.stderr


def test_seh_2027_budget_and_schoning_identical() -> None:
    # rules/ as a whole has per-claim invariants (below); these files hold every settlement
    # of the example
    policy = policylang.load(
        ROOT / "rules" / "seh_budget_2027.policy", ROOT / "rules" / "schoning.policy"
    ).with_tables(
        {
            "seh_locations": SEH_2027 / "seh_locations.csv",
            "hospitals": SEH_2027 / "hospitals.csv",
            "schoning_segmenten": SEH_2027 / "schoning_segmenten.csv",
        }
    )
    got = both(policy, SEH_2027 / "claims_2027.csv")
    budgets = [x for x in got["lines"] if x["party"] == "06011701" and x["item"] == "budget"]
    assert budgets and budgets[0]["amount"] == "4100000.00"
    vereffening = [x for x in got["lines"] if x["item"] == "vereffeningsbedrag"]
    assert len(vereffening) == 80


def test_contracts_identical() -> None:
    policy = policylang.load(ROOT / "rules" / "contracts.policy").with_tables(
        {
            name: CONTRACTS / f"{name}.csv"
            for name in ("lump_sums", "market_shares", "revenue_ceilings", "population_contracts")
        }
    )
    for only in (["aanneemsom"], ["omzetplafond"], ["populatie"], None):
        both(policy, CONTRACTS / "claims.csv", only=only)
    got = both(policy, CONTRACTS / "claims.csv", only=["omzetplafond"])
    paid = {(x["party"], x["item"]): x["amount"] for x in got["lines"]}
    assert paid[("06018105/3343", "paid (min of claims and ceiling)")] == "5000.00"


def test_rules_settle_with_every_invariant_in_sql() -> None:
    # rules/ has per-claim, double-funding and claim-set invariants: all compile to SQL
    policy = policylang.load(ROOT / "rules").with_tables(
        {"seh_locations": SEH_2027 / "seh_locations.csv"}
    )
    settle_supported(policy.program, ["seh_budget"], ("seh_locations",))
    got = both(policy, ROOT / "examples" / "claims.csv", year=2027, only=["seh_budget"])
    names = [i["name"] for i in got["invariants"]]
    assert names[:3] == ["one_title_per_claim", "new_title_not_with_dbc", "one_ic_day_per_day"]


PER_CLAIM_LOOKUP = """
claim { location: code? }
table places key location { location: code  cap: money }
title seh "SEH" { codes {"190015"} tariff free funding budget }
settlement s per p in places {
  line "visits" = EUR 1.00 * count(c in claims where c.location == p.location)
}
invariant capped "no claim above its location's cap" { decision.payable <= places[claim.location].cap }
"""


def test_an_invariant_not_in_sql_is_named_and_auto_falls_back(monkeypatch) -> None:
    policy = policylang.loads(PER_CLAIM_LOOKUP)
    rows = [{"location": "L1", "cap": "5.00"}]
    policy = policy.with_tables({"places": policy.table_rows("places", rows)})
    base = {"provider": "1", "insurer": "1", "patient": "p", "code": "190015"}
    base |= {"start_date": "2027-01-05", "amount": "10.00", "location": "L1"}
    claims = [base | {"claim_id": "1"}, base | {"claim_id": "2"}]
    with pytest.raises(UnsupportedInBatch, match=r"the invariant `capped` \(a table lookup\)"):
        policy.settle(claims, engine="batch")
    monkeypatch.setattr(select_module, "AUTO_BYTES", -1)
    monkeypatch.setattr(select_module, "input_size", lambda claims: (1, 1))
    outcome = batch_settle(policy, claims, None, None, "auto")
    assert outcome.settlement is None
    assert outcome.notes[0].startswith("engine: interpret (auto: the interpreter settles, because")
    assert "the invariant `capped`" in outcome.notes[0]
    result = policy.settle(claims, engine="auto")
    assert result == policy.settle(claims)
    assert [v.claims for v in result.invariants[0].violations] == [("1",), ("2",)]


PARTY_FILTER = """
claim { location: code? }
table places key location { location: code  threshold: money }
title seh "SEH" { codes {"190015"} tariff free funding budget }
settlement s per p in places {
  line "big" = EUR 1.00 * count(c in claims where c.location == p.location and c.payable > p.threshold)
}
"""


def test_a_party_dependent_filter_is_named_and_auto_falls_back(monkeypatch) -> None:
    policy = policylang.loads(PARTY_FILTER)
    policy = policy.with_tables(
        {"places": policy.table_rows("places", [{"location": "L1", "threshold": "5.00"}])}
    )
    claims = [
        {"claim_id": "1", "provider": "1", "insurer": "1", "patient": "p", "code": "190015"}
        | {"start_date": "2027-01-05", "amount": "10.00", "location": "L1"}
    ]
    with pytest.raises(UnsupportedInBatch, match=r"the condition `c.payable > p.threshold`"):
        settle_supported(policy.program)
    with pytest.raises(UnsupportedInBatch, match=r"c.payable > p.threshold"):
        policy.settle(claims, engine="batch")
    monkeypatch.setattr(select_module, "AUTO_BYTES", -1)
    monkeypatch.setattr(select_module, "input_size", lambda claims: (1, 1))
    result = policy.settle(claims, engine="auto")
    assert result == policy.settle(claims)
    assert [x.amount for x in result.lines] == [1]


EMPTY_SUM = """
claim { location: code?  visits: integer? }
table places key location { location: code }
title seh "SEH" { codes {"190015"} tariff free funding budget }
settlement s per p in places {
  line "visits" = EUR 1.00 * sum(c.visits for c in claims where c.location == p.location)
}
invariant few "few claims" { count(c in claims where c.status == "error") <= 0 }
"""


def test_run_time_fallbacks_an_empty_summed_field_and_a_failing_invariant(monkeypatch) -> None:
    policy = policylang.loads(EMPTY_SUM)
    policy = policy.with_tables({"places": policy.table_rows("places", [{"location": "L1"}])})
    base = {"provider": "1", "insurer": "1", "patient": "p", "code": "190015"}
    base |= {"start_date": "2027-01-05", "amount": "10.00", "location": "L1"}
    filled = [base | {"claim_id": "1", "visits": "3"}, base | {"claim_id": "2", "visits": "4"}]
    got = both(policy, filled)
    assert got["lines"][0]["amount"] == "7.00"
    assert got["invariants"][0]["holds"] is True
    with pytest.raises(UnsupportedInBatch, match="a claim whose `visits` is empty"):
        policy.settle([*filled, base | {"claim_id": "3"}], engine="batch")
    # an error, elsewhere: the invariant fails and names the claims it counted, in SQL too
    broken = [*filled, base | {"claim_id": "4", "visits": "x", "location": "L9"}]
    got = both(policy, broken)
    assert got["invariants"][0]["holds"] is False
    assert got["invariants"][0]["violations"] == [{"claims": ["4"], "detail": "1 <= 0 is false"}]
    monkeypatch.setattr(select_module, "AUTO_BYTES", -1)
    monkeypatch.setattr(select_module, "input_size", lambda claims: (1, 1))
    outcome = batch_settle(policy, [*broken, base | {"claim_id": "3"}], None, None, "auto")
    assert outcome.settlement is None
    assert outcome.notes[1].startswith("engine: interpret (auto fell back:")


# ---------------------------------------------------------------- differential

DIFFERENTIAL = """
policy "batch settle differential"
claim { location: code?  urgent: bool = false }
table locations key location {
  location: code
  provider: code
  expected_visits: integer
}
parameter rate: money
  by year {
    2026: EUR 10.00,
    2027: EUR 12.00,
  }
title seh "SEH" { codes {"190015"} tariff free funding budget }
title poli "Poli" { codes {"190060"} tariff maximum EUR 50.00 funding production }
rule not_urgent {
  applies to poli
  when not claim.urgent
  reject
  because "only urgent visits"
}
settlement per_location per loc in locations {
  let visits = count(c in claims where c.location == loc.location and c.status != "error")
  let paid = sum(c.payable for c in claims where c.location == loc.location and c.provider == loc.provider and (c.status == "accepted" or c.status == "adjusted"))
  let quantity = sum(c.quantity for c in claims where c.title == "seh" and c.location == loc.location and c.status in {"accepted", "adjusted"})
  let refused = count(c in claims where c.rule == "not_urgent" and loc.location == c.location)
  let production = count(c in claims where c.funding == "production" and c.location == loc.location and not c.urgent)
  let plain = count(c in claims where c.rule == "seh" and c.location == loc.location)
  line "tariff" = round(rate * loc.expected_visits / 7)
  line "paid" = paid
  line "settlement" = rate * visits - paid
  line "quantity" = quantity
  line "refused" = refused
  line "production" = production
  line "funded as seh" = plain
}
settlement per_location_in_year per loc in locations {
  year by claim.start_date
  line "visits in the year" = count(c in claims where c.location == loc.location and c.status != "error")
  line "paid in the year" = sum(c.payable for c in claims where c.location == loc.location and (c.status == "accepted" or c.status == "adjusted"))
  line "settled year" = settlement.year
}
check ending_in_the_year { year by claim.end_date holds count(c in claims where c.status != "error") <= count(c in claims) }
check paid_adds_up { holds sum(c.payable for c in claims where c.location != "L9") == sum(x.amount for x in lines where x.item == "paid") }
check few_errors { holds count(c in claims where c.status == "error" or c.rule == "payment_title") <= 2 warn only }
"""
DIFFERENTIAL_POLICY = policylang.loads(DIFFERENTIAL)
DIFFERENTIAL_POLICY = DIFFERENTIAL_POLICY.with_tables(
    {
        "locations": DIFFERENTIAL_POLICY.table_rows(
            "locations",
            [
                {"location": "L1", "provider": "01", "expected_visits": "100"},
                {"location": "L2", "provider": "02", "expected_visits": "35"},
                {"location": "L3", "provider": "01", "expected_visits": "1"},
            ],
        )
    }
)
DIFFERENTIAL_CLAIM = {
    "claim_id": st.sampled_from([f"c{i}" for i in range(12)] + [""]),
    "provider": st.sampled_from(["01", "02", ""]),
    "insurer": st.just("3311"),
    "patient": st.sampled_from(["p1", "p2"]),
    "code": st.sampled_from(["190015", "190015", "190060", "999999"]),
    "start_date": st.sampled_from(
        ["2026-12-31", "2027-01-01", "2027-06-30", "2026-06-01"] * 4 + ["2027-02-30", ""]
    ),
    "quantity": st.sampled_from(["1", "1", "2", "5", ""] * 3 + ["x"]),
    "amount": st.sampled_from(["10.00", "49.99", "50.00", "75.50", "0.00"] * 3 + ["12,50", ""]),
    "location": st.sampled_from(["L1", "L2", "L3", "L9", ""]),
    "urgent": st.sampled_from(["", "true", "false"] * 4 + ["misschien"]),
}
differential_claim = st.fixed_dictionaries(DIFFERENTIAL_CLAIM)


def test_differential_policy_reads_rule_funding_and_quantity() -> None:
    base = {"provider": "01", "insurer": "3311", "patient": "p", "start_date": "2027-03-01"}
    base |= {"location": "L1", "amount": "60.00"}
    claims = [
        base | {"claim_id": "1", "code": "190015", "quantity": "3"},
        base | {"claim_id": "2", "code": "190060", "urgent": "false"},
        base | {"claim_id": "3", "code": "190060", "urgent": "true"},
        base | {"claim_id": "4", "code": "999999"},
    ]
    claims.append(base | {"claim_id": "5", "code": "190015", "start_date": "2028-01-02"})
    got = both(DIFFERENTIAL_POLICY, claims, year=2027)
    lines = {
        x["item"]: x["amount"]
        for x in got["lines"]
        if x["party"] == "L1" and x["settlement"] == "per_location"
    }
    assert lines == {
        "tariff": "171.43",  # round(12.00 x 100 / 7)
        "paid": "170.00",  # 60.00 + 50.00 (maximum tariff) + 60.00 (the 2028 visit)
        "settlement": "-110.00",  # 5 claims not in error (4 is rejected) x 12.00 - 170.00
        "quantity": "4",
        "refused": "1",
        "production": "1",
        "funded as seh": "2",  # claims 1 and 5
    }
    in_year = {
        x["item"]: x["amount"]
        for x in got["lines"]
        if x["party"] == "L1" and x["settlement"] == "per_location_in_year"
    }
    # `year by claim.start_date`: the visit of 2028-01-02 is not in 2027
    assert in_year == {
        "visits in the year": "4",
        "paid in the year": "110.00",
        "settled year": "2027",
    }
    assert [c["holds"] for c in got["checks"]] == [True, True, True]


def _outcome(claims: Path, engine: str) -> object:
    try:
        return DIFFERENTIAL_POLICY.settle(claims, engine=engine).to_json()
    except PolicyError as error:  # e.g. no claim with a year: `rate` has no value
        return str(error)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(differential_claim, min_size=0, max_size=20))
def test_batch_settle_matches_interpreter_on_generated_claims(rows: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = write_claims(Path(directory) / "claims.csv", rows, list(DIFFERENTIAL_CLAIM))
        assert _outcome(path, "batch") == _outcome(path, "interpret")


def test_no_claims_and_empty_rows() -> None:
    policy = policylang.load(FIXTURES / "seh_settlement.policy").with_tables(
        {"seh_locations": FIXTURES / "seh_locations.csv"}
    )
    got = both(policy, [], year=2027)
    assert got["checks"][0]["detail"] == "0.00 == 30.00"
    both(policy, [{}, {}])  # two claims in error and no settlement year: this policy needs none
    decisions = [d.to_json() for d in policy.check([{}, {}], engine="batch")]
    assert decisions == [d.to_json() for d in policy.check([{}, {}])]
    assert [d["status"] for d in decisions] == ["error", "error"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("settle", "error: unknown --engine `spark`; use interpret, batch or auto"),
        ("check", "error: unknown --engine `sparks`; use interpret, batch, spark or auto"),
    ],
)
def test_an_engine_a_command_does_not_have_is_exit_2(command: str, message: str) -> None:
    engine = "spark" if command == "settle" else "sparks"
    result = CliRunner().invoke(
        app,
        [
            command,
            "tests/fixtures/policies/seh_settlement.policy",
            "--claims",
            "examples/claims.csv",
            "--engine",
            engine,
        ],
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_missing_table_is_refused_before_any_claim_is_decided(monkeypatch) -> None:
    from policylang.errors import InputError
    from policylang.evaluate.batch.engine import BatchEngine

    def never(*args: object) -> None:
        raise AssertionError("claims decided before the missing table was reported")

    monkeypatch.setattr(BatchEngine, "run", never)
    rules, claims = ROOT / "rules" / "seh_budget_2027.policy", SEH_2027 / "claims_2027.csv"
    policy = policylang.load(rules)
    for engine in ("interpret", "batch"):
        with pytest.raises(InputError, match="settlement `seh_budget` needs table `seh_locations`"):
            policy.settle(claims, engine=engine)
        # the command line too, which runs the batch engine itself to say which engine ran
        args = ["settle", str(rules), "--claims", str(claims), "--engine", engine]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "error[E0608]: settlement `seh_budget` needs table `seh_locations`" in result.stderr


def test_check_leaves_an_invariant_not_in_sql_to_the_interpreter() -> None:
    from policylang.evaluate.batch.command import batch_check

    policy = policylang.loads(PER_CLAIM_LOOKUP)
    policy = policy.with_tables(
        {"places": policy.table_rows("places", [{"location": "L1", "cap": "5.00"}])}
    )
    base = {"provider": "1", "insurer": "1", "patient": "p", "code": "190015"}
    base |= {"start_date": "2027-01-05", "amount": "10.00", "location": "L1"}
    claims = [base | {"claim_id": "1"}, base | {"claim_id": "2", "amount": "3.00"}]
    outcome = batch_check(policy, claims, "batch", "json", None)
    assert outcome.notes == (
        "engine: batch (--engine batch)",
        "invariants: the interpreter evaluates the invariant `capped` (a table lookup)",
    )
    _, interpreted = policy.check_invariants(claims)
    assert [r.to_json() for r in outcome.invariants] == [r.to_json() for r in interpreted]
    assert [v.claims for v in interpreted[0].violations] == [("1",)]  # 10.00 above the cap
