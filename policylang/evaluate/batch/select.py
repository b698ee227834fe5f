"""Which engine checks a claims input: `interpret`, `batch` or `auto`.

`auto` uses the batch engine for large inputs (a file above AUTO_BYTES, or a Parquet file with
more than AUTO_ROWS rows) when the policy compiles; otherwise the interpreter. The reason for
the choice is returned so the command line can say it on stderr.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policylang.evaluate.batch.errors import UnsupportedInBatch

if TYPE_CHECKING:
    from policylang.api import Policy
    from policylang.decision import Decision

ENGINES = ("interpret", "batch", "auto")
AUTO_ROWS = 100_000
AUTO_BYTES = 20 * 1024 * 1024


def input_size(claims: Any) -> tuple[int | None, int | None]:
    """(bytes, rows) of a claims file where cheap to know; None where not."""
    if not isinstance(claims, str | os.PathLike):
        return None, None
    path = Path(claims)
    if not path.is_file():
        return None, None
    size = path.stat().st_size
    rows = None
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception:  # a broken file: the reader reports it
            rows = None
    return size, rows


def tables_of(policy: Policy) -> dict[str, Any]:
    policy.interpreter  # noqa: B018 - loads the bundled reference tables, as the interpreter does
    return dict(policy._tables)


def choose(policy: Policy, claims: Any, engine: str) -> tuple[str, str]:
    """(engine to use, why) for `engine` in ENGINES."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine `{engine}`; use {', '.join(ENGINES)}")
    if engine != "auto":
        return engine, f"--engine {engine}"
    size, rows = input_size(claims)
    large = (size is not None and size > AUTO_BYTES) or (rows is not None and rows > AUTO_ROWS)
    if not large:
        return "interpret", "auto: a small input (at most 100,000 rows and 20 MB) is interpreted"
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return "interpret", "auto: duckdb is not installed, so the interpreter decides"
    from policylang.evaluate.batch.engine import check_supported

    try:
        check_supported(policy.program, tables_of(policy))
    except UnsupportedInBatch as error:
        return "interpret", f"auto: the interpreter decides, because {error}"
    return "batch", "auto: a large input is decided by the batch engine"


def check(policy: Policy, claims: Any, engine: str = "interpret") -> list[Decision]:
    """Decisions by the chosen engine; `auto` falls back to the interpreter on
    UnsupportedInBatch (a construct, or an input row, the batch engine does not handle)."""
    chosen, _ = choose(policy, claims, engine)
    if chosen == "interpret":
        return policy.check(claims)
    try:
        return run(policy, claims, chosen)
    except UnsupportedInBatch:
        if engine != "auto":
            raise
        return policy.check(claims)


def run(policy: Policy, claims: Any, engine: str) -> list[Decision]:
    from policylang.evaluate.batch.engine import check_batch

    return check_batch(policy.program, tables_of(policy), claims)
