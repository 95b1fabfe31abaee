"""Run the ingester: landing files, the registration database and (optionally) Kafka into bronze."""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from ingestion import landing, registrations, status
from ingestion.bronze import ensure_table
from ingestion.erasure import suppression_list
from ingestion.errors import LakehouseError
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


#: Every stream the ingester may run, in ``lakehouse status`` order.
STREAM_NAMES = ["landing_kafka", "landing_registrations", "kafka"]


def streams(spark: SparkSession, settings: Settings, *, kafka: bool) -> list[landing.Stream]:
    found = [
        landing.landing_kafka_stream(spark, settings),
        landing.landing_registration_stream(spark, settings),
    ]
    if kafka:
        found.append(landing.broker_kafka_stream(spark, settings))
    return found


def extract_registrations(spark: SparkSession, settings: Settings) -> int:
    """Land new rows of the registration table; skipped when the default SQLite file is absent.

    Records the poll (rows, watermark after it, failure) for ``lakehouse status``.
    """
    target = settings.bronze_table("registrations")
    ensure_table(spark, target)
    default_db = settings.root / "registrations.db"
    if settings.registrations_url is None and not default_db.exists():
        log.info(
            "No registration database at %s (set LAKEHOUSE_REGISTRATIONS_URL): skipped", default_db
        )
        return 0
    try:
        rows = registrations.extract(
            spark,
            url=settings.registrations_db_url,
            table_name=settings.registrations_table,
            bronze=target,
            suppressed=suppression_list(spark, settings),
            lookback=timedelta(seconds=settings.registrations_lookback_seconds),
            reconcile_every=timedelta(seconds=settings.registrations_reconcile_seconds),
            attempts=settings.registrations_retry_attempts,
            backoff=settings.registrations_retry_backoff_seconds,
        )
    except registrations.RegistrationSourceError as exc:
        status.record_registrations(
            settings,
            rows=0,
            watermark=registrations.watermark(spark, target, settings.registrations_table),
            error=str(exc),
        )
        raise
    status.record_registrations(
        settings,
        rows=rows,
        watermark=registrations.watermark(spark, target, settings.registrations_table),
    )
    return rows


def report_unmatched_files(settings: Settings) -> list[str]:
    """Warn about landing files no stream will load, and keep the list for ``lakehouse status``."""
    folders = {
        "kafka": landing.KAFKA_FILE_PATTERNS,
        "registrations": landing.REGISTRATION_FILE_PATTERNS,
    }
    found = [
        str(path)
        for name, patterns in folders.items()
        for path in landing.unmatched_files(settings.landing / name, patterns)
    ]
    if found:
        log.warning(
            "%d landing file(s) match no pattern and will not be loaded (rename them, e.g. "
            "*.jsonl, *.json.gz or *.csv, in the folder itself, not a subfolder): %s",
            len(found),
            ", ".join(found[:10]) + (" ..." if len(found) > 10 else ""),
        )
    status.record_unmatched_files(settings, found)
    return found


def ingest_once(spark: SparkSession, settings: Settings, *, kafka: bool = False) -> IngestReport:
    """Drain everything available now into bronze, one stream after the other, then return
    (the records held back judged again last).

    A stream (or the registration database) that fails does not keep the others from running:
    every source is tried, then the failures are raised together.
    """
    report = IngestReport()
    report_unmatched_files(settings)
    failures: list[str] = []
    for stream in streams(spark, settings, kafka=kafka):
        try:
            query = landing.start(stream, settings, once=True)
            query.awaitTermination()
        except Exception as exc:  # noqa: BLE001 - reported below, after the other sources
            failures.append(f"stream {stream.name}: {_first_line(exc)}")
            log.error("Stream %s failed: %s", stream.name, _first_line(exc))
            continue
        status.record_progress(settings, stream.name, query.lastProgress)
        report.add(stream.name, _rows_read(query))
    try:
        report.add("registrations_db", extract_registrations(spark, settings))
    except Exception as exc:  # noqa: BLE001 - reported below, with the streams' failures
        failures.append(f"registrations: {_first_line(exc)}")
        log.error("Registrations not polled: %s", _first_line(exc))
    try:
        landing.settle_held_back(spark, settings)
    except Exception as exc:  # noqa: BLE001 - reported below, with the streams' failures
        failures.append(f"records held back: {_first_line(exc)}")
        log.error("Records held back not settled: %s", _first_line(exc))
    if failures:
        raise LakehouseError(
            f"{len(failures)} source(s) failed, the others were ingested: "
            + "; ".join(failures)
            + ". Fix the cause and run the ingester again: each source resumes where it stopped"
        )
    return report


