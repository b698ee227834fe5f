"""Benchmark: start-up of a whole `policylang check` process, with and without the parser cache.

    PYTHONPATH=. python benchmarks/bench_startup.py --rounds 11
    PYTHONPATH=. python benchmarks/bench_startup.py --rounds 11 --before ../policylang-old   # a checkout of an older commit

Runs `policylang check rules/ --claims ONE_CLAIM.csv` (the first claim of
examples/claims.csv) as a new process, the variants taking turns in every round:

  cached    the parser's tables from the private per-user cache (syntax/cache.py)
  uncached  no usable cache directory (XDG_CACHE_HOME is a directory others can write), so the
            parser is built in memory on every start
  before    optional: another checkout on PYTHONPATH (e.g. `git archive` of an older commit),
            such as the Lark temp-file cache this replaced

Prints the median, minimum and maximum wall time per variant (docs/performance.md,
docs/security.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_claim(directory: Path) -> Path:
    lines = (ROOT / "examples" / "claims.csv").read_text(encoding="utf-8").splitlines()
    path = directory / "one.csv"
    path.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    return path


def run(claims: Path, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "policylang.cli", "check", "rules/", "--claims", str(claims)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--before", type=Path, help="an older checkout to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        shared = Path(scratch) / "shared"
        shared.mkdir()
        shared.chmod(0o777)  # the cache check refuses it: the uncached start
        claims = one_claim(Path(scratch))
        base = {**os.environ, "PYTHONPATH": str(ROOT)}
        variants = {
            "cached": base,
            "uncached": {**base, "XDG_CACHE_HOME": str(shared)},
        }
        if args.before:
            variants["before"] = {**base, "PYTHONPATH": str(args.before)}
        for env in variants.values():
            run(claims, env)  # warm the file cache and the parser cache
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.rounds):
            order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
            for name in order:
                times[name].append(run(claims, variants[name]))
    for name, values in times.items():
        print(
            f"{name:<9} median {statistics.median(values):.3f} s  "
            f"min {min(values):.3f}  max {max(values):.3f}  ({len(values)} runs)"
        )


if __name__ == "__main__":
    main()
