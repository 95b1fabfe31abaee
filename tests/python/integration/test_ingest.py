"""Batch ingestion of simulated landing files and registrations into bronze, exactly once."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from delta.exceptions import MetadataChangedException
from pyspark.sql import types as T

from ingestion.bronze import PROPERTIES, BronzeTable, column_ddl, ensure_table, insert_new
from ingestion.errors import LakehouseError
from ingestion.ingest import ingest_once
from ingestion.transform import REGISTRATIONS_SCHEMA
from simulator import SimulationConfig, generate
from simulator.write import write_wave
from tests.python.support.landed import (
    TABLES,
    assert_bronze_matches,
    crash_after_second_batch,
    expected_records,
    landed_records,
    versions,
)
from tests.python.support.scenario import scenario_settings
from tests.python.support.truth import Truth

CONFIG = SimulationConfig(
    seed=11,
    users=3,
    days=2,
    waves=2,
    anomalies=True,
    workout_minutes=(3, 6),
    resting_interval_s=3600,
)


def simulate(settings, waves=(1, 2), records_per_file=2_000) -> Truth:
    dataset = generate(CONFIG)
    for wave in waves:
        write_wave(
            dataset, wave, records_per_file=records_per_file, **settings.simulation_targets()
        )
    return Truth.load(settings.truth_dir)


@pytest.mark.integration
def test_ingest_lands_every_record_once_and_rerun_changes_nothing(spark, settings):
    truth = simulate(settings)
    # the data set exercises what this test claims to cover
    assert any(r["anomaly"] == "resent" for r in truth.records)
    assert {r["anomaly"] for r in truth.records} >= {"malformed_json", "unknown_topic"}

    ingest_once(spark, settings)
    assert_bronze_matches(spark, settings, truth)

    before = versions(spark, settings)
    ingest_once(spark, settings)
    assert versions(spark, settings) == before
    assert_bronze_matches(spark, settings, truth)


@pytest.mark.integration
def test_same_offset_in_two_files_lands_once(spark, settings):
    truth = simulate(settings, waves=(1,))
    record = next(r for r in truth.records if r["topic"] == "bpm")
    again = {k: record[k] for k in ("key", "value", "topic", "partition", "offset", "timestamp")}
    (settings.landing / "kafka" / "zz-reexport.jsonl").write_text(json.dumps(again) + "\n")
    ingest_once(spark, settings)
    assert landed_records(spark, settings) == expected_records(truth)


@pytest.mark.integration
def test_crash_after_a_batch_is_written_then_rerun_loses_and_duplicates_nothing(
    spark, home, monkeypatch
):
    settings = scenario_settings(home, max_files_per_trigger=1)
    truth = simulate(settings, records_per_file=1_500)
    files = list((settings.landing / "kafka").glob("*.jsonl*"))
    assert len(files) >= 3, "the crash must happen with files still to load"

    with monkeypatch.context() as patch:
        crash_after_second_batch(patch)
        with pytest.raises(LakehouseError, match="stream landing_kafka: .*Crash: killed after"):
            ingest_once(spark, settings)
    ingest_once(spark, settings)
    assert_bronze_matches(spark, settings, truth)


@pytest.mark.integration
def test_with_a_catalog_bronze_tables_are_catalog_tables(spark, home):
    """On Databricks (``--catalog``) the ingester writes <catalog>.bronze.<table> by name; the
    session catalog stands in for Unity Catalog here (the erasure key comes from the secret
    scope there)."""
    settings = scenario_settings(home, catalog="spark_catalog", erasure_key="a test key")
    spark.sql("drop schema if exists spark_catalog.bronze cascade")
    try:
        truth = simulate(settings, waves=(1,))
        ingest_once(spark, settings)
        assert_bronze_matches(spark, settings, truth)
        tables = {t.tableName for t in spark.sql("show tables in spark_catalog.bronze").collect()}
        assert tables == set(TABLES)
        assert not settings.bronze_dir.exists(), "nothing is written by path"
        assert not settings.governance_dir.exists(), "the suppression list is a catalog table"
    finally:
        for schema in ("bronze", "governance"):
            spark.sql(f"drop schema if exists spark_catalog.{schema} cascade")


class Conflicting(BronzeTable):
    """A table whose first ``conflicts`` appends meet a concurrent writer's commit."""

    conflicts: list

    def append(self, rows):
        if self.conflicts:
            self.conflicts.pop()
            raise MetadataChangedException("a concurrent writer changed the table's metadata")
        super().append(rows)


