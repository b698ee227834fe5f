"""Benchmark: the batch engine (DuckDB) against the interpreter and hand-written DuckDB SQL.

    PYTHONPATH=. python benchmarks/bench_batch.py --claims 1000000 --repeats 3
    PYTHONPATH=. python benchmarks/bench_batch.py --claims 10000000 --repeats 1 --no-interpreter

Generates `--claims` claims deterministically (seed 2025) as Parquet with text columns (a raw
extract: codes keep their zeros): real 2025 zorgproduct codes from
policylang/data/nza/zorgproducten_2025.csv and the codes of the titles of
benchmarks/bench_rules.policy (meekijkconsult, IC days, dialysis add-on), patients shared so
exclusions and requirements trigger, a few broken rows. Then, each engine in its own process
(whole-process wall time: import, load rules, evaluate, write JSON Lines; peak RSS from wait4):

  batch        policylang check --engine batch --format jsonl --output FILE
  handwritten  the same rules written by hand as one DuckDB SQL script (HANDWRITTEN below)
  interpreter  policylang check --engine interpret on the first 100,000 claims, extrapolated

and `rules/` (the real rule files) with the batch engine. Prints medians and the ratio
batch / handwritten, and writes the table to docs/performance-batch.md with --write-doc.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "benchmarks" / "bench_rules.policy"
SUBSET = 100_000


def zorgproducten() -> list[str]:
    path = ROOT / "policylang" / "data" / "nza" / "zorgproducten_2025.csv"
    with path.open(encoding="utf-8") as handle:
        return [row["zorgproductcode"] for row in csv.DictReader(handle)]


def generate(path: Path, count: int, seed: int = 2025) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    dbc = zorgproducten()
    titles = ["PB0001", "190153", "190154", "190155", "190156"]
    writer = None
    chunk = 500_000
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        cols: dict[str, list[str | None]] = {
            k: []
            for k in (
                "claim_id",
                "provider",
                "insurer",
                "patient",
                "code",
                "start_date",
                "end_date",
                "quantity",
                "amount",
                "referrer",
                "ic_contract",
            )
        }
        for i in range(start, start + n):
            title = rng.random() < 0.2
            code = rng.choice(titles) if title else rng.choice(dbc)
            day = 1 + rng.randrange(365)
            year = 2025 if rng.random() < 0.7 else 2026
            date = f"{year}-{1 + (day - 1) // 31 % 12:02d}-{1 + (day - 1) % 28:02d}"
            amount = (
                f"{rng.choice([60, 62.5, 75, 1900, 2000, 2100, 450, 500]):.2f}"
                if title
                else f"{rng.randrange(10_000, 500_000) / 100:.2f}"
            )
            if rng.random() < 0.001:
                amount = amount.replace(".", ",")
            cols["claim_id"].append(f"C{i:09d}")
            cols["provider"].append(f"0{rng.randrange(6010000, 6099999)}")
            cols["insurer"].append(rng.choice(["3311", "7029", "3343", "0101"]))
            cols["patient"].append(f"P{rng.randrange(max(1, count // 4)):08d}")
            cols["code"].append(code)
            cols["start_date"].append(date)
            cols["end_date"].append(None)
            cols["quantity"].append("1" if rng.random() < 0.95 else "2")
            cols["amount"].append(amount)
            cols["referrer"].append(
                rng.choice(["huisarts", "wijkverpleging", "specialist", None])
                if code == "PB0001"
                else None
            )
            cols["ic_contract"].append(rng.choice(["true", "true", "false", None]))
        table = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def generate_apart(path: Path, count: int, subset: Path | None = None) -> None:
    """generate() in a child process, and the first SUBSET claims into `subset`. A child's peak
    RSS (wait4's ru_maxrss) is never below its parent's peak at the time it was started (exec
    records the peak of the memory it replaces), so the parent must stay small."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "import bench_batch as b; b.generate(Path(sys.argv[2]), int(sys.argv[3]))\n"
        "if sys.argv[4:]:\n"
        "    import pyarrow.parquet as pq\n"
        "    pq.write_table(pq.read_table(sys.argv[2]).slice(0, b.SUBSET), sys.argv[4])"
    )
    args = [str(Path(__file__).resolve().parent), str(path), str(count)]
    args += [str(subset)] if subset is not None else []
    subprocess.run([sys.executable, "-c", code, *args], check=True)


