"""`split`: a DBC's tariff divided over the hospitals of a care network (docs/splitting.md).

Every amount below is computed by hand from the policy text in the test, not copied from output.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import policylang
from policylang.errors import PolicyError
from policylang.evaluate.splits import divide
from policylang.format import format_module
from policylang.syntax.parser import parse

HEADER = """policy "split tests"
enum Role { main_treater, diagnostics, aftercare }
claim { trajectory: code?  role: Role?  redone: bool = false }
table network key provider { provider: code  name: text }
title dbc "DBC" { codes {"020109023"} tariff fixed EUR 1000.00 }
"""

THIRDS = (
    HEADER
    + """split thirds "three equal parts" {
  of title dbc
  roles main_treater, diagnostics, aftercare
  weights main_treater 1, diagnostics 1, aftercare 1
  network in network
}
"""
)

SIXTY_FORTY = """policy "sixty forty"
enum Role { main_treater, diagnostics }
claim { trajectory: code?  role: Role? }
title dbc "DBC" { codes {"020109023"} tariff fixed EUR 1234.57 }
split sixty_forty {
  of title dbc
  roles main_treater, diagnostics
  shares main_treater 60%, diagnostics 40%
}
"""

NETWORK_ROWS = [
    {"provider": "A", "name": "Algemeen ziekenhuis"},
    {"provider": "B", "name": "Topklinisch ziekenhuis"},
]


def claim(claim_id: str, provider: str, amount: str, role: str | None, **extra: Any) -> dict:
    return {
        "claim_id": claim_id,
        "provider": provider,
        "insurer": "3311",
        "patient": extra.pop("patient", "P1"),
        "code": "020109023",
        "start_date": extra.pop("start_date", "2025-03-03"),
        "amount": amount,
        "trajectory": extra.pop("trajectory", "T1"),
        "role": role or "",
        **extra,
    }


def thirds_policy() -> policylang.Policy:
    policy = policylang.loads(THIRDS, "thirds.policy")
    return policy.with_tables({"network": policy.table_rows("network", NETWORK_ROWS)})


def decided(policy: policylang.Policy, claims: list[dict]) -> dict[str, tuple[str, str, list]]:
    return {
        d.claim_id: (d.status, str(d.payable), [r.message for r in d.reasons])
        for d in policy.check(claims)
    }


# ---------------------------------------------------------------- dividing


def test_thousand_in_three_equal_parts() -> None:
    spec = thirds_policy().program.splits["thirds"]
    parts = divide(spec, Decimal("1000.00"))
    assert parts == {
        "main_treater": Decimal("333.34"),
        "diagnostics": Decimal("333.33"),
        "aftercare": Decimal("333.33"),
    }


def test_thousand_in_three_equal_parts_as_claims() -> None:
    got = decided(
        thirds_policy(),
        [
            claim("m", "A", "333.34", "main_treater"),
            claim("d", "B", "333.33", "diagnostics"),
            claim("a", "A", "333.00", "aftercare"),
        ],
    )
    assert got["m"][:2] == ("accepted", "333.34")
    assert got["d"][:2] == ("accepted", "333.33")
    assert got["a"][:2] == ("adjusted", "333.33")
    assert got["a"][2][-1] == (
        "part `aftercare` of split `thirds` (trajectory `T1`): "
        "weight 1 of EUR 1,000.00 = EUR 333.33"
    )


def test_sixty_forty_of_1234_57() -> None:
    policy = policylang.loads(SIXTY_FORTY, "sixty.policy")
    spec = policy.program.splits["sixty_forty"]
    assert divide(spec, Decimal("1234.57")) == {
        "main_treater": Decimal("740.74"),
        "diagnostics": Decimal("493.83"),
    }
    got = decided(
        policy,
        [claim("m", "A", "740.74", "main_treater"), claim("d", "B", "493.83", "diagnostics")],
    )
    assert got["m"] == (
        "accepted",
        "740.74",
        [
            "funded as DBC (production)",
            "part `main_treater` of split `sixty_forty` (trajectory `T1`): "
            "60% of EUR 1,234.57 = EUR 740.74",
        ],
    )
    assert got["d"][:2] == ("accepted", "493.83")


def test_fee_off_the_top_and_discount_in_both_modes() -> None:
    text = (
        HEADER
        + """split s {
  of title dbc
  roles main_treater, diagnostics, aftercare
  shares main_treater 20%, diagnostics 55%, aftercare 25%
  coordination fee EUR 75.00 to main_treater
  discount 10% on diagnostics when claim.redone
}
"""
    )
    policy = policylang.loads(text, "fee.policy")
    # rest 925.00: main 185.00 + 75.00, diagnostics 508.75, aftercare 231.25
    assert divide(policy.program.splits["s"], Decimal("1000.00"), Decimal("75.00")) == {
        "main_treater": Decimal("260.00"),
        "diagnostics": Decimal("508.75"),
        "aftercare": Decimal("231.25"),
    }
    got = decided(
        policy,
        [
            claim("d", "B", "508.75", "diagnostics", redone="true"),
            claim("w", "A", "1000.00", None, trajectory="T2", redone="true"),
        ],
    )
    # 10% of 508.75 = 50.875 -> 50.88 (half up), in both modes
    assert got["d"][:2] == ("adjusted", "457.87")
    assert got["w"][:2] == ("adjusted", "949.12")
    assert got["w"][2][-1] == (
        "discount 10% on part `diagnostics` because `claim.redone`: EUR -50.88"
    )


# ---------------------------------------------------------------- rejections


def test_part_claimed_twice_rejects_only_the_duplicate() -> None:
    # the duplicate makes the parts claim EUR 1,333.33 of a EUR 1,000.00 whole: before, the
    # main treater's part and both copies were rejected; now only the later copy is
    got = decided(
        thirds_policy(),
        [
            claim("m", "A", "333.34", "main_treater"),
            claim("d2", "B", "333.33", "diagnostics", start_date="2025-03-04"),
            claim("d1", "B", "333.33", "diagnostics"),
            claim("a", "A", "333.33", "aftercare"),
        ],
    )
    assert got["d2"] == (
        "rejected",
        "0.00",
        ["duplicate: part `diagnostics` of trajectory `T1` is already claimed by claim d1"],
    )
    assert got["m"][:2] == ("accepted", "333.34")
    assert got["d1"][:2] == ("accepted", "333.33")  # the earliest copy stands
    assert got["a"][:2] == ("accepted", "333.33")


def test_a_duplicate_on_the_same_day_keeps_the_smallest_claim_id() -> None:
    got = decided(
        thirds_policy(),
        [claim("d2", "B", "333.33", "diagnostics"), claim("d1", "B", "333.33", "diagnostics")],
    )
    assert got["d1"][:2] == ("accepted", "333.33")
    assert got["d2"] == (
        "rejected",
        "0.00",
        ["duplicate: part `diagnostics` of trajectory `T1` is already claimed by claim d1"],
    )


def test_a_part_claimed_by_two_providers_rejects_both_and_nothing_else() -> None:
    got = decided(
        thirds_policy(),
        [
            claim("m", "A", "333.34", "main_treater"),
            claim("d1", "A", "333.33", "diagnostics"),
            claim("d2", "B", "333.33", "diagnostics"),
        ],
    )
    reason = (
        "part `diagnostics` of trajectory `T1` is claimed by more than one provider (claims d1, d2)"
    )
    assert got["d1"] == ("rejected", "0.00", [reason])
    assert got["d2"] == ("rejected", "0.00", [reason])
    assert got["m"][:2] == ("accepted", "333.34")


def test_the_whole_claimed_twice_rejects_the_copy() -> None:
    got = decided(
        thirds_policy(),
        [claim("w1", "A", "1000.00", None), claim("w2", "A", "1000.00", None)],
    )
    assert got["w1"][:2] == ("accepted", "1000.00")
    assert got["w2"] == (
        "rejected",
        "0.00",
        ["duplicate: the whole DBC of trajectory `T1` is already claimed by claim w1"],
    )


def test_parts_exceed_the_whole() -> None:
    got = decided(
        thirds_policy(),
        [claim("m", "A", "600.00", "main_treater"), claim("d", "B", "400.01", "diagnostics")],
    )
    reason = (
        "the parts of trajectory `T1` claim EUR 1,000.01 together, more than the whole EUR 1,000.00"
    )
    assert got["m"] == ("rejected", "0.00", [reason])
    assert got["d"] == ("rejected", "0.00", [reason])


def test_part_next_to_the_whole_is_double_funding() -> None:
    got = decided(
        thirds_policy(),
        [claim("w", "A", "1000.00", None), claim("d", "B", "333.33", "diagnostics")],
    )
    assert got["w"][:2] == ("accepted", "1000.00")
    assert got["d"] == (
        "rejected",
        "0.00",
        [
            "double funding: trajectory `T1` is also claimed as a whole DBC "
            "(claim w by provider `A`)"
        ],
    )


def test_part_from_outside_the_network() -> None:
    got = decided(thirds_policy(), [claim("x", "C", "333.33", "diagnostics")])
    assert got["x"] == (
        "rejected",
        "0.00",
        ["provider `C` is not a member of the network `network`"],
    )


def test_part_without_trajectory() -> None:
    got = decided(thirds_policy(), [claim("p", "A", "333.34", "main_treater", trajectory="")])
    assert got["p"] == (
        "rejected",
        "0.00",
        ["a part claim (role `main_treater`) needs a trajectory number"],
    )


def test_claim_order_does_not_matter() -> None:
    claims = [
        claim("w", "A", "1000.00", None),
        claim("d1", "B", "333.33", "diagnostics"),
        claim("d2", "B", "333.33", "diagnostics"),
        claim("m", "A", "333.34", "main_treater", trajectory="T2"),
        claim("a", "C", "333.33", "aftercare", trajectory="T2"),
    ]
    policy = thirds_policy()
    assert decided(policy, claims) == decided(policy, list(reversed(claims)))


# ---------------------------------------------------------------- both modes


def test_insurer_pays_the_same_in_both_modes() -> None:
    policy = thirds_policy()
    today = [claim("w", "A", "1000.00", None)]
    split = [
        claim("m", "A", "333.34", "main_treater"),
        claim("d", "B", "333.33", "diagnostics"),
        claim("a", "A", "333.33", "aftercare"),
    ]
    result = policy.compare_modes(today, split)
    assert result.insurer_today == result.insurer_split == Decimal("1000.00")
    assert result.hospitals == (
        ("A", Decimal("666.67"), Decimal("666.67")),
        ("B", Decimal("333.33"), Decimal("333.33")),
    )
    assert [(line.mode, line.payer, line.payee, line.amount) for line in result.lines] == [
        ("today", "insurer", "A", Decimal("1000.00")),
        ("today", "A", "B", Decimal("333.33")),
        ("split", "insurer", "A", Decimal("333.34")),
        ("split", "insurer", "B", Decimal("333.33")),
        ("split", "insurer", "A", Decimal("333.33")),
    ]
    assert result.holds


# ---------------------------------------------------------------- checking and formatting


def _error(text: str) -> tuple[str, str, str, str | None]:
    with pytest.raises(PolicyError) as caught:
        policylang.loads(text, "bad.policy")
    first = caught.value.diagnostics[0]
    assert first.span is not None
    return first.code, first.message, first.span.location(), first.help


def test_shares_not_summing_to_one_is_a_check_error() -> None:
    text = SIXTY_FORTY.replace("diagnostics 40%", "diagnostics 35%")
    assert _error(text) == (
        "E0711",
        "the shares of split `sixty_forty` sum to 95%, not 100%",
        "bad.policy:8:3",
        "shares must add up to exactly 100%: add 5% to one of the roles",
    )


def test_role_without_part_unknown_role_and_negative_weight() -> None:
    missing = SIXTY_FORTY.replace(", diagnostics 40%", "")
    assert _error(missing)[:3] == (
        "E0712",
        "`diagnostics` has no part in the shares of split `sixty_forty`",
        "bad.policy:8:3",
    )
    unknown = SIXTY_FORTY.replace("diagnostics 40%", "diagnostic 40%")
    assert _error(unknown) == (
        "E0712",
        "`diagnostic` is not one of the roles of this split",
        "bad.policy:8:28",
        "did you mean `diagnostics`?",
    )
    negative = SIXTY_FORTY.replace("diagnostics 40%", "diagnostics -40%")
    assert _error(negative)[:3] == (
        "E0713",
        "the part of `diagnostics` is negative: -40%",
        "bad.policy:8:40",
    )


def test_unknown_title_and_missing_claim_fields() -> None:
    assert _error(SIXTY_FORTY.replace("of title dbc", "of title dbd"))[:3] == (
        "E0501",
        "unknown payment title `dbd`",
        "bad.policy:6:12",
    )
    no_fields = SIXTY_FORTY.replace("claim { trajectory: code?  role: Role? }", "")
    assert _error(no_fields)[:3] == (
        "E0716",
        "split `sixty_forty` needs the claim field `trajectory`",
        "bad.policy:5:1",
    )


def test_fmt_round_trips_a_split() -> None:
    text = (
        HEADER
        + """split s "S" {
  of title dbc
  codes {"020109023"}
  tariff EUR 1_000.00
  roles main_treater, diagnostics, aftercare
  costs main_treater EUR 200.00, diagnostics EUR 550.00, aftercare EUR 250.00
  coordination fee EUR 75.00 to main_treater
  discount 10% on diagnostics when claim.redone
  network in network
  source "001_158c496e59021edc.txt:1108"
}
"""
    )
    module = parse(text, "s.policy")
    formatted = format_module(module)
    assert parse(formatted, "s.policy") == module
    assert format_module(parse(formatted, "s.policy")) == formatted
    assert "  costs main_treater EUR 200.00, diagnostics EUR 550.00, aftercare EUR 250.00\n" in (
        formatted
    )


# ---------------------------------------------------------------- weights from the claims

ACTIVITIES = """policy "split by activity"
enum Role { main_treater, diagnostics, aftercare }
claim { trajectory: code?  role: Role?  activities: integer?  weight: decimal?  remark: text? }
table network key provider { provider: code  name: text }
title dbc "DBC" { codes {"020109023"} tariff fixed EUR 1000.00 }
split by_activity {
  of title dbc
  roles main_treater, diagnostics, aftercare
  weights from claim.activities
  network in network
}
"""

WITH_FEE = ACTIVITIES.replace(
    "  network in network\n",
    "  coordination fee EUR 100.00 to main_treater\n  network in network\n",
)


def activity_policy(text: str = ACTIVITIES) -> policylang.Policy:
    policy = policylang.loads(text, "activity.policy")
    return policy.with_tables({"network": policy.table_rows("network", NETWORK_ROWS)})


def part(claim_id: str, provider: str, role: str, activities: str, **extra: Any) -> dict[str, Any]:
    return claim(
        claim_id, provider, extra.pop("amount", "0.00"), role, activities=activities, **extra
    )


def test_divide_by_claim_weights() -> None:
    spec = activity_policy().program.splits["by_activity"]
    assert spec.basis == "weights" and spec.weight_field == "activities" and spec.weights == ()
    one = Decimal(1)
    assert divide(spec, Decimal("1000.00"), weights=(one, one, one)) == {
        "main_treater": Decimal("333.34"),
        "diagnostics": Decimal("333.33"),
        "aftercare": Decimal("333.33"),
    }
    assert divide(spec, Decimal("1000.00"), weights=(Decimal(3), Decimal(0), one)) == {
        "main_treater": Decimal("750.00"),
        "diagnostics": Decimal("0.00"),
        "aftercare": Decimal("250.00"),
    }
    with pytest.raises(ValueError, match=r"weights from claim\.FIELD"):
        divide(spec, Decimal("1000.00"))
    with pytest.raises(ValueError, match="only by"):
        divide(thirds_policy().program.splits["thirds"], Decimal("1.00"), weights=(one, one, one))


def test_activities_one_one_one_as_claims() -> None:
    got = decided(
        activity_policy(),
        [
            part("m", "A", "main_treater", "1", amount="333.34"),
            part("d", "B", "diagnostics", "1", amount="333.33"),
            part("a", "A", "aftercare", "1", amount="300.00"),
        ],
    )
    assert got["m"][:2] == ("accepted", "333.34")
    assert got["d"][:2] == ("accepted", "333.33")
    assert got["a"] == (
        "adjusted",
        "333.33",
        [
            "funded as DBC (production)",
            "part `aftercare` of split `by_activity` (trajectory `T1`): "
            "weight 1 of 3 (`claim.activities`) of EUR 1,000.00 = EUR 333.33",
        ],
    )


def test_activities_three_and_one_only_the_claimed_parts_count() -> None:
    # aftercare claims no part: the whole is divided over 3 + 1 = 4 activities.
    got = decided(
        activity_policy(),
        [part("m", "A", "main_treater", "3"), part("d", "B", "diagnostics", "1")],
    )
    assert got["m"][:2] == ("adjusted", "750.00")
    assert got["d"][:2] == ("adjusted", "250.00")
    assert got["d"][2][-1].endswith(
        "weight 1 of 4 (`claim.activities`) of EUR 1,000.00 = EUR 250.00"
    )


def test_coordination_fee_first_then_the_activities() -> None:
    # rest 900.00 over 1 + 2 + 0: main 300.00 + 100.00, diagnostics 600.00, aftercare 0.00
    got = decided(
        activity_policy(WITH_FEE),
        [
            part("m", "A", "main_treater", "1", amount="400.00"),
            part("d", "B", "diagnostics", "2", amount="600.00"),
            part("a", "A", "aftercare", "0", amount="0.00"),
        ],
    )
    assert got["m"][:2] == ("accepted", "400.00")
    assert got["m"][2][-1] == (
        "part `main_treater` of split `by_activity` (trajectory `T1`): weight 1 of 3 "
        "(`claim.activities`) of EUR 900.00 plus the coordination fee EUR 100.00 = EUR 400.00"
    )
    assert got["d"][:2] == ("accepted", "600.00")
    assert got["a"][:2] == ("accepted", "0.00")


def test_decimal_weights_ties_and_rejected_parts() -> None:
    text = ACTIVITIES.replace("claim.activities", "claim.weight")
    got = decided(
        activity_policy(text),
        [
            claim("m", "A", "0.00", "main_treater", weight="2.5"),
            claim("a", "A", "0.00", "aftercare", weight="0.5"),
            # claimed by two providers: both rejected, so their weights do not count
            claim("d1", "A", "0.00", "diagnostics", weight="7"),
            claim("d2", "B", "0.00", "diagnostics", weight="7"),
        ],
    )
    # 1000 x 2.5/3 = 833.333.. -> 833.33; 1000 x 0.5/3 = 166.666.. -> 166.67 (largest remainder)
    assert got["m"][:2] == ("adjusted", "833.33")
    assert got["a"][:2] == ("adjusted", "166.67")
    assert got["d1"][0] == got["d2"][0] == "rejected"
    # equal remainders go to the earlier role in `roles`, not the earlier claim:
    # EUR 1,000.00 over diagnostics 1, aftercare 2 -> 333.333.. and 666.666.. -> 333.33, 666.67;
    # over main_treater 1, diagnostics 1, aftercare 1 the cent goes to main_treater.
    tie = decided(
        activity_policy(),
        [
            part("a", "A", "aftercare", "1"),
            part("d", "B", "diagnostics", "1"),
            part("m", "A", "main_treater", "1"),
            part("a2", "A", "aftercare", "2", trajectory="T2"),
            part("d2", "B", "diagnostics", "1", trajectory="T2"),
        ],
    )
    assert [tie[i][1] for i in ("m", "d", "a", "d2", "a2")] == [
        "333.34",
        "333.33",
        "333.33",
        "333.33",
        "666.67",
    ]


def test_missing_negative_and_all_zero_weights_are_errors() -> None:
    got = decided(
        activity_policy(),
        [
            part("m", "A", "main_treater", "2"),
            part("d", "B", "diagnostics", ""),
            part("a", "A", "aftercare", "-1"),
            part("z1", "A", "main_treater", "0", trajectory="T2"),
            part("z2", "B", "diagnostics", "0", trajectory="T2"),
            claim("w", "A", "1000.00", None, trajectory="T3"),  # a whole claim needs no weight
        ],
    )
    missing = (
        "split `by_activity` cannot divide trajectory `T1`: `claim.activities` is -1 on claim a; "
        "`claim.activities` is empty on claim d (every part claim needs `claim.activities` >= 0, "
        "and at least one above 0)"
    )
    for claim_id in ("m", "d", "a"):
        assert got[claim_id] == ("error", "0.00", [missing])
    zero = "`claim.activities` is 0 on every part claim (z1, z2)"
    assert got["z1"][0] == got["z2"][0] == "error"
    assert zero in got["z1"][2][0]
    assert got["w"][:2] == ("accepted", "1000.00")


def test_claim_weights_do_not_depend_on_claim_order() -> None:
    claims = [
        part("m", "A", "main_treater", "1"),
        part("d", "B", "diagnostics", "1"),
        part("a", "A", "aftercare", "1"),
        part("m2", "A", "main_treater", "5", trajectory="T2"),
        part("a2", "B", "aftercare", "2", trajectory="T2"),
    ]
    policy = activity_policy(WITH_FEE)
    forward = decided(policy, claims)
    assert decided(policy, list(reversed(claims))) == forward
    assert decided(policy, claims[2:] + claims[:2]) == forward
    # rest 900.00 over 1, 1, 1: the cent-free 300.00 each; T2: 900 x 5/7 = 642.857.. -> 642.86
    assert [forward[i][1] for i in ("m", "d", "a", "m2", "a2")] == [
        "400.00",
        "300.00",
        "300.00",
        "742.86",
        "257.14",
    ]


def test_claim_weights_same_money_in_both_modes() -> None:
    policy = activity_policy(WITH_FEE)
    today = [claim("w", "A", "1000.00", None)]
    split = [
        part("m", "A", "main_treater", "3"),
        part("d", "B", "diagnostics", "1"),
        part("a", "B", "aftercare", "2"),
    ]
    # rest 900.00 over 3 + 1 + 2 = 6: 450.00 (+ 100.00), 150.00, 300.00
    result = policy.compare_modes(today, split)
    assert [(line.mode, line.payer, line.payee, line.amount) for line in result.lines] == [
        ("today", "insurer", "A", Decimal("1000.00")),
        ("today", "A", "B", Decimal("150.00")),
        ("today", "A", "B", Decimal("300.00")),
        ("split", "insurer", "A", Decimal("550.00")),
        ("split", "insurer", "B", Decimal("150.00")),
        ("split", "insurer", "B", Decimal("300.00")),
    ]
    assert result.insurer_today == result.insurer_split == Decimal("1000.00")
    assert result.hospitals == (
        ("A", Decimal("550.00"), Decimal("550.00")),
        ("B", Decimal("450.00"), Decimal("450.00")),
    )
    assert result.holds


def test_weights_from_an_unknown_or_non_numeric_field_is_a_check_error() -> None:
    assert _error(ACTIVITIES.replace("claim.activities", "claim.activity")) == (
        "E0716",
        "split `by_activity` reads its weights from `claim.activity`, "
        "but the claim has no field `activity`",
        "bad.policy:9:22",
        "did you mean `activities`?",
    )
    assert _error(ACTIVITIES.replace("claim.activities", "claim.zzz"))[3] == (
        "declare it in a claim block: `claim { zzz: integer? }`"
    )
    assert _error(ACTIVITIES.replace("claim.activities", "claim.remark")) == (
        "E0716",
        "claim field `remark` is text; the weights of a split are integer or decimal numbers",
        "bad.policy:9:22",
        "declare it as `remark: integer?` (a number of activities) or "
        "`remark: decimal?` (a weight)",
    )


def test_a_discount_with_weights_from_the_claims_is_a_check_error() -> None:
    text = ACTIVITIES.replace(
        "claim { trajectory: code?", "claim { redone: bool = false  trajectory: code?"
    ).replace("  network in network\n", "  discount 10% on diagnostics when claim.redone\n")
    code, message, location, help_text = _error(text)
    assert (code, message, location) == (
        "E0719",
        "split `by_activity` cannot take a discount: its weights come from `claim.activities` "
        "of the part claims",
        "bad.policy:10:3",
    )
    assert help_text is not None and "today's mode" in help_text


def test_fmt_round_trips_weights_from_a_claim_field() -> None:
    module = parse(ACTIVITIES.replace("weights from", "weights   from"), "a.policy")
    formatted = format_module(module)
    assert formatted.endswith("  weights from claim.activities\n  network in network\n}\n")
    reparsed = parse(formatted, "a.policy")
    assert reparsed.items[-1].bases[0].field.name == "activities"  # type: ignore[union-attr]
    assert format_module(reparsed) == formatted


def test_the_network_example_rejects_only_the_duplicate_part() -> None:
    examples = Path(__file__).resolve().parent.parent / "examples" / "network_care"
    policy = policylang.load(Path("rules")).with_tables(
        {"oncology_network": examples / "network.csv"}
    )
    got = {d.claim_id: d for d in policy.check(examples / "claims_rejected.csv")}
    assert (got["R3"].status, got["R3"].payable) == ("accepted", Decimal("1306.25"))
    assert (got["R4"].status, got["R4"].payable) == ("rejected", Decimal("0.00"))
    assert [r.message for r in got["R4"].reasons] == [
        "duplicate: part `diagnostics` of trajectory `ZT-2025-0004` is already claimed by claim R3"
    ]
    assert sum(d.payable for d in got.values()) == Decimal("3756.25")
