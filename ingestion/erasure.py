"""Erasure of one user: the rows the project holds about them, and the files that held them.

The ingester only ever appends; erasure is the one writer that deletes. What belongs to a user:

- bronze Kafka records of ``user_info`` and ``workout`` that carry their ``user_id``; the heart-rate
  readings and gym visits of their devices while the devices were theirs (the device's, or the MAC
  address's, registrations to them until the next registration of it, [rule
  5](docs/contract.md#rule-5)); their registration rows, from the database and from exports;
- the rows of snapshots (history dbt cannot rebuild) with their ``user_id``;
- everything silver and gold derive from those, which is rebuilt from what is left.

On tables addressed by path (the embedded default) each affected table is written anew without
the user's rows and replaces the old folder, so no data file, deletion vector or log entry of
its history survives. On catalog tables (Databricks) the rows are deleted by a MERGE (the commit
records no value), deletion vectors are purged and the table is vacuumed with no retention.

The user's id is kept hashed on a suppression list, which the ingester consults so that records
the sources still retain (Kafka, landing files, the registration table) are not ingested again,
and a receipt (counts per table, time, no personal data) goes to an audit table.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from ingestion.bronze import BronzeTable, ensure_table
from ingestion.settings import Settings

log = logging.getLogger(__name__)

#: Tables of the erasure bookkeeping, beside the environment's data (schema ``governance``).
SUPPRESSED = "erased_subjects"
RECEIPTS = "erasure_receipts"
#: One row per erased user, and per device and MAC address while it was theirs: the identifier
#: hashed (``subject``), its kind, and for a device or MAC address the interval it was theirs.
SUPPRESSED_SCHEMA = T.StructType(
    [
        T.StructField("subject", T.StringType(), nullable=False),
        T.StructField("kind", T.StringType(), nullable=False),
        T.StructField("held_from", T.TimestampType()),
        T.StructField("held_to", T.TimestampType()),
        T.StructField("erased_at", T.TimestampType(), nullable=False),
    ]
)
RECEIPTS_SCHEMA = T.StructType(
    [
        T.StructField("receipt_id", T.StringType(), nullable=False),
        T.StructField("subject", T.StringType(), nullable=False),
        T.StructField("erased_at", T.TimestampType(), nullable=False),
        T.StructField("rows_removed", T.MapType(T.StringType(), T.LongType()), nullable=False),
        T.StructField("landing_files_holding_the_user", T.IntegerType(), nullable=False),
    ]
)
#: Seconds from which an epoch time is read as milliseconds (as the staging views read it).
MILLISECONDS_FROM = 1e11


def subject_of(user_id: int, kind: str = "user") -> str:
    """An identifier as the suppression list and the receipts keep it: a SHA-256 digest of its
    kind (``user``, ``device``, ``mac``) and value."""
    return hashlib.sha256(f"smartwatch-{kind}:{user_id}".encode()).hexdigest()


def subject_column(value: Column, kind: str = "user") -> Column:
    """subject_of, as a Spark column (an integer id, or a normalised MAC address)."""
    text = value.cast("string") if kind == "mac" else value.cast("bigint").cast("string")
    return F.sha2(F.concat(F.lit(f"smartwatch-{kind}:"), text), 256)


def record_user() -> Column:
    """The user a Kafka record's value names (profile events and workouts carry one)."""
    return F.get_json_object("value", "$.user_id").cast("double").cast("bigint")


def record_device() -> Column:
    return F.get_json_object("value", "$.device_id").cast("double").cast("bigint")


def record_mac() -> Column:
    return F.lower(F.trim(F.get_json_object("value", "$.mac_address")))


@dataclass
class Receipt:
    """What an erasure did: rows removed per table, and the landing files that still hold the user
    (they belong to the source systems' retention). No personal data."""

    subject: str
    erased_at: datetime
    rows_removed: dict[str, int] = field(default_factory=dict)
    landing_files: list[str] = field(default_factory=list)
    receipt_id: str = field(default_factory=lambda: str(uuid.uuid4()))