# The rules of bench_rules.policy by hand: typing as io/claims.py, phase 1, the exclusion and the
# requirement, one JSON line per claim. Written for speed, as a data engineer would.
HANDWRITTEN = r"""
SET preserve_insertion_order = true;
CREATE TEMP TABLE t AS
WITH raw AS (SELECT file_row_number + 1 AS rn, * FROM read_parquet('{input}', file_row_number = true)),
x AS (
  SELECT rn, trim(claim_id) AS cid, trim(patient) AS patient, trim(code) AS code,
    TRY_CAST(trim(start_date) AS DATE) AS sd,
    coalesce(TRY_CAST(trim(end_date) AS DATE), TRY_CAST(trim(start_date) AS DATE)) AS ed,
    CASE WHEN quantity IS NULL OR trim(quantity) = '' THEN 1 ELSE TRY_CAST(trim(quantity) AS BIGINT) END AS q,
    CASE WHEN regexp_full_match(trim(amount), '-?[0-9]+(\.[0-9]{1,2})?') THEN CAST(trim(amount) AS DECIMAL(18,2)) END AS amt,
    trim(amount) AS amount_text, trim(referrer) AS referrer,
    CASE lower(trim(ic_contract)) WHEN 'false' THEN FALSE ELSE TRUE END AS icc
  FROM raw),
y AS (SELECT *,
    CASE WHEN amt IS NULL THEN 'E' WHEN code = 'PB0001' THEN 'meekijkconsult'
         WHEN code IN ('190153', '190154', '190155') THEN 'ic_day'
         WHEN code = '190156' THEN 'dialysis_addon'
         WHEN length(code) = 9 AND code BETWEEN '010501001' AND '998418082' THEN 'dbc_zorgproduct' END AS title
  FROM x),
z AS (SELECT *,
    CASE WHEN title = 'meekijkconsult' AND sd >= DATE '2026-01-01' THEN 62.50
         WHEN title = 'meekijkconsult' THEN 60.00 WHEN title = 'ic_day' THEN 2000.00
         WHEN title = 'dialysis_addon' THEN 450.00 END AS tariff
  FROM y)
SELECT rn, cid, patient, sd, ed, title, amt, amount_text, q, tariff,
  CASE WHEN title = 'E' THEN 'error' WHEN title IS NULL THEN 'nocode'
       WHEN title = 'meekijkconsult' AND sd < DATE '2025-01-01' THEN 'invalid'
       WHEN title = 'meekijkconsult' AND coalesce(referrer NOT IN ('huisarts', 'wijkverpleging'), TRUE) THEN 'ineligible'
       WHEN title = 'ic_day' AND NOT icc AND code <> '190153' THEN 'rule_reject'
       WHEN title = 'dbc_zorgproduct' THEN 'accepted'
       WHEN title = 'dialysis_addon' THEN CASE WHEN tariff * q = amt THEN 'accepted' ELSE 'adjusted' END
       ELSE CASE WHEN least(amt, tariff * q) = amt THEN 'accepted' ELSE 'adjusted' END END AS status,
  CASE WHEN title = 'dbc_zorgproduct' THEN amt WHEN title = 'dialysis_addon' THEN tariff * q
       ELSE least(amt, tariff * q) END AS payable
FROM z;
UPDATE t SET status = 'excluded' FROM (
  SELECT a.rn FROM t a JOIN t b ON a.patient = b.patient AND b.title = 'dbc_zorgproduct'
  WHERE a.title = 'meekijkconsult' AND a.status IN ('accepted', 'adjusted') AND b.status IN ('accepted', 'adjusted')
    AND a.rn <> b.rn AND date_diff('day', least(a.ed, b.ed), greatest(a.sd, b.sd)) <= 0
  GROUP BY a.rn) h WHERE t.rn = h.rn;
UPDATE t SET status = 'required' FROM (
  SELECT a.rn FROM t a WHERE a.title = 'dialysis_addon' AND a.status IN ('accepted', 'adjusted')
    AND NOT EXISTS (SELECT 1 FROM t b WHERE b.patient = a.patient AND b.title = 'ic_day'
      AND b.status IN ('accepted', 'adjusted') AND b.rn <> a.rn
      AND date_diff('day', least(a.ed, b.ed), greatest(a.sd, b.sd)) <= 0)) h WHERE t.rn = h.rn;
COPY (SELECT '{{"claim_id": "' || cid || '", "status": "' ||
  CASE WHEN status IN ('accepted', 'adjusted', 'error') THEN status ELSE 'rejected' END ||
  '", "payable": "' || CASE WHEN status IN ('accepted', 'adjusted') THEN CAST(CAST(payable AS DECIMAL(18,2)) AS VARCHAR) ELSE '0.00' END ||
  '", "claimed": ' || coalesce('"' || CAST(amt AS VARCHAR) || '"', 'null') ||
  ', "title": ' || CASE WHEN status IN ('accepted', 'adjusted', 'excluded', 'required', 'rule_reject') THEN '"' || title || '"' ELSE 'null' END ||
  ', "reasons": [' || CASE status
     WHEN 'error' THEN '{{"rule": "amount", "message": "field `amount`: `' || amount_text || '` is not an amount"}}'
     WHEN 'nocode' THEN '{{"rule": "payment_title", "message": "no payment title for code"}}'
     WHEN 'excluded' THEN '{{"rule": "' || title || '", "message": "double funding"}}'
     WHEN 'required' THEN '{{"rule": "' || title || '", "message": "requires ic_day"}}'
     ELSE '{{"rule": "' || coalesce(title, '') || '", "message": "funded as ' || coalesce(title, '') || '"}}' END || ']}}'
  FROM t ORDER BY rn) TO '{output}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01');
"""


