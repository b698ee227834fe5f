"""Evaluate `split` declarations: a DBC's tariff divided over the hospitals of a care network.

Called from `Interpreter.cross_check` (phase 2), because a part can only be judged together with
the other claims of its trajectory. Everything is decided on the set of claims of one trajectory,
never on row order, so shuffling the claims changes no decision:

1. A paid claim whose title and code a split covers and that carries a `trajectory` is a network
   claim: with a `role` it claims that role's part, without one it claims the whole DBC (today's
   mode: the main treater claims everything and pays the others by onderlinge dienstverlening).
2. Per trajectory (patient and trajectory number), every claim that breaks a rule is rejected
   with all its reasons: its provider is not in the network table; it is a later copy of a part
   (or the whole) its provider claimed already (only the copy is rejected), or the part is
   claimed by several providers (all of them); a part is claimed while the whole is claimed too
   (double funding); the parts still standing together claim more than the whole.
3. Every other claim is priced: the whole is the tariff on the trajectory's first day (the claim
   with the earliest start date, then the smallest claim_id), the coordination fee comes off the
   top for the main treater, the rest is divided by largest remainder in declared role order
   (policylang.allocation), and each applicable discount is taken off its role's part. With
   `weights from claim.FIELD` the weights are read from the part claims still standing after
   step 2 (a role without one weighs 0); an empty or negative weight, or all weights 0, makes
   every such part an `error` decision naming the field.

`compare_modes` settles the same trajectories both ways and checks that the insurer pays the same.
docs/splitting.md describes the semantics for policy authors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from policylang import ir
from policylang.allocation import AllocationError, prorate, split_by_shares
from policylang.decision import ZERO, Decision, Reason, format_money
from policylang.errors import EvaluationError
from policylang.evaluate.compile import Env, Fn, round_money
from policylang.io.claims import ClaimRow

if TYPE_CHECKING:
    from policylang.evaluate.interpreter import Interpreter, TraceStep

PAID = ("accepted", "adjusted")

__all__ = ["ModeComparison", "ModeLine", "apply_splits", "compare_modes", "divide"]


# ---------------------------------------------------------------- dividing the whole


def divide(
    spec: ir.SplitSpec,
    whole: Decimal,
    fee: Decimal = ZERO,
    weights: Sequence[Decimal] | None = None,
) -> dict[str, Decimal]:
    """Each role's part of `whole` (cents): the fee to the fee's role, the rest by the basis.

    `weights` (in `roles` order) are the weights read from the part claims of a split with
    `weights from claim.FIELD`: required for such a split, not allowed for any other.
    The parts sum to `whole` exactly and none is negative; EvaluationError when the fee is
    negative or larger than the whole, or the weights cannot be divided by (all zero, negative).
    """
    if (weights is None) != (spec.weight_field is None):
        raise ValueError(
            f"split `{spec.name}`: weights are given "
            + ("only by" if weights is not None else "by")
            + " the claims of a split with `weights from claim.FIELD`"
        )
    if fee < 0 or fee > whole:
        raise EvaluationError(
            f"the coordination fee EUR {_money(fee)} of split `{spec.name}` is not between "
            f"EUR 0.00 and the whole EUR {_money(whole)}",
            spec.name,
            spec.citation,
        )
    rest = whole - fee
    try:
        if weights is not None:
            amounts = prorate(rest, list(weights))
        elif spec.basis == "shares":
            amounts = split_by_shares(rest, list(spec.weights))
        else:
            amounts = prorate(rest, list(spec.weights))
    except AllocationError as error:
        raise EvaluationError(f"split `{spec.name}`: {error}", spec.name, spec.citation) from error
    parts = dict(zip(spec.roles, amounts, strict=True))
    if spec.fee_role is not None:
        parts[spec.fee_role] += fee
    return parts


@attrs.frozen
class _Compiled:
    spec: ir.SplitSpec
    tariff: Fn | None
    fee: Fn | None
    discounts: tuple[tuple[ir.SplitDiscountSpec, Fn, Fn], ...]  # spec, rate, condition


def _compiled(interpreter: Interpreter) -> list[_Compiled]:
    cached: list[_Compiled] | None = getattr(interpreter, "_compiled_splits", None)
    if cached is not None:
        return cached
    compile_ = interpreter.compiler.compile
    found = []
    for spec in interpreter.program.splits.values():
        title = interpreter.titles.get(spec.title)
        tariff = compile_(spec.tariff) if spec.tariff is not None else None
        if tariff is None and title is not None:
            tariff = title.tariff
        found.append(
            _Compiled(
                spec,
                tariff,
                compile_(spec.fee) if spec.fee is not None else None,
                tuple((d, compile_(d.rate), compile_(d.condition)) for d in spec.discounts),
            )
        )
    interpreter._compiled_splits = found  # type: ignore[attr-defined]
    return found


def _matching(splits: list[_Compiled], title: str, code: object) -> list[_Compiled]:
    return [
        s
        for s in splits
        if s.spec.title == title and (s.spec.codes is None or code in s.spec.codes)
    ]


# ---------------------------------------------------------------- phase 2 hook


def apply_splits(
    interpreter: Interpreter,
    claims: Sequence[ClaimRow],
    decisions: list[Decision],
    trace_for: int | None = None,
    trace: list[TraceStep] | None = None,
) -> list[Decision]:
    """The decisions with every network claim judged and priced (see the module docstring)."""
    splits = _compiled(interpreter)
    if not splits:
        return decisions
    result = list(decisions)
    groups: dict[tuple[Any, Any, str], list[int]] = defaultdict(list)
    for index, (claim, decision) in enumerate(zip(claims, decisions, strict=True)):
        if decision.status not in PAID or decision.title is None:
            continue
        values = claim.values
        found = _matching(splits, decision.title, values.get("code"))
        if not found:
            continue
        if len(found) > 1:
            names = " and ".join(f"`{s.spec.name}`" for s in found)
            result[index] = _replace(
                decision,
                "error",
                ZERO,
                Reason("conflict", f"conflict: splits {names} both divide code `{values['code']}`"),
            )
            continue
        split = found[0]
        spec = split.spec
        role = values.get("role")
        trajectory = values.get("trajectory")
        if trajectory is None:
            if role is not None:
                result[index] = _replace(
                    decision,
                    "rejected",
                    ZERO,
                    Reason(
                        spec.name,
                        f"a part claim (role `{role}`) needs a trajectory number",
                        spec.citation,
                    ),
                )
            continue  # an ordinary claim, not part of a network trajectory
        if role is not None and role not in spec.roles:
            result[index] = _replace(
                decision,
                "rejected",
                ZERO,
                Reason(
                    spec.name,
                    f"role `{role}` has no part in split `{spec.name}` "
                    f"(roles: {', '.join(spec.roles)})",
                    spec.citation,
                ),
            )
            continue
        groups[(values.get("patient"), trajectory, spec.name)].append(index)
    by_name = {s.spec.name: s for s in splits}
    for (_, trajectory, name), members in groups.items():
        tracing = trace if trace_for in members else None
        _judge(
            interpreter, by_name[name], str(trajectory), members, claims, result, tracing, trace_for
        )
    return result


def _judge(
    interpreter: Interpreter,
    split: _Compiled,
    trajectory: str,
    members: list[int],
    claims: Sequence[ClaimRow],
    result: list[Decision],
    trace: list[TraceStep] | None,
    trace_for: int | None = None,
) -> None:
    """Reject or price every claim of one trajectory, from the set of its claims alone."""
    spec = split.spec
    program = interpreter.program
    values = {i: claims[i].values for i in members}
    ids = {i: claims[i].claim_id for i in members}
    reasons: dict[int, list[Reason]] = defaultdict(list)

    def reject(index: int, message: str) -> None:
        reasons[index].append(Reason(spec.name, message, spec.citation))

    network: dict[Any, Any] | None = None
    if spec.network is not None:
        network = interpreter.tables.get(spec.network)
        if network is None:
            for index in members:
                result[index] = _replace(
                    result[index],
                    "error",
                    ZERO,
                    Reason(
                        spec.name,
                        f"split `{spec.name}` needs the table `{spec.network}` of network members",
                        spec.citation,
                    ),
                )
            return
    inside = []
    for index in members:
        provider = values[index].get("provider")
        if network is not None and provider not in network:
            reject(
                index,
                f"provider `{provider}` is not a member of the network `{spec.network}`",
            )
        else:
            inside.append(index)

    wholes = sorted((i for i in inside if values[i].get("role") is None), key=ids.__getitem__)
    parts = sorted((i for i in inside if values[i].get("role") is not None), key=ids.__getitem__)
    by_role: dict[str, list[int]] = defaultdict(list)
    for index in parts:
        by_role[values[index]["role"]].append(index)

    def first_stands(claimed: list[int], what: str) -> list[int]:
        """A part (or the whole) claimed more than once: by one provider, the earliest claim
        (then the smallest claim_id) stands and every later copy is a duplicate; by several
        providers, which one is right cannot be told, so all of them are rejected. The claims
        of the other parts stand either way. Returns the claims that are not rejected."""
        if len(claimed) < 2:
            return claimed
        if len({values[i]["provider"] for i in claimed}) > 1:
            shown = ", ".join(ids[i] for i in claimed)
            for index in claimed:
                reject(
                    index,
                    f"{what} of trajectory `{trajectory}` is claimed by more than one provider "
                    f"(claims {shown})",
                )
            return []
        first, *copies = sorted(claimed, key=lambda i: (values[i]["start_date"], ids[i]))
        for index in copies:
            reject(
                index,
                f"duplicate: {what} of trajectory `{trajectory}` is already claimed by claim "
                f"{ids[first]}",
            )
        return [first]

    for role, claimed in by_role.items():
        first_stands(claimed, f"part `{role}`")
    # a part next to the whole is double funding, also when the whole itself was rejected for
    # being claimed by several providers; a duplicate copy of the whole is not shown again
    wholes = first_stands(wholes, "the whole DBC") or wholes
    if wholes and parts:
        shown = ", ".join(f"{ids[i]} by provider `{values[i]['provider']}`" for i in wholes)
        for index in parts:
            reject(
                index,
                f"double funding: trajectory `{trajectory}` is also claimed as a whole DBC "
                f"(claim {shown})",
            )

    # `weights from claim.FIELD`: the parts not rejected so far are divided by their own weights.
    counted = [i for i in parts if not reasons[i]]
    claim_weights, weight_error = _claim_weights(spec, trajectory, counted, values, ids)
    try:
        first = min(inside or members, key=lambda i: (values[i]["start_date"], ids[i]))
        whole, fee = _whole(interpreter, split, values[first])
        if spec.weight_field is None:
            amounts = divide(spec, whole, fee)
        elif weight_error is None and counted:
            amounts = divide(spec, whole, fee, claim_weights)
        else:  # no part to divide over (only whole claims), or weights that cannot divide
            amounts = {}
    except EvaluationError as error:
        for index in members:
            result[index] = _replace(
                result[index], "error", ZERO, Reason(error.rule, error.message, error.source)
            )
        return
    # the parts still standing: a duplicate or a part next to the whole is not claimed twice
    claimed_parts = sum((values[i]["amount"] for i in counted), Decimal(0))
    if claimed_parts > whole:
        for index in counted:
            reject(
                index,
                f"the parts of trajectory `{trajectory}` claim EUR {_money(claimed_parts)} "
                f"together, more than the whole EUR {_money(whole)}",
            )

    for index in members:
        decision = result[index]
        if reasons[index]:
            result[index] = attrs.evolve(
                decision, status="rejected", payable=ZERO, reasons=tuple(reasons[index])
            )
            if trace is not None and index == trace_for:
                trace.append(_step(spec, "rejected", "; ".join(r.message for r in reasons[index])))
            continue
        if weight_error is not None and index in counted:
            result[index] = _replace(decision, "error", ZERO, weight_error)
            if trace is not None and index == trace_for:
                trace.append(_step(spec, "error", weight_error.message))
            continue
        env = Env(program, interpreter.tables, values[index]["start_date"], values[index])
        part_role: str | None = values[index].get("role")
        priced = [_part_reason(spec, trajectory, part_role, whole, fee, amounts, claim_weights)]
        payable = amounts[part_role] if part_role is not None else whole
        for discount, rate_fn, condition_fn in split.discounts:
            if part_role is not None and discount.role != part_role:
                continue
            if not bool(condition_fn(env)):
                continue
            rate = Decimal(rate_fn(env))
            off = round_money(rate * amounts[discount.role])
            payable -= off
            priced.append(
                Reason(
                    spec.name,
                    f"discount {_percent(rate)} on part `{discount.role}` because "
                    f"`{discount.text}`: EUR -{_money(off)}",
                    spec.citation,
                )
            )
        claimed = values[index]["amount"]
        status = "accepted" if payable == claimed else "adjusted"
        result[index] = attrs.evolve(
            decision,
            status=status,
            payable=payable,
            reasons=(*decision.reasons[:1], *priced),
        )
        if trace is not None and index == trace_for:
            trace.append(_step(spec, status, priced[0].message))


def _claim_weights(
    spec: ir.SplitSpec,
    trajectory: str,
    counted: list[int],
    values: dict[int, dict[str, Any]],
    ids: dict[int, str],
) -> tuple[tuple[Decimal, ...], Reason | None]:
    """The weights (in `roles` order) read from the counted part claims, or why they cannot divide.

    A role without a counted part claim weighs 0. Each role has at most one counted part (a part
    claimed twice is rejected), so the weights do not depend on the order of the claims.
    """
    field = spec.weight_field
    if field is None:
        return (), None
    by_role: dict[str, Decimal] = {}
    problems = []
    for index in sorted(counted, key=ids.__getitem__):
        raw = values[index].get(field)
        if raw is None:
            problems.append(f"`claim.{field}` is empty on claim {ids[index]}")
            continue
        weight = Decimal(raw)
        if not weight.is_finite() or weight < 0:
            problems.append(f"`claim.{field}` is {weight:f} on claim {ids[index]}")
            continue
        by_role[values[index]["role"]] = weight
    if not problems and counted and not any(by_role.values()):
        problems.append(
            f"`claim.{field}` is 0 on every part claim "
            f"({', '.join(sorted(ids[i] for i in counted))})"
        )
    if problems:
        message = (
            f"split `{spec.name}` cannot divide trajectory `{trajectory}`: "
            f"{'; '.join(problems)} (every part claim needs `claim.{field}` >= 0, "
            "and at least one above 0)"
        )
        return (), Reason(spec.name, message, spec.citation)
    return tuple(by_role.get(role, Decimal(0)) for role in spec.roles), None


def _whole(
    interpreter: Interpreter, split: _Compiled, first: dict[str, Any]
) -> tuple[Decimal, Decimal]:
    """The whole DBC and the fee, on the trajectory's first day (earliest claim, then claim_id)."""
    env = Env(interpreter.program, interpreter.tables, first["start_date"], first)
    spec = split.spec
    if split.tariff is None:  # pragma: no cover - the checker requires a tariff
        raise EvaluationError(f"split `{spec.name}` has no tariff", spec.name, spec.citation)
    whole = round_money(split.tariff(env))
    fee = round_money(split.fee(env)) if split.fee is not None else ZERO
    return whole, fee


