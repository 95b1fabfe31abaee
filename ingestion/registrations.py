"""Incremental extraction of the device-registration table through SQLAlchemy.

Two reads, both landing only rows not in bronze yet (so no row is ever loaded twice):

- **A poll** reads the rows dated from ``watermark - lookback`` up to now. The watermark is never
  stored apart from the data: it is the latest registration time already in bronze, counting only
  rows that were not dated in the future when they landed (a clock-skewed register must not push
  it past rows that arrive later). A row committed late within the lookback is picked up.
- **A reconciliation** reads every row of the table, once the last one is older than the
  reconciliation interval (and on the first run). It lands what the polls cannot see: rows
  committed later than the lookback with an earlier time, rows with no time or a time in the
  future. So every committed row lands within one interval, whatever its time says; the rows it
  finds late are logged. Its time is kept as a property of the bronze table, written after the
  rows it found: a crash in between means one more reconciliation, nothing lost.

A crash between reading and writing leaves bronze unchanged.

A row is landed as read: typed columns where its values convert (null where they do not) plus
``raw``, the row as JSON, so silver can reject it with a precise reason. A row identical to
another one (the table holds it twice) lands once: bronze keeps each distinct row.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestion.bronze import BronzeTable, insert_new
from ingestion.erasure import Suppression, without_suppressed
from ingestion.errors import LakehouseError
from ingestion.secrets import describe_url, redact
from ingestion.transform import REGISTRATION_COLUMNS, REGISTRATION_KEY, REGISTRATIONS_SCHEMA

log = logging.getLogger(__name__)

COLUMNS = tuple(REGISTRATION_COLUMNS)
_BIGINT = range(-(2**63), 2**63)
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_URL_SETTING = "LAKEHOUSE_REGISTRATIONS_URL (or --registrations-url)"


class RegistrationSourceError(LakehouseError):
    """The registration database could not be read (the message never holds a password)."""


# Values as read ---------------------------------------------------------------------------------
def to_utc_micros(value: datetime) -> int:
    """A database timestamp as UTC epoch microseconds (naive values are UTC, contract 1.1)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_utc_micros(micros: int) -> datetime:
    """UTC epoch microseconds as the naive UTC datetime the database compares against."""
    return datetime(1970, 1, 1) + timedelta(microseconds=micros)


def as_bigint(value: object) -> int | None:
    """An id as a bigint: integers, integral decimals/floats and integer text; else None."""
    if isinstance(value, bool) or value is None:
        return None
    integral = (
        isinstance(value, int)
        or (isinstance(value, Decimal | float) and math.isfinite(value) and value == int(value))
        or (isinstance(value, str) and _INTEGER_TEXT.fullmatch(value) is not None)
    )
    if not integral:
        return None
    number = int(value)
    return number if number in _BIGINT else None


def as_utc_micros(value: object) -> int | None:
    """A registration time as UTC epoch microseconds: a datetime, or ISO 8601 text (what SQLite
    stores); None for anything else (a date alone, a number, unparseable text)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return to_utc_micros(value) if isinstance(value, datetime) else None


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    return str(value)


def raw_text(row: Sequence) -> str:
    """The row as read, as JSON text with the contract's column names (aware times in UTC, so
    the text does not depend on the session's time zone)."""
    return json.dumps(
        {c: _json_value(v) for c, v in zip(COLUMNS, row, strict=True)}, ensure_ascii=False
    )


def parse_row(row: Sequence) -> tuple:
    """A database row as bronze values: typed (None where not convertible), then its raw text."""
    user_id, device_id, mac_address, registered = row
    return (
        as_bigint(user_id),
        as_bigint(device_id),
        None if mac_address is None else str(mac_address),
        as_utc_micros(registered),
        raw_text(row),
    )


def rows_to_frame(spark: SparkSession, rows: Iterable[Sequence], source_table: str) -> DataFrame:
    """Database rows to a bronze registrations DataFrame (timestamps exact to the microsecond)."""
    frame = spark.createDataFrame(
        [parse_row(r) for r in rows],
        "user_id bigint, device_id bigint, mac_address string, ts_micros bigint, raw string",
    )
    return frame.select(
        "user_id",
        "device_id",
        "mac_address",
        F.timestamp_micros("ts_micros").alias("registration_timestamp"),
        F.lit(source_table).alias("source_table"),
        F.current_timestamp().alias("ingested_at"),
        "raw",
    ).select(*REGISTRATIONS_SCHEMA.fieldNames())