# Whose rows -------------------------------------------------------------------------------------
def registrations(spark: SparkSession, settings: Settings) -> DataFrame:
    """Every registration bronze holds, typed: (user_id, device_id, mac_address, registered_at),
    from the database rows and the exported lines alike."""
    database = settings.bronze_table("registrations").read(spark)
    exports = settings.bronze_table("registration_exports").read(spark)
    epoch = F.expr("try_cast(trim(registration_timestamp) as double)")
    return database.select(
        "user_id",
        "device_id",
        F.lower(F.trim("mac_address")).alias("mac_address"),
        F.col("registration_timestamp").alias("registered_at"),
    ).unionByName(
        exports.select(
            F.expr("try_cast(trim(user_id) as bigint)").alias("user_id"),
            F.expr("try_cast(trim(device_id) as bigint)").alias("device_id"),
            F.lower(F.trim("mac_address")).alias("mac_address"),
            F.timestamp_seconds(epoch).alias("registered_at"),
        )
    )


def holdings(registered: DataFrame, user_id: int, key: str) -> DataFrame:
    """The intervals in which each device (``key="device_id"``) or MAC address
    (``key="mac_address"``) was the user's: from a registration to them until the next
    registration of it by anyone ([rule 5](docs/contract.md#rule-5)); open-ended when none
    followed. Columns: ``key``, ``held_from``, ``held_to`` (null: still theirs)."""
    known = registered.where(F.col(key).isNotNull() & F.col("registered_at").isNotNull())
    following = Window.partitionBy(key).orderBy("registered_at")
    return (
        known.select(
            key,
            "user_id",
            F.col("registered_at").alias("held_from"),
            F.lead("registered_at").over(following).alias("held_to"),
        )
        .where(F.col("user_id") == F.lit(user_id))
        .select(key, "held_from", "held_to")
        .distinct()
    )


def _epoch(path: str) -> Column:
    seconds = F.get_json_object("value", path).cast("double")
    seconds = F.when(seconds >= MILLISECONDS_FROM, seconds / 1000).otherwise(seconds)
    return F.timestamp_seconds(seconds)


def _held(at: Column, holding: DataFrame, key: str, value: Column) -> Column:
    """``value`` is one of ``holding``'s keys and ``at`` lies in one of its intervals."""
    intervals = [
        (row[key], row["held_from"], row["held_to"])
        for row in holding.collect()
        if row[key] is not None
    ]
    matches = [
        (value == F.lit(k)) & (at >= F.lit(start)) & (F.lit(end).isNull() | (at < F.lit(end)))
        for k, start, end in intervals
    ]
    return _any(matches)


def _any(conditions: list[Column]) -> Column:
    found = F.lit(False)
    for condition in conditions:
        found = found | condition
    return found


def kafka_records_of(
    settings: Settings, user_id: int, devices: DataFrame, macs: DataFrame
) -> Column:
    """Condition on bronze Kafka records: the user's profile events and workouts, and the
    readings and gym visits of their devices while the devices were theirs."""
    topics = settings.topics
    carried = record_user() == F.lit(user_id)
    reading = _held(_epoch("$.time"), devices, "device_id", record_device())
    visit = _held(_epoch("$.login"), macs, "mac_address", record_mac())
    return F.coalesce(
        (F.col("topic").isin(topics.user_info, topics.workout) & carried)
        | ((F.col("topic") == topics.bpm) & reading)
        | ((F.col("topic") == topics.gym_login) & visit),
        F.lit(False),
    )


def registration_rows_of(name: str, user_id: int) -> Column:
    """Condition on a bronze registration table: the rows registering a device to the user."""
    column = (
        F.col("user_id") if name == "registrations" else F.expr("try_cast(trim(user_id) as bigint)")
    )
    return F.coalesce(column == F.lit(user_id), F.lit(False))


# Rewriting and purging ---------------------------------------------------------------------------
def properties(spark: SparkSession, sql_name: str) -> dict[str, str]:
    return {r.key: r.value for r in spark.sql(f"show tblproperties {sql_name}").collect()}


