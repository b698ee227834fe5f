"""Benchmark: the Spark engine against the batch engine (DuckDB) on the same compiled policy.

    PYTHONPATH=. python benchmarks/bench_spark.py --claims 1000000 --repeats 2 --write-doc
    PYTHONPATH=. python benchmarks/bench_spark.py --claims 20000 --repeats 1 --master 'local[1]'

Generates `--claims` claims as bench_batch.py does (Parquet, seed 2025, real 2025 zorgproduct
codes), then runs, each in its own process, `--repeats` interleaved rounds (the order reversed
every other round):

  spark          policylang check --engine spark --format jsonl --output FILE
                 (its session is local[2]; with another --master the row is
                 spark-submit --master M policylang/spark_job.py ..., the part files joined)
  spark start-up the same session started and `SELECT 1` collected, nothing else
  batch          policylang check --engine batch --format jsonl --output FILE (the reference)
  handwritten    bench_batch.py's hand-written DuckDB SQL (--no-handwritten to skip)

Whole-process wall time, CPU time (user + system) and peak RSS from wait4. pyspark starts the JVM
as a child process and does not wait for it: the JVM outlives the Python process by a fraction of
a second and would be reaped by init. This script makes itself a child subreaper (Linux prctl), so
the orphaned JVM is reparented to it and reaped here: its CPU time and peak RSS are reported in
their own columns and the wall time runs until it has exited. Spark's JSON Lines must be
byte-identical to the batch engine's in every round, or the script stops. Prints medians and the
ratio spark / batch (median of the per-round ratios); --write-doc puts the table into
docs/performance-batch.md between the bench_spark markers.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import POLICY, ROOT, child_env, generate_apart, handwritten, run_process

DEFAULT_MASTER = "local[2]"  # the session `policylang check --engine spark` starts
DOC = ROOT / "docs" / "performance-batch.md"
BEGIN = "<!-- bench_spark.py --write-doc: begin -->"
END = "<!-- bench_spark.py --write-doc: end -->"
PR_SET_CHILD_SUBREAPER = 36
STARTUP = """import sys
from policylang.evaluate.spark.session import local_session
if sys.argv[1] == "local[2]":
    spark = local_session()
else:
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master(sys.argv[1]).getOrCreate()
spark.sql("SELECT 1").collect()
"""


@dataclass
class Run:
    """One process: wall seconds until it and its orphans exited; peak RSS (MB) and CPU seconds
    of the process with the children it waited for, and of its orphans (the JVM)."""

    wall: float
    rss: int
    cpu: float
    jvm_rss: int
    jvm_cpu: float

    @property
    def all_cpu(self) -> float:
        return self.cpu + self.jvm_cpu


def become_subreaper() -> bool:
    """Make orphaned descendants this process's children, so their usage can be read."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def reap_orphans(timeout: float = 120.0) -> tuple[int, float]:
    """Wait for every remaining child (orphans reparented here); the largest peak RSS (MB) and
    the CPU seconds of all of them."""
    rss, cpu = 0, 0.0
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return rss, cpu
        if pid:
            rss = max(rss, usage.ru_maxrss // 1024)
            cpu += usage.ru_utime + usage.ru_stime
        elif time.monotonic() > deadline:
            raise RuntimeError(f"a child process is still running {timeout:.0f} s after the run")
        else:
            time.sleep(0.02)


def run_tree(args: list[str], env: dict[str, str]) -> Run:
    start = time.perf_counter()
    _, rss, cpu = run_process(args, env)
    jvm_rss, jvm_cpu = reap_orphans()
    return Run(time.perf_counter() - start, rss, cpu, jvm_rss, jvm_cpu)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--master",
        default=DEFAULT_MASTER,
        help="Spark master; anything but local[2] runs policylang/spark_job.py by spark-submit "
        "(the work directory must then be readable and writable by the executors, see --work)",
    )
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--no-handwritten", action="store_true")
    parser.add_argument("--write-doc", action="store_true")
    return parser.parse_args(argv)


def spark_submit() -> str:
    beside = Path(sys.executable).with_name("spark-submit")
    return str(beside) if beside.exists() else "spark-submit"


def commands(options: argparse.Namespace, work: Path, claims: Path) -> dict[str, list[str]]:
    """Each row's command line; the Spark and batch rows write work/spark.* and work/batch.jsonl."""
    python = sys.executable
    check = [python, "-m", "policylang.cli", "check", str(POLICY), "--claims", str(claims)]
    check += ["--format", "jsonl"]
    if options.master == DEFAULT_MASTER:
        spark = [*check, "--engine", "spark", "--output", str(work / "spark.jsonl")]
    else:
        job = ROOT / "policylang" / "spark_job.py"
        spark = [spark_submit(), "--master", options.master, str(job), str(POLICY)]
        spark += ["--claims", str(claims), "--output", str(work / "spark.out")]
    rows = {
        "spark": spark,
        "spark start-up": [python, "-c", STARTUP, options.master],
        "batch": [*check, "--engine", "batch", "--output", str(work / "batch.jsonl")],
    }
    if not options.no_handwritten:
        rows["handwritten"] = handwritten(work, claims)
    return rows


def spark_lines(options: argparse.Namespace, work: Path) -> Path:
    """Spark's JSON Lines as one file: spark-submit's part files joined in partition order."""
    if options.master == DEFAULT_MASTER:
        return work / "spark.jsonl"
    joined = work / "spark.jsonl"
    with joined.open("wb") as out:
        for part in sorted((work / "spark.out").glob("part-*")):
            out.write(part.read_bytes())
    return joined


