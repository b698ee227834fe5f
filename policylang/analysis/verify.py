"""`policylang verify`: hunt for claim sets that break an invariant, with hypothesis.

Claims are generated from the declared schema: codes from the payment titles' code sets (single
codes, both ends of every range and a code inside it, and now and then a code no title has),
dates on and next to every date the rule files mention (validity boundaries, parameter periods,
dates in conditions), enum members, booleans, small integers, and amounts on, just under and
just over every tariff. Claims share two patients and cluster around one day, so exclusions,
requirements and double-funding invariants meet each other.

For each invariant hypothesis runs `find()` with a fixed seed: the first violating claim set is
shrunk to a minimal one, which is written as a claims CSV that `policylang check` reproduces.
What is searched is only searched: "held" means no counterexample among the examples tried.

Shrinking is bounded by steps (`shrink_steps` evaluations of the invariant), never by time:
Hypothesis on its own gives up shrinking after five minutes of wall time, so a slow machine
could report a less-shrunk counterexample than a fast one. With the time limit lifted and a step
budget instead, the same seed gives the same counterexample on every machine.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from policylang import ir
from policylang.api import Policy
from policylang.errors import PolicyError
from policylang.evaluate.invariants import InvariantResult, check_invariants

PATIENTS = ("p1", "p2")
SHRINK_STEPS = 5000  # evaluations of the invariant spent on shrinking, after the examples
STANDARD = ("claim_id", "provider", "insurer", "patient", "code", "start_date", "end_date")


@attrs.frozen
class VerifyResult:
    name: str
    description: str
    holds: bool
    examples: int
    claims: tuple[dict[str, str], ...] = ()  # the minimal counterexample, as CSV text values
    violation: InvariantResult | None = None
    files: tuple[Path, ...] = ()  # the claims CSV first, then one CSV per generated table
    tables: dict[str, tuple[dict[str, str], ...]] = attrs.Factory(dict)

    def command(self, rules: Sequence[str]) -> str:
        """The `policylang check` command that reproduces the counterexample."""
        if not self.files:
            return ""
        parts = ["policylang check", *rules, f"--claims {self.files[0]}"]
        for path in self.files[1:]:
            table = path.name.split(".")[-2]
            parts.append(f"--table {table}={path}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holds": self.holds,
            "examples": self.examples,
            "claims": list(self.claims),
            "violations": self.violation.to_json()["violations"] if self.violation else [],
            "tables": {name: list(rows) for name, rows in self.tables.items()},
            "files": [str(path) for path in self.files],
        }


# ---------------------------------------------------------------- what to draw from


def _codes(program: ir.Program) -> list[str]:
    codes: set[str] = set()
    for title in program.titles.values():
        codes |= title.codes.codes
        for low, high in title.codes.ranges:
            codes |= {low, high, _inside(low, high)}
    return sorted(codes)


def _inside(low: str, high: str) -> str:
    """A code strictly inside a range where possible (same length, same prefix rules)."""
    if low.isdigit() and high.isdigit():
        middle = (int(low) + int(high)) // 2
        return str(middle).zfill(len(low))
    return low


def _dates(program: ir.Program) -> list[dt.date]:
    days: set[dt.date] = set()

    def around(day: dt.date) -> None:
        for delta in (-1, 0, 1):
            with contextlib.suppress(OverflowError):
                days.add(day + dt.timedelta(days=delta))

    for title in program.titles.values():
        for period in title.validity:
            around(period.start)
            if period.end is not None:
                around(period.end)
    for param in program.params.values():
        for period in param.periods:
            around(period.start)
            if period.end is not None:
                around(period.end)
        for year, _ in param.years:
            around(dt.date(year, 1, 1))
        if param.type == "date" and isinstance(param.always, dt.date):
            around(param.always)
    for expr in _expressions(program):
        for sub in ir.walk(expr):
            if isinstance(sub, ir.Const) and isinstance(sub.value, dt.date):
                around(sub.value)
    if not days:
        days.add(dt.date(2026, 1, 1))
    return sorted(d for d in days if 2000 <= d.year <= 2100)


def _amounts(program: ir.Program) -> list[Decimal]:
    amounts: set[Decimal] = {Decimal("0.00"), Decimal("10.00")}
    for param in program.params.values():
        if param.type != "money":
            continue
        values = [p.value for p in param.periods] + [v for _, v in param.years]
        if param.has_always:
            values.append(param.always)
        for value in values:
            if isinstance(value, Decimal):
                amounts |= {value, value - Decimal("0.01"), value + Decimal("0.01"), value * 2}
    for expr in _expressions(program):
        for sub in ir.walk(expr):
            if isinstance(sub, ir.Const) and sub.type == "money" and sub.value is not None:
                amounts |= {sub.value, sub.value + Decimal("0.01")}
    return sorted(a.quantize(Decimal("0.01")) for a in amounts if a >= 0)


def _expressions(program: ir.Program) -> list[ir.Expr]:
    return list(program.expressions())


def _field_strategy(program: ir.Program, spec: ir.FieldSpec) -> st.SearchStrategy[str]:
    if spec.type.startswith("enum:"):
        base = st.sampled_from(program.enums[spec.type[5:]].members)
    elif spec.type == "bool":
        base = st.sampled_from(("false", "true"))
    elif spec.type == "integer":
        base = st.integers(0, 3).map(str)
    elif spec.type in ("money", "decimal"):
        base = st.sampled_from([f"{a:f}" for a in _amounts(program)])
    elif spec.type == "percent":
        base = st.sampled_from(("0%", "50%", "100%"))
    elif spec.type == "date":
        base = st.sampled_from([d.isoformat() for d in _dates(program)])
    elif spec.type == "days":
        base = st.integers(0, 31).map(str)
    else:
        base = st.sampled_from(TEXT_VALUES)
    if spec.optional or spec.has_default:
        return st.one_of(base, st.just(""))  # shrinks towards a value, so conditions still hold
    return base


TEXT_VALUES = ("A", "B")  # claim text/code fields and table keys share these, so look-ups hit


def _column_strategy(program: ir.Program, spec: ir.FieldSpec) -> st.SearchStrategy[str]:
    """A table cell: like a claim field, but numbers are positive (tables hold sizes, hours,
    shares) so that table requirements usually hold."""
    if spec.type == "integer":
        return st.sampled_from(("1", "2", "100"))
    if spec.type == "decimal":
        return st.sampled_from(("1", "0.5", "84", "168"))
    if spec.type == "percent":
        return st.sampled_from(("50%", "100%", "25%"))
    if spec.type == "money":
        return st.sampled_from(("1000.00", "0.00", "12345.67"))
    return _field_strategy(program, attrs.evolve(spec, optional=False, has_default=False))


@st.composite
def _tables(
    draw: Any, program: ir.Program, given: frozenset[str]
) -> dict[str, list[dict[str, str]]]:
    tables: dict[str, list[dict[str, str]]] = {}
    for name, spec in program.tables.items():
        if name in given or name not in used_tables(program):
            continue
        rows: list[dict[str, str]] = []
        keys: set[tuple[str, ...]] = set()
        for _ in range(draw(st.integers(1, 2))):
            row = {f.name: draw(_column_strategy(program, f)) for f in spec.fields}
            key = tuple(row[k] for k in spec.key)
            if key not in keys:
                keys.add(key)
                rows.append(row)
        tables[name] = rows
    return tables


def used_tables(program: ir.Program) -> frozenset[str]:
    """Tables that deciding a claim or an invariant reads (settlement tables are not needed)."""
    used: set[str] = set()
    for expr in _expressions(program):
        for sub in ir.walk(expr):
            if isinstance(sub, ir.TableLookup | ir.InTable):
                used.add(sub.table)
            elif isinstance(sub, ir.Aggregate) and sub.source != "claims":
                used.add(sub.source)
    return frozenset(used)


Focus = tuple[tuple[str, ...], tuple[str, ...], int] | None


def focus_of(program: ir.Program, spec: ir.InvariantSpec) -> Focus:
    """Double funding: start every example with a claim of each side, so pairs are common.
    Otherwise start with a claim of a title whose codes the invariant names, if it names any."""
    pair = spec.double_funding
    if pair is not None and pair.first and pair.second:
        return pair.first, pair.second, pair.days
    named = {
        code
        for sub in ir.walk(spec.expr)
        if isinstance(sub, ir.InCodes)
        for code in sub.codes.codes
    }
    titles = tuple(n for n, t in program.titles.items() if any(c in t.codes for c in named))
    if not titles:  # else: titles that share a code with another title, where conflicts live
        from policylang.lint import _shared_codes

        titles = tuple(
            a.name
            for a in program.titles.values()
            if any(a is not b and _shared_codes(a.codes, b.codes) for b in program.titles.values())
        )
    return (titles, (), 0) if titles else None


@st.composite
def _examples(
    draw: Any, program: ir.Program, max_claims: int, given: frozenset[str], focus: Focus = None
) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    return draw(_claim_sets(program, max_claims, focus)), draw(_tables(program, given))


def _title_codes(title: ir.TitleSpec) -> list[str]:
    codes = set(title.codes.codes)
    for low, high in title.codes.ranges:
        codes |= {low, high, _inside(low, high)}
    return sorted(codes)


def _title_dates(title: ir.TitleSpec) -> list[dt.date]:
    days = []
    for period in title.validity:
        days += [period.start, period.start + dt.timedelta(days=1)]
        if period.end is not None:
            days.append(period.end)
    return days


@st.composite
def _claim_sets(
    draw: Any, program: ir.Program, max_claims: int, focus: Focus = None
) -> list[dict[str, str]]:
    codes = _codes(program) or ["000"]
    other = "X" + codes[0]  # a code no payment title has
    dates = _dates(program)
    amounts = [f"{a:f}" for a in _amounts(program)]
    # credit lines are left out: a generated credit is decided after the checks the invariants
    # hunt in, so it only dilutes the search (tests/property covers credits)
    skipped = (*STANDARD, "quantity", "amount", "credit", "corrects")
    extra = [f for f in program.claim_fields if f.name not in skipped]
    planned: list[tuple[str, int, str | None]] = []  # code, day offset, patient
    if focus is not None:
        first, second, days = focus
        a = program.titles[draw(st.sampled_from(first))]
        b = program.titles[draw(st.sampled_from(second or first))]
        starts = [d for d in (*_title_dates(a), *_title_dates(b))]
        both = max(starts) if starts else dates[len(dates) // 2]
        base = draw(
            st.one_of(st.sampled_from((both, both + dt.timedelta(days=1))), st.sampled_from(dates))
        )
        planned.append((draw(st.sampled_from(_title_codes(a))), 0, PATIENTS[0]))
        if second:
            offset = draw(st.integers(0, days))
            planned.append((draw(st.sampled_from(_title_codes(b))), offset, PATIENTS[0]))
        # what the pair requires ("requires X on the same day"), so the pair can be paid at all
        for required in (*a.requirements, *b.requirements):
            title = program.titles[draw(st.sampled_from(required.titles))]
            planned.append((draw(st.sampled_from(_title_codes(title))), 0, PATIENTS[0]))
    else:
        base = draw(st.sampled_from(dates))
    for _ in range(draw(st.integers(0 if planned else 1, max(0, max_claims - len(planned))))):
        code = draw(st.one_of(st.sampled_from(codes), st.just(other)))
        planned.append((code, draw(st.sampled_from((0, 0, 1, 7, -1))), None))
    claims = []
    for index, (code, offset, patient) in enumerate(planned):
        start = base + dt.timedelta(days=offset)
        length = draw(st.sampled_from((None, None, 0, 1, 30, 31)))
        claim = {
            "claim_id": f"c{index + 1}",
            "provider": "06010101",
            "insurer": "3311",
            "patient": patient or draw(st.sampled_from(PATIENTS)),
            "code": code,
            "start_date": start.isoformat(),
            "end_date": "" if length is None else (start + dt.timedelta(days=length)).isoformat(),
            "quantity": str(draw(st.sampled_from((1, 1, 1, 2, 3)))),
            "amount": draw(st.sampled_from(amounts)),
        }
        for field in extra:
            claim[field.name] = draw(_field_strategy(program, field))
        claims.append(claim)
    return claims


# ---------------------------------------------------------------- the search


Example = tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]


def _evaluate(policy: Policy, example: Example, name: str) -> InvariantResult | None:
    """The invariant on one generated example; None when the generated tables are refused."""
    claims, tables = example
    if tables:
        try:
            policy = policy.with_tables(
                {table: policy.table_rows(table, rows) for table, rows in tables.items()}
            )
        except PolicyError:
            return None
    interpreter = policy.interpreter
    rows, decisions = interpreter.evaluate(policy.typed_claims(list(claims)))
    results = check_invariants(
        policy.program, interpreter.compiler, policy._tables, rows, decisions, only=[name]
    )
    return results[0] if results else None


def verify(
    policy: Policy,
    examples: int = 200,
    seed: int = 0,
    max_claims: int = 6,
    out: Path | None = None,
    only: Sequence[str] | None = None,
    shrink_steps: int = SHRINK_STEPS,
) -> list[VerifyResult]:
    """Every invariant (or those in `only`): held, or a shrunk counterexample. Tables already
    given to `policy` are used as they are; every other declared table is generated. At most
    `examples` claim sets are tried and `shrink_steps` more evaluations spent on shrinking."""
    program = policy.program
    results = []
    for spec in program.invariants.values():
        if only and spec.name not in only:
            continue
        name = spec.name
        strategy = _examples(
            program, max_claims, frozenset(policy._tables), focus_of(program, spec)
        )

        budget = _ShrinkBudget(shrink_steps)

        def violated(example: Example, name: str = name, budget: _ShrinkBudget = budget) -> bool:
            key = repr(example)
            if key in budget.seen:
                return budget.seen[key]  # Hypothesis replays examples; the answer must not change
            if not budget.take():
                return False  # budget spent: no new shrink is accepted, so find() ends
            result = _evaluate(policy, example, name)
            found = result is not None and not result.holds
            budget.seen[key] = found
            budget.shrinking = budget.shrinking or found
            return found

        try:
            with _without_time_limits(), _private_hypothesis_directory():
                minimal = find(
                    strategy,
                    violated,
                    settings=settings(
                        max_examples=examples,
                        database=None,
                        deadline=None,
                        suppress_health_check=list(HealthCheck),
                    ),
                    random=random.Random(seed),
                )
        except NoSuchExample:
            results.append(VerifyResult(name, spec.description, True, examples))
            continue
        renumbered = (_renumber(minimal[0]), minimal[1])
        if violated(renumbered):
            minimal = renumbered
        violation = _evaluate(policy, minimal, name)
        files: list[Path] = []
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            files.append(out / f"{name}.claims.csv")
            write_rows(files[0], minimal[0])
            for table, rows in sorted(minimal[1].items()):
                files.append(out / f"{name}.{table}.csv")
                write_rows(files[-1], rows)
        results.append(
            VerifyResult(
                name,
                spec.description,
                False,
                examples,
                tuple(minimal[0]),
                violation,
                tuple(files),
                {table: tuple(rows) for table, rows in minimal[1].items()},
            )
        )
    return results


@attrs.define
class _ShrinkBudget:
    """Evaluations left for shrinking; counting starts at the first counterexample found."""

    left: int
    shrinking: bool = False
    seen: dict[str, bool] = attrs.Factory(dict)

    def take(self) -> bool:
        if not self.shrinking:
            return True
        self.left -= 1
        return self.left >= 0


@contextlib.contextmanager
def _without_time_limits() -> Any:
    """Lift Hypothesis's five-minute shrinking limit for one `find()`: the step budget bounds
    it instead, so the result does not depend on the machine's speed. The limit is a module
    constant of Hypothesis's engine; if a Hypothesis version has none, there is nothing to lift."""
    from hypothesis.internal.conjecture import engine

    saved = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if saved is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = float("inf")
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = saved


@contextlib.contextmanager
def _private_hypothesis_directory() -> Any:
    """Hypothesis keeps caches in `.hypothesis/` under the working directory; verify gives it a
    private temporary directory instead, removed afterwards, so nothing is left in the user's
    folder. Hypothesis's own setting (HYPOTHESIS_STORAGE_DIRECTORY) still wins when it is set."""
    import os
    import shutil
    import tempfile

    from hypothesis import configuration

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    saved = vars(configuration).get("__hypothesis_home_directory")
    home = tempfile.mkdtemp(prefix="policylang-verify-")
    configuration.set_hypothesis_home_dir(home)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(saved)
        shutil.rmtree(home, ignore_errors=True)


def _renumber(claims: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**claim, "claim_id": f"c{i}"} for i, claim in enumerate(claims, 1)]


def write_rows(path: Path, rows: Sequence[dict[str, str]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