def _part_reason(
    spec: ir.SplitSpec,
    trajectory: str,
    role: str | None,
    whole: Decimal,
    fee: Decimal,
    amounts: dict[str, Decimal],
    claim_weights: tuple[Decimal, ...] = (),
) -> Reason:
    if role is None:
        message = (
            f"whole DBC of split `{spec.name}` (trajectory `{trajectory}`): EUR {_money(whole)}"
        )
    else:
        if spec.weight_field is not None:
            weight = claim_weights[spec.roles.index(role)]
            total = sum(claim_weights, Decimal(0))
            basis = (
                f"weight {weight:f} of {total:f} (`claim.{spec.weight_field}`) "
                f"of EUR {_money(whole - fee)}"
            )
        else:
            weight = spec.weights[spec.roles.index(role)]
            basis = (
                f"{_percent(weight)} of EUR {_money(whole - fee)}"
                if spec.basis == "shares"
                else f"{spec.basis[:-1]} {weight:f} of EUR {_money(whole - fee)}"
            )
        extra = f" plus the coordination fee EUR {_money(fee)}" if role == spec.fee_role else ""
        message = (
            f"part `{role}` of split `{spec.name}` (trajectory `{trajectory}`): "
            f"{basis}{extra} = EUR {_money(amounts[role])}"
        )
    return Reason(spec.name, message, spec.citation)