def rewrite_without(spark: SparkSession, path: Path, condition: Column) -> int:
    """Replace the Delta table at ``path`` by a new one (same schema and properties) holding its
    rows that do not meet ``condition``; the old folder, its history included, is deleted.
    Returns the rows removed."""
    table = spark.read.format("delta").load(str(path))
    removed = table.where(condition).count()
    if not removed:
        return 0
    fresh = path.with_name(f".{path.name}.erasing")
    shutil.rmtree(fresh, ignore_errors=True)
    kept_properties = {
        k: v
        for k, v in properties(spark, f"delta.`{path}`").items()
        if not k.startswith("delta.") or k in ("delta.appendOnly", "delta.enableRowTracking")
    }
    builder = DeltaTable.create(spark).location(str(fresh)).addColumns(table.schema)
    for key, value in kept_properties.items():
        builder = builder.property(key, value)
    builder.execute()
    table.where(~condition).write.format("delta").mode("append").save(str(fresh))
    retired = path.with_name(f".{path.name}.erased")
    path.rename(retired)
    fresh.rename(path)
    shutil.rmtree(retired)
    log.info("%s: %d row(s) removed, history dropped", path.name, removed)
    return removed


def delete_and_purge(spark: SparkSession, sql_name: str, condition: Column) -> int:
    """Delete the rows meeting ``condition`` from a catalog table, then purge deletion vectors
    and vacuum with no retention, so no data file still holds them. The MERGE's commit names
    columns, not the values deleted. Returns the rows removed."""
    table = spark.read.table(sql_name)
    doomed = table.where(condition)
    removed = doomed.count()
    if not removed:
        return 0
    key_columns = [c for c in ("record_id", "dbt_scd_id") if c in table.columns] or table.columns
    DeltaTable.forName(spark, sql_name).alias("t").merge(
        doomed.select(*key_columns).distinct().alias("d"),
        " and ".join(f"t.`{c}` <=> d.`{c}`" for c in key_columns),
    ).whenMatchedDelete().execute()
    if properties(spark, sql_name).get("delta.enableDeletionVectors") == "true":
        spark.sql(f"reorg table {sql_name} apply (purge)")
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    spark.sql(f"vacuum {sql_name} retain 0 hours")
    log.info("%s: %d row(s) removed, files vacuumed", sql_name, removed)
    return removed


# Bookkeeping ------------------------------------------------------------------------------------
def governance_table(settings: Settings, name: str) -> str:
    """``<catalog>.governance.<name>`` on Databricks, else ``delta.`<env>/governance/<name>```."""
    if settings.catalog:
        return f"{settings.catalog}.governance.{name}"
    return f"delta.`{settings.governance_dir / name}`"


def _append(spark: SparkSession, settings: Settings, name: str, frame: DataFrame) -> None:
    target = governance_table(settings, name)
    if settings.catalog:
        spark.sql(f"create schema if not exists {settings.catalog}.governance")
        frame.write.format("delta").mode("append").saveAsTable(target)
    else:
        frame.write.format("delta").mode("append").save(target[len("delta.`") : -1])


def suppression_list(spark: SparkSession, settings: Settings) -> DataFrame:
    """The suppression list (SUPPRESSED_SCHEMA), created empty if there is none yet."""
    target = governance_table(settings, SUPPRESSED)
    if settings.catalog:
        spark.sql(f"create schema if not exists {settings.catalog}.governance")
        spark.sql(
            f"create table if not exists {target} (subject string not null, kind string not "
            "null, held_from timestamp, held_to timestamp, erased_at timestamp not null) "
            "using delta"
        )
    else:
        path = target[len("delta.`") : -1]
        DeltaTable.createIfNotExists(spark).location(path).addColumns(SUPPRESSED_SCHEMA).execute()
    return read_suppression_list(spark, settings)


def read_suppression_list(spark: SparkSession, settings: Settings) -> DataFrame:
    """The suppression list as it is now (a Delta read pins the version it starts from, so a
    stream reads it again at every batch)."""
    target = governance_table(settings, SUPPRESSED)
    if settings.catalog:
        return spark.read.table(target)
    return spark.read.format("delta").load(target[len("delta.`") : -1])


