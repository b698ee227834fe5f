"""Interpreter throughput beside a hand-written plain-Python loop of the same rules.

    python benchmarks/bench_interpreter.py [--claims 1000000] [--repeats 3]

Both sides start from the same claims in memory (rows of text, as a CSV reader gives them),
type every field, decide every claim with its reasons and apply the cross-claim exclusions and
requirements of benchmarks/bench_rules.policy. The hand-written loop is checked to give the same
status, payable amount and title for every claim. Reported: claims per second (median over the
repeats) for the interpreter without and with the full trace kept, for the hand-written loop,
and the ratios; also the time to load and check all of rules/ (start-up).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import policylang

HERE = Path(__file__).resolve().parent
CENT = Decimal("0.01")


def real_zorgproduct_codes() -> list[str]:
    path = resources.files("policylang").joinpath("data/nza/zorgproducten_2025.csv")
    with path.open(encoding="utf-8-sig") as handle:
        return [row["zorgproductcode"] for row in csv.DictReader(handle)]


def generate(n: int, seed: int = 2025) -> list[dict[str, str]]:
    rng = random.Random(seed)
    dbc = real_zorgproduct_codes()
    start = dt.date(2025, 1, 1)
    referrers = ["huisarts", "wijkverpleging", "specialist", ""]
    rows = []
    for i in range(n):
        kind = rng.random()
        day = (start + dt.timedelta(days=rng.randrange(730))).isoformat()
        row = {
            "claim_id": f"C{i:08d}",
            "provider": f"{rng.randrange(10_000_000, 99_999_999)}",
            "insurer": rng.choice(["3311", "7029", "3343", "0101"]),
            "patient": f"P{rng.randrange(n // 5 + 1):07d}",
            "start_date": day,
            "quantity": "1",
            "referrer": "",
            "ic_contract": "",
        }
        if kind < 0.80:
            row["code"] = rng.choice(dbc)
            row["amount"] = f"{rng.randrange(100, 500_000) / 100:.2f}"
        elif kind < 0.88:
            row["code"] = "PB0001"
            row["referrer"] = rng.choice(referrers)
            row["amount"] = rng.choice(["60.00", "62.50", "75.00"])
        elif kind < 0.96:
            row["code"] = rng.choice(["190153", "190154", "190155"])
            row["ic_contract"] = rng.choice(["true", "true", "false"])
            row["amount"] = f"{rng.randrange(150_000, 250_000) / 100:.2f}"
        else:
            row["code"] = "190156"
            row["amount"] = "450.00"
        if rng.random() < 0.005:  # a broken row now and then
            row["amount"] = row["amount"].replace(".", ",")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the hand-written reference

_AMOUNT = re.compile(r"-?\d+(\.\d{1,2})?")
_REFERRERS = ("huisarts", "wijkverpleging", "specialist")
_PAID = ("accepted", "adjusted")
_EUR2000 = Decimal("2000.00")
_EUR450 = Decimal("450.00")
_T2025 = Decimal("60.00")
_T2026 = Decimal("62.50")
_D2025 = dt.date(2025, 1, 1)
_D2026 = dt.date(2026, 1, 1)


def _m(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):,f}"


def reference(rows: list[dict[str, str]]) -> list[tuple[str, str, Decimal, str | None, list[str]]]:
    """The rules of bench_rules.policy, written out by hand."""
    decided: list[Any] = []
    for row in rows:
        claim_id = row["claim_id"]
        amount_text = row["amount"]
        if not _AMOUNT.fullmatch(amount_text):
            decided.append(
                (
                    claim_id,
                    "error",
                    Decimal("0.00"),
                    None,
                    [f"field `amount`: `{amount_text}` is not an amount"],
                    None,
                )
            )
            continue
        amount = Decimal(amount_text)
        day = dt.date.fromisoformat(row["start_date"])
        quantity = int(row["quantity"] or 1)
        code = row["code"]
        referrer = row["referrer"] or None
        contract = row["ic_contract"] != "false"
        info = (row["patient"], day)
        if code == "PB0001":
            if day < _D2025:
                decided.append((claim_id, "rejected", Decimal("0.00"), None, ["not valid"], info))
            elif referrer not in ("huisarts", "wijkverpleging"):
                decided.append(
                    (
                        claim_id,
                        "rejected",
                        Decimal("0.00"),
                        None,
                        ["requested by the GP or the district nurse"],
                        info,
                    )
                )
            else:
                tariff = _T2025 if day < _D2026 else _T2026
                limit = tariff * quantity
                reasons = ["funded as Meekijkconsult (production)"]
                payable = min(amount, limit)
                if payable != amount:
                    reasons.append(
                        f"claimed EUR {_m(amount)} is above the maximum tariff EUR {_m(tariff)} x {quantity} = EUR {_m(limit)}"
                    )
                payable = payable.quantize(CENT, ROUND_HALF_UP)
                decided.append(
                    (
                        claim_id,
                        "accepted" if payable == amount else "adjusted",
                        payable,
                        "meekijkconsult",
                        reasons,
                        info,
                    )
                )
        elif len(code) == 6 and "190153" <= code <= "190155":
            reasons = ["funded as IC-behandeldag (production)"]
            limit = _EUR2000 * quantity
            payable = min(amount, limit)
            if payable != amount:
                reasons.append(
                    f"claimed EUR {_m(amount)} is above the maximum tariff EUR {_m(_EUR2000)} x {quantity} = EUR {_m(limit)}"
                )
            if not contract:
                if code != "190153":
                    decided.append(
                        (
                            claim_id,
                            "rejected",
                            Decimal("0.00"),
                            "ic_day",
                            ["without a contract only IC day light (190153) may be charged"],
                            info,
                        )
                    )
                    continue
                reasons.append("IC day light may be charged without a contract")
            payable = payable.quantize(CENT, ROUND_HALF_UP)
            decided.append(
                (
                    claim_id,
                    "accepted" if payable == amount else "adjusted",
                    payable,
                    "ic_day",
                    reasons,
                    info,
                )
            )
        elif code == "190156":
            payable = (_EUR450 * quantity).quantize(CENT, ROUND_HALF_UP)
            reasons = ["funded as Dialysetoeslag IC (production)"]
            if payable != amount:
                reasons.append(
                    f"the fixed tariff is EUR {_m(_EUR450)} x {quantity} = EUR {_m(payable)}; claimed EUR {_m(amount)}"
                )
            decided.append(
                (
                    claim_id,
                    "accepted" if payable == amount else "adjusted",
                    payable,
                    "dialysis_addon",
                    reasons,
                    info,
                )
            )
        elif len(code) == 9 and "010501001" <= code <= "998418082":
            decided.append(
                (
                    claim_id,
                    "accepted",
                    amount,
                    "dbc_zorgproduct",
                    ["funded as DBC-zorgproduct (production)"],
                    info,
                )
            )
        else:
            decided.append(
                (
                    claim_id,
                    "rejected",
                    Decimal("0.00"),
                    None,
                    [f"no payment title for code `{code}`"],
                    info,
                )
            )
    # Cross-claim: meekijkconsult not with a DBC on the same day; dialysis requires an IC day.
    dbc_days: set[tuple[str, dt.date]] = set()
    for d in decided:
        if d[3] == "dbc_zorgproduct" and d[1] in _PAID:
            dbc_days.add(d[5])
    result = []
    for d in decided:
        if d[3] == "meekijkconsult" and d[1] in _PAID and d[5] in dbc_days:
            d = (d[0], "rejected", Decimal("0.00"), d[3], ["double funding"], d[5])
        result.append(d)
    ic_days = defaultdict(int)
    for d in result:
        if d[3] == "ic_day" and d[1] in _PAID:
            ic_days[d[5]] += 1
    final = []
    for d in result:
        if d[3] == "dialysis_addon" and d[1] in _PAID and not ic_days.get(d[5]):
            d = (d[0], "rejected", Decimal("0.00"), d[3], ["requires ic_day"], d[5])
        final.append(d[:5])
    return final


# ---------------------------------------------------------------- our engine


def engine(policy: policylang.Policy, rows: list[dict[str, str]], trace: bool) -> list[Any]:
    if not trace:
        return policy.check(rows)  # the public API: rows as mappings, typed and decided
    traces: list[list[Any]] = []  # every claim's steps, kept
    _, decisions = policy.interpreter.evaluate(policy.typed_claims(rows), traces=traces)
    assert len(traces) == len(rows)
    return decisions


def interleaved(
    runs: dict[str, Any], repeats: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Seconds per run and round, the runs taking turns in each round: on a shared machine a
    burst of load then hits every side alike, and the ratios stay comparable."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for round_ in range(repeats):
        # every other round in the opposite order: a run that follows a large one (memory just
        # freed, caches cold) is slower, and that should not fall on one side only
        order = list(runs.items()) if round_ % 2 == 0 else list(runs.items())[::-1]
        for name, fn in order:
            started = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - started)
    return times, results


def ratio(times: dict[str, list[float]], ours: str, reference: str) -> float:
    """The median over the rounds of ours / reference."""
    return statistics.median(o / r for o, r in zip(times[ours], times[reference], strict=True))


def startup(repeats: int) -> float:
    code = (
        "import time; t = time.perf_counter(); import policylang; policylang.load('rules/');"
        "print(time.perf_counter() - t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                cwd=HERE.parent,
            ).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rows = generate(args.claims)
    policy = policylang.load(HERE / "bench_rules.policy")
    times, results = interleaved(
        {
            "plain": lambda: reference(rows),
            "ours": lambda: engine(policy, rows, trace=False),
            "traced": lambda: engine(policy, rows, trace=True),
        },
        args.repeats,
    )
    plain_time, ours_time, traced_time = (
        statistics.median(times[name]) for name in ("plain", "ours", "traced")
    )
    expected, decisions, traced = results["plain"], results["ours"], results["traced"]

    mismatches = sum(
        1
        for want, got in zip(expected, decisions, strict=True)
        if (want[1], want[2], want[3]) != (got.status, got.payable, got.title)
    )
    assert len(decisions) == len(rows) == len(traced)
    assert mismatches == 0, f"{mismatches} decisions differ from the hand-written loop"

    n = len(rows)
    print(f"claims: {n:,} (real 2025 zorgproduct codes), median of {args.repeats} interleaved runs")
    print(f"hand-written loop        {n / plain_time:>10,.0f} claims/s  ({plain_time:.2f} s)")
    print(
        f"policylang, no trace     {n / ours_time:>10,.0f} claims/s  ({ours_time:.2f} s)"
        f"  ratio {ratio(times, 'ours', 'plain'):.2f}x"
    )
    print(
        f"policylang, full trace   {n / traced_time:>10,.0f} claims/s  ({traced_time:.2f} s)"
        f"  ratio {ratio(times, 'traced', 'plain'):.2f}x"
    )
    print(f"start-up: import + load and check rules/  {startup(5):.3f} s (median of 5 processes)")


if __name__ == "__main__":
    main()
