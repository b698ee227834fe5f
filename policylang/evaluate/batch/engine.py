"""Run a compiled policy on DuckDB: read the claims, decide, cross-check, write.

DuckDB reads CSV and Parquet itself (every column as text, typed by the compiled SQL exactly as
io/claims.py types it), keeps money in DECIMAL, and spills to disk when a claim set does not fit
in memory. Decisions leave as JSON Lines text built in SQL, so `write_jsonl` streams them to a
file without holding them in Python.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import attrs

from policylang import ir
from policylang.decision import STATUSES, TOTAL_DIGITS, Decision, Reason, Summary
from policylang.evaluate.batch import cross
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.plan import Planner, funded_reason
from policylang.evaluate.batch.sqltext import column_type, jconst, jdyn, path_literal, quote

FALLBACK = "batch-fallback: "
# DuckDB's own default is 80% of RAM; with a limit it spills the decided-claims table and the
# final sort to temp_directory (1M claims: ~500 MB peak instead of ~1.2 GB, same CPU time).
DEFAULT_MEMORY = "400MB"
RELAXED_MEMORY = ("2GB", None)  # None: DuckDB's default
PLAIN_TYPES = ("VARCHAR", "DATE", "BOOLEAN", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", '"NULL"')


KNOWN = {
    ir.Program: {
        "name",
        "citations",
        "files",
        "claim_fields",
        "enums",
        "tables",
        "params",
        "defines",
        "titles",
        "rules",
        "settlements",
        "checks",
        "invariants",
        "tests",
        "splits",
    },
    ir.TitleSpec: {
        "name",
        "label",
        "codes",
        "validity",
        "funding",
        "eligibility",
        "tariff_kind",
        "tariff",
        "exclusions",
        "requirements",
        "citation",
        "rules",
        "span",
    },
    ir.RuleSpec: {
        "name",
        "titles",
        "exception_to",
        "when",
        "when_text",
        "outcome",
        "pay",
        "because",
        "citation",
        "span",
    },
}


def _newer(spec: Any) -> list[str]:
    """Declarations with a part this compiler does not know: the language grew since."""
    known = KNOWN[type(spec)]
    return [
        f"`{field.name}` of {type(spec).__name__} `{getattr(spec, 'name', '')}`"
        for field in attrs.fields(type(spec))
        if field.name not in known and getattr(spec, field.name) not in (None, (), {}, "", False)
    ]


def check_supported(program: ir.Program, tables: Mapping[str, Any] | None = None) -> None:
    """Raise UnsupportedInBatch naming every construct the compiler cannot translate."""
    names = {name: f"tbl_{name}" for name in (tables or {})}
    problems = _newer(program)
    for spec in [*program.titles.values(), *program.rules.values()]:
        problems += _newer(spec)
    for title in program.titles.values():
        if title.tariff_kind not in ("maximum", "fixed", "free"):
            problems.append(f"the tariff kind `{title.tariff_kind}` of `{title.name}`")
    for rule in program.rules.values():
        if rule.outcome not in ("pay", "reject", "accept"):
            problems.append(f"the rule outcome `{rule.outcome}` of `{rule.name}`")
    if problems:
        raise UnsupportedInBatch(problems)
    Planner(program, names, {}).build("SELECT 1 AS _row")


class BatchEngine:
    """A policy compiled for DuckDB; `run` decides a claims file, the rest reads the result."""

    def __init__(
        self,
        program: ir.Program,
        tables: Mapping[str, Mapping[Any, Mapping[str, Any]]] | None = None,
        threads: int | None = None,
        memory_limit: str | None = DEFAULT_MEMORY,
    ) -> None:
        import duckdb

        check_supported(program, tables)
        self.program = program
        self.tables = dict(tables or {})
        self.con = duckdb.connect(config={"preserve_insertion_order": True})
        # DuckDB spills claim data (patient ids, amounts) to temp_directory: a directory of
        # this run only, 0700 with a random name, removed by close() or at the latest at exit
        self.spill = Path(tempfile.mkdtemp(prefix="policylang-duckdb-"))
        self._cleanup = weakref.finalize(self, _close_and_remove, self.con, self.spill)
        try:
            self._configure(threads, memory_limit)
        except BaseException:
            self.close()
            raise

    def _configure(self, threads: int | None, memory_limit: str | None) -> None:
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        # the default limit is a preference, not a promise: a statement DuckDB cannot run in it
        # (an UPDATE of a 10M-row table pins more than 400MB) is retried with a higher limit,
        # then without one
        self._relax = list(RELAXED_MEMORY) if memory_limit == DEFAULT_MEMORY else []
        if memory_limit:
            self.con.execute(f"SET memory_limit = {quote(memory_limit)}")
        self.con.execute(f"SET temp_directory = {quote(str(self.spill))}")
        self._register_tables()

    # ------------------------------------------------------------ inputs
    def _register_tables(self) -> None:
        import pyarrow as pa

        from policylang.data.nza.known import KNOWN_COLUMNS, known_rows

        rows = known_rows()  # what "no payment title" says of a code (data/nza/known.py)
        types = [pa.string(), pa.int64(), *[pa.date32()] * 4]
        known = {
            name: pa.array([row[i] for row in rows], type=type_)
            for i, (name, type_) in enumerate(zip(KNOWN_COLUMNS, types, strict=True))
        }
        self.con.register("nza_known", pa.table(known))

        for name, rows in self.tables.items():
            spec = self.program.tables[name]
            arrays = {}
            for field in spec.fields:
                values = [row.get(field.name) for row in rows.values()]
                arrow_type = _arrow_type(field.type)
                try:
                    arrays[field.name] = pa.array(values, type=arrow_type)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                    raise UnsupportedInBatch(
                        [
                            f"a value of `{name}.{field.name}` that DECIMAL(38,12) cannot hold exactly: {error}"
                        ]
                    ) from error
            self.con.register(f"tbl_{name}", pa.table(arrays) if arrays else pa.table({}))

    def _source(self, claims: Any) -> tuple[str, dict[str, str]]:
        """A SELECT giving `_row`, one `r_<field>` column per claim field and `_rp` (the reader's
        problems as reasons, JSON text), and the raw types."""
        fields = [f.name for f in self.program.claim_fields]
        if isinstance(claims, str | os.PathLike):
            path = Path(claims)
            from policylang.io.claims import detect_format, read_claims

            if not path.is_file():
                from policylang.errors import InputError

                raise InputError.single("E0804", f"claims file `{path}` does not exist")
            from policylang.io.claims import check_kind

            check_kind(path)
            kind = detect_format(path)
            if kind == "parquet":
                return self._parquet(path, fields)
            if kind == "csv":
                source = self._csv(path, fields)
                if source is not None:
                    return source
            # JSON Lines, Vektis EI and damaged CSV files: the interpreter's own reader
            return self._raw_claims(read_claims(path), fields), {}
        from policylang.io.claims import RawClaims

        if isinstance(claims, RawClaims):
            return self._raw_claims(claims, fields), {}
        return self._rows(claims, fields)

    def _select(
        self,
        relation: str,
        row: str,
        present: dict[str, str],
        fields: list[str],
        problems: str = "CAST(NULL AS VARCHAR)",
    ) -> str:
        columns = [f"{row} AS _row"]
        for name in fields:
            column = present.get(name)
            columns.append(
                f'{column} AS "r_{name}"' if column else f'CAST(NULL AS VARCHAR) AS "r_{name}"'
            )
        columns.append(f"{problems} AS _rp")
        return f"SELECT {', '.join(columns)} FROM {relation}"

    def _parquet(self, path: Path, fields: list[str]) -> tuple[str, dict[str, str]]:
        relation = f"read_parquet({path_literal(str(path))}, file_row_number = true)"
        try:
            schema = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except Exception as error:
            from policylang.errors import InputError

            raise InputError.single("E0803", f"cannot read `{path}` as Parquet: {error}") from error
        types = {name: type_ for name, type_, *_ in schema}
        present, raw_types = {}, {}
        for name in fields:
            if name not in types:
                continue
            type_ = types[name]
            if not (type_ in PLAIN_TYPES or type_.startswith("DECIMAL")):
                raise UnsupportedInBatch(
                    [
                        f"the Parquet column `{name}` of type {type_} (its text form differs from the interpreter's)"
                    ]
                )
            present[name] = f'"{name}"'
            raw_types[name] = type_
        return self._select(relation, "file_row_number + 1", present, fields), raw_types

    def _csv(self, path: Path, fields: list[str]) -> tuple[str, dict[str, str]] | None:
        """The file read by DuckDB, or None when DuckDB cannot read it as the interpreter does
        (a damaged record: a byte that is not UTF-8, a broken quote, a row of another width, a
        field over FIELD_LIMIT): then the interpreter's reader reads it, record by record."""
        import duckdb

        from policylang.io.csv_records import FIELD_LIMIT, read_header

        header = read_header(path)
        if not header:
            return self._select("(SELECT 1 AS _r WHERE FALSE) AS empty", "_r", {}, fields), {}
        if len(set(header)) != len(header):
            return None  # a name given twice: the interpreter's reader keeps the last column
        with path.open("rb") as handle:
            if handle.read(4).removeprefix(b"\xef\xbb\xbf")[:1] in (b"\r", b"\n"):
                return None  # blank lines before the header, which DuckDB would take for it
        # one column more than the header, padded with NULL, and no text read as NULL: a row
        # with a column too many (DuckDB lets one empty one pass) or too few shows as a NULL
        # where the interpreter's reader reports the row
        width = len(header)
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1)) + "}"
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_csv({path_literal(str(path))}, "
                f"columns = {columns}, header = true, auto_detect = false, delim = ',', "
                "quote = '\"', escape = '\"', strict_mode = true, null_padding = true, "
                "nullstr = '\x01', encoding = 'utf-8')"
            )
        except duckdb.Error:
            return None
        odd = [f"c{width} IS NOT NULL", f"c{width - 1} IS NULL"]
        if path.stat().st_size > FIELD_LIMIT:
            odd += [f"length(c{i}) > {FIELD_LIMIT}" for i in range(width)]
        if self.con.execute(f"SELECT count(*) FROM raw WHERE {' OR '.join(odd)}").fetchall()[0][0]:
            return None
        present = {name: f"c{header.index(name)}" for name in fields if name in header}
        return self._select("raw", "rowid + 1", present, fields), {}

    def _raw_claims(self, rows: Iterable[Any], fields: list[str]) -> str:
        """Raw claims read in Python (RawClaim: row number, field texts, the reader's problems)
        as the relation `raw`; each problem becomes a reason, as the interpreter's typer does."""
        import pyarrow as pa

        numbers: list[int] = []
        problems: list[str | None] = []
        data: dict[str, list[str | None]] = {name: [] for name in fields}
        for raw in rows:
            numbers.append(raw.row)
            get = raw.fields.get
            for name in fields:
                data[name].append(get(name))
            problems.append(
                ", ".join(
                    json.dumps(
                        {"rule": p.field, "message": p.message, "source": None},
                        ensure_ascii=False,
                    )
                    for p in raw.problems
                )
                if raw.problems
                else None
            )
        arrays = {f"c_{name}": pa.array(data[name], pa.string()) for name in fields}
        table = pa.table(
            {"_n": pa.array(numbers, pa.int64()), **arrays, "_p": pa.array(problems, pa.string())}
        )
        self.con.register("read_rows", table)
        self.con.execute("CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_rows")
        self.con.unregister("read_rows")
        present = {name: f'"c_{name}"' for name in fields}
        return self._select("raw", "_n", present, fields, "_p")

    def _rows(
        self, rows: Iterable[Mapping[str, Any]], fields: list[str]
    ) -> tuple[str, dict[str, str]]:
        import pyarrow as pa

        from policylang.io.claims import cell_text as _text

        records = list(rows)
        keys = list(dict.fromkeys(str(k) for r in records for k in r))
        if not keys:  # no rows, or only empty ones: DuckDB registers no table without columns
            empty = f"(SELECT range + 1 AS _r FROM range({len(records)})) AS empty"
            return self._select(empty, "_r", {}, fields), {}
        data = {k: [_text(r.get(k)) for r in records] for k in keys}
        self.con.register("given", pa.table({k: pa.array(v, pa.string()) for k, v in data.items()}))
        self.con.execute("CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM given")
        present = {name: f'"{name}"' for name in fields if name in keys}
        return self._select("raw", "rowid + 1", present, fields), {}

    # ------------------------------------------------------------ evaluation
    def run(self, claims: Any, keep: Mapping[str, str] | None = None) -> BatchEngine:
        """Decide every claim into `d` (phase 1 in `d0`, duplicates and phase 2 laid over it).
        `keep`: more columns of `d` (name -> SQL over the planner's stages, e.g. a typed claim
        field `"f_<name>"`), for settle's aggregates and the invariants' queries."""
        keep = dict(keep or {})
        source, raw_types = self._source(claims)
        phase1 = Planner(
            self.program, {n: f"tbl_{n}" for n in self.tables}, raw_types, reader_problems=True
        ).build(source, tuple(f'{sql} AS "{name}"' for name, sql in keep.items()))
        # Row numbers are fixed (the raw table above was filled in file order); from here on
        # every step is keyed by `_row` and the output is sorted by it, so DuckDB may reorder.
        self.con.execute("SET preserve_insertion_order = false")
        self._execute(f"CREATE OR REPLACE TEMP TABLE d0 AS {phase1.sql}")
        # Phase 2 changes few rows: they go to `o`, and `d` is phase 1 with them laid over (an
        # UPDATE of `d0` pinned more than the memory limit on 10M claims)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE o (_row BIGINT, status VARCHAR, reasons VARCHAR, "
            "untitled BOOLEAN, payable DECIMAL(18,2), new_title VARCHAR, new_funding VARCHAR)"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP VIEW d AS SELECT d0._row, _cid, _dup, patient, sd, ed, "
            "(CASE WHEN o._row IS NULL THEN d0.status ELSE o.status END) AS status, "
            "(CASE WHEN o._row IS NULL THEN d0.payable ELSE coalesce(o.payable, "
            "CAST(0 AS DECIMAL(18,2))) END) AS payable, claimed, "
            "(CASE WHEN o._row IS NULL THEN d0.title WHEN o.new_title IS NOT NULL THEN "
            "o.new_title WHEN NOT o.untitled THEN d0.title END) AS title, "
            "(CASE WHEN o._row IS NULL THEN d0.funding WHEN o.new_funding IS NOT NULL THEN "
            "o.new_funding WHEN NOT o.untitled THEN d0.funding END) AS funding, "
            "(CASE WHEN o._row IS NULL THEN d0.reasons ELSE o.reasons END) AS reasons, _split, "
            "_clean, _credit, _corrects, _prov, _code"
            + "".join(f', d0."{name}"' for name in keep)
            + " FROM d0 LEFT JOIN o ON d0._row = o._row"
        )
        cross.run_phase2(self.program, self._apply, self._first_value, UnsupportedInBatch)
        return self

    def _first_value(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return row[0] if row else None

    def _execute(self, sql: str) -> Any:
        import duckdb

        try:
            return self.con.execute(sql)
        except duckdb.OutOfMemoryException:
            if not self._relax:
                raise
            limit = self._relax.pop(0)  # a failed statement is rolled back: it can run again
            if limit:
                self.con.execute(f"SET memory_limit = {quote(limit)}")
            else:
                self.con.execute("RESET memory_limit")
            return self._execute(sql)
        except duckdb.Error as error:
            text = str(error)
            if FALLBACK in text:
                what = text.split(FALLBACK, 1)[1].splitlines()[0]
                raise UnsupportedInBatch([f"a claim with {what}"]) from error
            if isinstance(error, duckdb.OutOfRangeException | duckdb.ConversionException):
                raise UnsupportedInBatch(
                    [f"a value out of the SQL range ({text.splitlines()[0]})"]
                ) from error
            raise

    def _apply(self, changes: str) -> int:
        """Lay the changes (`_row`, status, reasons, untitled, payable, new_title,
        new_funding) over `d`; their number."""
        self._execute(f"CREATE OR REPLACE TEMP TABLE changes AS {changes}")
        count = self.con.execute("SELECT count(*) FROM changes").fetchone()[0]  # type: ignore[index]
        if count:
            # a claim changes at most once: each step after the duplicates changes paid claims
            # only, and a changed claim is no longer paid
            self._execute(
                "INSERT INTO o SELECT _row, status, reasons, untitled, payable, new_title, "
                "new_funding FROM changes"
            )
        return int(count)

    # ------------------------------------------------------------ results
    def line_sql(self) -> str:
        def text(column: str) -> str:
            names = [n for n in self.program.titles] + [
                t.funding for t in self.program.titles.values()
            ]
            safe = all(jconst(n) == n for n in names)
            value = column if safe else jdyn(column)
            return f"coalesce('\"' || {value} || '\"', 'null')"

        # NULL reasons: a paid claim with only the "funded as" reason of its title
        reasons = f"coalesce(reasons, {funded_reason(self.program, 'title')})"
        # one concat() (one allocation a line) instead of a chain of `||`; the CASE keeps the
        # NULL a `||` chain gives when a part is NULL
        return (
            f"(CASE WHEN _cid IS NULL OR status IS NULL OR payable IS NULL OR {reasons} IS NULL "
            "THEN NULL ELSE concat("
            + ", ".join(
                [
                    '\'{"claim_id": "\'',
                    jdyn("_cid"),
                    '\'", "status": "\'',
                    "status",
                    '\'", "payable": "\'',
                    "CAST(payable AS VARCHAR)",
                    '\'", "claimed": \'',
                    "coalesce('\"' || CAST(claimed AS VARCHAR) || '\"', 'null')",
                    "', \"title\": '",
                    text("title"),
                    "', \"funding\": '",
                    text("funding"),
                    "', \"reasons\": ['",
                    reasons,
                    "']}'",
                ]
            )
            + ") END)"
        )

    def ordered_sql(self, *columns: str) -> str:
        """SELECT `columns` (over the columns a line is made of) from `d` in file order. The
        sort moves the narrow columns of `d`; each line (~280 bytes) is built after it. DuckDB
        keeps a subquery's order through a projection but not through a join, so `columns`
        must not hold an IN list of five or more constants (DuckDB makes that a join)."""
        narrow = "_row, _cid, status, payable, claimed, title, funding, reasons"
        return f"SELECT {', '.join(columns)} FROM (SELECT {narrow} FROM d ORDER BY _row)"

    def lines(self, batch_size: int = 65536) -> Iterator[tuple[int, str]]:
        cursor = self.con.execute(self.ordered_sql("_row", self.line_sql()))
        while True:
            chunk = cursor.fetchmany(batch_size)
            if not chunk:
                return
            yield from chunk

    def decisions(self) -> list[Decision]:
        return [decision_from_json(json.loads(line), row) for row, line in self.lines()]

    def write_jsonl(self, path: str | os.PathLike[str]) -> None:
        """Stream the decisions to a JSON Lines file, as `json.dumps(d.to_json())` per line.
        On one thread (measured, 1M claims): on two, this statement spilled ~180 MB of the
        decided claims to disk and faulted in ~800 MB of fresh memory, 2.0-2.7 s CPU and 490 MB
        peak; on one, 1.2-1.4 s CPU, no spill, ~430 MB peak, and less wall time too."""
        threads = self._first_value("SELECT current_setting('threads')")
        self.con.execute("SET threads = 1")
        try:
            self._execute(
                f"COPY ({self.ordered_sql(self.line_sql())}) TO {quote(str(path))} "
                "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')"
            )
        finally:
            self.con.execute(f"SET threads = {int(threads)}")

    def summary(self) -> Summary:
        """Counts per status and the totals, from `d` (the Spark engine shares this)."""
        rows = self._execute(
            "SELECT status, count(*), sum(claimed), sum(payable) FROM d GROUP BY status"
        ).fetchall()
        by_status = {s: 0 for s in STATUSES}
        claimed, payable, total = Decimal(0), Decimal(0), 0
        with localcontext(prec=TOTAL_DIGITS):  # exact: DuckDB's sums have up to 38 digits
            for status, count, claimed_sum, payable_sum in rows:
                by_status[status] = count
                total += count
                claimed += claimed_sum or 0
                payable += payable_sum or 0
        return Summary(total, by_status, claimed, payable)

    def close(self) -> None:
        """Close the connection and remove the spill directory (idempotent)."""
        self._cleanup()


def _close_and_remove(con: Any, spill: Path) -> None:
    con.close()  # first: DuckDB holds its spill files open
    shutil.rmtree(spill, ignore_errors=True)


def csv_header(path: Path) -> list[str]:
    """A claims CSV file's header as the interpreter reads it (BOM dropped, names stripped);
    a name given twice is UnsupportedInBatch."""
    from policylang.io.csv_records import read_header

    header = read_header(path)
    if len(set(header)) != len(header):
        raise UnsupportedInBatch(["a CSV header that names a column twice"])
    return header


def decision_from_json(data: dict[str, Any], row: int = 0) -> Decision:
    return Decision(
        data["claim_id"],
        data["status"],
        Decimal(data["payable"]),
        Decimal(data["claimed"]) if data["claimed"] is not None else None,
        data["title"],
        data["funding"],
        tuple(Reason(r["rule"], r["message"], r["source"]) for r in data["reasons"]),
        row,
    )


def _arrow_type(type_: str) -> Any:
    import pyarrow as pa

    kind, precision, scale = column_type(type_)
    if kind == "decimal":
        return pa.decimal128(precision, scale)
    return {"bigint": pa.int64, "date": pa.date32, "bool": pa.bool_, "text": pa.string}[kind]()


def check_batch(
    program: ir.Program,
    tables: Mapping[str, Mapping[Any, Mapping[str, Any]]] | None,
    claims: Any,
) -> list[Decision]:
    """Decide claims with the batch engine; the decisions the interpreter would give."""
    engine = BatchEngine(program, tables)
    try:
        return engine.run(claims).decisions()
    finally:
        engine.close()