def without_suppressed(records: DataFrame, subjects: DataFrame, user_id: Column) -> DataFrame:
    """``records`` less those whose ``user_id`` (a column over them) is on the suppression list."""
    marked = records.withColumn("_subject", subject_column(user_id))
    users = subjects.where(F.col("kind") == "user").select(F.col("subject").alias("_subject"))
    return marked.join(F.broadcast(users), "_subject", "left_anti").drop("_subject")


def without_suppressed_records(records: DataFrame, subjects: DataFrame) -> DataFrame:
    """Kafka records less the erased users': those naming a suppressed user, and readings and gym
    visits of a suppressed device or MAC address in the interval it was the user's."""
    marked = (
        without_suppressed(records, subjects, record_user())
        .withColumn("_device", subject_column(record_device(), "device"))
        .withColumn("_mac", subject_column(record_mac(), "mac"))
        .withColumn("_at", F.coalesce(_epoch("$.time"), _epoch("$.login")))
    )
    held = subjects.where(F.col("kind").isin("device", "mac")).alias("s")
    within = (F.col("_at") >= F.col("s.held_from")) & (
        F.col("s.held_to").isNull() | (F.col("_at") < F.col("s.held_to"))
    )
    theirs = (
        ((F.col("s.kind") == "device") & (F.col("s.subject") == F.col("_device")))
        | ((F.col("s.kind") == "mac") & (F.col("s.subject") == F.col("_mac")))
    ) & within
    return marked.join(F.broadcast(held), theirs, "left_anti").drop("_device", "_mac", "_at")


# Landing files ----------------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        yield from handle


def landing_files_holding(settings: Settings, user_id: int) -> list[str]:
    """Landing files with a record carrying the user's id (a profile event, a workout, a
    registration): they stay, as the source systems' retention decides, and are listed."""
    found = []
    for path in sorted((settings.landing / "kafka").glob("*.json*")):
        for line in _lines(path):
            try:
                envelope = json.loads(line)
                value = envelope.get("value")
                payload = json.loads(value) if isinstance(value, str) else value
            except (ValueError, AttributeError, TypeError):
                continue
            if isinstance(payload, dict) and str(payload.get("user_id")).strip() == str(user_id):
                found.append(str(path))
                break
    for path in sorted((settings.landing / "registrations").glob("*.csv*")):
        rows = csv.reader(io.StringIO("".join(_lines(path))))
        header = [h.strip().lower() for h in next(rows, [])]
        if "user_id" in header:
            at = header.index("user_id")
            if any(len(r) > at and r[at].strip() == str(user_id) for r in rows):
                found.append(str(path))
    return found


# The erasure ------------------------------------------------------------------------------------
def forget(spark: SparkSession, settings: Settings, user_id: int, snapshots: list) -> Receipt:
    """Remove the user from bronze and from ``snapshots`` (sql names, or paths on the embedded
    default), put them on the suppression list and list the landing files that still hold them.
    Silver and gold are derived: the caller rebuilds them without the user afterwards."""
    receipt = Receipt(subject=subject_of(user_id), erased_at=datetime.now(UTC))
    registered = registrations(spark, settings).cache()
    devices = holdings(registered, user_id, "device_id")
    macs = holdings(registered, user_id, "mac_address")
    conditions = {
        "kafka_records": kafka_records_of(settings, user_id, devices, macs),
        "registrations": registration_rows_of("registrations", user_id),
        "registration_exports": registration_rows_of("registration_exports", user_id),
    }
    # first: a batch landing meanwhile is filtered already
    _suppress(spark, settings, receipt, devices, macs)
    for name, condition in conditions.items():
        receipt.rows_removed[f"bronze.{name}"] = _remove(
            spark, settings.bronze_table(name), condition
        )
    registered.unpersist()
    for snapshot in snapshots:
        label = f"silver.{Path(str(snapshot)).name}" if isinstance(snapshot, Path) else snapshot
        condition = F.coalesce(F.col("user_id") == F.lit(user_id), F.lit(False))
        if isinstance(snapshot, Path):
            receipt.rows_removed[label] = rewrite_without(spark, snapshot, condition)
        else:
            receipt.rows_removed[label] = delete_and_purge(spark, snapshot, condition)
    receipt.landing_files = landing_files_holding(settings, user_id)
    return receipt


