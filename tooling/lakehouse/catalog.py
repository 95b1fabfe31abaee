"""Name an environment's tables for a session: the ingester's path-based bronze tables in the
metastore (before dbt runs), or every table by its folder on a session without the metastore, so
queries run while a build holds the embedded metastore."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from ingestion.bronze import BRONZE_TABLES, ensure_table
from ingestion.erasure import BUILT_LAYERS
from ingestion.settings import Settings


def register_bronze(spark: SparkSession, settings: Settings) -> None:
    """Create ``bronze.<table>`` entries pointing at the Delta tables the ingester writes."""
    spark.sql("create schema if not exists bronze")
    for name in BRONZE_TABLES:
        table = settings.bronze_table(name)
        ensure_table(spark, table)
        spark.sql(f"create table if not exists bronze.{name} using delta location '{table.path}'")


def without_metastore(spark: SparkSession) -> bool:
    return spark.conf.get("spark.sql.catalogImplementation", "in-memory") == "in-memory"


def table_folders(settings: Settings) -> dict[str, Path]:
    """Each silver and gold table (snapshots included) dbt built, and the erasure bookkeeping
    (``governance``), by name: ``layer.table`` -> its Delta folder (once it has a commit)."""
    folders = {layer: settings.layer_dir(layer) for layer in BUILT_LAYERS}
    folders["governance"] = settings.governance_dir  # erasure's suppression list, receipts
    return {
        f"{layer}.{table.name}": table
        for layer, folder in folders.items()
        for table in sorted(folder.glob("*"))
        if committed(table)
    }


def committed(folder: Path) -> bool:
    """A Delta table with a commit: a table being created has its ``_delta_log`` folder (which
    Spark cannot name yet) from the start of its first write."""
    log = folder / "_delta_log"
    return any(log.glob("*.json")) or any(log.glob("*.checkpoint*.parquet"))


def register_by_path(spark: SparkSession, settings: Settings) -> list[str]:
    """On a session without the metastore: bronze tables at the ingester's paths, and the tables
    of ``table_folders`` at their folders. Returns the tables named. Views (the bronze staging
    views) live in the metastore only."""
    register_bronze(spark, settings)
    named = [f"bronze.{name}" for name in BRONZE_TABLES]
    for layer in (*BUILT_LAYERS, "governance"):
        spark.sql(f"create schema if not exists {layer}")
    for name, folder in table_folders(settings).items():
        name_table(spark, name, folder)
        named.append(name)
    return named


def name_table(spark: SparkSession, name: str, folder: Path) -> None:
    """``name`` for the Delta table in ``folder`` (an external table: dropping it keeps them)."""
    spark.sql(f"create table if not exists {name} using delta location '{folder}'")


def name_tables(spark: SparkSession, settings: Settings) -> None:
    """The environment's tables by name: from the metastore if the session has it (bronze
    registered), else by path."""
    if without_metastore(spark):
        register_by_path(spark, settings)
    else:
        register_bronze(spark, settings)