def same_bytes(left: Path, right: Path) -> str | None:
    """None when the files are byte-identical, else where they first differ (as cmp says)."""
    result = subprocess.run(["cmp", str(left), str(right)], capture_output=True, text=True)
    return None if result.returncode == 0 else (result.stdout + result.stderr).strip()


def report(rounds: list[dict[str, Run]], claims: int, jvm_measured: bool) -> list[str]:
    """The table and the ratios, as Markdown lines."""
    lines = [
        "| run | wall s (median) | claims/s | peak RSS MB, Python | peak RSS MB, JVM "
        "| CPU s (median), Python + JVM |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median(r.all_cpu for r in runs)
        jvm = max(r.jvm_rss for r in runs)
        jvm_text = str(jvm) if jvm_measured and jvm else "–"
        rate = f"{claims / wall:,.0f}" if name != "spark start-up" else "–"
        lines.append(
            f"| {name} | {wall:.2f} | {rate} | {max(r.rss for r in runs)} | {jvm_text} "
            f"| {cpu:.2f} |"
        )
    wall = statistics.median(r["spark"].wall / r["batch"].wall for r in rounds)
    cpu = statistics.median(r["spark"].all_cpu / r["batch"].all_cpu for r in rounds)
    after = statistics.median(r["spark"].wall - r["spark start-up"].wall for r in rounds)
    lines += [
        "",
        f"ratio spark / batch (median of the per-round ratios): **{wall:.1f}x wall, "
        f"{cpu:.1f}x CPU**; Spark's run less its start-up (spark − spark start-up, median "
        f"of the rounds): {after:.1f} s wall.",
    ]
    return lines


def versions() -> str:
    import duckdb
    import pyspark

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    java_version = java.split('"')[1] if '"' in java else "?"
    return f"pyspark {pyspark.__version__}, Java {java_version}, DuckDB {duckdb.__version__}"


def commit() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head or '?'}{' with local changes' if dirty else ''}"


def replace_section(text: str, block: str) -> str:
    """`text` with what lies between the markers replaced by `block`."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: the markers {BEGIN!r} and {END!r} are missing")
    return f"{text[: start + len(BEGIN)]}\n{block}\n{text[end:]}"


def measure(options: argparse.Namespace, work: Path) -> tuple[list[dict[str, Run]], list[float]]:
    claims = work / "claims.parquet"
    started = time.perf_counter()
    generate_apart(claims, options.claims)  # the peak RSS of this process is every child's floor
    print(f"generated {options.claims:,} claims in {time.perf_counter() - started:.1f} s")
    rows = commands(options, work, claims)
    env = child_env(work)
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable  # for spark-submit
    warm = "import duckdb, pyarrow.parquet, pyspark.sql, policylang.cli, policylang.evaluate.spark.engine"
    subprocess.run([sys.executable, "-c", warm], env=env, cwd=ROOT, check=True)  # fills the cache
    rounds: list[dict[str, Run]] = []
    loads: list[float] = []
    for index in range(options.repeats):
        order = list(rows) if index % 2 == 0 else list(reversed(rows))
        results: dict[str, Run] = {}
        for name in order:
            loads.append(os.getloadavg()[0])
            results[name] = run_tree(rows[name], env)
            print(f"round {index + 1} {name}: {results[name]}", flush=True)
        rounds.append({name: results[name] for name in rows})
        batch = work / "batch.jsonl"
        with batch.open("rb") as handle:
            count = sum(1 for _ in handle)
        if count != options.claims:
            raise SystemExit(f"batch wrote {count} lines for {options.claims} claims")
        difference = same_bytes(batch, spark_lines(options, work))
        if difference:
            raise SystemExit(f"Spark's JSON Lines differ from the batch engine's: {difference}")
        print(f"round {index + 1}: Spark's {count:,} lines are byte-identical to batch's")
    return rounds, loads


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_args(argv)
    jvm_measured = become_subreaper()
    if not jvm_measured:
        print("not Linux or prctl failed: the JVM's usage is not measured", file=sys.stderr)
    if options.work:
        options.work.mkdir(parents=True, exist_ok=True)
        rounds, loads = measure(options, options.work)
    else:
        with tempfile.TemporaryDirectory() as directory:
            rounds, loads = measure(options, Path(directory))
    submitted = options.master != DEFAULT_MASTER
    if jvm_measured and not submitted and not rounds[0]["spark"].jvm_rss:
        print("warning: no orphaned JVM was reaped; its usage is in the Python columns")
    table = report(rounds, options.claims, jvm_measured)
    shown = " ".join(["bench_spark.py", *(shlex.quote(a) for a in argv if a != "--write-doc")])
    head = [
        f"`{shown}`",
        f"on {datetime.date.today().isoformat()}, commit {commit()}, master {options.master}, "
        f"{os.cpu_count()} CPUs, load average (1 minute) {min(loads):.1f}-{max(loads):.1f} "
        f"before the runs; {versions()}. Medians of {options.repeats} interleaved rounds, "
        f"the order reversed every other round; Spark's JSON Lines byte-identical to the batch "
        f"engine's in every round (`cmp`, {options.claims:,} lines)"
        + (
            "; spark-submit is the JVM with the Python driver as the child it waits for, so the "
            "spark row's Python column is the larger peak of the two and its CPU both:"
            if submitted
            else ":"
        ),
        "",
    ]
    print("\n".join([*head, *table]))
    if options.write_doc:
        DOC.write_text(replace_section(DOC.read_text(), "\n".join([*head, *table])))
        print(f"wrote the table into {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
