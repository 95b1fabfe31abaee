"""Bronze Delta tables: by path on the local target (the ingester needs no metastore), by Unity
Catalog name on Databricks (``--catalog``)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from delta.exceptions import ConcurrentAppendException, ConcurrentTransactionException
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T
from pyspark.sql.streaming import DataStreamWriter, StreamingQuery

from ingestion.transform import (
    KAFKA_RECORDS_SCHEMA,
    REGISTRATION_EXPORTS_SCHEMA,
    REGISTRATIONS_SCHEMA,
)

log = logging.getLogger(__name__)

#: Bronze tables the ingester owns: name -> schema. dbt declares them as sources.
BRONZE_TABLES: dict[str, T.StructType] = {
    "kafka_records": KAFKA_RECORDS_SCHEMA,
    "registration_exports": REGISTRATION_EXPORTS_SCHEMA,
    "registrations": REGISTRATIONS_SCHEMA,
}


APPEND_ONLY = "delta.appendOnly"
#: Row tracking gives every row the commit version that wrote it (``_metadata.row_commit_version``):
#: dbt's incremental models read the commits after the last version they recorded, so a replayed
#: batch that keeps its first attempt's ``ingested_at`` is still seen.
ROW_TRACKING = "delta.enableRowTracking"
#: Table properties every bronze table has.
PROPERTIES = {APPEND_ONLY: "true", ROW_TRACKING: "true"}


@dataclass(frozen=True)
class BronzeTable:
    """One bronze table: a Delta path, or a ``catalog.bronze.name`` Unity Catalog table."""

    name: str
    path: Path | None = None
    qualified_name: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.qualified_name is None):
            raise ValueError("a bronze table has a path or a qualified name, not both")

    def __str__(self) -> str:
        return self.qualified_name or str(self.path)

    @property
    def sql_name(self) -> str:
        """The table as SQL names it: ``catalog.bronze.name``, or ``delta.`path```."""
        return self.qualified_name or f"delta.`{self.path}`"

    def read(self, spark: SparkSession) -> DataFrame:
        if self.qualified_name:
            return spark.read.table(self.qualified_name)
        return spark.read.format("delta").load(str(self.path))

    def delta(self, spark: SparkSession) -> DeltaTable:
        if self.qualified_name:
            return DeltaTable.forName(spark, self.qualified_name)
        return DeltaTable.forPath(spark, str(self.path))

    def start_append(self, writer: DataStreamWriter) -> StreamingQuery:
        """Start a streaming append into this table."""
        writer = writer.format("delta").outputMode("append")
        if self.qualified_name:
            return writer.toTable(self.qualified_name)
        return writer.start(str(self.path))


def ensure_table(spark: SparkSession, table: BronzeTable) -> None:
    """Create ``table`` (and its schema, in a catalog) if it does not exist yet; give an older
    one the columns its schema gained (null in the old rows) and the properties it lacks (row
    tracking on a table created before it was used: Delta then assigns the enabling commit's
    version to every row already there)."""
    schema = BRONZE_TABLES[table.name]
    if table.qualified_name:
        spark.sql(f"create schema if not exists {table.qualified_name.rsplit('.', 1)[0]}")
        spark.sql(
            f"create table if not exists {table.qualified_name} ({column_ddl(schema)}) "
            f"using delta tblproperties ({properties_ddl(PROPERTIES)})"
        )
    else:
        builder = DeltaTable.createIfNotExists(spark).location(str(table.path)).addColumns(schema)
        for key, value in PROPERTIES.items():
            builder = builder.property(key, value)
        builder.execute()
    add_missing_columns(spark, table, schema)
    current = {r.key: r.value for r in spark.sql(f"show tblproperties {table.sql_name}").collect()}
    missing = {k: v for k, v in PROPERTIES.items() if current.get(k) != v}
    if missing:
        log.info("Setting %s on bronze table %s", ", ".join(missing), table)
        spark.sql(f"alter table {table.sql_name} set tblproperties ({properties_ddl(missing)})")


def add_missing_columns(spark: SparkSession, table: BronzeTable, schema: T.StructType) -> None:
    """``alter table ... add columns`` for the fields of ``schema`` that ``table`` lacks."""
    present = {name.lower() for name in table.read(spark).columns}
    missing = T.StructType([f for f in schema.fields if f.name.lower() not in present])
    if not missing.fields:
        return
    spark.sql(f"alter table {table.sql_name} add columns ({column_ddl(missing)})")
    log.info("Added column(s) %s to %s", ", ".join(missing.fieldNames()), table)


def properties_ddl(properties: dict[str, str]) -> str:
    """``'key' = 'value', ...`` as TBLPROPERTIES lists them."""
    return ", ".join(f"'{k}' = '{v}'" for k, v in properties.items())


def column_ddl(schema: T.StructType) -> str:
    """``name type [not null]`` for each field, as CREATE TABLE lists columns."""
    return ", ".join(
        f"`{f.name}` {f.dataType.simpleString()}{'' if f.nullable else ' not null'}"
        for f in schema.fields
    )


def insert_new(
    target: BronzeTable, batch: DataFrame, keys: list[str], *, attempts: int = 5
) -> None:
    """Insert the rows of ``batch`` whose ``keys`` are not in ``target`` yet.

    Streams writing one table at once (landing files and the broker) can make a MERGE conflict;
    the insert is idempotent, so it is simply tried again on the new table version.
    """
    condition = " and ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    for attempt in range(1, attempts + 1):
        try:
            (
                target.delta(batch.sparkSession)
                .alias("t")
                .merge(batch.alias("s"), condition)
                .whenNotMatchedInsertAll()
                .execute()
            )
            return
        except (ConcurrentAppendException, ConcurrentTransactionException) as exc:
            if attempt == attempts:
                raise
            log.warning(
                "Concurrent write to %s (attempt %d/%d): %s; retrying",
                target.name,
                attempt,
                attempts,
                type(exc).__name__,
            )
            time.sleep(0.5 * attempt)
