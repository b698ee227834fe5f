"""Credit lines and re-claims (herdeclaraties): the claims that correct other claims.

A credit (`credit` true, a negative or zero `amount`) takes back the claim named in `corrects`.
Hospitals and insurers exchange them as in docs/claims-formats.md; the engine decides them so
that money never moves the wrong way:

- phase 1 (`sign_problem`, `as_credit`): a negative amount on a claim that is not a credit is an
  `error`; a credit is decided by the rules of its code on its amount with the sign turned, and
  the sign is kept on the result, so a credit never pays out whatever the tariff;
- phase 3 (`apply_corrections`, after the cross-claim checks, which credits take no part in):
  1. a re-claim of a claim in the set that is still paid and that no credit takes back is
     rejected: paying both would fund the same care twice;
  2. a credit of a claim in the set takes back exactly that claim's final payable (to the cent,
     its title and citation), once: a second credit of the same claim is rejected, a credit of a
     claim that pays nothing takes back nothing. One whose original is not in the set keeps its
     phase-1 decision.

The batch engine does the same in SQL (evaluate/batch/credits.py); the differential tests compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from policylang import ir
from policylang.decision import ZERO, Decision, Reason
from policylang.evaluate.compile import round_money
from policylang.io.claims import ClaimRow

PAID = ("accepted", "adjusted")
MATCHED = ("patient", "provider", "code")  # a credit must agree with its original on these


def money(value: Decimal) -> str:
    return f"{round_money(value):,f}"


def sign_problem(values: dict) -> Reason | None:
    """The reason a claim's amount has the wrong sign for what it is, or None."""
    amount: Decimal = values["amount"]
    if values.get("credit"):
        if amount > 0:
            return Reason(
                "amount",
                f"field `amount`: EUR {money(amount)} on a credit: a credit takes back an "
                "amount, written negative",
            )
    elif amount < 0:
        return Reason(
            "amount",
            f"field `amount`: EUR {money(amount)} is negative but the claim is not a credit: a "
            "credit line says `credit` true and names the claim it takes back in `corrects`",
        )
    return None


def turned(claim: ClaimRow) -> ClaimRow:
    """The credit as the debit it takes back: the same claim with the amount's sign turned."""
    return ClaimRow(claim.row, claim.claim_id, {**claim.values, "amount": -claim.values["amount"]})


def standalone_reason(values: dict) -> Reason:
    corrects = values.get("corrects")
    if corrects is None:
        head = "credit that names no claim in `corrects`"
    else:
        head = f"credit of claim `{corrects}`, which is not in this claim set"
    return Reason("credit", f"{head}: decided by the same rules with its sign kept")


def as_credit(decision: Decision, claim: ClaimRow) -> Decision:
    """The phase-1 decision of a credit from the decision of its turned claim: the sign kept."""
    claimed: Decimal = claim.values["amount"]
    if decision.status not in PAID:
        return attrs.evolve(decision, claimed=claimed)
    payable = ZERO - decision.payable
    return Decision(
        claim.claim_id,
        "accepted" if payable == claimed else "adjusted",
        payable,
        claimed,
        decision.title,
        decision.funding,
        (*decision.reasons, standalone_reason(claim.values)),
        claim.row,
    )


def _first_rows(rows: Sequence[ClaimRow]) -> dict[str, int]:
    """claim_id -> the first row that has it (the one a duplicate is measured against)."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        if "claim_id" in row.values or not row.claim_id.startswith("row "):
            first.setdefault(row.claim_id, index)
    return first


def _clean(row: ClaimRow) -> bool:
    return not row.problems and sign_problem(row.values) is None


def apply_corrections(
    program: ir.Program, rows: Sequence[ClaimRow], decisions: list[Decision]
) -> list[Decision]:
    """Phase 3: re-claims, then credits of claims in the set (module docstring)."""
    first = _first_rows(rows)
    credits, reclaims = [], []
    for index, row in enumerate(rows):
        values = row.values
        target = values.get("corrects")
        if target is None or not _clean(row) or first.get(row.claim_id) != index:
            continue
        (credits if values.get("credit") else reclaims).append(index)
    if not credits and not reclaims:
        return decisions
    result = list(decisions)

    def agrees(credit: int, original: int) -> str | None:
        for name in MATCHED:
            if rows[credit].values.get(name) != rows[original].values.get(name):
                return name
        return None

    taken_back = {
        first[rows[c].values["corrects"]]
        for c in credits
        if rows[c].values["corrects"] in first
        and agrees(c, first[rows[c].values["corrects"]]) is None
    }
    for index in reclaims:
        target = rows[index].values["corrects"]
        original = first.get(target)
        if original is None or original == index or rows[original].values.get("credit"):
            continue
        paid = result[index].status in PAID and result[original].status in PAID
        if paid and original not in taken_back:
            spec = program.titles.get(result[index].title or "")
            result[index] = Decision(
                rows[index].claim_id,
                "rejected",
                ZERO,
                rows[index].values["amount"],
                result[index].title,
                result[index].funding,
                (
                    Reason(
                        "corrects",
                        f"re-claim of claim `{target}`, which is paid and not credited: "
                        "paying both would fund the same care twice",
                        spec.citation if spec else None,
                    ),
                ),
                rows[index].row,
            )
    reversing: dict[int, int] = {}  # original -> the credit that takes it back
    checked = []
    for index in credits:
        row = rows[index]
        target = row.values["corrects"]
        original = first.get(target)
        if original is None:
            continue  # not in the set: the phase-1 decision stands
        problem = None
        if original == index:
            problem = f"credit `{target}` names itself in `corrects`"
        elif rows[original].values.get("credit"):
            problem = f"claim `{target}` that this credit takes back is itself a credit"
        else:
            field = agrees(index, original)
            if field is not None:
                problem = (
                    f"credit of claim `{target}` has {field} "
                    f"`{row.values.get(field)}` but claim `{target}` has "
                    f"`{rows[original].values.get(field)}`"
                )
        if problem is not None:
            result[index] = _decision(row, "error", ZERO, None, None, Reason("corrects", problem))
            continue
        checked.append((row.claim_id, row.row, index, original))
    for claim_id, _, index, original in sorted(checked):
        row = rows[index]
        target = row.values["corrects"]
        if original in reversing:
            other = rows[reversing[original]].claim_id
            message = f"claim `{target}` is already taken back by credit `{other}`"
            result[index] = _decision(
                row, "rejected", ZERO, None, None, Reason("corrects", message)
            )
            continue
        reversing[original] = index
        was = result[original]
        if was.status not in PAID:
            message = f"claim `{target}` pays nothing (it is {was.status}): nothing to take back"
            result[index] = _decision(
                row, "rejected", ZERO, None, None, Reason("corrects", message)
            )
            continue
        payable = ZERO - was.payable
        claimed = row.values["amount"]
        spec = program.titles.get(was.title or "")
        message = f"credit of claim `{target}`: takes back its payable EUR {money(was.payable)}"
        if payable != claimed:
            message += f", not the EUR {money(ZERO - claimed)} credited"
        result[index] = Decision(
            claim_id,
            "accepted" if payable == claimed else "adjusted",
            payable,
            claimed,
            was.title,
            was.funding,
            (Reason(was.title or "credit", message, spec.citation if spec else None),),
            row.row,
        )
    return result


def _decision(
    row: ClaimRow, status: str, payable: Decimal, title: str | None, funding: str | None, *reasons
) -> Decision:
    return Decision(
        row.claim_id, status, payable, row.values.get("amount"), title, funding, reasons, row.row
    )
