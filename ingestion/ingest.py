"""Run the ingester: landing files, the registration database and (optionally) Kafka into bronze."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from ingestion import landing, registrations
from ingestion.bronze import ensure_table
from ingestion.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """Rows read per stream in this run."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int) -> None:
        self.rows[name] = self.rows.get(name, 0) + count


def _rows_read(query: StreamingQuery) -> int:
    return sum(int(p.get("numInputRows", 0)) for p in query.recentProgress)


def streams(
    spark: SparkSession, settings: Settings, *, kafka: bool, after_batch=None
) -> list[landing.Stream]:
    found = [
        landing.landing_kafka_stream(spark, settings, after_batch),
        landing.landing_registration_stream(spark, settings),
    ]
    if kafka:
        found.append(landing.broker_kafka_stream(spark, settings, after_batch))
    return found


def extract_registrations(spark: SparkSession, settings: Settings) -> int:
    """Land new rows of the registration table; skipped when the default SQLite file is absent."""
    target = settings.bronze_table_path("registrations")
    ensure_table(spark, "registrations", target)
    default_db = settings.root / "registrations.db"
    if settings.registrations_url is None and not default_db.exists():
        log.info(
            "No registration database at %s (set LAKEHOUSE_REGISTRATIONS_URL): skipped", default_db
        )
        return 0
    return registrations.extract(
        spark,
        url=settings.registrations_db_url,
        table_name=settings.registrations_table,
        bronze=target,
        lookback=timedelta(seconds=settings.registrations_lookback_seconds),
        attempts=settings.registrations_retry_attempts,
        backoff=settings.registrations_retry_backoff_seconds,
    )


def ingest_once(
    spark: SparkSession, settings: Settings, *, kafka: bool = False, after_batch=None
) -> IngestReport:
    """Drain everything available now into bronze, one stream after the other, then return."""
    report = IngestReport()
    for stream in streams(spark, settings, kafka=kafka, after_batch=after_batch):
        query = landing.start(stream, settings, once=True)
        query.awaitTermination()
        report.add(stream.name, _rows_read(query))
    report.add("registrations_db", extract_registrations(spark, settings))
    return report


def ingest_continuously(
    spark: SparkSession, settings: Settings, *, kafka: bool, stop: threading.Event | None = None
) -> None:
    """Run every stream until SIGTERM/SIGINT (or ``stop``), then stop after the current batch.

    The registration table is polled once per trigger interval.
    """
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    queries = [
        landing.start(s, settings, once=False) for s in streams(spark, settings, kafka=kafka)
    ]
    interval = _seconds(settings.trigger_interval)
    try:
        while not stop.is_set():
            for query in queries:
                if query.exception() is not None:
                    raise query.exception()
            extract_registrations(spark, settings)
            stop.wait(interval)
    finally:
        log.info("Stopping %d stream(s) after their current batch", len(queries))
        for query in queries:
            query.stop()


def _seconds(interval: str) -> float:
    amount, _, unit = interval.partition(" ")
    factor = {"second": 1, "minute": 60, "hour": 3600}[unit.rstrip("s") or "second"]
    return float(amount) * factor
