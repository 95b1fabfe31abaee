"""Name an environment's tables for a session: the ingester's path-based bronze tables in the
metastore (before dbt runs), or every table by its folder on a session without the metastore, so
queries run while a build holds the embedded metastore."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

from ingestion.bronze import BRONZE_TABLES, ensure_table
from ingestion.erasure import BUILT_LAYERS
from ingestion.settings import Settings

log = logging.getLogger(__name__)


def register_bronze(spark: SparkSession, settings: Settings) -> None:
    """Create ``bronze.<table>`` entries pointing at the Delta tables the ingester writes."""
    spark.sql("create schema if not exists bronze")
    for name in BRONZE_TABLES:
        table = settings.bronze_table(name)
        ensure_table(spark, table)
        spark.sql(f"create table if not exists bronze.{name} using delta location '{table.path}'")


def table_folders(settings: Settings) -> dict[str, Path]:
    """Each silver and gold table (snapshots included) dbt built, and the erasure bookkeeping
    (``governance``), by name: ``layer.table`` -> its Delta folder (once it has a commit)."""
    folders = {layer: settings.layer_dir(layer) for layer in BUILT_LAYERS}
    folders["governance"] = settings.governance_dir  # erasure's suppression list, receipts
    return {
        f"{layer}.{table.name}": table
        for layer, folder in folders.items()
        for table in sorted(folder.glob("[!.]*"))  # a hidden folder is an erasure's, set aside
        if committed(table)
    }


def committed(folder: Path) -> bool:
    """A Delta table with a commit: a table being created has its ``_delta_log`` folder (which
    Spark cannot name yet) from the start of its first write."""
    log = folder / "_delta_log"
    return any(log.glob("*.json")) or any(log.glob("*.checkpoint*.parquet"))


def name_tables(spark: SparkSession, settings: Settings) -> dict[str, Path]:
    """Name in ``spark``'s catalog each of the environment's tables it lacks: the bronze tables at
    the ingester's paths, and those of ``table_folders`` at their folders (external tables:
    dropping one keeps its files). On a session with the metastore it adds what a build through
    the SQL warehouse created; on one without, it names everything. Returns the tables of
    ``table_folders`` it named (one that failed is logged and left out), by name. Views (the
    bronze staging views) are dbt's to create."""
    register_bronze(spark, settings)
    for layer in (*BUILT_LAYERS, "governance"):
        spark.sql(f"create schema if not exists {layer}")
    return {
        name: folder
        for name, folder in table_folders(settings).items()
        if attempt(lambda n=name, f=folder: name_table(spark, n, f), f"{name} not named, for now")
    }


def attempt(action: Callable[[], object], failure: str) -> bool:
    """Run ``action``; on a Spark error, log ``failure`` with Spark's reason and return False:
    one damaged table does not stop the others being named."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        action()
    except (PySparkException, Py4JJavaError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("Table %s (%s)", failure, reason)
        return False
    return True


def name_table(spark: SparkSession, name: str, folder: Path) -> None:
    """``name`` for the Delta table in ``folder`` (an external table: dropping it keeps them)."""
    spark.sql(f"create table if not exists {name} using delta location '{folder}'")