def handwritten(work: Path, claims: Path) -> list[str]:
    """The command that runs HANDWRITTEN on `claims`, writing work/hand.jsonl."""
    script = work / "handwritten.py"
    sql = HANDWRITTEN.replace("{input}", str(claims)).replace("{output}", str(work / "hand.jsonl"))
    script.write_text(
        "import duckdb, sys\ncon = duckdb.connect()\n"
        f"con.execute({sql.replace('{{', '{').replace('}}', '}')!r})\n",
        encoding="utf-8",
    )
    return [sys.executable, str(script)]


def child_env(work: Path) -> dict[str, str]:
    """The children's environment: byte code cached in the work directory (as an installed
    package has it), even where PYTHONDONTWRITEBYTECODE is set, so no engine pays for
    compiling modules that were edited since their .pyc was written."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(work / "pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_process(args: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Whole-process wall seconds, peak RSS (MB) and CPU seconds (user + system, all threads)
    of one child process. Its standard error goes to a file: a pipe read after the wait would
    stop a child that writes more than the pipe holds (spark-submit's log)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        if process.returncode not in (0, 1):
            stderr.seek(0)
            raise RuntimeError(f"{args} failed: {stderr.read().decode(errors='replace')[-20000:]}")
    return wall, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-interpreter", action="store_true")
    parser.add_argument("--no-rules", action="store_true", help="skip the rules/ run")
    parser.add_argument("--write-doc", action="store_true")
    options = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        claims, subset = work / "claims.parquet", work / "subset.parquet"
        started = time.perf_counter()
        generate_apart(claims, options.claims, subset)
        print(f"generated {options.claims:,} claims in {time.perf_counter() - started:.1f} s")
        check = [python, "-m", "policylang.cli", "check", "--format", "jsonl"]
        engines = {
            "batch": [
                *check,
                str(POLICY),
                "--claims",
                str(claims),
                "--engine",
                "batch",
                "--output",
                str(work / "batch.jsonl"),
            ],
            "handwritten": handwritten(work, claims),
        }
        if not options.no_rules:
            engines["batch rules/"] = [
                *check,
                "rules/",
                "--claims",
                str(claims),
                "--engine",
                "batch",
                "--output",
                str(work / "rules.jsonl"),
            ]
        if not options.no_interpreter:
            engines[f"interpreter (100k, x{options.claims / SUBSET:g})"] = [
                *check,
                str(POLICY),
                "--claims",
                str(subset),
                "--output",
                str(work / "i.jsonl"),
            ]
        env = child_env(work)
        warm = "import duckdb, pyarrow.parquet, policylang.cli, policylang.evaluate.batch"
        subprocess.run([python, "-c", warm], env=env, cwd=ROOT, check=True)  # fills the cache
        results: dict[str, list[tuple[float, int, float]]] = {name: [] for name in engines}
        for _ in range(options.repeats):
            for name, args in engines.items():  # interleaved, so drift hits every engine
                results[name].append(run_process(args, env))
        lines = (work / "batch.jsonl").read_text().count("\n")
        assert lines == options.claims, (lines, options.claims)
        rows = []
        for name, runs in results.items():
            wall = statistics.median(w for w, _, _ in runs)
            cpu = statistics.median(c for _, _, c in runs)
            rss = max(r for _, r, _ in runs)
            if name.startswith("interpreter"):
                wall *= options.claims / SUBSET
                cpu *= options.claims / SUBSET
            rows.append((name, wall, options.claims / wall, rss, cpu))
        hand = next(row for row in rows if row[0] == "handwritten")
        batch = next(row for row in rows if row[0] == "batch")
        table = [
            "| engine | wall s (median) | claims/s | peak RSS MB | CPU s (median) |",
            "|---|---:|---:|---:|---:|",
        ]
        table += [f"| {n} | {w:.2f} | {c:,.0f} | {r} | {u:.2f} |" for n, w, c, r, u in rows]
        table.append(
            f"\nratio batch / handwritten: {batch[1] / hand[1]:.2f} wall, "
            f"{batch[4] / hand[4]:.2f} CPU"
        )
        print("\n".join(table))
        if options.write_doc:
            print("(copy the table into docs/performance-batch.md)")


if __name__ == "__main__":
    main()
