"""Bronze Delta tables, written by path so the ingester needs no metastore."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from delta.exceptions import ConcurrentAppendException, ConcurrentTransactionException
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

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


def ensure_table(spark: SparkSession, name: str, path: Path) -> None:
    """Create the bronze table ``name`` at ``path`` if it does not exist yet."""
    (
        DeltaTable.createIfNotExists(spark)
        .location(str(path))
        .addColumns(BRONZE_TABLES[name])
        .property("delta.appendOnly", "true")
        .execute()
    )


def insert_new(target: Path, batch: DataFrame, keys: list[str], *, attempts: int = 5) -> None:
    """Insert the rows of ``batch`` whose ``keys`` are not in ``target`` yet.

    Streams writing one table at once (landing files and the broker) can make a MERGE conflict;
    the insert is idempotent, so it is simply tried again on the new table version.
    """
    condition = " and ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    for attempt in range(1, attempts + 1):
        try:
            (
                DeltaTable.forPath(batch.sparkSession, str(target))
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