def _step(spec: ir.SplitSpec, outcome: str, detail: str) -> TraceStep:
    from policylang.evaluate.interpreter import TraceStep

    return TraceStep("split", spec.name, outcome, detail, spec.citation)


def _replace(decision: Decision, status: str, payable: Decimal, reason: Reason) -> Decision:
    return attrs.evolve(decision, status=status, payable=payable, reasons=(reason,))


def _money(value: Decimal) -> str:
    return f"{round_money(value):,f}"


def _percent(fraction: Decimal) -> str:
    text = f"{(fraction * 100).normalize():f}"
    return f"{text}%"


# ---------------------------------------------------------------- both settlement modes


@attrs.frozen
class ModeLine:
    """One payment: from the insurer to a hospital, or between hospitals (onderlinge
    dienstverlening) in today's mode."""

    mode: str  # "today" or "split"
    trajectory: str
    payer: str
    payee: str
    item: str
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "trajectory": self.trajectory,
            "payer": self.payer,
            "payee": self.payee,
            "item": self.item,
            "amount": format_money(self.amount),
        }


@attrs.frozen
class ModeComparison:
    lines: tuple[ModeLine, ...]
    hospitals: tuple[tuple[str, Decimal, Decimal], ...]  # provider, net today, net split
    insurer_today: Decimal
    insurer_split: Decimal
    problems: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        """The insurer pays the same in both modes, and so does every hospital receive."""
        return (
            not self.problems
            and self.insurer_today == self.insurer_split
            and all(today == split for _, today, split in self.hospitals)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": [line.to_json() for line in self.lines],
            "hospitals": [
                {"provider": p, "today": format_money(t), "split": format_money(s)}
                for p, t, s in self.hospitals
            ],
            "insurer_today": format_money(self.insurer_today),
            "insurer_split": format_money(self.insurer_split),
            "problems": list(self.problems),
            "holds": self.holds,
        }


