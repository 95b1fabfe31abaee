"""Erasure of one user: the rows the project holds about them, and the files that held them.

The ingester only ever appends; erasure is the one writer that deletes. What belongs to a user:

- the bronze Kafka records that ``silver.record_owners`` gives them: that view applies the models'
  own rules (a profile event or workout names its user; a reading or gym visit is the user's whose
  device or MAC address it was at its time, by ``silver.device_assignments``, [rule
  5](docs/contract.md#rule-5)), and for records those rules cannot read, the identifiers their
  text names; erasure reads it, it does not decide ownership itself;
- their registration rows, from the database and from exports (the rows naming their id);
- the rows of snapshots (history dbt cannot rebuild) with their ``user_id``;
- everything silver and gold derive from those, which is rebuilt from what is left.

The views read silver as built: the caller brings ``silver.users`` up to date first, so a
registration in bronze counts.

On tables addressed by path (the embedded default, where an erasure holds the environment's
writers lock alone) each affected table is written anew without the user's rows and replaces the
old folder, so no data file, deletion vector or log entry of its history survives. On catalog
tables (Databricks, where the ingester keeps committing) the rows are deleted by a MERGE (the
commit records no value) and deletion vectors are purged; the files of earlier versions go with
the vacuum that keeps the retention protecting concurrent writers
(``erasure_file_retention_hours``), the first one run that long after the rebuild.

The user's id is kept hashed on a suppression list, which the ingester consults so that records
the sources still retain (Kafka, landing files, the registration table) are not ingested again.
A device or MAC address is listed with the user's registration of it; the interval it was theirs
is decided, whenever a record arrives, as [rule 5](docs/contract.md#rule-5) decides it from the
registrations silver holds then (``user_intervals``): a registration to someone else, even one
arriving late, ends it. A record in the part of an interval that a registration still to come
can give to someone else (after the user's last registration, or before a first one) is held
back (``governance.held_back``), not dropped: it lands once a registration decides it is not
theirs, and is erased when one decides it is, or when it has waited ``erasure_hold_days``.

An erasure is a row of ``governance.erasures_under_way`` from its first step until no file holds
the user; each step can run again, and the receipt (counts per table, when the user left every
table, when the last file holding them was deleted; no personal data) is written last, to
``governance.erasure_receipts``.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.bronze import BRONZE_TABLES, BronzeTable, ensure_table, retrying_conflicts
from ingestion.errors import LakehouseError
from ingestion.settings import Settings
from ingestion.transform import KAFKA_RECORDS_SCHEMA, epoch_seconds_to_timestamp

log = logging.getLogger(__name__)

#: Tables of the erasure bookkeeping, beside the environment's data (schema ``governance``).
SUPPRESSED = "erased_subjects"
UNDER_WAY = "erasures_under_way"
RECEIPTS = "erasure_receipts"
HELD_BACK = "held_back"
#: One row per erased user, per registration of theirs of a device and of its MAC address, and
#: per record erased (a source may deliver it again: the same record, the same id) with its Kafka
#: coordinates (``offset``: topic/partition/offset, for the audit): the identifier hashed
#: (``subject``), its kind, and for a device or MAC address when the user registered it.
SUPPRESSED_SCHEMA = T.StructType(
    [
        T.StructField("subject", T.StringType(), nullable=False),
        T.StructField("kind", T.StringType(), nullable=False),
        T.StructField("held_from", T.TimestampType()),
        T.StructField("erased_at", T.TimestampType(), nullable=False),
    ]
)
#: A Kafka record held back, and since when.
HELD_BACK_SCHEMA = T.StructType(
    [*KAFKA_RECORDS_SCHEMA.fields, T.StructField("held_at", T.TimestampType(), nullable=False)]
)
#: The registrations [rule 5](docs/contract.md#rule-5) decides by (``silver.users``' columns).
REGISTERED_SCHEMA = T.StructType(
    [
        T.StructField("device_id", T.LongType()),
        T.StructField("mac_address", T.StringType()),
        T.StructField("registered_at", T.TimestampType()),
    ]
)
COUNTS = T.MapType(T.StringType(), T.LongType())
#: An erasure from its first step to its receipt: the rows removed so far, the rows of the tables
#: rebuilt as they were before (the embedded default counts what the rebuild removed), and when
#: the rebuild left the user in no table.
UNDER_WAY_SCHEMA = T.StructType(
    [
        T.StructField("receipt_id", T.StringType(), nullable=False),
        T.StructField("subject", T.StringType(), nullable=False),
        T.StructField("erased_at", T.TimestampType(), nullable=False),
        T.StructField("rows_removed", COUNTS, nullable=False),
        T.StructField("rows_before", COUNTS),
        T.StructField("landing_files_holding_the_user", T.IntegerType(), nullable=False),
        T.StructField("removed_at", T.TimestampType()),
    ]
)
RECEIPTS_SCHEMA = T.StructType(
    [
        T.StructField("receipt_id", T.StringType(), nullable=False),
        T.StructField("subject", T.StringType(), nullable=False),
        T.StructField("erased_at", T.TimestampType(), nullable=False),
        T.StructField("removed_at", T.TimestampType(), nullable=False),
        T.StructField("files_gone_at", T.TimestampType(), nullable=False),
        T.StructField("rows_removed", COUNTS, nullable=False),
        T.StructField("landing_files_holding_the_user", T.IntegerType(), nullable=False),
    ]
)


#: The key file of an environment on the embedded default, beside its suppression list.
KEY_FILE = ".erasure.key"


def erasure_key(settings: Settings) -> bytes:
    """The secret key of the suppression list's and the receipts' hashes: ``erasure_key`` (on
    Databricks the secret scope's ``erasure-key``); on the embedded default, when unset, a random
    key in ``<env>/governance/.erasure.key``, created once, readable by its owner only."""
    if settings.erasure_key is not None:
        return settings.erasure_key.get_secret_value().encode()
    if settings.catalog:
        raise LakehouseError(
            "no erasure key: the suppression list's hashes need a secret key; put one in the "
            "secret scope (`databricks secrets put-secret <scope> erasure-key`, 64 random hex "
            "characters) and keep it: another key no longer recognises the erased users"
        )
    path = settings.governance_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{KEY_FILE}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: of two processes creating it, one key wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()


def subject_of(value: int | str, key: bytes, kind: str = "user") -> str:
    """An identifier as the suppression list and the receipts keep it: the HMAC-SHA256, under the
    environment's erasure key, of its kind (``user``, ``device``, ``mac``, ``record``) and value.
    Without the key no one can tell which identifiers it lists, even by trying every one."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def subject_column(value: Column, key: bytes, kind: str = "user") -> Column:
    """subject_of, as a Spark column (an integer id, a normalised MAC address, a record id):
    HMAC written out (RFC 2104) with Spark's SHA-256."""
    block = 64  # SHA-256's block size in bytes
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = bytearray(b ^ 0x36 for b in padded)
    outer = bytearray(b ^ 0x5C for b in padded)
    textual = kind in ("mac", "record", "offset")
    text = value.cast("string") if textual else value.try_cast("bigint").cast("string")
    message = F.concat(F.lit(f"{kind}:"), text).cast("binary")
    digest = F.unhex(F.sha2(F.concat(F.lit(inner), message), 256))
    return F.sha2(F.concat(F.lit(outer), digest), 256)


@dataclass(frozen=True)
class Suppression:
    """The suppression list as it is now, the key its identifiers are hashed with, and the
    registrations silver holds now (``REGISTERED_SCHEMA``; none: the list has no device)."""

    subjects: DataFrame
    key: bytes
    registrations: DataFrame | None = None
    anyone: bool = True  # false: no one was ever erased, there is nothing to judge


def _json_integer(path: str) -> Column:
    """An integral JSON number (or integer text) of a Kafka record's value as a bigint; null for
    anything else, never an error."""
    number = F.get_json_object("value", path).try_cast("decimal(38,6)")
    return F.when(number == F.floor(number), number.try_cast("bigint"))


def record_user() -> Column:
    """The user a Kafka record's value names (profile events and workouts carry one)."""
    return _json_integer("$.user_id")


def record_device() -> Column:
    return _json_integer("$.device_id")


def record_mac() -> Column:
    return F.lower(F.trim(F.get_json_object("value", "$.mac_address")))


def record_time(path: str) -> Column:
    """A Kafka record's event time (epoch seconds in the value, as the staging views read it)."""
    return epoch_seconds_to_timestamp(F.get_json_object("value", path))


@dataclass
class Receipt:
    """What an erasure did: rows removed per table, when the user left every table and when the
    last file holding them was deleted, and the landing files that still hold the user (they
    belong to the source systems' retention). No personal data."""

    subject: str
    erased_at: datetime
    rows_removed: dict[str, int] = field(default_factory=dict)
    rows_before: dict[str, int] | None = None
    landing_files: list[str] = field(default_factory=list)
    removed_at: datetime | None = None
    files_gone_at: datetime | None = None
    receipt_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def add_removed(self, table: str, rows: int) -> None:
        self.rows_removed[table] = self.rows_removed.get(table, 0) + rows


# Whose rows -------------------------------------------------------------------------------------
def built_relation(settings: Settings, name: str) -> str:
    """A silver relation dbt builds: ``<catalog>.silver.<name>`` on Databricks, else in the
    session's metastore."""
    return f"{settings.catalog}.silver.{name}" if settings.catalog else f"silver.{name}"


def owned_records(spark: SparkSession, settings: Settings, user_id: int) -> DataFrame:
    """The ``record_id`` of every bronze Kafka record that is the user's (silver.record_owners),
    computed now and kept: bronze changes next, and the view reads bronze."""
    owners = spark.table(built_relation(settings, "record_owners"))
    return (
        owners.where(F.col("user_id") == F.lit(user_id))
        .select("record_id")
        .distinct()
        .localCheckpoint(eager=True)
    )


def held_registrations(spark: SparkSession, settings: Settings, user_id: int) -> list[tuple]:
    """The user's registrations of devices and MAC addresses that
    [rule 5](docs/contract.md#rule-5) counts, as silver.device_assignments holds them: (kind,
    value, registered_at)."""
    assignments = spark.table(built_relation(settings, "device_assignments")).where(
        F.col("user_id") == F.lit(user_id)
    )
    found = set()
    for row in assignments.collect():
        found.add(("device", row["device_id"], row["registered_at"]))
        if row["mac_address"] is not None:
            found.add(("mac", row["mac_address"], row["registered_at"]))
    return sorted(found, key=repr)


def registration_rows_of(name: str, user_id: int) -> Column:
    """Condition on a bronze registration table: the rows naming the user (in an export, the id
    as text, however written)."""
    column = (
        F.col("user_id") if name == "registrations" else F.expr("try_cast(trim(user_id) as bigint)")
    )
    return F.coalesce(column == F.lit(user_id), F.lit(False))


#: The rows of a table to remove, given the table.
Doomed = Callable[[DataFrame], DataFrame]


def where(condition: Column) -> Doomed:
    return lambda table: table.where(condition)


def among(records: DataFrame) -> Doomed:
    """The rows whose ``record_id`` is one of ``records``'."""
    return lambda table: table.join(records, "record_id", "left_semi")


# Rewriting and purging ---------------------------------------------------------------------------
def properties(spark: SparkSession, sql_name: str) -> dict[str, str]:
    return {r.key: r.value for r in spark.sql(f"show tblproperties {sql_name}").collect()}


def identity(table: DataFrame) -> list[str]:
    """The columns that tell a row apart: ``record_id`` (bronze Kafka records), ``dbt_scd_id``
    (snapshots), else every column (registration rows)."""
    return [c for c in ("record_id", "dbt_scd_id") if c in table.columns] or table.columns


def _same_row(key: list[str]) -> Column:
    return functools.reduce(
        lambda a, b: a & b, [F.col(f"t.`{c}`").eqNullSafe(F.col(f"d.`{c}`")) for c in key]
    )


def doomed_rows(table: DataFrame, doomed: Doomed) -> tuple[list[str], DataFrame, int]:
    """The identity columns of ``table``, the identities of its ``doomed`` rows (computed now
    and kept: the table changes next), and how many of its rows they are."""
    key = identity(table)
    gone = doomed(table).select(*key).distinct().localCheckpoint(eager=True)
    removed = table.alias("t").join(gone.alias("d"), _same_row(key), "left_semi").count()
    return key, gone, removed


def rewrite_without(spark: SparkSession, path: Path, doomed: Doomed) -> int:
    """Replace the Delta table at ``path`` by a new one (same schema and properties) holding its
    rows but the ``doomed`` ones; the old folder, its history included, is deleted. Returns the
    rows removed. A rewrite cut short is taken up again: the old folder back in place."""
    retired = path.with_name(f".{path.name}.erased")
    if retired.exists() and not path.exists():  # cut short between its two renames
        retired.rename(path)
    shutil.rmtree(retired, ignore_errors=True)  # cut short after them
    table = spark.read.format("delta").load(str(path))
    key, gone, removed = doomed_rows(table, doomed)
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
    for name, value in kept_properties.items():
        builder = builder.property(name, value)
    builder.execute()
    kept = table.alias("t").join(gone.alias("d"), _same_row(key), "left_anti")
    kept.write.format("delta").mode("append").save(str(fresh))
    path.rename(retired)
    fresh.rename(path)
    shutil.rmtree(retired)
    log.info("%s: %d row(s) removed, history dropped", path.name, removed)
    return removed


def delete_and_purge(spark: SparkSession, sql_name: str, doomed: Doomed) -> int:
    """Delete the ``doomed`` rows from a catalog table, then purge deletion vectors, so the
    table's current files hold none of them (its earlier files go with a vacuum past the
    writers' retention: purge_history). The MERGE's commit names columns, not the values
    deleted. Returns the rows removed."""
    key, gone, removed = doomed_rows(spark.read.table(sql_name), doomed)
    if not removed:
        return 0
    on = " and ".join(f"t.`{c}` <=> d.`{c}`" for c in key)

    def delete() -> None:  # idempotent: a retry deletes what is left of them
        table = DeltaTable.forName(spark, sql_name).alias("t")
        table.merge(gone.alias("d"), on).whenMatchedDelete().execute()

    retrying_conflicts(sql_name, delete)
    purge_deletion_vectors(spark, sql_name)
    log.info("%s: %d row(s) removed, deletion vectors purged", sql_name, removed)
    return removed


def purge_deletion_vectors(spark: SparkSession, sql_name: str) -> None:
    """Rewrite the files of ``sql_name`` that deletion vectors mark, so no current file holds a
    deleted row (a writer committing meanwhile makes it try again)."""
    if properties(spark, sql_name).get("delta.enableDeletionVectors") == "true":
        retrying_conflicts(sql_name, lambda: spark.sql(f"reorg table {sql_name} apply (purge)"))


# Bookkeeping ------------------------------------------------------------------------------------
def governance_table(settings: Settings, name: str) -> str:
    """``<catalog>.governance.<name>`` on Databricks, else ``delta.`<env>/governance/<name>```."""
    if settings.catalog:
        return f"{settings.catalog}.governance.{name}"
    return f"delta.`{settings.governance_dir / name}`"


def governance(spark: SparkSession, settings: Settings, name: str, schema: T.StructType):
    """The bookkeeping table ``name`` (a DeltaTable), created empty if there is none yet."""
    target = governance_table(settings, name)
    if settings.catalog:  # by SQL: the table builder takes no three-part name outside Databricks
        columns = ", ".join(
            f"`{f.name}` {f.dataType.simpleString()}{'' if f.nullable else ' not null'}"
            for f in schema.fields
        )
        spark.sql(f"create schema if not exists {settings.catalog}.governance")
        spark.sql(f"create table if not exists {target} ({columns}) using delta")
        return DeltaTable.forName(spark, target)
    path = str(settings.governance_dir / name)
    DeltaTable.createIfNotExists(spark).addColumns(schema).location(path).execute()
    return DeltaTable.forPath(spark, path)


def _insert_absent(table: DeltaTable, rows: DataFrame, key: list[str]) -> None:
    """Insert the ``rows`` not in ``table`` yet (by ``key``, nulls equal): a step run again
    writes nothing twice."""
    on = " and ".join(f"t.`{c}` <=> r.`{c}`" for c in key)
    table.alias("t").merge(rows.alias("r"), on).whenNotMatchedInsertAll().execute()


def suppression_list(spark: SparkSession, settings: Settings) -> Suppression:
    """The suppression list (SUPPRESSED_SCHEMA), created empty if there is none yet."""
    return suppression_reader(spark, settings)()


def suppression_reader(spark: SparkSession, settings: Settings) -> Callable[[], Suppression]:
    """A function giving the suppression list as it is now, for a stream to call at every batch
    (a Delta read pins the version it starts from), with the registrations silver holds now
    when the list has a device. The list is created empty if there is none yet, and the key is
    read once, here, not at every batch."""
    governance(spark, settings, SUPPRESSED, SUPPRESSED_SCHEMA)
    key = erasure_key(settings)

    def now() -> Suppression:
        subjects = _governance_read(spark, settings, SUPPRESSED)
        kinds = {row.kind for row in subjects.select("kind").distinct().collect()}
        devices = bool(kinds & {"device", "mac"})
        registrations = registrations_now(spark, settings) if devices else None
        return Suppression(subjects, key, registrations, anyone=bool(kinds))

    return now


def registrations_now(spark: SparkSession, settings: Settings) -> DataFrame:
    """The registrations [rule 5](docs/contract.md#rule-5) decides by, as silver holds them
    now: ``silver.users`` (on the embedded default at its folder under the environment's
    warehouse, as the ingester's session, which has no metastore, finds it; else by name); none
    before the first build."""
    path = str(settings.layer_dir("silver") / "users")
    name = built_relation(settings, "users")
    if not settings.catalog and DeltaTable.isDeltaTable(spark, path):
        found = spark.read.format("delta").load(path)
    elif spark.catalog.tableExists(name):
        found = spark.read.table(name)
    else:
        return spark.createDataFrame([], REGISTERED_SCHEMA)
    return found.select(*REGISTERED_SCHEMA.names)


def erased_so_far(spark: SparkSession, settings: Settings) -> Suppression:
    """The suppression list for a command that only reads: empty when no one was ever erased
    (no list yet), creating neither the list nor the key."""
    listed = _governance_read(spark, settings, SUPPRESSED)
    if listed is None:
        return Suppression(spark.createDataFrame([], SUPPRESSED_SCHEMA), b"", anyone=False)
    return Suppression(listed, erasure_key(settings))


def held_back_so_far(spark: SparkSession, settings: Settings) -> DataFrame:
    """The records held back (HELD_BACK_SCHEMA), for a command that only reads: none when
    nothing ever was."""
    held = _governance_read(spark, settings, HELD_BACK)
    return spark.createDataFrame([], HELD_BACK_SCHEMA) if held is None else held


def _governance_read(spark: SparkSession, settings: Settings, name: str) -> DataFrame | None:
    """A bookkeeping table as it is now, or None when it was never created."""
    if settings.catalog:
        target = governance_table(settings, name)
        return spark.read.table(target) if spark.catalog.tableExists(target) else None
    path = str(settings.governance_dir / name)
    return spark.read.format("delta").load(path) if DeltaTable.isDeltaTable(spark, path) else None


def without_suppressed(records: DataFrame, suppressed: Suppression, user_id: Column) -> DataFrame:
    """``records`` less those whose ``user_id`` (a column over them) is on the suppression list."""
    marked = records.withColumn("_subject", subject_column(user_id, suppressed.key))
    users = suppressed.subjects.where(F.col("kind") == "user")
    users = users.select(F.col("subject").alias("_subject"))
    return marked.join(F.broadcast(users), "_subject", "left_anti").drop("_subject")


#: A Kafka record's verdict: an erased user's, or held back until a registration decides whose.
ERASED, HELD = "erased", "held"


def user_intervals(suppressed: Suppression) -> DataFrame:
    """Each listed registration of a device or MAC address with the interval it made them the
    erased user's, as [rule 5](docs/contract.md#rule-5) decides it from the registrations silver
    holds now: from the registration (``starts``; null, from before it, when no one registered
    them earlier: the first registrant's) to the next registration (``ends``; null while there
    is none). Columns ``kind``, ``subject``, ``held_from``, ``starts``, ``ends``."""
    key = suppressed.key
    listed = suppressed.subjects.where(F.col("kind").isin("device", "mac"))
    registrations = suppressed.registrations
    if registrations is None:
        registrations = listed.sparkSession.createDataFrame([], REGISTERED_SCHEMA)
    registered = registrations.select(
        F.lit("device").alias("kind"),
        subject_column(F.col("device_id"), key, "device").alias("subject"),
        "registered_at",
    ).unionByName(
        registrations.where(F.col("mac_address").isNotNull()).select(
            F.lit("mac").alias("kind"),
            subject_column(F.col("mac_address"), key, "mac").alias("subject"),
            "registered_at",
        )
    )
    at, since = F.col("registered_at"), F.col("held_from")
    return (
        listed.select("kind", "subject", "held_from")
        .join(registered, ["kind", "subject"], "left")
        .groupBy("kind", "subject", "held_from")
        .agg(F.max(at < since).alias("earlier"), F.min(F.when(at > since, at)).alias("ends"))
        .select(
            "kind", "subject", "held_from", F.when(F.col("earlier"), since).alias("starts"), "ends"
        )
    )


def judged(records: DataFrame, suppressed: Suppression, expiry: datetime) -> DataFrame:
    """Kafka records (with ``held_at``: since when each was held back, null for a new one) and
    their ``verdict``: ``erased`` for an erased user's (on the list by id, naming a listed user,
    or a reading or gym visit of a listed device or MAC address within its interval, or with no
    readable time), ``held`` for one in the part of an interval a registration still to come can
    give to someone else (after the user's last registration, before a first one), unless held
    since before ``expiry`` (then erased); null for every other record."""
    key, listed = suppressed.key, suppressed.subjects
    if "held_at" not in records.columns:
        records = records.withColumn("held_at", F.lit(None).cast("timestamp"))

    def listed_as(kind: str, flag: str) -> DataFrame:
        subjects = listed.where(F.col("kind") == kind).select("subject").distinct()
        return F.broadcast(
            subjects.select(F.col("subject").alias(f"_{kind}"), F.lit(True).alias(flag))
        )

    marked = (
        records.withColumn("_user", subject_column(record_user(), key))
        .withColumn("_record", subject_column(F.col("record_id"), key, "record"))
        .join(listed_as("user", "_named"), "_user", "left")
        .join(listed_as("record", "_listed"), "_record", "left")
    )
    at = F.col("_at")
    theirs = (
        ((F.col("s.kind") == "device") & (F.col("s.subject") == F.col("_device")))
        | ((F.col("s.kind") == "mac") & (F.col("s.subject") == F.col("_mac")))
    ) & (
        at.isNull()
        | (
            (F.col("s.starts").isNull() | (at >= F.col("s.starts")))
            & (F.col("s.ends").isNull() | (at < F.col("s.ends")))
        )
    )
    undecided = at.isNotNull() & (
        F.col("s.ends").isNull() | (F.col("s.starts").isNull() & (at < F.col("s.held_from")))
    )
    if suppressed.registrations is None:  # no device listed: nothing to match
        marked = marked.withColumn("_undecided", F.lit(None).cast("boolean"))
    else:
        matched = (
            records.select(
                "record_id",
                subject_column(record_device(), key, "device").alias("_device"),
                subject_column(record_mac(), key, "mac").alias("_mac"),
                F.coalesce(record_time("$.time"), record_time("$.login")).alias("_at"),
            )
            .join(F.broadcast(user_intervals(suppressed).alias("s")), theirs)
            .groupBy("record_id")
            .agg(F.min(undecided).alias("_undecided"))  # one decided interval decides
        )
        marked = marked.join(matched, "record_id", "left")
    undecided_now = F.col("_undecided")
    verdict = (
        F.when(F.col("_named") | F.col("_listed") | ~undecided_now, F.lit(ERASED))
        .when(undecided_now & (F.col("held_at") < F.lit(expiry)), F.lit(ERASED))
        .when(undecided_now, F.lit(HELD))
    )
    return marked.withColumn("verdict", verdict).drop(
        "_user", "_record", "_named", "_listed", "_undecided"
    )


def record_subjects(records: DataFrame, key: bytes, at: datetime) -> DataFrame:
    """Suppression list rows for Kafka records: each by its id, and by its coordinates (its id
    less the content hash; a landing line that is not a Kafka record has none), which let the
    audit tell an erased offset at the broker from a lost one."""
    coordinates = F.regexp_extract("record_id", r"^([^/]+/-?\d+/-?\d+)/[^/]+$", 1)
    by_id = [
        records.where(value != "").select(
            subject_column(value, key, kind).alias("subject"),
            F.lit(kind).alias("kind"),
            F.lit(None).cast("timestamp").alias("held_from"),
            F.lit(at).alias("erased_at"),
        )
        for kind, value in (("record", F.col("record_id")), ("offset", coordinates))
    ]
    return functools.reduce(DataFrame.unionByName, by_id)


def settle(
    spark: SparkSession,
    settings: Settings,
    records: DataFrame,
    suppressed: Suppression,
    land: Callable[[DataFrame], None],
) -> None:
    """Land a batch of Kafka records through ``land``, less the erased users' (``judged``).
    When the list has a device, the records held back before are judged again with the batch:
    a registration built since may have decided them. The erased users' records go onto the
    list (by id and coordinates: a source delivering them again is left out, and the audit
    tells them from lost ones); the undecided ones are held back (``governance.held_back``);
    the ones decided leave the hold after they landed or were listed, so a crash in between
    loses none."""
    if not suppressed.anyone:  # the batch as it is, read once
        land(records)
        return
    now = datetime.now(UTC)
    expiry = _naive(now - timedelta(days=settings.erasure_hold_days))
    hold = None
    if suppressed.registrations is not None:
        hold = governance(spark, settings, HELD_BACK, HELD_BACK_SCHEMA)
        held_before = hold.toDF()
        new = records.join(held_before.select("record_id"), "record_id", "left_anti")
        new = new.withColumn("held_at", F.lit(None).cast("timestamp"))
        records = held_before.unionByName(new)  # a record delivered again while held: once
    verdicts = judged(records, suppressed, expiry).persist()
    try:
        erased = verdicts.where(F.col("verdict") == ERASED)
        if not erased.isEmpty():
            listed = governance(spark, settings, SUPPRESSED, SUPPRESSED_SCHEMA)
            by_id = record_subjects(erased, suppressed.key, _naive(now))
            retrying_conflicts(  # two streams may list at once; each write is idempotent
                SUPPRESSED, lambda: _insert_absent(listed, by_id, ["subject", "kind", "held_from"])
            )
        if hold is not None:
            held = verdicts.where(F.col("verdict") == HELD)
            held = held.withColumn("held_at", F.coalesce("held_at", F.lit(_naive(now))))
            held = held.select(*HELD_BACK_SCHEMA.names)
            retrying_conflicts(HELD_BACK, lambda: _insert_absent(hold, held, ["record_id"]))
        land(verdicts.where(F.col("verdict").isNull()).select(*KAFKA_RECORDS_SCHEMA.names))
        if hold is not None:
            decided = verdicts.where(
                F.col("held_at").isNotNull() & ~F.coalesce(F.col("verdict") == HELD, F.lit(False))
            )
            on = "t.record_id = d.record_id"
            retrying_conflicts(
                HELD_BACK,
                lambda: hold.alias("t").merge(decided.alias("d"), on).whenMatchedDelete().execute(),
            )
    finally:
        verdicts.unpersist()


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
#: The step of an erasure that reads whose records are the user's (silver.record_owners).
OWNED_RECORDS_STEP = "bronze.kafka_records"


def needs_owners(receipt: Receipt) -> bool:
    """Whether the erasure still reads ``silver.record_owners``: its Kafka records (and the
    suppression list, written before them) are not done yet."""
    return OWNED_RECORDS_STEP not in receipt.rows_removed


def forget(spark: SparkSession, settings: Settings, user_id: int, snapshots: list) -> Receipt:
    """Remove the user from bronze and from ``snapshots`` (sql names, or paths on the embedded
    default), put them on the suppression list and list the landing files that still hold them.
    Silver and gold are derived: the caller rebuilds them without the user afterwards. A rerun
    skips the tables an earlier run finished (each is in the receipt once done)."""
    receipt = under_way(spark, settings, user_id)
    done = set(receipt.rows_removed)
    save_progress(spark, settings, receipt)  # under way from here: a rerun continues it
    records = None
    if needs_owners(receipt):
        records = owned_records(spark, settings, user_id)
        # first: a batch landing meanwhile is filtered already
        kafka = settings.bronze_table("kafka_records").read(spark).select("record_id")
        erased = records.join(kafka, "record_id", "left_semi")
        _suppress(spark, settings, receipt, held_registrations(spark, settings, user_id), erased)
    doomed = {
        "kafka_records": lambda: among(records),
        "registrations": lambda: where(registration_rows_of("registrations", user_id)),
        "registration_exports": lambda: where(
            registration_rows_of("registration_exports", user_id)
        ),
    }
    for name, rows in doomed.items():
        if f"bronze.{name}" not in done:
            removed = remove_from(spark, settings.bronze_table(name), rows())
            receipt.add_removed(f"bronze.{name}", removed)
            save_progress(spark, settings, receipt)
    theirs = where(F.coalesce(F.col("user_id") == F.lit(user_id), F.lit(False)))
    for snapshot in snapshots:
        label = f"silver.{Path(str(snapshot)).name}" if isinstance(snapshot, Path) else snapshot
        if label in done:
            continue
        if isinstance(snapshot, Path):
            receipt.add_removed(label, rewrite_without(spark, snapshot, theirs))
        else:
            receipt.add_removed(label, delete_and_purge(spark, snapshot, theirs))
        save_progress(spark, settings, receipt)
    receipt.landing_files = landing_files_holding(settings, user_id)
    save_progress(spark, settings, receipt)
    return receipt


def remove_from(spark: SparkSession, table: BronzeTable, doomed: Doomed) -> int:
    """Remove the ``doomed`` rows of a bronze table: rewritten by path, deleted in a catalog."""
    ensure_table(spark, table)
    if table.path is not None:
        return rewrite_without(spark, table.path, doomed)
    name = table.sql_name
    append_only = properties(spark, name).get("delta.appendOnly") == "true"

    def append_only_set(value: str) -> None:
        statement = f"alter table {name} set tblproperties ('delta.appendOnly' = '{value}')"
        retrying_conflicts(name, lambda: spark.sql(statement))

    if append_only:
        append_only_set("false")
    try:
        return delete_and_purge(spark, name, doomed)
    finally:
        if append_only:
            append_only_set("true")


def _suppress(
    spark: SparkSession,
    settings: Settings,
    receipt: Receipt,
    held: list[tuple],
    records: DataFrame,
) -> None:
    """The user, their registrations of devices and MAC addresses and their records (by id)
    on the suppression list."""
    key = suppression_list(spark, settings).key
    rows = [(receipt.subject, "user", None, receipt.erased_at)]
    rows += [
        (subject_of(value, key, kind), kind, registered_at, receipt.erased_at)
        for kind, value, registered_at in held
    ]
    subjects = spark.createDataFrame(rows, SUPPRESSED_SCHEMA).unionByName(
        record_subjects(records, key, receipt.erased_at)
    )
    listed = governance(spark, settings, SUPPRESSED, SUPPRESSED_SCHEMA)
    _insert_absent(listed, subjects, ["subject", "kind", "held_from"])


# An erasure under way, then its receipt ----------------------------------------------------------
def _under_way_rows(spark: SparkSession, settings: Settings) -> DataFrame:
    return governance(spark, settings, UNDER_WAY, UNDER_WAY_SCHEMA).toDF()


def _receipt_of(row) -> Receipt:
    return Receipt(
        subject=row["subject"],
        erased_at=row["erased_at"].replace(tzinfo=UTC),
        rows_removed=dict(row["rows_removed"]),
        rows_before=None if row["rows_before"] is None else dict(row["rows_before"]),
        removed_at=row["removed_at"] and row["removed_at"].replace(tzinfo=UTC),
        receipt_id=row["receipt_id"],
    )


def under_way(spark: SparkSession, settings: Settings, user_id: int) -> Receipt:
    """The user's erasure under way (a rerun continues it: its time, its counts so far), or a
    new one."""
    subject = subject_of(user_id, erasure_key(settings))
    found = _under_way_rows(spark, settings).where(F.col("subject") == subject).collect()
    if found:
        log.info(
            "Erasure %s under way since %s: continued",
            found[0]["receipt_id"],
            found[0]["erased_at"],
        )
        return _receipt_of(found[0])
    return Receipt(subject=subject, erased_at=datetime.now(UTC))


def _naive(at: datetime | None) -> datetime | None:
    """A UTC time as the session's UTC timestamps hold it."""
    return at and at.astimezone(UTC).replace(tzinfo=None)


def save_progress(spark: SparkSession, settings: Settings, receipt: Receipt) -> None:
    """Record how far the erasure got (the counts so far, the rows before, when removed)."""
    row = (
        receipt.receipt_id,
        receipt.subject,
        _naive(receipt.erased_at),
        receipt.rows_removed,
        receipt.rows_before,
        len(receipt.landing_files),
        _naive(receipt.removed_at),
    )
    table = governance(spark, settings, UNDER_WAY, UNDER_WAY_SCHEMA)
    progress = spark.createDataFrame([row], UNDER_WAY_SCHEMA).alias("r")
    merge = table.alias("t").merge(progress, "t.receipt_id = r.receipt_id")
    merge.whenMatchedUpdateAll().whenNotMatchedInsertAll().execute()


def mark_removed(spark: SparkSession, settings: Settings, user_id: int, at: datetime) -> None:
    """The user's erasure under way left them in no table at ``at`` (silver and gold rebuilt)."""
    receipt = under_way(spark, settings, user_id)
    receipt.removed_at = at
    save_progress(spark, settings, receipt)


def finish(spark: SparkSession, settings: Settings, receipt: Receipt, files_gone_at: datetime):
    """Write the receipt (once, however often this runs), then close the erasure under way."""
    receipt.files_gone_at = files_gone_at
    row = (
        receipt.receipt_id,
        receipt.subject,
        _naive(receipt.erased_at),
        _naive(receipt.removed_at),
        _naive(files_gone_at),
        receipt.rows_removed,
        len(receipt.landing_files),
    )
    receipts = governance(spark, settings, RECEIPTS, RECEIPTS_SCHEMA)
    _insert_absent(receipts, spark.createDataFrame([row], RECEIPTS_SCHEMA), ["receipt_id"])
    governance(spark, settings, UNDER_WAY, UNDER_WAY_SCHEMA).delete(
        F.col("receipt_id") == receipt.receipt_id
    )
    log.info(
        "Erasure %s complete: %s; the user left every table at %s, the last file holding them "
        "was deleted by %s",
        receipt.receipt_id,
        ", ".join(f"{t} {n}" for t, n in receipt.rows_removed.items()),
        receipt.removed_at,
        files_gone_at,
    )


def finish_purged(spark: SparkSession, settings: Settings, vacuumed_at: datetime) -> int:
    """Write the receipt of each erasure under way whose files a vacuum started at
    ``vacuumed_at`` deleted: removed from every table at least the retention before it."""
    retention = timedelta(hours=settings.erasure_file_retention_hours)
    cutoff = _naive(vacuumed_at - retention)
    done = [
        _receipt_of(row)
        for row in _under_way_rows(spark, settings)
        .where(F.col("removed_at") <= F.lit(cutoff))
        .collect()
    ]
    for receipt in done:
        finish(spark, settings, receipt, vacuumed_at)
    return len(done)


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


def purge_history(spark: SparkSession, settings: Settings) -> int:
    """Purge deletion vectors and vacuum every table of bronze, silver and gold, and the records
    held back, keeping the files of the last ``erasure_file_retention_hours`` (a concurrent
    writer's files, written but not committed yet, are younger than that); then write the
    receipt of each erasure whose files this deleted. Returns how many it completed."""
    started = datetime.now(UTC)
    hours = settings.erasure_file_retention_hours
    bronze = [settings.bronze_table(name).sql_name for name in BRONZE_TABLES]
    bronze.append(governance_table(settings, HELD_BACK))  # records erased after being held
    for table in [t for t in bronze if spark.catalog.tableExists(t)] + catalog_tables(
        spark, settings
    ):
        purge_deletion_vectors(spark, table)
        spark.sql(f"vacuum {table} retain {hours:g} hours")
        log.info("%s: files unreferenced for %g hours deleted", table, hours)
    return finish_purged(spark, settings, started)
