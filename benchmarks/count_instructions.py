"""Instructions per claim, ours beside the hand-written reference, counted by valgrind.

    python benchmarks/count_instructions.py [--claims 20000] [--only interpreter|settle]

This machine is shared and its wall-clock times swing by 2x with the load of other processes;
the number of instructions a run executes does not. For each benchmark (bench_interpreter.py,
bench_settle.py) this runs one process per side under `valgrind --tool=callgrind` twice, once
doing the work on N claims and once on none (same imports, same generated claims, same warm-up),
and reports the difference per claim and the ratio ours / reference. Instructions are not
seconds (memory stalls and the interpreter's branch misses count for nothing), so read this
beside the interleaved wall-clock ratio of the benchmark itself. Needs valgrind on PATH.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One worker per benchmark: argv = side, claims to do, claims to generate. Every run generates
# the same rows and warms up on the first 100, so only the work differs between the two runs
# of a side, and the caches (dates, codes, compiled regexes) start alike.
WORKERS = {
    "interpreter": """
import sys
sys.path.insert(0, {here!r})
import bench_interpreter as bench
import policylang
side, n, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = bench.generate(total)
policy = policylang.load({here!r} + "/bench_rules.policy")
policy.check(rows[:100]); bench.reference(rows[:100])
if side == "ours":
    policy.check(rows[:n])
elif side == "traced":
    bench.engine(policy, rows[:n], trace=True)
elif side == "reference":
    bench.reference(rows[:n])
""",
    "settle": """
import sys
sys.path.insert(0, {here!r})
import bench_settle as bench
import policylang
side, n, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
table, rows = bench.generate(total, 80)
policy = policylang.load(bench.POLICY).with_tables(
    {{"seh_locations": {{r["location"]: r for r in table}}}}
)
bench.ours(policy, rows[:100]); bench.reference(table, rows[:100])
if side == "ours":
    bench.ours(policy, rows[:n])
elif side == "reference":
    bench.reference(table, rows[:n])
""",
}


def instructions(worker: str, side: str, claims: int, total: int) -> int:
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            worker,
            side,
            str(claims),
            str(total),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    assert found, run.stderr[-2000:]
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--only", choices=sorted(WORKERS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    for name, template in WORKERS.items():
        if args.only and name != args.only:
            continue
        worker = template.format(here=str(HERE))
        per_claim = {}
        sides = ("reference", "ours", "traced") if name == "interpreter" else ("reference", "ours")
        for side in sides:
            work = instructions(worker, side, args.claims, args.claims) - instructions(
                worker, side, 0, args.claims
            )
            per_claim[side] = work / args.claims
        print(
            f"{name:<12} reference {per_claim['reference']:>9,.0f} instructions/claim  "
            f"ours {per_claim['ours']:>9,.0f}  ratio {per_claim['ours'] / per_claim['reference']:.2f}x"
            f"  ({args.claims:,} claims)"
        )
        if "traced" in per_claim:
            print(
                f"{'':<12} with the full trace kept {per_claim['traced']:>9,.0f} instructions/claim"
                f"  ratio {per_claim['traced'] / per_claim['reference']:.2f}x"
            )


if __name__ == "__main__":
    main()
