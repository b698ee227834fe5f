"""Run a compiled policy on Apache Spark: the batch planner's SQL, transpiled, over a DataFrame.

The steps are the batch engine's (evaluate/batch/engine.py), with Spark forms where DuckDB's do
not exist:

- claims are read by Spark (CSV with every column as text, or Parquet), and numbered in file
  order without a global sort: `monotonically_increasing_id()` is increasing in file order, so
  the row number is the count of rows in earlier partitions plus the position in its own;
- phase 1 is one `spark.sql` over the numbered claims; the result is materialised once
  (`localCheckpoint`), because phase 2, the summary and the output all read it;
- phase 2 runs the same change queries (evaluate/batch/cross.py) and applies each with a left
  join on `_row` instead of DuckDB's UPDATE, re-materialising the decided claims after a change;
- the decision lines are the batch engine's JSON text, built in Spark SQL, written by Spark.

No Python runs on the executors: a cluster needs policylang on the driver only.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from policylang import ir
from policylang.decision import Decision
from policylang.evaluate.batch import cross
from policylang.evaluate.batch.engine import (
    BatchEngine,
    check_supported,
    csv_header,
    decision_from_json,
)
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.plan import Planner
from policylang.evaluate.batch.sqltext import column_type, literal
from policylang.evaluate.spark.dialect import UnsupportedInSpark, to_spark
from policylang.evaluate.spark.session import configure, local_session

FALLBACK = "batch-fallback: "
# Spark error classes for a value the SQL types cannot hold (DuckDB: OutOfRange, Conversion)
OUT_OF_RANGE = (
    "ARITHMETIC_OVERFLOW",
    "NUMERIC_VALUE_OUT_OF_RANGE",
    "CAST_OVERFLOW",
    "DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION",
    "CAST_INVALID_INPUT",
)
MALFORMED = ("MALFORMED_RECORD_IN_PARSING", "Malformed records are detected")
SPARK_TYPES = {  # Spark's simpleString -> the DuckDB type names the planner knows
    "string": "VARCHAR",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "void": '"NULL"',
}
POSITION_BITS = 33  # monotonically_increasing_id(): partition index << 33 | position


def _spark_type(type_: str) -> Any:
    from pyspark.sql import types as T

    kind, precision, scale = column_type(type_)
    if kind == "decimal":
        return T.DecimalType(precision, scale)
    types = {"bigint": T.LongType, "date": T.DateType, "bool": T.BooleanType, "text": T.StringType}
    return types[kind]()


def _unsupported(error: UnsupportedInBatch) -> UnsupportedInSpark:
    if isinstance(error, UnsupportedInSpark):
        return error
    return UnsupportedInSpark(error.constructs)


class SparkEngine:
    """A policy compiled for Spark SQL; `run` decides a claims input, the rest reads the result.

    `spark` is a SparkSession to use (a cluster's); without one a local session is started. The
    SQL settings the compiled queries need (session.SQL_CONF) are set on it.
    """

    def __init__(
        self,
        program: ir.Program,
        tables: Mapping[str, Mapping[Any, Mapping[str, Any]]] | None = None,
        spark: Any = None,
    ) -> None:
        try:
            check_supported(program, tables)
        except UnsupportedInBatch as error:
            raise _unsupported(error) from error
        self.program = program
        self.tables = dict(tables or {})
        self.spark = spark if spark is not None else local_session()
        configure(self.spark)
        self.d: Any = None
        self._keys: dict[str, list[str]] = {}
        self._register_tables()

    # the JSON line of a decision, in the batch engine's SQL (it reads only self.program), and
    # the summary, by the batch engine's query through this engine's _execute
    line_sql = BatchEngine.line_sql
    summary = BatchEngine.summary

    # ------------------------------------------------------------ inputs
    def _register_tables(self) -> None:
        from pyspark.sql import types as T

        from policylang.data.nza.known import KNOWN_COLUMNS, known_rows

        known_schema = T.StructType(
            [
                T.StructField(n, t, True)
                for n, t in zip(
                    KNOWN_COLUMNS,
                    [T.StringType(), T.LongType(), *[T.DateType()] * 4],
                    strict=True,
                )
            ]
        )
        self.spark.createDataFrame(list(known_rows()), known_schema).createOrReplaceTempView(
            "nza_known"
        )

        for name, rows in self.tables.items():
            spec = self.program.tables[name]
            schema = T.StructType(
                [T.StructField(f.name, _spark_type(f.type), True) for f in spec.fields]
            )
            records = [tuple(row.get(f.name) for f in spec.fields) for row in rows.values()]
            try:
                frame = self.spark.createDataFrame(records, schema)
            except (TypeError, ValueError) as error:
                raise UnsupportedInSpark([f"a value of table `{name}`: {error}"]) from error
            frame.createOrReplaceTempView(f"tbl_{name}")
            key = spec.field(spec.key[0]) if len(spec.key) == 1 else None
            if key is not None:
                self._keys[f"tbl_{name}"] = [
                    literal(row.get(key.name), key.type)
                    for row in rows.values()
                    if row.get(key.name) is not None
                ]

    def _read(self, claims: Any, fmt: str | None) -> tuple[Any, dict[str, str]]:
        """A DataFrame of the claims with one column per claim field present (`r_<field>`),
        in input order, and the planner's raw types of typed (Parquet) columns."""
        fields = [f.name for f in self.program.claim_fields]
        if hasattr(claims, "sparkSession") and hasattr(claims, "columns"):  # a DataFrame
            return self._typed_frame(claims, fields)
        if isinstance(claims, str | os.PathLike):
            text = os.fspath(claims)
            local = "://" not in text or text.startswith("file://")
            if local:
                from policylang.errors import InputError
                from policylang.io.claims import detect_format

                path = Path(text.removeprefix("file://"))
                if not path.exists():
                    raise InputError.single("E0804", f"claims file `{path}` does not exist")
                if fmt is None and path.is_file():
                    from policylang.io.claims import check_kind

                    check_kind(path)
                    fmt = detect_format(path)
                if fmt == "csv" and path.is_file():
                    return self._csv(hadoop_literal(str(path.resolve())), fields, _header(path))
                text = hadoop_literal(str(path.resolve()))  # a local name is never a glob
            fmt = fmt or ("csv" if text.lower().rstrip("/").endswith(".csv") else "parquet")
            if fmt == "parquet":
                return self._typed_frame(self.spark.read.parquet(text), fields)
            if fmt == "csv":
                return self._csv(text, fields, None)
            raise UnsupportedInSpark(
                [f"claims in {fmt} format (the Spark engine reads CSV and Parquet)"]
            )
        return self._rows(claims, fields)

    def _csv(self, path: str, fields: list[str], header: list[str] | None) -> tuple[Any, dict]:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        reader = self.spark.read.options(
            header=True,
            mode="FAILFAST",
            multiLine=True,  # a quoted field may hold a newline, as Python's csv allows
            quote='"',
            escape='"',
            encoding="UTF-8",
            inferSchema=False,
            ignoreLeadingWhiteSpace=False,
            ignoreTrailingWhiteSpace=False,
        )
        if header is not None:
            if not header:
                empty = T.StructType([T.StructField(f"r_{n}", T.StringType()) for n in fields])
                return self.spark.createDataFrame([], empty), {}
            schema = T.StructType(
                [T.StructField(f"c{i}", T.StringType()) for i in range(len(header))]
            )
            frame = reader.schema(schema).csv(path)
            names = header
        else:  # a remote file: Spark reads the header
            frame = reader.csv(path)
            names = [c.strip().lstrip("\ufeff") for c in frame.columns]
        columns = [
            (F.col(f"`{frame.columns[names.index(n)]}`") if n in names else F.lit(None))
            .cast("string")
            .alias(f"r_{n}")
            for n in fields
        ]
        return frame.select(*columns), {}

    def _typed_frame(self, frame: Any, fields: list[str]) -> tuple[Any, dict[str, str]]:
        from pyspark.sql import functions as F

        types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        columns, raw_types = [], {}
        for name in fields:
            if name not in types:
                columns.append(F.lit(None).cast("string").alias(f"r_{name}"))
                continue
            spark_type = types[name]
            duck = SPARK_TYPES.get(spark_type)
            if duck is None and spark_type.startswith("decimal"):
                duck = spark_type.upper()
            if duck is None:
                raise UnsupportedInSpark(
                    [
                        f"the Parquet column `{name}` of type {spark_type} (its text form differs from the interpreter's)"
                    ]
                )
            columns.append(F.col(f"`{name}`").alias(f"r_{name}"))
            raw_types[name] = duck
        return frame.select(*columns), raw_types

    def _rows(self, rows: Iterable[Mapping[str, Any]], fields: list[str]) -> tuple[Any, dict]:
        from pyspark.sql import types as T

        from policylang.io.claims import cell_text

        schema = T.StructType(
            [T.StructField("_row", T.LongType(), False)]
            + [T.StructField(f"r_{n}", T.StringType()) for n in fields]
        )
        records = [(i, *(cell_text(r.get(n)) for n in fields)) for i, r in enumerate(rows, start=1)]
        return self.spark.createDataFrame(records, schema), {}

    def _numbered(self, frame: Any) -> Any:
        """`_row` (1, 2, ... in input order) in front of the claim columns."""
        from pyspark.sql import functions as F

        if "_row" in frame.columns:
            return frame
        frame = frame.withColumn("_mid", F.monotonically_increasing_id()).localCheckpoint()
        counts = (
            frame.groupBy(F.shiftright("_mid", POSITION_BITS).alias("p"))
            .agg(F.count(F.lit(1)).alias("n"))
            .collect()
        )
        offsets, total = [], 0
        for p, n in sorted(counts):
            offsets += [F.lit(p), F.lit(total)]
            total += n
        position = F.col("_mid").bitwiseAND(F.lit((1 << POSITION_BITS) - 1))
        start = (
            F.element_at(F.create_map(*offsets), F.shiftright("_mid", POSITION_BITS))
            if offsets
            else F.lit(0)
        )
        row = (start + position + F.lit(1)).cast("bigint").alias("_row")
        return frame.select(row, *[c for c in frame.columns if c != "_mid"])

    # ------------------------------------------------------------ evaluation
    def _sql(self, duckdb_sql: str) -> Any:
        try:
            return self.spark.sql(to_spark(duckdb_sql, self._keys))
        except UnsupportedInBatch as error:
            raise _unsupported(error) from error

    def _materialise(self, frame: Any) -> Any:
        """Run `frame` once and keep the result (phase 2 and the output read it again)."""
        return self._guard(lambda: frame.localCheckpoint(eager=True))

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except Exception as error:
            raise _translated(error) from error

    def run(
        self, claims: Any, fmt: str | None = None, keep: Mapping[str, str] | None = None
    ) -> SparkEngine:
        """Decide every claim (phase 1, duplicates, phase 2) into `self.d`. `keep`: more
        columns of `d`, as for BatchEngine.run (the columns the invariants' queries read)."""
        frame, raw_types = self._read(claims, fmt)
        numbered = self._guard(lambda: self._numbered(frame))
        numbered.createOrReplaceTempView("claims_src")
        extra = tuple(f'{sql} AS "{name}"' for name, sql in (keep or {}).items())
        phase1 = Planner(self.program, {n: f"tbl_{n}" for n in self.tables}, raw_types).build(
            "SELECT * FROM claims_src", extra
        )
        self._set(self._materialise(self._sql(phase1.sql)))
        cross.run_phase2(self.program, self._apply, self._first_value, UnsupportedInSpark)
        return self

    def _execute(self, duckdb_sql: str) -> _Fetched:
        """A query in the batch engine's SQL, run and collected (the invariants' queries and
        the pushed-down aggregates read a few rows each)."""
        frame = self._sql(duckdb_sql)
        return _Fetched(self._guard(frame.collect))

    def _first_value(self, sql: str) -> Any:
        row = self._guard(lambda: self.spark.sql(sql).first())
        return row[0] if row else None

    def _set(self, frame: Any) -> None:
        self.d = frame
        frame.createOrReplaceTempView("d")

    def _apply(self, changes_sql: str) -> int:
        """Apply the changes (`_row`, status, reasons, untitled) of one phase-2 step: a left join
        on `_row` instead of DuckDB's UPDATE. Returns how many claims changed."""
        changes = self._materialise(self._sql(changes_sql))
        count = int(self._guard(changes.count))
        if not count:
            return 0
        changes.createOrReplaceTempView("changes")
        override = {
            "status": "c.status",
            "payable": "coalesce(c.payable, CAST(0 AS DECIMAL(18,2)))",
            "reasons": "c.reasons",
            "title": "CASE WHEN c.new_title IS NOT NULL THEN c.new_title "
            "WHEN c.untitled THEN NULL ELSE d.title END",
            "funding": "CASE WHEN c.new_funding IS NOT NULL THEN c.new_funding "
            "WHEN c.untitled THEN NULL ELSE d.funding END",
        }
        columns = ", ".join(
            f"(CASE WHEN c._row IS NULL THEN d.`{n}` ELSE {override[n]} END) AS `{n}`"
            if n in override
            else f"d.`{n}`"
            for n in self.d.columns
        )
        updated = self.spark.sql(
            f"SELECT {columns} FROM d LEFT JOIN changes AS c ON d._row = c._row"
        )
        self._set(self._materialise(updated))
        return count

    # ------------------------------------------------------------ results
    def _lines(self) -> Any:
        return self._sql(f"SELECT _row, {self.line_sql()} AS line FROM d")

    def lines(self) -> Iterator[tuple[int, str]]:
        ordered = self._lines().orderBy("_row")
        for row in self._guard(lambda: ordered.toLocalIterator(prefetchPartitions=True)):
            yield row[0], row[1]

    def decisions(self) -> list[Decision]:
        import json

        return [decision_from_json(json.loads(line), row) for row, line in self.lines()]

    def write(self, path: str, fmt: str = "jsonl") -> None:
        """Write the decisions where Spark writes (a directory; HDFS, S3, ...), in input order:
        `jsonl` as text part files whose lines are `json.dumps(d.to_json())`, `parquet` with
        one column per decision field (amounts DECIMAL(18,2), reasons as JSON text)."""
        ordered = self._lines().orderBy("_row")
        if fmt == "jsonl":
            self._guard(lambda: ordered.select("line").write.mode("overwrite").text(path))
        elif fmt == "parquet":
            columns = self.spark.sql(
                "SELECT _row AS row, _cid AS claim_id, status, payable, claimed, title, funding, "
                "concat('[', reasons, ']') AS reasons FROM d"
            ).orderBy("row")
            self._guard(lambda: columns.write.mode("overwrite").parquet(path))
        else:
            raise ValueError(f"unknown output format `{fmt}`; use jsonl or parquet")

    def write_jsonl(self, path: str | os.PathLike[str]) -> None:
        """One local JSON Lines file, byte-identical to the interpreter's: Spark writes the
        sorted lines as one part file, which is moved into place."""
        target = Path(path)
        scratch = Path(tempfile.mkdtemp(prefix=".policylang-spark-", dir=target.parent))
        try:
            ordered = self._lines().orderBy("_row").select("line").coalesce(1)
            out = scratch / "out"
            # `file://` and the path as it is: Hadoop quotes it itself, so as_uri()'s `%20`
            # for a space (or `%3F` for `?`) would name another directory
            self._guard(lambda: ordered.write.text(f"file://{out}"))
            parts = sorted(out.glob("part-*"))
            if parts:
                os.replace(parts[0], target)
            else:
                target.write_bytes(b"")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self) -> None:
        """Drop this run's views (the session stays: starting a JVM is the slow part)."""
        for view in ("claims_src", "d", "changes", *(f"tbl_{n}" for n in self.tables)):
            self.spark.catalog.dropTempView(view)
        self.d = None