INSURER = "insurer"


def _network_claims(
    program: ir.Program, rows: Sequence[ClaimRow], decisions: Sequence[Decision]
) -> dict[tuple[Any, Any], list[tuple[dict[str, Any], Decision]]]:
    """Paid network claims by (patient, trajectory), sorted by claim_id."""
    groups: dict[tuple[Any, Any], list[tuple[dict[str, Any], Decision]]] = defaultdict(list)
    for row, decision in zip(rows, decisions, strict=True):
        values = row.values
        if decision.status not in PAID or values.get("trajectory") is None:
            continue
        if not any(
            s.title == decision.title and (s.codes is None or values.get("code") in s.codes)
            for s in program.splits.values()
        ):
            continue
        groups[(values.get("patient"), values["trajectory"])].append((values, decision))
    for members in groups.values():
        members.sort(key=lambda m: m[1].claim_id)
    return groups


def _split_for(program: ir.Program, values: dict[str, Any], title: str | None) -> ir.SplitSpec:
    return next(
        s
        for s in program.splits.values()
        if s.title == title and (s.codes is None or values.get("code") in s.codes)
    )


def compare_modes(
    program: ir.Program,
    today_rows: Sequence[ClaimRow],
    today_decisions: Sequence[Decision],
    split_rows: Sequence[ClaimRow],
    split_decisions: Sequence[Decision],
) -> ModeComparison:
    """Settle the same trajectories in today's mode and in split mode.

    Today's claims carry the whole DBC (no role), claimed by the main treater; the split claims
    carry one part each. Who performed which part comes from the split claims, so today's
    onderlinge dienstverlening lines are the main treater paying each other hospital what that
    hospital's part claim was paid. Order-independent: trajectories and claims are sorted.
    """
    today = _network_claims(program, today_rows, today_decisions)
    split = _network_claims(program, split_rows, split_decisions)
    lines: list[ModeLine] = []
    problems: list[str] = []
    for key in sorted(set(today) | set(split), key=lambda k: (str(k[0]), str(k[1]))):
        trajectory = str(key[1])
        wholes = [m for m in today.get(key, []) if m[0].get("role") is None]
        parts = [m for m in split.get(key, []) if m[0].get("role") is not None]
        if parts:  # in declared role order, as the parts are divided
            roles = _split_for(program, parts[0][0], parts[0][1].title).roles
            parts.sort(key=lambda m: (roles.index(m[0]["role"]), m[1].claim_id))
        if not wholes or not parts:
            missing = "today's whole claim" if not wholes else "the split-mode part claims"
            problems.append(f"trajectory `{trajectory}` has no paid {missing}")
        for values, decision in wholes:
            spec = _split_for(program, values, decision.title)
            main = str(values["provider"])
            lines.append(
                ModeLine("today", trajectory, INSURER, main, "whole DBC", decision.payable)
            )
            for part_values, part in parts:
                role = part_values["role"]
                provider = str(part_values["provider"])
                if role == spec.main_role or provider == main:
                    if role == spec.main_role and provider != main:
                        problems.append(
                            f"trajectory `{trajectory}`: the main treater is `{main}` today "
                            f"but `{provider}` in split mode"
                        )
                    continue
                lines.append(
                    ModeLine(
                        "today",
                        trajectory,
                        main,
                        provider,
                        f"onderlinge dienstverlening {role}",
                        part.payable,
                    )
                )
        for values, decision in parts:
            lines.append(
                ModeLine(
                    "split",
                    trajectory,
                    INSURER,
                    str(values["provider"]),
                    f"part {values['role']}",
                    decision.payable,
                )
            )
    net: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"today": Decimal("0.00"), "split": Decimal("0.00")}
    )
    for line in lines:
        net[line.payee][line.mode] += line.amount
        if line.payer != INSURER:
            net[line.payer][line.mode] -= line.amount
    hospitals = tuple((p, net[p]["today"], net[p]["split"]) for p in sorted(net))
    insurer = {
        mode: sum(
            (line.amount for line in lines if line.mode == mode and line.payer == INSURER),
            Decimal("0.00"),
        )
        for mode in ("today", "split")
    }
    return ModeComparison(
        tuple(lines), hospitals, insurer["today"], insurer["split"], tuple(problems)
    )
