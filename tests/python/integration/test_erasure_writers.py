"""An erasure beside running writers. On catalog tables (the Databricks path, the session
catalog standing in for Unity Catalog) while the ingester keeps committing to the same table:
every file the table references exists, every other record is there, none of the user's is. A
running stream leaves out a user erased after it started."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from pyspark.sql import functions as F

from ingestion.bronze import ensure_table
from ingestion.erasure import (
    SUPPRESSED,
    SUPPRESSED_SCHEMA,
    among,
    purge_history,
    remove_from,
    subject_of,
    suppression_list,
    suppression_reader,
)
from ingestion.landing import kafka_record_sink, landing_registration_stream, start
from ingestion.transform import landing_lines_to_records
from tests.python.support.scenario import envelope, scenario_settings

T0 = 1_678_450_000  # 2023-03-10 12:06:40 UTC
GONE, KEPT = 41, 42


def workouts(user: int, offsets: range) -> list[str]:
    """Workout events of ``user`` at ``offsets`` of the workout topic (each names the user)."""
    return [
        envelope(
            "workout",
            offset,
            str(user),
            {
                "user_id": user,
                "workout_id": offset,
                "session_id": 1,
                "action": "start",
                "timestamp": T0 + offset,
            },
            kafka_time=T0 + offset,
        )
        for offset in offsets
    ]


def batch(spark, lines: list[str]):
    """The records of landing lines, as the landing stream hands a micro-batch to its sink."""
    frame = spark.createDataFrame(
        [(line, "writer.jsonl") for line in lines], "value string, source_file string"
    )
    return landing_lines_to_records(frame)


@pytest.mark.integration
def test_an_erasure_beside_a_committing_ingester_loses_no_file_and_no_other_record(catalog, home):
    spark = catalog
    settings = scenario_settings(home, catalog="spark_catalog", erasure_key="a test key")
    table = settings.bronze_table("kafka_records")
    try:
        ensure_table(spark, table)
        sink = kafka_record_sink(settings, table, suppression_reader(spark, settings))
        sink(batch(spark, workouts(GONE, range(0, 30)) + workouts(KEPT, range(30, 60))), 0)
        theirs = table.read(spark).where(F.col("offset") < 30).select("record_id")
        theirs = theirs.localCheckpoint(eager=True)

        # One batch per trigger interval, as the stream commits (the default, 10 seconds). On
        # open-source Delta (Serializable only) any commit adding files conflicts with a delete
        # that read the table, so the delete commits between two batches; on Databricks
        # (WriteSerializable) the ingester's blind appends conflict with no delete.
        commits: list[float] = []  # when each of the ingester's batches committed
        failures: list[BaseException] = []
        stop = threading.Event()

        def ingest() -> None:
            try:
                while not stop.is_set():
                    first = 60 + 10 * len(commits)
                    sink(batch(spark, workouts(KEPT, range(first, first + 10))), len(commits) + 1)
                    commits.append(time.monotonic())
                    stop.wait(settings.trigger_seconds)
            except BaseException as failure:  # noqa: BLE001 (reported by the test, below)
                failures.append(failure)

        def theirs_then_a_commit(rows):
            """The user's rows, as the erasure reads them before its delete; the ingester's next
            batch then commits before the delete does (so it always commits while the erasure
            works, whatever either's speed)."""
            seen = len(commits)
            while len(commits) == seen and not failures:
                time.sleep(0.1)
            return among(theirs)(rows)

        writer = threading.Thread(target=ingest)
        writer.start()
        try:
            while not commits and not failures:  # the ingester commits before the erasure
                time.sleep(0.1)
            started = time.monotonic()
            removed = remove_from(spark, table, theirs_then_a_commit)
            purge_history(spark, settings)
            ended = time.monotonic()
        finally:
            stop.set()
            writer.join()

        assert failures == [], "the ingester failed beside the erasure"
        assert removed == 30
        assert any(started < at < ended for at in commits), "the ingester committed meanwhile"
        current = spark.read.table(table.sql_name)
        files = [Path(urlparse(f).path) for f in current.inputFiles()]
        assert files and [f for f in files if not f.exists()] == []
        # every other record: KEPT's first 30, then each batch the ingester committed
        assert sorted(r.offset for r in current.collect()) == list(
            range(30, 60 + 10 * len(commits))
        )
    finally:
        for schema in ("bronze", "governance"):
            spark.sql(f"drop schema if exists spark_catalog.{schema} cascade")


@pytest.mark.integration
def test_a_running_export_stream_leaves_out_a_user_erased_after_it_started(spark, tmp_path):
    """The registration export stream joins each micro-batch with the suppression list as it is
    then (a Delta table read in a stream-static join is read again at every batch): a user put
    on the list while the stream runs is left out of the files that arrive afterwards."""
    settings = scenario_settings(tmp_path, trigger_interval="1 second")
    exports = settings.landing / "registrations"
    exports.mkdir(parents=True)
    header = "user_id,device_id,mac_address,registration_timestamp\n"
    query = start(landing_registration_stream(spark, settings), settings, once=False)
    try:
        (exports / "a.csv").write_text(header + f"1,11,aa:00:00:00:00:11,{T0}\n2,12,,{T0}\n")
        query.processAllAvailable()
        listed = suppression_list(spark, settings)
        row = [(subject_of(2, listed.key), "user", None, datetime(2026, 1, 1))]
        spark.createDataFrame(row, SUPPRESSED_SCHEMA).write.format("delta").mode("append").save(
            str(settings.governance_dir / SUPPRESSED)
        )
        (exports / "b.csv").write_text(header + f"2,12,,{T0 + 60}\n3,13,,{T0 + 60}\n")
        query.processAllAvailable()
    finally:
        query.stop()
    landed = settings.bronze_table("registration_exports").read(spark).collect()
    assert sorted((Path(r.source_file).name, r.user_id) for r in landed) == [
        ("a.csv", "1"),
        ("a.csv", "2"),
        ("b.csv", "3"),
    ]