class _Fetched:
    """Collected rows with the two DB-API reads the shared invariant code uses."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = [tuple(row) for row in rows]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


_HADOOP_GLOB_CHARS = re.compile(r"([\\*?\[\]{}])")


def hadoop_literal(path: str) -> str:
    """A local path as Spark reads exactly that file: Hadoop expands `*`, `?`, `[...]` and
    `{a,b}` in every path it is given, and a backslash makes the next character plain."""
    return _HADOOP_GLOB_CHARS.sub(r"\\\1", path)


def _header(path: Path) -> list[str]:
    try:
        return csv_header(path)
    except UnsupportedInBatch as error:
        raise _unsupported(error) from error


def _translated(error: Exception) -> Exception:
    """A Spark error as what it means for the run: UnsupportedInSpark for a row the SQL stops
    at (a fallback, a value out of range, a CSV row the interpreter reports as broken)."""
    if isinstance(error, UnsupportedInBatch):
        return _unsupported(error)
    text = str(error)
    if FALLBACK in text:
        what = text.split(FALLBACK, 1)[1].splitlines()[0].split(" SQLSTATE")[0].rstrip(". ")
        return UnsupportedInSpark([f"a claim with {what}"])
    first = next((line for line in text.splitlines() if line.strip()), text)
    if any(marker in text for marker in MALFORMED):
        return UnsupportedInSpark([f"a CSV row the interpreter reports as broken ({first[:200]})"])
    if any(marker in text for marker in OUT_OF_RANGE):
        return UnsupportedInSpark([f"a value out of the SQL range ({first[:200]})"])
    return error


def check_spark(
    program: ir.Program,
    tables: Mapping[str, Mapping[Any, Mapping[str, Any]]] | None,
    claims: Any,
    spark: Any = None,
) -> list[Decision]:
    """Decide claims on Spark; the decisions the interpreter would give."""
    engine = SparkEngine(program, tables, spark)
    try:
        return engine.run(claims).decisions()
    finally:
        engine.close()
