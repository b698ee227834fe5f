"""Benchmark: parse + validate a ZH308 file against a plain fixed-width slicing loop.

    PYTHONPATH=. python benchmarks/bench_ei.py --records 1000000 --repeats 5

Generates a valid ZH308 v9.0 file of about `--records` records deterministically (seed 2025;
claims with real 2025 zorgproduct codes, from the NZa table if /work/shared has it, else the list
below), then times, in the same run and interleaved:

  (a) ours:  policylang's reader + validator (typed values, every check of validate.py)
  (b) plain: a loop doing the same slicing (every field of every record, same file reading),
             no typing and no checks

and prints the median of the repeats and the ratio (a)/(b). The target is a ratio of at most 2.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from policylang.io.ei.layout import load_layout
from policylang.io.ei.reader import read_lines, read_records
from policylang.io.ei.validate import validate_records
from policylang.io.ei.writer import LINE_END, zh308_lines

NZA_2025 = Path("/work/shared/data/real/nza_zorgproducten_2025/nza_zorgproducten_actueel.csv")
# Real DBC-zorgproduct codes from the NZa Zorgproducten Tabel 2025 (a fallback when NZA_2025 is absent).
ZORGPRODUCTEN_2025 = (
    "010501001", "010501002", "020112018", "029199033", "029199287", "029499032",
    "070601005", "099699079", "140401008", "199799015", "972804025", "990089046",
)  # fmt: skip


def zorgproducten() -> list[str]:
    if NZA_2025.exists():
        with NZA_2025.open(encoding="utf-8") as f:
            return sorted(row["zorgproductcode"] for row in csv.DictReader(f))
    return list(ZORGPRODUCTEN_2025)


def claims(n_records: int, seed: int = 2025) -> list[dict[str, str | None]]:
    """Claims that make about `n_records` records: 1-4 prestaties (04 + 06) per insured (02)."""
    rng = random.Random(seed)
    products = zorgproducten()
    out: list[dict[str, str | None]] = []
    records = 2  # header and closing record
    patient = 0
    while records < n_records:
        patient += 1
        bsn = f"{rng.randrange(10**8, 10**9):09d}"
        insurer = rng.choice(("3311", "3313", "3332", "3343", "7029"))
        records += 1
        for _ in range(rng.randint(1, 4)):
            start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(300))
            cents = rng.randrange(-5_000, 200_000)  # the closing total has 11 digits
            out.append(
                {
                    "claim_id": f"P{len(out) + 1:012d}",
                    "provider": "06010101",
                    "insurer": insurer,
                    "patient": bsn,
                    "code": f"15{rng.choice('ABCDE')}{rng.randrange(1000):03d}",
                    "zorgproduct": rng.choice(products),
                    "start_date": start.isoformat(),
                    "end_date": (start + dt.timedelta(days=rng.randrange(120))).isoformat(),
                    "quantity": str(rng.randint(1, 3)),
                    "amount": f"{cents / 100:.2f}" if cents >= 0 else f"-{-cents / 100:.2f}",
                    "zorgtraject": f"ZT{patient:09d}",
                    "subtraject": f"ST{len(out) + 1:010d}",
                }
            )
            records += 2
    return out


def generate(path: Path, n_records: int) -> int:
    lines = zh308_lines(claims(n_records))
    with path.open("w", encoding="latin-1", newline="") as f:
        f.writelines(line + LINE_END for line in lines)
    return len(lines)


def ours(path: Path) -> int:
    layout = load_layout("ZH308v9.0")
    problems = validate_records(read_records(read_lines(path), layout), layout)
    assert not problems, problems[:3]
    return 0


def plain(path: Path) -> int:
    layout = load_layout("ZH308v9.0")
    slices = {
        code: [(f.start - 1, f.end) for f in rt.fields] for code, rt in layout.record_types.items()
    }
    n = 0
    with open(path, encoding="latin-1", newline="\n") as f:
        for line in f:
            line = line.rstrip("\r\n")
            values = [line[a:b] for a, b in slices[line[:2]]]
            n += len(values)
    return n


def timed(fn: Callable[[Path], int], path: Path) -> float:
    start = time.perf_counter()
    fn(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.zh308"
        start = time.perf_counter()
        n = generate(path, args.records)
        print(
            f"generated {n:,} records ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s"
        )
        times: dict[str, list[float]] = {"ours": [], "plain": []}
        for _ in range(args.repeats):
            times["ours"].append(timed(ours, path))
            times["plain"].append(timed(plain, path))
        med = {name: statistics.median(ts) for name, ts in times.items()}
        for name, m in med.items():
            print(
                f"{name:>5}: median {m:.3f} s over {args.repeats} runs, {n / m / 1e6:.2f} M records/s"
            )
        print(f"ratio ours/plain: {med['ours'] / med['plain']:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
