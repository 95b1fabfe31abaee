"""Register the ingester's path-based bronze tables in an environment's metastore."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingestion.bronze import BRONZE_TABLES, ensure_table
from ingestion.settings import Settings


def register_bronze(spark: SparkSession, settings: Settings) -> None:
    """Create ``bronze.<table>`` entries pointing at the Delta tables the ingester writes."""
    spark.sql("create schema if not exists bronze")
    for name in BRONZE_TABLES:
        table = settings.bronze_table(name)
        ensure_table(spark, table)
        spark.sql(f"create table if not exists bronze.{name} using delta location '{table.path}'")