def _reason(exc: BaseException, url: str) -> str:
    """The driver's error on one line, redacted."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return redact(f"{type(cause).__name__}: {text}", url)


# Reading ---------------------------------------------------------------------------------------
#: A reconciliation reads every row: no time window.
EVERY_ROW = None


def extraction_query(table: sa.Table, window: tuple[datetime, datetime] | None) -> sa.Select:
    """Rows to read: those dated within ``window`` (both ends included), or every row. Values
    come back as the driver returns them (no SQLAlchemy type conversion, which raises on text
    that is not a datetime)."""
    stmt = sa.select(*(sa.type_coerce(table.c[c], sa.types.NullType).label(c) for c in COLUMNS))
    if window is not None:
        stmt = stmt.where(table.c.registration_timestamp.between(*window))
    return stmt.order_by(table.c.registration_timestamp)


def _create_engine(url: str) -> sa.engine.Engine:
    where = describe_url(url)
    try:
        return sa.create_engine(url)
    except ImportError as exc:
        raise RegistrationSourceError(
            f"the database driver of {where} is not installed ({_reason(exc, url)}): install it "
            f"in the ingester's environment, or set {_URL_SETTING} to a URL whose driver is "
            "installed (sqlite, postgresql+psycopg)"
        ) from None
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise RegistrationSourceError(
            f"the registration database URL {where} is not a valid SQLAlchemy URL "
            f"({type(exc).__name__}): set {_URL_SETTING} to dialect+driver://user:<password>@host"
            ":port/database"
        ) from None


def _select_rows(
    conn: sa.Connection, table_name: str, window: tuple[datetime, datetime] | None
) -> list[tuple]:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    missing = [c for c in COLUMNS if c not in table.c]
    if missing:
        raise RegistrationSourceError(
            f"table {table_name!r} has no column(s) {', '.join(missing)}: point "
            "LAKEHOUSE_REGISTRATIONS_TABLE at a table with the columns of contract 1.1 "
            f"({', '.join(COLUMNS)})"
        )
    return [tuple(r) for r in conn.execute(extraction_query(table, window))]


def _give_up(exc: sa.exc.DBAPIError, where: str, table_name: str, attempts: int, url: str):
    """The error raised once the retries are spent: what failed and what to do."""
    if isinstance(exc, sa.exc.ProgrammingError):
        problem = "refused the query"
        todo = (
            f"check that the login may read {table_name!r} (GRANT SELECT) and that the table "
            "has the contract's columns"
        )
    else:
        problem = "unavailable"
        todo = (
            "check that the database is reachable and that the user and password in "
            f"{_URL_SETTING} are right"
        )
    return RegistrationSourceError(
        f"registration database {where} {problem} after {attempts} attempts "
        f"({_reason(exc, url)}); {todo}; the watermark was not advanced: run the ingester again "
        "once it is fixed"
    )


def read_rows(
    url: str,
    table_name: str,
    window: tuple[datetime, datetime] | None,
    *,
    attempts: int = 5,
    backoff: float = 2.0,
) -> list[tuple]:
    """Read the registration rows dated within ``window``, or every row (EVERY_ROW).

    Database errors (connection, login, permission: any DBAPI error) are retried with
    exponential backoff, then raised as RegistrationSourceError; a missing driver, a bad URL or
    a missing table are raised at once (retrying cannot fix them). No message holds a password.
    """
    where = describe_url(url)
    engine = _create_engine(url)
    try:
        for attempt in range(1, attempts + 1):
            try:
                with engine.connect() as conn:
                    return _select_rows(conn, table_name, window)
            except sa.exc.NoSuchTableError:
                raise RegistrationSourceError(
                    f"table {table_name!r} does not exist in {where}: "
                    "set LAKEHOUSE_REGISTRATIONS_TABLE (or registrations_table in the config "
                    "file) to its name"
                ) from None
            except ImportError as exc:
                raise RegistrationSourceError(
                    f"the database driver of {where} could not be loaded ({_reason(exc, url)}): "
                    "install it in the ingester's environment"
                ) from None
            except sa.exc.DBAPIError as exc:
                if attempt == attempts:
                    raise _give_up(exc, where, table_name, attempts, url) from None
                delay = backoff * 2 ** (attempt - 1)
                log.warning(
                    "Registration database unavailable (attempt %d/%d) at %s: %s; "
                    "retrying in %.1fs",
                    attempt,
                    attempts,
                    where,
                    _reason(exc, url),
                    delay,
                )
                time.sleep(delay)
            except sa.exc.SQLAlchemyError as exc:
                raise RegistrationSourceError(
                    f"registration database {where} could not be read ({_reason(exc, url)}): "
                    f"check {_URL_SETTING} and LAKEHOUSE_REGISTRATIONS_TABLE"
                ) from None
    finally:
        engine.dispose()
    raise AssertionError("unreachable")


# Landing ---------------------------------------------------------------------------------------
def watermark(spark: SparkSession, bronze: BronzeTable, source_table: str) -> datetime | None:
    """Latest registration time already landed from ``source_table`` (naive UTC), or None.

    Rows dated after the moment they landed (a register whose clock runs ahead) do not count:
    they would move the watermark past rows committed later with a correct, earlier time.
    """
    latest = (
        bronze.read(spark)
        .where(
            (F.col("source_table") == source_table)
            & (F.col("registration_timestamp") <= F.col("ingested_at"))
        )
        .agg(F.unix_micros(F.max("registration_timestamp")).alias("latest"))
        .first()
    )
    if latest is None or latest["latest"] is None:
        return None
    # Micros, not a collected timestamp: PySpark converts those with the machine's time zone.
    return from_utc_micros(latest["latest"])


def not_landed(rows: DataFrame, landed: DataFrame) -> DataFrame:
    """``rows`` (each distinct row once) that ``landed`` does not hold: matched by their raw
    text, or, for rows landed before bronze kept it, by their typed columns (null-safe)."""
    with_raw = landed.where(F.col("raw").isNotNull()).select("raw")
    without_raw = landed.where(F.col("raw").isNull()).select(*REGISTRATION_KEY)
    same_key = [F.col(f"s.{k}").eqNullSafe(F.col(f"t.{k}")) for k in REGISTRATION_KEY]
    return (
        rows.dropDuplicates(["raw"])
        .join(with_raw, "raw", "left_anti")
        .alias("s")
        .join(without_raw.alias("t"), same_key, "left_anti")
        .select(*REGISTRATIONS_SCHEMA.fieldNames())
    )


def land(
    spark: SparkSession,
    rows: list[tuple],
    table_name: str,
    bronze: BronzeTable,
    suppressed: Suppression | None,
    poll: tuple[datetime, datetime] | None,
) -> int:
    """Land the ``rows`` read that bronze does not hold, less the suppressed ones; returns how
    many. ``poll``: the window a poll would have read instead of every row; the new rows outside
    it (committed later than the lookback, or with no or a future time) are logged."""
    if not rows:
        return 0
    new = not_landed(rows_to_frame(spark, rows, table_name), bronze.read(spark))
    if suppressed is not None:
        new = without_suppressed(new, suppressed, F.col("user_id"))
    new = new.cache()
    try:
        count = new.count()
        missed = 0
        if count and poll is not None:
            micros = F.unix_micros("registration_timestamp")
            low, high = (to_utc_micros(t) for t in poll)
            missed = new.where(micros.isNull() | ~micros.between(low, high)).count()
        if count:
            insert_new(bronze, new, ["raw"])
            log.info("Registrations: %d new row(s) from %s into %s", count, table_name, bronze)
            if missed:
                log.warning(
                    "Registrations: %d row(s) of %s were committed later than the lookback, or "
                    "carry no or a future time: landed by the reconciliation (no poll reads "
                    "them). Check the clock and commit delays of the system that writes them.",
                    missed,
                    table_name,
                )
    finally:
        new.unpersist()
    return count


def reconciliation_key(source_table: str) -> str:
    """The bronze table property holding when ``source_table`` was last read whole."""
    return f"lakehouse.registrations.reconciled_at.{source_table}"


def reconciled_at(spark: SparkSession, bronze: BronzeTable, source_table: str) -> datetime | None:
    """When ``source_table`` was last read whole into ``bronze`` (naive UTC), or None."""
    properties = bronze.delta(spark).detail().first()["properties"] or {}
    found = properties.get(reconciliation_key(source_table))
    return datetime.fromisoformat(found) if found else None


def record_reconciliation(
    spark: SparkSession, bronze: BronzeTable, source_table: str, at: datetime
) -> None:
    spark.sql(
        f"alter table {bronze.sql_name} set tblproperties "
        f"('{reconciliation_key(source_table)}' = '{at.isoformat()}')"
    )


def extract(
    spark: SparkSession,
    *,
    url: str,
    table_name: str,
    bronze: BronzeTable,
    lookback: timedelta,
    reconcile_every: timedelta,
    suppressed: Suppression | None = None,
    attempts: int = 5,
    backoff: float = 2.0,
    now: datetime | None = None,
) -> int:
    """Land registration rows not yet in bronze, less those of erased users (``suppressed``:
    the suppression list): a poll, or a reconciliation when one is due (see the module's
    description). Returns how many rows were new (none: no commit). ``now`` (naive UTC) is the
    clock's time unless given."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    latest = watermark(spark, bronze, table_name)
    last = reconciled_at(spark, bronze, table_name)
    reconciling = last is None or now - last >= reconcile_every
    # bronze may hold no dated row yet: the poll then starts from the last reconciliation
    start = latest or last
    poll = (start - lookback, now) if start is not None else None
    window = EVERY_ROW if reconciling else poll
    rows = read_rows(url, table_name, window, attempts=attempts, backoff=backoff)
    log.debug(
        "Registrations: %d row(s) in %s (%s)",
        len(rows),
        table_name,
        "every row" if window is EVERY_ROW else f"dated {window[0]} to {window[1]}",
    )
    count = land(spark, rows, table_name, bronze, suppressed, poll if reconciling else None)
    if reconciling:
        record_reconciliation(spark, bronze, table_name, now)
    return count
