"""Settlements scoped to their year (`year by claim.FIELD`), the settled period in expressions,
dated parameters that change inside the year, and lines of every unit; on both engines."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from tests.conftest import write_claims

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
POLICY = FIXTURES / "year_scoping.policy"
CLAIMS = FIXTURES / "year_claims.csv"


def _policy() -> policylang.Policy:
    return policylang.load(POLICY).with_tables({"locs": FIXTURES / "year_locs.csv"})


def both(policy: policylang.Policy, claims: object, **options: object) -> dict:
    interpreted = policy.settle(claims, **options)  # type: ignore[arg-type]
    batch = policy.settle(claims, engine="batch", **options)  # type: ignore[arg-type]
    assert batch.year == interpreted.year
    want, got = interpreted.to_json(), batch.to_json()
    assert got == want, json.dumps({"interpreter": want, "batch": got}, indent=1)
    return got


def _amounts(got: dict) -> dict[tuple[str, str], tuple[str, str]]:
    return {(x["party"], x["item"]): (x["amount"], x["unit"]) for x in got["lines"]}


def test_claims_of_the_year_by_start_date_on_both_engines() -> None:
    pytest.importorskip("duckdb")
    got = both(_policy(), CLAIMS, year=2027, only=["by_start", "all_claims"])
    amounts = _amounts(got)
    # L1: 2027-01-05 and 2027-03-01 (2026-12-31 starts in 2026); L2: 2027-12-31, not 2028-02-29
    assert amounts[("L1", "visits")] == ("2", "integer")
    assert amounts[("L2", "visits")] == ("1", "integer")
    assert amounts[("L1", "payable")] == ("20.00", "money")
    assert amounts[("L2", "payable")] == ("10.00", "money")
    assert amounts[("L1", "per visit")] == ("20.00", "money")
    # without `year by`, a settlement sees every claim of the file
    assert amounts[("L1", "visits all")] == ("3", "integer")
    assert amounts[("L2", "visits all")] == ("2", "integer")
    # the settled period in expressions
    assert amounts[("L1", "year")] == ("2027", "integer")
    assert amounts[("L1", "days")] == ("364", "days")
    # a percentage line
    assert amounts[("L1", "share")] == ("40%", "percent")
    # the check with `year by claim.end_date`: 2027-01-05, 2027-01-01 and 2027-03-01 (the empty
    # end date is the start date); 2027-12-31 ends 2028-01-02
    checks = {c["name"]: c for c in got["checks"]}
    assert checks["visits_2027"]["holds"] and checks["visits_2027"]["detail"] == "3 == 3"
    # percentages sum and compare with a percentage
    assert checks["shares"]["holds"] and checks["shares"]["detail"] == "100% == 100%"


def test_the_next_year_settles_its_own_claims() -> None:
    pytest.importorskip("duckdb")
    amounts = _amounts(both(_policy(), CLAIMS, year=2028, only=["by_start"]))
    assert amounts[("L1", "visits")] == ("0", "integer")
    assert amounts[("L2", "visits")] == ("1", "integer")  # 2028-02-29
    assert amounts[("L2", "payable")] == ("10.00", "money")
    assert amounts[("L1", "year")] == ("2028", "integer")
    assert amounts[("L1", "days")] == ("365", "days")  # a leap year


def test_a_parameter_read_on_a_date_or_pro_rata_by_days() -> None:
    amounts = _amounts(_policy().settle(CLAIMS, year=2027, only=["by_start"]).to_json())
    assert amounts[("L1", "budget on end")] == ("2000.00", "money")
    # (1000.00 x 181 days + 2000.00 x 184 days) / 365 = 1504.1095... -> 1504.11
    assert amounts[("L1", "budget pro rata")] == ("1504.11", "money")


def test_a_parameter_that_changes_inside_the_year_is_e0706_with_position_and_hint() -> None:
    with pytest.raises(policylang.InputError) as caught:
        _policy().settle(CLAIMS, year=2027, only=["changes_in_the_year"])
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E0706"
    assert diagnostic.message == (
        "settlement `changes_in_the_year`, party `L1`: parameter `budget` is 1000.00 on "
        "2027-01-01 and is 2000.00 on 2027-07-01: it changes inside the settled period "
        "2027-01-01 to 2027-12-31"
    )
    assert diagnostic.help == (
        "say which value: value_on(budget, settlement.end) or pro_rata(budget) (weighted by days)"
    )
    assert diagnostic.span is not None
    assert diagnostic.span.text == "budget"
    assert diagnostic.span.source.line_col(diagnostic.span.start) == (45, 19)
    # in 2028 the parameter does not change: no error
    result = _policy().settle(CLAIMS, year=2028, only=["changes_in_the_year"])
    assert [line.amount for line in result.lines] == [Decimal("2000.00")] * 2


def test_e0706_on_the_command_line_exits_2() -> None:
    result = CliRunner().invoke(
        app,
        [
            "settle",
            str(POLICY),
            "--claims",
            str(CLAIMS),
            "--table",
            f"locs={FIXTURES / 'year_locs.csv'}",
            "--year",
            "2027",
            "--settlement",
            "changes_in_the_year",
        ],
    )
    assert result.exit_code == 2
    assert "error[E0706]" in result.stderr
    assert "year_scoping.policy:45:19" in result.stderr


@pytest.mark.parametrize(
    ("body", "code", "message", "help"),
    [
        (
            'year by claim.code\n  line "x" = EUR 1.00',
            "E0705",
            "`year by` names a claim date; claim field `code` is code, not a date",
            "the claim's dates: claim.start_date, claim.end_date",
        ),
        (
            'year by claim.admission\n  line "x" = EUR 1.00',
            "E0705",
            "`year by` names a claim date; the claim has no field `admission`",
            "the claim's dates: claim.start_date, claim.end_date",
        ),
        (
            'year by claim.start_date\n  year by claim.end_date\n  line "x" = EUR 1.00',
            "E0705",
            "settlement `s` says `year by` twice",
            "one `year by claim.FIELD` line names the date that puts a claim in the year",
        ),
        (
            'line "x" = pro_rata(flag)',
            "E0707",
            "`pro_rata` weighs numbers by days; parameter `flag` is bool",
            "read one value: value_on(flag, settlement.end)",
        ),
        (
            'line "x" = value_on(EUR 1.00, settlement.end)',
            "E0707",
            "`value_on` takes a parameter and a date, found something else",
            "value_on(PARAMETER, settlement.end) or pro_rata(PARAMETER)",
        ),
        (
            'line "x" = settlement.month',
            "E0202",
            "a settlement has no field `month`",
            "fields: year, start, end",
        ),
        (
            'line "x" = present(settlement.year)',
            "E0303",
            "present() takes one claim or row field",
            None,
        ),
        (
            'line "x" = settlement.start',
            "E0301",
            "a settlement line must be a number, found date",
            "a line is an amount (EUR), a count, a number, days or a percentage; "
            "put a condition in `if ... then ... else ...`",
        ),
    ],
)
def test_errors_of_year_scoping_and_lines(body: str, code: str, message: str, help: str) -> None:
    text = (
        "table t key k {\n  k: code\n}\n"
        "parameter flag: bool\n  from 2027-01-01 = true\n"
        f"settlement s per r in t {{\n  {body}\n}}\n"
    )
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(text)
    found = [d for d in caught.value.diagnostics if d.code == code]
    assert [(d.message, d.help) for d in found] == [(message, help)]


def test_value_on_outside_a_settlement_is_e0707() -> None:
    text = (
        "parameter p: money\n  from 2027-01-01 = EUR 1.00\n"
        'title t { codes {"1"} tariff fixed value_on(p, 2027-01-01) }\n'
    )
    with pytest.raises(policylang.PolicyError) as caught:
        policylang.loads(text)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.message) == (
        "E0707",
        "`value_on` reads a parameter for the settled period: only in a settlement or a check",
    )


def test_seh_budget_2027_leaves_a_2028_visit_out_on_both_engines(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    locations = write_claims(
        tmp_path / "seh_locations.csv",
        [
            {
                "location": "06290101",
                "provider": "06290000",
                "hours_per_week": "168",
                "expected_visits": "30000",
                "availability_contribution": "0.00",
            }
        ],
    )
    visit = {
        "provider": "06290000",
        "insurer": "3311",
        "patient": "p1",
        "code": "SB0001",
        "amount": "136.67",
        "seh_visit": "true",
        "location": "06290101",
    }
    claims = write_claims(
        tmp_path / "claims.csv",
        [
            {**visit, "claim_id": "a", "start_date": "2027-01-01", "quantity": "10"},
            {**visit, "claim_id": "b", "start_date": "2027-12-31", "quantity": "5"},
            {**visit, "claim_id": "c", "start_date": "2028-02-29", "quantity": "7"},
        ],
    )
    policy = policylang.load(ROOT / "rules" / "seh_budget_2027.policy").with_tables(
        {"seh_locations": locations}
    )
    in_2027 = _amounts(both(policy, claims, year=2027))
    assert in_2027[("06290101", "actual visits")] == ("15", "integer")
    assert in_2027[("06290101", "expected visits")] == ("30000", "integer")
    # 4,100,000.00 - 136.67 x 15
    assert in_2027[("06290101", "vereffeningsbedrag")] == ("4097949.95", "money")
    in_2028 = _amounts(both(policy, claims, year=2028))
    assert in_2028[("06290101", "actual visits")] == ("7", "integer")
    assert in_2028[("06290101", "vereffeningsbedrag")] == ("4099043.31", "money")


def test_inkoop_in_representatie_per_insurer_and_via_the_market_leader() -> None:
    pytest.importorskip("duckdb")
    policy = policylang.load(ROOT / "rules" / "seh_inkoop_representatie.policy").with_tables(
        {
            "seh_locations": FIXTURES / "representatie_locations.csv",
            "seh_insurer_shares": FIXTURES / "representatie_shares.csv",
        }
    )
    got = both(policy, FIXTURES / "representatie_claims.csv", year=2027)
    lines = {(x["settlement"], x["party"], x["item"]): x["amount"] for x in got["lines"]}

    def per_insurer(item: str) -> list[str]:
        return [lines[("seh_budget_per_verzekeraar", f"06290101/{i}", item)] for i in INSURERS]

    def via_leader(item: str) -> list[str]:
        return [lines[("seh_budget_via_marktleider", f"06290101/{i}", item)] for i in INSURERS]

    # budget EUR 4,100,000.00 (168 h), tariff 4,100,000 / 30,000 = 136.67; the 2028 visit of
    # 0101 is not in 2027
    assert per_insurer("market share") == ["50%", "30%", "20%"]
    assert per_insurer("budget part") == ["2050000.00", "1230000.00", "820000.00"]
    assert per_insurer("visits claimed at the insurer") == ["12000", "9000", "6000"]
    assert per_insurer("claimed at the tariff") == ["1640040.00", "1230030.00", "820020.00"]
    # the parts add up to the location's vereffeningsbedrag 4,100,000 - 136.67 x 27,000
    assert per_insurer("vereffeningsbedrag of the insurer") == ["409960.00", "-30.00", "-20.00"]
    assert lines[("seh_budget", "06290101", "vereffeningsbedrag")] == "409910.00"
    # via the market leader 3311: it pays the provider the whole vereffeningsbedrag and settles
    # with the others; every insurer's net cost is its budget part
    assert via_leader("vereffeningsbedrag paid to the provider") == ["409910.00", "0.00", "0.00"]
    assert via_leader("settled with the market leader") == ["0.00", "-30.00", "-20.00"]
    assert via_leader("net cost of the insurer") == ["2050000.00", "1230000.00", "820000.00"]
    checks = {c["name"]: c for c in got["checks"]}
    assert checks["seh_delen_maken_het_budget"]["detail"] == "4100000.00 == 4100000.00"
    assert checks["seh_een_marktleider_per_locatie"]["holds"]
    assert checks["seh_marktaandelen_maken_het_geheel"]["holds"]


INSURERS = ("3311", "7029", "0101")


def test_shares_that_do_not_make_the_whole_fail_the_check(tmp_path: Path) -> None:
    shares = tmp_path / "shares.csv"
    shares.write_text(
        "location,insurer,market_share,market_leader\n"
        "06290101,3311,50%,true\n06290101,7029,40%,true\n",
        encoding="utf-8",
    )
    policy = policylang.load(ROOT / "rules" / "seh_inkoop_representatie.policy").with_tables(
        {"seh_locations": FIXTURES / "representatie_locations.csv", "seh_insurer_shares": shares}
    )
    with pytest.raises(policylang.InputError) as caught:
        policy.settle(FIXTURES / "representatie_claims.csv", year=2027)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message.startswith(
        "settlement `seh_budget_per_verzekeraar`, party `06290101/3311`: split for group "
        "`06290101`:"
    )
    result = policy.settle(FIXTURES / "representatie_claims.csv", year=2027, only=["seh_budget"])
    checks = {c.name: c for c in result.checks}
    assert not checks["seh_marktaandelen_maken_het_geheel"].holds
    assert not checks["seh_een_marktleider_per_locatie"].holds


def test_a_table_can_require_that_its_percentages_make_the_whole() -> None:
    text = (
        "table shares key k {\n  k: code\n  share: percent\n"
        '  require sum(x.share for x in shares) == 100% else "the shares make 100%"\n}\n'
    )
    policy = policylang.loads(text)
    whole = [{"k": "a", "share": "60%"}, {"k": "b", "share": "40%"}]
    assert policy.with_tables({"shares": policy.table_rows("shares", whole)})
    short = [{"k": "a", "share": "60%"}, {"k": "b", "share": "30%"}]
    with pytest.raises(policylang.PolicyError) as caught:
        policy.with_tables({"shares": policy.table_rows("shares", short)})
    found = [(d.code, d.message, d.help) for d in caught.value.diagnostics]
    assert found[0][0] == "E0609"
    assert found[0][1].endswith("row 1 (key `a`): the shares make 100%")
    assert found[0][2] is None  # `x` is the aggregate's row, not a column to show