@pytest.mark.integration
@pytest.mark.parametrize("conflicts", [1, 2])
def test_an_append_that_meets_a_concurrent_commit_is_retried(spark, tmp_path, conflicts):
    table = Conflicting("registrations", path=tmp_path / "registrations")
    object.__setattr__(table, "conflicts", [True] * conflicts)
    ensure_table(spark, table)
    rows = spark.createDataFrame(
        [
            (
                1,
                10,
                "00:00:00:00:00:01",
                datetime(2023, 3, 1),
                "registrations",
                datetime(2023, 3, 2),
                None,
            )
        ],
        REGISTRATIONS_SCHEMA,
    )
    insert_new(table, rows, ["user_id", "device_id"], attempts=conflicts + 1)
    insert_new(table, rows, ["user_id", "device_id"])
    assert [tuple(r) for r in table.read(spark).collect()] == [tuple(r) for r in rows.collect()]


@pytest.mark.integration
def test_an_append_that_keeps_conflicting_fails(spark, tmp_path):
    table = Conflicting("registrations", path=tmp_path / "registrations")
    object.__setattr__(table, "conflicts", [True] * 3)
    ensure_table(spark, table)
    rows = spark.createDataFrame([], REGISTRATIONS_SCHEMA)
    with pytest.raises(MetadataChangedException):
        insert_new(table, rows, ["user_id"], attempts=3)


@pytest.mark.integration
def test_two_streams_delivering_the_same_rows_at_once_land_them_once_by_blind_appends(
    spark, tmp_path
):
    """The landing-file and broker streams may deliver one record at the same moment: they take
    turns, so it lands once. Each lands by an append Delta calls blind (it reads nothing of the
    table), the kind of commit that never conflicts with an erasure's delete or purge."""
    table = BronzeTable("registrations", path=tmp_path / "registrations")
    ensure_table(spark, table)
    registered = [datetime(2023, 3, day) for day in (1, 2, 3)]
    rows = spark.createDataFrame(
        [(u, 10 + u, None, t, "registrations", t, f"{u},{t}") for u, t in enumerate(registered)],
        REGISTRATIONS_SCHEMA,
    )
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            insert_new(table, rows, ["raw"])
        except BaseException as failure:  # noqa: BLE001 (reported by the test, below)
            failures.append(failure)

    streams = [threading.Thread(target=deliver) for _ in range(2)]
    for stream in streams:
        stream.start()
    for stream in streams:
        stream.join()
    assert failures == []
    assert sorted(r.raw for r in table.read(spark).collect()) == [
        "0,2023-03-01 00:00:00",
        "1,2023-03-02 00:00:00",
        "2,2023-03-03 00:00:00",
    ]
    # the second delivery, finding every row landed, commits nothing
    writes = spark.sql(f"describe history {table.sql_name}").where("operation = 'WRITE'")
    assert [r.isBlindAppend for r in writes.collect()] == [True]


@pytest.mark.integration
def test_a_bronze_table_created_before_row_tracking_gets_it(spark, tmp_path):
    """An environment built before the commit-version boundary keeps working: ensure_table turns
    row tracking on for an existing bronze table, and the rows already there get a commit version
    (the enabling commit's) that incremental models can read them by."""
    table = BronzeTable("registrations", path=tmp_path / "registrations")
    # as an older ingester created it: no row tracking, and no `raw` column yet
    old_schema = T.StructType([f for f in REGISTRATIONS_SCHEMA.fields if f.name != "raw"])
    spark.sql(
        f"create table delta.`{table.path}` ({column_ddl(old_schema)}) using delta "
        "tblproperties ('delta.appendOnly' = 'true')"
    )
    old = (1, 10, "00:00:00:00:00:01", datetime(2023, 3, 1), "registrations", datetime(2023, 3, 2))
    spark.createDataFrame([old], old_schema).write.format("delta").mode("append").save(
        str(table.path)
    )

    ensure_table(spark, table)

    properties = {
        r.key: r.value for r in spark.sql(f"show tblproperties {table.sql_name}").collect()
    }
    assert {k: properties.get(k) for k in PROPERTIES} == PROPERTIES
    history = {r.operation: r.version for r in table.delta(spark).history().collect()}
    rows = table.read(spark).select("*", "_metadata.row_commit_version").collect()
    assert [tuple(r) for r in rows] == [(*old, None, history["ROW TRACKING BACKFILL"])]
    assert history["ROW TRACKING BACKFILL"] > history["WRITE"]

    # a second start changes nothing
    latest = table.delta(spark).history(1).first().version
    ensure_table(spark, table)
    assert table.delta(spark).history(1).first().version == latest