def _remove(spark: SparkSession, table: BronzeTable, condition: Column) -> int:
    ensure_table(spark, table)
    if table.path is not None:
        return rewrite_without(spark, table.path, condition)
    append_only = properties(spark, table.sql_name).get("delta.appendOnly") == "true"
    if append_only:
        spark.sql(f"alter table {table.sql_name} set tblproperties ('delta.appendOnly' = 'false')")
    try:
        return delete_and_purge(spark, table.sql_name, condition)
    finally:
        if append_only:
            spark.sql(
                f"alter table {table.sql_name} set tblproperties ('delta.appendOnly' = 'true')"
            )


def _suppress(
    spark: SparkSession, settings: Settings, receipt: Receipt, devices: DataFrame, macs: DataFrame
) -> None:
    """The user, their devices and MAC addresses (while theirs) on the suppression list."""
    suppression_list(spark, settings)
    rows = [(receipt.subject, "user", None, None, receipt.erased_at)]
    for frame, key, kind in ((devices, "device_id", "device"), (macs, "mac_address", "mac")):
        rows += [
            (subject_of(r[key], kind), kind, r["held_from"], r["held_to"], receipt.erased_at)
            for r in frame.collect()
        ]
    _append(spark, settings, SUPPRESSED, spark.createDataFrame(rows, SUPPRESSED_SCHEMA))


def record_receipt(spark: SparkSession, settings: Settings, receipt: Receipt) -> None:
    """Append the receipt to the audit table (``governance.erasure_receipts``)."""
    row = [
        (
            receipt.receipt_id,
            receipt.subject,
            receipt.erased_at,
            receipt.rows_removed,
            len(receipt.landing_files),
        )
    ]
    _append(spark, settings, RECEIPTS, spark.createDataFrame(row, RECEIPTS_SCHEMA))
    log.info(
        "Erasure %s recorded: %s; %d landing file(s) still hold the user",
        receipt.receipt_id,
        ", ".join(f"{t} {n}" for t, n in receipt.rows_removed.items()),
        len(receipt.landing_files),
    )


# Catalog tables (Databricks) ---------------------------------------------------------------------
#: The layers dbt builds in the environment's catalog.
BUILT_LAYERS = ("silver", "gold")
#: The column only snapshots have: their history cannot be rebuilt, so their rows are erased.
SNAPSHOT_MARK = "dbt_scd_id"


def catalog_tables(spark: SparkSession, settings: Settings) -> list[str]:
    """Every table of the catalog's silver and gold schemas (views aside)."""
    found = []
    for layer in BUILT_LAYERS:
        schema = f"{settings.catalog}.{layer}"
        if spark.catalog.databaseExists(schema):
            found += [
                f"{schema}.{t.name}"
                for t in spark.catalog.listTables(schema)
                if t.tableType != "VIEW" and not t.isTemporary
            ]
    return sorted(found)


def catalog_snapshots(spark: SparkSession, settings: Settings) -> list[str]:
    return [t for t in catalog_tables(spark, settings) if SNAPSHOT_MARK in spark.table(t).columns]


def purge_history(spark: SparkSession, settings: Settings) -> None:
    """After silver and gold were rebuilt without a user: purge deletion vectors and vacuum every
    table with no retention, so no file of their earlier versions remains."""
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    for table in catalog_tables(spark, settings):
        if properties(spark, table).get("delta.enableDeletionVectors") == "true":
            spark.sql(f"reorg table {table} apply (purge)")
        spark.sql(f"vacuum {table} retain 0 hours")
        log.info("%s: earlier versions' files removed", table)
