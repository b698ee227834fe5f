"""The reference interpreter: one decision per claim, with reasons.

Evaluation has two phases, so the result never depends on the order of the rows:
1. each claim alone: typing, the payment title for its code and date, eligibility, tariff,
   rules with exceptions;
2. across the claim set: exclusions ("not combinable with") and requirements ("requires"),
   judged against the phase-1 outcome of the other claims of the same patient.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from operator import attrgetter
from typing import Any

import attrs

from policylang import ir
from policylang.data.nza.known import no_title_message
from policylang.decision import ZERO, Decision, Reason
from policylang.errors import EvaluationError
from policylang.evaluate.compile import Compiler, Env, Fn, round_money
from policylang.evaluate.credits import apply_corrections, as_credit, sign_problem, turned
from policylang.evaluate.exact import exact_decimals
from policylang.evaluate.gcpause import gc_paused
from policylang.io.claims import ClaimRow

PAID = ("accepted", "adjusted")


@attrs.define
class TraceStep:
    """One step of an explanation: what was looked at and what came out."""

    kind: str  # title, validity, condition, tariff, rule, exception, exclusion, requirement
    name: str
    outcome: str
    detail: str = ""
    source: str | None = None


@attrs.frozen
class CompiledTitle:
    spec: ir.TitleSpec
    conditions: tuple[tuple[ir.Condition, Fn], ...]
    tariff: Fn | None
    rules: tuple[tuple[ir.RuleSpec, Fn | None, Fn | None], ...]  # spec, when, pay
    defeated_by: dict[str, frozenset[str]]  # rule -> exceptions that override it
    periods: tuple[tuple[dt.date, dt.date], ...]  # validity, open ends as date.max
    funded: Reason  # the first reason of every decision this title pays
    plain: bool  # no eligibility conditions and no rules: priced straight away
    periods_text: str  # the validity as the trace and the reasons say it

    def valid_on(self, day: dt.date) -> bool:
        if not self.periods:
            return True
        for start, end in self.periods:  # noqa: SIM110 - a plain loop is faster on the hot path
            if start <= day <= end:
                return True
        return False


class Interpreter:
    def __init__(
        self,
        program: ir.Program,
        tables: dict[str, dict[Any, dict[str, Any]]],
        fast_paths: bool = True,
    ) -> None:
        """`fast_paths=False` sends every claim through the general path (the tests compare)."""
        self.program = program
        self.tables = tables
        self.compiler = Compiler(program)
        self.titles = {name: self._compile_title(spec) for name, spec in program.titles.items()}
        if not fast_paths:
            self.titles = {n: attrs.evolve(t, plain=False) for n, t in self.titles.items()}
        self._exact: dict[str, list[CompiledTitle]] = defaultdict(list)
        self._ranged: list[CompiledTitle] = []
        for title in self.titles.values():
            for code in title.spec.codes.codes:
                self._exact[code].append(title)
            if title.spec.codes.ranges:
                self._ranged.append(title)
        self.cross_claim = any(t.exclusions or t.requirements for t in program.titles.values())
        self._by_code: dict[str, list[CompiledTitle]] = {}
        titles = program.titles.values()
        self._excluding = frozenset(t.name for t in titles if t.exclusions)
        self._requiring = frozenset(t.name for t in titles if t.requirements)
        self._named = frozenset(
            name for t in titles for c in (*t.exclusions, *t.requirements) for name in c.titles
        )
        self._env = Env(program, tables)
        self._uses_memo = bool(program.defines)

    def _compile_title(self, spec: ir.TitleSpec) -> CompiledTitle:
        compile_ = self.compiler.compile
        rules = []
        for name in spec.rules:
            rule = self.program.rules[name]
            rules.append(
                (
                    rule,
                    compile_(rule.when) if rule.when is not None else None,
                    compile_(rule.pay) if rule.pay is not None else None,
                )
            )
        defeated: dict[str, set[str]] = defaultdict(set)
        for rule in (self.program.rules[n] for n in spec.rules):
            if rule.exception_to is not None:
                defeated[rule.exception_to].add(rule.name)
        return CompiledTitle(
            spec,
            tuple((c, compile_(c.expr)) for c in spec.eligibility),
            compile_(spec.tariff) if spec.tariff is not None else None,
            tuple(rules),
            {k: frozenset(v) for k, v in defeated.items()},
            tuple((p.start, p.end or dt.date.max) for p in spec.validity),
            Reason(spec.name, f"funded as {spec.label} ({spec.funding})", spec.citation),
            not spec.eligibility and not rules,
            _periods(spec),
        )

    def titles_for(self, code: str) -> list[CompiledTitle]:
        found = self._by_code.get(code)
        if found is None:
            found = list(self._exact.get(code, ()))
            for title in self._ranged:
                if code in title.spec.codes and title not in found:
                    found.append(title)
            if len(self._by_code) < 100_000:  # codes are few; the bound only guards odd input
                self._by_code[code] = found
        return found

    # ------------------------------------------------------------ phase 1
    def decide(self, claim: ClaimRow, trace: list[TraceStep] | None = None) -> Decision:
        if claim.problems:
            return error_decision(claim, *(Reason(p.field, p.message) for p in claim.problems))
        values = claim.values
        if values["amount"] < 0 or values.get("credit"):
            problem = sign_problem(values)
            if problem is not None:
                return error_decision(claim, problem)
            # a credit is decided as the debit it takes back, and keeps its sign
            return as_credit(self._decide_debit(turned(claim), trace), claim)
        return self._decide_debit(claim, trace)

    def _decide_debit(self, claim: ClaimRow, trace: list[TraceStep] | None) -> Decision:
        values = claim.values
        code = values["code"]
        day: dt.date = values["start_date"]
        env = self._env  # one environment, reset per claim: evaluation is single-threaded
        env.claim = values
        env.day = day
        if self._uses_memo:
            env.memo = {}
        candidates = self._by_code.get(code) or self.titles_for(code)
        if len(candidates) == 1:
            # the common case, taken without the general path's lists: one title for the code,
            # with the steps the general path would trace
            title = candidates[0]
            if title.plain and (not title.periods or title.valid_on(day)):
                if trace is not None:
                    trace.append(
                        TraceStep(
                            "validity",
                            title.spec.name,
                            "valid",
                            f"on {day.isoformat()} ({title.periods_text})",
                            title.spec.citation,
                        )
                    )
                try:
                    return self._price(claim, env, title, trace)
                except EvaluationError as error:
                    return self._failed(claim, error)
        if not candidates:
            if trace is not None:
                trace.append(TraceStep("title", "-", "none", f"no payment title has code {code}"))
            return self._rejected(claim, Reason("payment_title", no_title_message(code, day)))
        valid = [t for t in candidates if t.valid_on(day)]
        if trace is not None:
            for title in candidates:
                trace.append(
                    TraceStep(
                        "validity",
                        title.spec.name,
                        "valid" if title in valid else "not valid",
                        f"on {day.isoformat()} ({title.periods_text})",
                        title.spec.citation,
                    )
                )
        if not valid:
            first = candidates[0]
            return self._rejected(
                claim,
                Reason(
                    first.spec.name,
                    f"code `{code}` has no payment title valid on {day.isoformat()}: "
                    f"`{first.spec.name}` is valid {first.periods_text}",
                    first.spec.citation,
                ),
            )
        try:
            return self._decide_title(claim, env, valid, trace)
        except EvaluationError as error:
            return self._failed(claim, error)

    def _failed(self, claim: ClaimRow, error: EvaluationError) -> Decision:
        return error_decision(claim, Reason(error.rule, error.message, error.source))

    def _decide_title(
        self,
        claim: ClaimRow,
        env: Env,
        valid: list[CompiledTitle],
        trace: list[TraceStep] | None,
    ) -> Decision:
        eligible: list[CompiledTitle] = []
        failures: list[Reason] = []
        for title in valid:
            for condition, fn in title.conditions:
                held = bool(fn(env))
                if trace is not None:
                    trace.append(
                        TraceStep(
                            "condition",
                            title.spec.name,
                            "held" if held else "failed",
                            condition.text,
                            condition.citation,
                        )
                    )
                if not held:
                    failures.append(Reason(title.spec.name, condition.message, condition.citation))
                    break
            else:
                eligible.append(title)
        if not eligible:
            return self._rejected(claim, *failures)
        if len(eligible) > 1:
            names = " and ".join(f"`{t.spec.name}`" for t in eligible)
            return error_decision(
                claim,
                Reason(
                    "conflict",
                    f"conflict: payment titles {names} both fund code "
                    f"`{claim.values['code']}` for this claim",
                    eligible[0].spec.citation,
                ),
            )
        return self._price(claim, env, eligible[0], trace)

    def _price(
        self, claim: ClaimRow, env: Env, title: CompiledTitle, trace: list[TraceStep] | None
    ) -> Decision:
        spec = title.spec
        values = claim.values
        claimed: Decimal = values["amount"]
        if spec.tariff_kind == "free" and not title.rules:  # most DBC claims: paid as claimed
            payable = round_money(claimed)
            return Decision(
                claim.claim_id,
                "accepted" if payable == claimed else "adjusted",
                payable,
                claimed,
                spec.name,
                spec.funding,
                (title.funded,),
                claim.row,
            )
        quantity: int = values["quantity"]
        reasons = [title.funded]
        tariff = title.tariff(env) if title.tariff is not None else None
        if spec.tariff_kind == "maximum":
            assert tariff is not None
            limit = tariff * quantity
            payable = min(claimed, limit)
            if payable != claimed:
                reasons.append(
                    Reason(
                        spec.name,
                        f"claimed EUR {_money(claimed)} is above the maximum tariff "
                        f"EUR {_money(tariff)} x {quantity} = EUR {_money(limit)}",
                        spec.citation,
                    )
                )
        elif spec.tariff_kind == "fixed":
            assert tariff is not None
            payable = tariff * quantity
            if round_money(payable) != claimed:
                reasons.append(
                    Reason(
                        spec.name,
                        f"the fixed tariff is EUR {_money(tariff)} x {quantity} = "
                        f"EUR {_money(payable)}; claimed EUR {_money(claimed)}",
                        spec.citation,
                    )
                )
        else:
            payable = claimed
        if trace is not None and tariff is not None:
            trace.append(
                TraceStep("tariff", spec.name, _money(tariff), spec.tariff_kind, spec.citation)
            )
        status_override = None
        if title.rules:
            env.context = {
                "tariff": tariff if tariff is not None else claimed,
                "claimed": claimed,
                "payable": payable,
            }
            applying = []
            for rule, when, _ in title.rules:
                holds = when is None or bool(when(env))
                if trace is not None:
                    trace.append(
                        TraceStep(
                            "rule",
                            rule.name,
                            "applies" if holds else "does not apply",
                            rule.when_text,
                            rule.citation,
                        )
                    )
                if holds:
                    applying.append(rule.name)
            winners = [
                name
                for name in applying
                if not (title.defeated_by.get(name, frozenset()) & set(applying))
            ]
            if trace is not None:
                for name in applying:
                    if name not in winners:
                        beaten = sorted(title.defeated_by[name] & set(applying))
                        trace.append(
                            TraceStep("exception", name, "overridden", f"by {', '.join(beaten)}")
                        )
            if len(winners) > 1:
                first, second = winners[0], winners[1]
                return Decision(
                    claim.claim_id,
                    "error",
                    ZERO,
                    claimed,
                    spec.name,
                    spec.funding,
                    (
                        Reason(
                            "conflict",
                            f"conflict: rules `{first}` and `{second}` both apply and neither "
                            "is an exception to the other",
                            self.program.rules[first].citation,
                        ),
                    ),
                    claim.row,
                )
            if winners:
                rule, _, pay = next(r for r in title.rules if r[0].name == winners[0])
                if rule.outcome == "reject":
                    return self._rejected(
                        claim, Reason(rule.name, rule.because, rule.citation), title=spec
                    )
                if rule.outcome == "accept":
                    payable = claimed
                else:
                    assert pay is not None
                    payable = pay(env)
                reasons.append(Reason(rule.name, rule.because, rule.citation))
                status_override = None
        payable = round_money(payable)
        status = status_override or ("accepted" if payable == claimed else "adjusted")
        return Decision(
            claim.claim_id,
            status,
            payable,
            claimed,
            spec.name,
            spec.funding,
            tuple(reasons),
            claim.row,
        )

    def _rejected(
        self, claim: ClaimRow, *reasons: Reason, title: ir.TitleSpec | None = None
    ) -> Decision:
        return Decision(
            claim.claim_id,
            "rejected",
            ZERO,
            claim.values.get("amount"),
            title.name if title else None,
            title.funding if title else None,
            tuple(reasons),
            claim.row,
        )

    # ------------------------------------------------------------ phase 2
    def cross_check(
        self,
        claims: list[ClaimRow],
        decisions: list[Decision],
        trace_for: int | None = None,
        trace: list[TraceStep] | None = None,
    ) -> list[Decision]:
        """Apply exclusions, then requirements, across the claim set (phase 2).

        Exclusions look at the claims paid after phase 1. Requirements look at the claims still
        paid after the exclusions, repeated until nothing changes, so an add-on whose base claim
        was itself rejected is rejected too. Neither depends on the order of the rows.
        """
        if self.program.splits:  # network claims of a split DBC first (evaluate/splits.py)
            from policylang.evaluate.splits import apply_splits

            decisions = apply_splits(self, claims, decisions, trace_for, trace)
        if not self.cross_claim:
            return decisions
        result = list(decisions)
        paid = self._paid_by_patient(claims, decisions)
        excluding, requiring = self._excluding, self._requiring
        for index, decision in enumerate(decisions):
            if decision.title not in excluding or decision.status not in PAID:
                continue
            if claims[index].values.get("credit"):
                continue  # a credit takes part in phase 3 only (evaluate/credits.py)
            spec = self.program.titles[decision.title]
            tracing = trace if trace_for == index else None
            for exclusion in spec.exclusions:
                hit = _find(paid, claims, decisions, index, exclusion)
                if tracing is not None:
                    tracing.append(_cross_step("exclusion", exclusion, hit))
                if hit is not None:
                    result[index] = self._rejected(
                        claims[index],
                        Reason(
                            spec.name,
                            f"double funding: `{spec.name}` is not combinable with "
                            f"`{decisions[hit].title}` (claim {decisions[hit].claim_id}) "
                            f"{_scope(exclusion)} for the same patient",
                            exclusion.citation,
                        ),
                        title=spec,
                    )
                    break
        pending = [
            i
            for i, d in enumerate(result)
            if d.title in requiring and d.status in PAID and not claims[i].values.get("credit")
        ]
        changed = True
        while changed and pending:
            changed = False
            still_paid = []
            for index in pending:
                decision = result[index]
                spec = self.program.titles[decision.title]  # type: ignore[index]
                tracing = trace if trace_for == index else None
                for requirement in spec.requirements:
                    hit = _find(paid, claims, result, index, requirement)
                    if tracing is not None:
                        tracing.append(_cross_step("requirement", requirement, hit))
                    if hit is None:
                        wanted = " or ".join(f"`{t}`" for t in requirement.titles)
                        result[index] = self._rejected(
                            claims[index],
                            Reason(
                                spec.name,
                                f"`{spec.name}` may only be claimed together with {wanted} "
                                f"{_scope(requirement)} for the same patient; none was found",
                                requirement.citation,
                            ),
                            title=spec,
                        )
                        changed = True
                        break
                else:
                    still_paid.append(index)
            pending = still_paid
            trace = None  # trace the first round only: later rounds repeat the same steps
        return result

    def _paid_by_patient(
        self, claims: list[ClaimRow], decisions: list[Decision]
    ) -> dict[Any, list[int]]:
        """Per patient who has a paid claim with an exclusion or a requirement, that patient's
        claims paid after phase 1 whose title an exclusion or requirement names (the only ones
        `_find` can ever match). Other patients are never looked up, so they are not indexed."""
        checking = self._excluding | self._requiring
        patients = {
            claim.values["patient"]
            for claim, decision in zip(claims, decisions, strict=True)
            if decision.title in checking and decision.status in PAID
        }
        paid: dict[Any, list[int]] = defaultdict(list)
        if not patients:
            return paid
        named = self._named
        for index, (claim, decision) in enumerate(zip(claims, decisions, strict=True)):
            if decision.title in named and decision.status in PAID:
                if claim.values.get("credit"):
                    continue  # a credit is no paid claim another claim is judged against
                patient = claim.values["patient"]
                if patient in patients:
                    paid[patient].append(index)
        return paid

    @exact_decimals
    def evaluate(
        self,
        claims: Iterable[ClaimRow],
        trace_for: int | None = None,
        trace: list[TraceStep] | None = None,
        traces: list[list[TraceStep]] | None = None,
    ) -> tuple[list[ClaimRow], list[Decision]]:
        """Decide every claim (both phases). The steps of claim `trace_for` go into `trace`, with
        the cross-claim steps; given `traces`, each claim's own steps are appended to it, one
        list per claim (the full trace of a claim set)."""
        with gc_paused():
            rows = list(claims)
            if traces is not None:
                decisions = []
                for claim in rows:
                    steps: list[TraceStep] = []
                    decisions.append(self.decide(claim, steps))
                    traces.append(steps)
            elif trace is None:
                decisions = [self.decide(claim) for claim in rows]
            else:
                decisions = [
                    self.decide(claim, trace if i == trace_for else None)
                    for i, claim in enumerate(rows)
                ]
            decisions = mark_duplicates(rows, decisions)
            decisions = self.cross_check(rows, decisions, trace_for, trace)
            return rows, apply_corrections(self.program, rows, decisions)


def _find(
    paid: dict[Any, list[int]],
    claims: list[ClaimRow],
    decisions: list[Decision],
    index: int,
    cross: ir.CrossClaim,
) -> int | None:
    """The other claim of the same patient, still paid in `decisions`, with one of the titles and
    a period [start_date, end_date] at most `cross.days` days from this one's; of several, the
    one with the smallest claim_id, so the reason does not depend on row order."""
    values = claims[index].values
    start, end = values["start_date"], values["end_date"]
    best: int | None = None
    for other in paid.get(values["patient"], ()):
        decision = decisions[other]
        if other == index or decision.title not in cross.titles or decision.status not in PAID:
            continue
        other_values = claims[other].values
        gap = max(other_values["start_date"], start) - min(other_values["end_date"], end)
        if gap.days <= cross.days and (
            best is None or claims[other].claim_id < claims[best].claim_id
        ):
            best = other
    return best


def _cross_step(kind: str, cross: ir.CrossClaim, hit: int | None) -> TraceStep:
    return TraceStep(
        kind, ", ".join(cross.titles), "found" if hit else "none", _scope(cross), cross.citation
    )


def mark_duplicates(rows: list[ClaimRow], decisions: list[Decision]) -> list[Decision]:
    """A claim_id seen before gets an error: paying it twice would be double funding. A row
    without a claim_id (named `row N` after its position) is never a duplicate."""
    if len(set(map(_CLAIM_ID, rows))) == len(rows):  # the common case, checked in C
        return decisions
    first: dict[str, int] = {}
    result = decisions
    for index, row in enumerate(rows):
        seen = first.setdefault(row.claim_id, index)
        if seen == index:
            continue
        if _unnamed(row):
            continue
        if _unnamed(rows[seen]):  # a real claim_id that happens to read `row N`: it comes first
            first[row.claim_id] = index
            continue
        if result is decisions:
            result = list(decisions)
        result[index] = error_decision(
            row,
            Reason(
                "claim_id",
                f"claim_id `{row.claim_id}` appears more than once (first in row {rows[seen].row})",
            ),
        )
    return result


def error_decision(claim: ClaimRow, *reasons: Reason) -> Decision:
    """A claim in error: nothing payable, no title, the reasons given."""
    return Decision(
        claim.claim_id, "error", ZERO, claim.values.get("amount"), None, None, reasons, claim.row
    )


_CLAIM_ID = attrgetter("claim_id")


def _unnamed(row: ClaimRow) -> bool:
    return "claim_id" not in row.values and row.claim_id.startswith("row ")


def _scope(cross: ir.CrossClaim) -> str:
    return "on the same day" if cross.days == 0 else f"within {cross.days} days"


def _periods(spec: ir.TitleSpec) -> str:
    if not spec.validity:
        return "always"
    return "; ".join(
        f"from {p.start.isoformat()}" + (f" to {p.end.isoformat()}" if p.end else "")
        for p in spec.validity
    )


def _money(value: Decimal) -> str:
    return f"{round_money(value):,f}"
