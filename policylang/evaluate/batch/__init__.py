"""The batch engine: the checked IR compiled to SQL, run on DuckDB (or Spark) over whole files.

The reference interpreter stays the definition of every decision; this engine must give the same
decisions, reasons and citations for everything it compiles, and raises `UnsupportedInBatch`
naming anything else (`--engine auto` then uses the interpreter). See docs/architecture.md,
section "Batch engine".
"""

from policylang.evaluate.batch.engine import BatchEngine, check_batch, check_supported
from policylang.evaluate.batch.errors import UnsupportedInBatch

__all__ = ["BatchEngine", "UnsupportedInBatch", "check_batch", "check_supported"]
