"""Bronze Delta tables: by path on the local target (the ingester needs no metastore), by Unity
Catalog name on Databricks (``--catalog``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    MetadataChangedException,
)
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
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

    def append(self, rows: DataFrame) -> None:
        """Append ``rows`` to this table."""
        writer = rows.write.format("delta").mode("append")
        if self.qualified_name:
            writer.saveAsTable(self.qualified_name)
        else:
            writer.save(str(self.path))

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


def is_empty(table: BronzeTable, spark: SparkSession) -> bool:
    """True when the table holds no data file (Delta metadata only, no data read)."""
    detail = spark.sql(f"describe detail {table.sql_name}").first()
    return detail is None or not detail["numFiles"]


def insert_new(
    target: BronzeTable,
    batch: DataFrame,
    keys: list[str],
    *,
    bound: Column | None = None,
    attempts: int = 5,
) -> None:
    """Append the rows of ``batch`` whose ``keys`` are not in ``target`` yet.

    The rows already landed are looked up first and the new ones kept (memory, then disk);
    ``bound``, a condition on the target's columns (alias ``t``) that every row matching a row of
    the batch meets, lets Delta skip the files that cannot hold one instead of reading the whole
    table. The kept rows are then appended: an append that reads nothing of the table, which
    Delta calls blind; on Databricks (WriteSerializable) it never conflicts with another
    writer's delete or purge (an erasure beside a busy ingester), while open-source Delta,
    Serializable only, still makes such a delete retry. The ingester's streams writing one table
    (landing files and the broker) take turns, so a record both deliver at once lands once. A
    metadata change meanwhile conflicts; the append is then tried again. The kept rows are
    released when Spark collects the checkpoint's garbage."""
    spark = batch.sparkSession
    condition = F.expr(" and ".join(f"t.`{k}` <=> s.`{k}`" for k in keys))
    with _turn_of(target):
        landed = target.read(spark).alias("t")
        if bound is not None:
            landed = landed.where(bound)
        new = batch.alias("s").join(landed, condition, "left_anti").localCheckpoint(eager=True)
        retrying_conflicts(target.name, lambda: target.append(new), attempts=attempts)


#: The lock each bronze table's writers in this process take turns with, by table.
_TURNS: dict[str, threading.Lock] = {}


def _turn_of(table: BronzeTable) -> threading.Lock:
    return _TURNS.setdefault(str(table), threading.Lock())  # setdefault is atomic


#: What a Delta commit raises when another writer committed to the same table first: the
#: ingester's streams, an erasure's delete and purge, a property change.
CONFLICTS = (
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
    MetadataChangedException,
)


def retrying_conflicts(name: str, write: Callable[[], None], *, attempts: int = 5) -> None:
    """Run ``write``, an idempotent write to table ``name``, again on the new table version when
    a concurrent writer's commit conflicts with it."""
    for attempt in range(1, attempts + 1):
        try:
            write()
            return
        except CONFLICTS as exc:
            if attempt == attempts:
                raise
            log.warning(
                "Concurrent write to %s (attempt %d/%d): %s; retrying",
                name,
                attempt,
                attempts,
                type(exc).__name__,
            )
            time.sleep(0.5 * attempt)


#: A batch's (topic, partition, lowest offset, highest offset) of one topic and partition.
Coordinates = tuple[str | None, int | None, int | None, int | None]
#: More (topic, partition) groups than this in one batch and the bound is one offset range.
MAX_BOUND_GROUPS = 64


def coordinate_bound(coordinates: list[Coordinates]) -> Column:
    """Condition on bronze rows (alias ``t``) that holds for every row sharing a ``record_id``
    with a batch, from the batch's ``(topic, partition, min offset, max offset)`` groups.

    ``record_id`` starts with the record's coordinates ([rule 1](docs/contract.md#rule-1)), and a
    line that is not a Kafka record is keyed by its file and content, so a matching row has the same
    topic, partition and offset as the batch row: the condition is exact, and literal, so Delta
    skips by file statistics. A batch with very many groups (an unusual export) is bounded by its
    whole offset range, nulls included."""
    if len(coordinates) > MAX_BOUND_GROUPS:
        offsets = [o for _, _, low, high in coordinates for o in (low, high) if o is not None]
        if not offsets:
            return F.col("t.offset").isNull()
        return F.col("t.offset").isNull() | F.col("t.offset").between(min(offsets), max(offsets))
    bound = F.lit(False)
    for topic, partition, low, high in coordinates:
        group = _equal_or_null("t.topic", topic) & _equal_or_null("t.partition", partition)
        offset = F.col("t.offset")
        bound = bound | (group & (offset.isNull() if low is None else offset.between(low, high)))
    return bound


def batch_coordinates(batch: DataFrame) -> list[Coordinates]:
    """``(topic, partition, min offset, max offset)`` of each topic and partition in ``batch``
    (offsets ``None`` for its rows without an offset)."""
    rows = (
        batch.groupBy("topic", "partition", F.col("offset").isNull())
        .agg(F.min("offset").alias("low"), F.max("offset").alias("high"))
        .collect()
    )
    return [(r.topic, r.partition, r.low, r.high) for r in rows]


def _equal_or_null(column: str, value: object) -> Column:
    return F.col(column).isNull() if value is None else F.col(column) == F.lit(value)
