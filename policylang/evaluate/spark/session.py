"""Finding Spark: pyspark and a Java runtime, a local session, and the settings the SQL needs."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

INSTALL = "pip install 'policylang[spark]'"
# Settings the compiled SQL depends on (see dialect.py); set on every session the engine uses.
SQL_CONF = {
    # DECIMAL products keep their full scale (DuckDB's result types), never rounded to fit
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    # an overflow or a bad cast stops the query instead of giving NULL
    "spark.sql.ansi.enabled": "true",
    # claim fields `Code` and `code` are different columns, as in DuckDB
    "spark.sql.caseSensitive": "true",
    # dates only; UTC keeps every conversion free of daylight saving time
    "spark.sql.session.timeZone": "UTC",
    # the SQL text escapes backslashes as Spark's default parser expects
    "spark.sql.parser.escapedStringLiterals": "false",
}
LOG4J = Path(__file__).with_name("log4j2.properties")


class SparkUnavailable(RuntimeError):
    """pyspark or a Java runtime is missing: `--engine spark` cannot run here."""


def require_spark() -> None:
    """Raise SparkUnavailable, saying how to install, unless pyspark and Java are present."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            f"--engine spark needs pyspark and Java 17 or newer: {INSTALL}"
        ) from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        raise SparkUnavailable(
            "--engine spark needs a Java runtime (17 or newer) on PATH or in JAVA_HOME, "
            "e.g. apt-get install openjdk-17-jre-headless"
        )


@functools.cache
def private_local_dir() -> str:
    """Spark's scratch space for this process (`spark.local.dir`: shuffle files, spilled and
    checkpointed blocks, all claim data): 0700 with a random name, removed at exit. Spark's
    default is the shared /tmp, where its block manager directories are 0755 and the files
    0644, readable by every local user."""
    path = tempfile.mkdtemp(prefix="policylang-spark-")
    # registered before the session starts, so it runs after pyspark's own exit handlers
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def local_session(cores: int = 2) -> Any:
    """The local SparkSession of this process (created once, reused): `local[cores]`, no UI,
    few shuffle partitions, warnings only from Spark's own logging, scratch files in a private
    directory."""
    require_spark()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("policylang")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.driver.memory", "3g")  # planning the SQL of rules/ needs more than 1g
        # the compiled CASE chains exceed the JVM's 64 KB method limit: generating code for them
        # fails after seconds of compiling and Spark interprets anyway
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.local.dir", private_local_dir())
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J.as_uri()}")
    )
    for key, value in SQL_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def configure(spark: Any) -> None:
    """Set the SQL settings the compiled queries depend on, on a session given by the caller."""
    for key, value in SQL_CONF.items():
        spark.conf.set(key, value)