def _first_line(exc: BaseException) -> str:
    """What went wrong, in one line: for a stream that failed in Python code (its sink), the
    Python exception at the end of the traceback Spark passes on, else the first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    starts = [i for i, line in enumerate(lines) if line.endswith(_TRACEBACK)]
    if starts:
        raised = [line for line in lines[starts[-1] + 1 :] if _RAISED.match(line)]
        if raised:
            return raised[0]
    return lines[0]


_TRACEBACK = "Traceback (most recent call last):"
_RAISED = re.compile(r"^[A-Za-z_][\w.]*: \S")


@dataclass
class _Supervised:
    """A running stream, restarted with backoff when its query fails."""

    stream: landing.Stream
    query: StreamingQuery
    failures: int = 0
    last_batch: int | None = None

    def check(self, settings: Settings, stop: threading.Event) -> None:
        error = self.query.exception()
        if error is None:
            progress = self.query.lastProgress
            if progress and progress.get("batchId") != self.last_batch:
                self.last_batch = progress.get("batchId")
                status.record_progress(settings, self.stream.name, progress)
                if progress.get("numInputRows"):
                    self.failures = 0
            return
        self.failures += 1
        first = _first_line(error)
        if self.failures > settings.stream_restart_attempts:
            raise LakehouseError(
                f"stream {self.stream.name} failed {self.failures} times in a row, last: {first}; "
                "fix the cause (see the log) and start the ingester again: it resumes from its "
                "checkpoint"
            ) from error
        delay = settings.stream_restart_backoff_seconds * 2 ** (self.failures - 1)
        log.error(
            "Stream %s failed: %s; restarting it from its checkpoint in %.0fs (restart %d/%d)",
            self.stream.name,
            first,
            delay,
            self.failures,
            settings.stream_restart_attempts,
        )
        if not stop.wait(delay):
            self.query = landing.start(self.stream, settings, once=False)


def ingest_continuously(
    spark: SparkSession, settings: Settings, *, kafka: bool, stop: threading.Event | None = None
) -> None:
    """Run every stream until SIGTERM/SIGINT (or ``stop``), then stop after the current batch.

    A failed stream is restarted from its checkpoint with exponential backoff; the registration
    table is polled every ``registrations_poll_seconds``, and an unavailable database is logged and
    polled again at the next poll (its watermark stays where bronze is); the records held back
    are judged again at each poll.
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    report_unmatched_files(settings)
    running = [
        _Supervised(s, landing.start(s, settings, once=False))
        for s in streams(spark, settings, kafka=kafka)
    ]
    interval = settings.trigger_seconds
    next_poll = time.monotonic()
    try:
        while not stop.is_set():
            for supervised in running:
                supervised.check(settings, stop)
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + settings.registrations_poll_seconds
                try:
                    extract_registrations(spark, settings)
                except Exception as exc:  # noqa: BLE001 - a poll never stops the streams
                    log.error(
                        "Registrations not polled: %s; polling again in %.0fs",
                        _first_line(exc),
                        settings.registrations_poll_seconds,
                    )
                try:
                    landing.settle_held_back(spark, settings)
                except Exception as exc:  # noqa: BLE001 - nor does the hold
                    log.error(
                        "Records held back not settled: %s; trying again in %.0fs",
                        _first_line(exc),
                        settings.registrations_poll_seconds,
                    )
            stop.wait(interval)
    finally:
        log.info("Stopping %d stream(s) after their current batch", len(running))
        for supervised in running:
            stop_between_batches(supervised.query)
            status.record_progress(settings, supervised.stream.name, supervised.query.lastProgress)
        log.info("Ingester stopped")


def stop_between_batches(query: StreamingQuery, timeout: float = 120.0) -> None:
    """Stop ``query`` once its current micro-batch (if any) has committed.

    Stopping mid-batch would be safe too (the batch is written again, idempotently, on restart);
    waiting avoids redoing the work.
    """
    deadline = time.monotonic() + timeout
    while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()
