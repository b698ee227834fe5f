"""Before/after of the batch engine: the same claims through several source trees, interleaved.

    git archive 7012fe1 | tar -x -C /tmp/before
    PYTHONPATH=. python benchmarks/compare_trees.py --claims 1000000 --rounds 5 /tmp/before .

Each round runs `policylang check --engine batch --format jsonl --output FILE` once per tree
(PYTHONPATH set to the tree, byte code cached per tree) and the hand-written script of
bench_batch.py, so load drift hits every side alike; prints medians of wall and CPU seconds,
system CPU, peak RSS and the ratios to the hand-written script, and checks that every tree
writes the same bytes as the first.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_batch as bench


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        claims = work / "claims.parquet"
        # in a child process: a child's peak RSS is never below its parent's at its start
        bench.generate_apart(claims, options.claims)
        envs, sides = {}, {}
        for n, tree in enumerate(options.trees):
            tree = tree.resolve()
            env = {**bench.child_env(work / f"t{n}"), "PYTHONPATH": str(tree)}
            warm = "import duckdb, pyarrow.parquet, policylang.cli, policylang.evaluate.batch"
            subprocess.run([python, "-c", warm], env=env, cwd=tree, check=True)
            name = f"{n}: {tree}"
            envs[name] = env
            sides[name] = [
                *[python, "-m", "policylang.cli", "check", "--format", "jsonl"],
                *[str(tree / "benchmarks" / "bench_rules.policy"), "--claims", str(claims)],
                *["--engine", "batch", "--output", str(work / f"out{n}.jsonl")],
            ]
        envs["handwritten"] = next(iter(envs.values()))
        sides["handwritten"] = bench.handwritten(work, claims)
        results: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in sides}
        for _ in range(options.rounds):
            for name, args in sides.items():
                before = os.times()
                wall, rss, cpu = bench.run_process(args, envs[name])
                system = os.times().children_system - before.children_system
                results[name].append((wall, cpu, rss, system))
        for n in range(1, len(options.trees)):
            same = filecmp.cmp(work / "out0.jsonl", work / f"out{n}.jsonl", shallow=False)
            assert same, f"tree {n} writes other bytes than tree 0"
        hand = results["handwritten"]
        hand_wall = statistics.median(r[0] for r in hand)
        hand_cpu = statistics.median(r[1] for r in hand)
        print("| side | wall s | CPU s | sys s | peak RSS MB | ratio wall | ratio CPU |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, runs in results.items():
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            system = statistics.median(r[3] for r in runs)
            rss = max(r[2] for r in runs)
            print(
                f"| {name} | {wall:.2f} | {cpu:.2f} | {system:.2f} | {rss} | "
                f"{wall / hand_wall:.2f} | {cpu / hand_cpu:.2f} |"
            )
        print("outputs byte-identical across trees")


if __name__ == "__main__":
    main()
