"""Incremental extraction of the device-registration table through SQLAlchemy.

The watermark is never stored apart from the data: it is the latest registration time already
in bronze. Each run reads rows at or after ``watermark - lookback`` and inserts only rows whose
full key is not in bronze yet, so a row committed late with a timestamp equal to (or, within
the lookback, older than) the watermark is picked up, and no row is ever loaded twice. A crash
between reading and writing leaves bronze, hence the watermark, unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestion.bronze import BronzeTable, insert_new
from ingestion.transform import REGISTRATION_KEY, REGISTRATIONS_SCHEMA

log = logging.getLogger(__name__)

COLUMNS = ("user_id", "device_id", "mac_address", "registration_timestamp")


class RegistrationSourceError(RuntimeError):
    """The registration database could not be read."""


def to_utc_micros(value: datetime) -> int:
    """A database timestamp as UTC epoch microseconds (naive values are UTC, contract 1.1)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_utc_micros(micros: int) -> datetime:
    """UTC epoch microseconds as the naive UTC datetime the database compares against."""
    return datetime(1970, 1, 1) + timedelta(microseconds=micros)


def extraction_query(table: sa.Table, since: datetime | None) -> sa.Select:
    """Rows to read: all of them on the first run, else those at or after ``since``."""
    stmt = sa.select(*(table.c[c] for c in COLUMNS))
    if since is not None:
        stmt = stmt.where(table.c.registration_timestamp >= since)
    return stmt.order_by(table.c.registration_timestamp)


def rows_to_frame(spark: SparkSession, rows: Iterable[Sequence], source_table: str) -> DataFrame:
    """Database rows to a bronze registrations DataFrame (timestamps exact to the microsecond)."""
    data = [
        (int(u), int(d), str(m), to_utc_micros(ts) if ts is not None else None)
        for u, d, m, ts in rows
    ]
    frame = spark.createDataFrame(
        data, "user_id bigint, device_id bigint, mac_address string, ts_micros bigint"
    )
    return frame.select(
        "user_id",
        "device_id",
        "mac_address",
        F.timestamp_micros("ts_micros").alias("registration_timestamp"),
        F.lit(source_table).alias("source_table"),
        F.current_timestamp().alias("ingested_at"),
    ).select(*REGISTRATIONS_SCHEMA.fieldNames())


def watermark(spark: SparkSession, bronze: BronzeTable, source_table: str) -> datetime | None:
    """Latest registration time already landed from ``source_table`` (naive UTC), or None."""
    latest = (
        bronze.read(spark)
        .where(F.col("source_table") == source_table)
        .agg(F.unix_micros(F.max("registration_timestamp")).alias("latest"))
        .first()
    )
    if latest is None or latest["latest"] is None:
        return None
    # Micros, not a collected timestamp: PySpark converts those with the machine's time zone.
    return from_utc_micros(latest["latest"])


def read_rows(
    url: str, table_name: str, since: datetime | None, *, attempts: int = 5, backoff: float = 2.0
) -> list[tuple]:
    """Read registration rows at or after ``since``, retrying with exponential backoff."""
    engine = sa.create_engine(url)
    try:
        for attempt in range(1, attempts + 1):
            try:
                with engine.connect() as conn:
                    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
                    return [tuple(r) for r in conn.execute(extraction_query(table, since))]
            except sa.exc.NoSuchTableError as exc:
                raise RegistrationSourceError(
                    f"table {table_name!r} does not exist in {engine.url.render_as_string()}: "
                    "set LAKEHOUSE_REGISTRATIONS_TABLE or --registrations-table"
                ) from exc
            except sa.exc.OperationalError as exc:
                if attempt == attempts:
                    raise RegistrationSourceError(
                        f"registration database {engine.url.render_as_string()} unavailable after "
                        f"{attempts} attempts ({exc.orig}); the watermark was not advanced: "
                        "check the database and run the ingester again"
                    ) from exc
                delay = backoff * 2 ** (attempt - 1)
                log.warning(
                    "Registration database unavailable (attempt %d/%d): %s; retrying in %.0fs",
                    attempt,
                    attempts,
                    exc.orig,
                    delay,
                )
                time.sleep(delay)
    finally:
        engine.dispose()
    raise AssertionError("unreachable")


def extract(
    spark: SparkSession,
    *,
    url: str,
    table_name: str,
    bronze: BronzeTable,
    lookback: timedelta,
    attempts: int = 5,
    backoff: float = 2.0,
) -> int:
    """Land registration rows not yet in bronze; returns how many were new (none: no commit)."""
    latest = watermark(spark, bronze, table_name)
    since = latest - lookback if latest is not None else None
    rows = read_rows(url, table_name, since, attempts=attempts, backoff=backoff)
    log.debug(
        "Registrations: %d row(s) in %s since %s",
        len(rows),
        table_name,
        since.isoformat() if since else "the beginning",
    )
    if not rows:
        return 0
    landed = bronze.read(spark).select(*REGISTRATION_KEY)
    new = rows_to_frame(spark, rows, table_name).join(landed, REGISTRATION_KEY, "left_anti")
    count = new.count()
    if count:
        insert_new(bronze, new, REGISTRATION_KEY)
        log.info("Registrations: %d new row(s) from %s into %s", count, table_name, bronze)
    return count
