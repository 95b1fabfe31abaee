"""The bronze sink's bound: exact (every matching row meets it) and selective."""

from __future__ import annotations

from datetime import datetime

from ingestion.bronze import (
    MAX_BOUND_GROUPS,
    BronzeTable,
    batch_coordinates,
    coordinate_bound,
    ensure_table,
    insert_new,
    is_empty,
)
from ingestion.transform import KAFKA_RECORDS_SCHEMA

COLUMNS = "record_id string, topic string, partition int, offset bigint"


def test_batch_coordinates_group_by_topic_partition_and_missing_offset(spark):
    batch = spark.createDataFrame(
        [
            ("a", "bpm", 0, 7),
            ("b", "bpm", 0, 3),
            ("c", "bpm", 1, 5),
            ("d", None, None, None),
            ("e", "bpm", 0, None),
        ],
        COLUMNS,
    )
    assert sorted(batch_coordinates(batch), key=str) == sorted(
        [("bpm", 0, 3, 7), ("bpm", 1, 5, 5), (None, None, None, None), ("bpm", 0, None, None)],
        key=str,
    )


def bounded(spark, stored: list[tuple], coordinates) -> set[str]:
    table = spark.createDataFrame(stored, COLUMNS).alias("t")
    return {r.record_id for r in table.where(coordinate_bound(coordinates)).collect()}


STORED = [
    ("in-range", "bpm", 0, 5),
    ("low-edge", "bpm", 0, 3),
    ("high-edge", "bpm", 0, 7),
    ("below", "bpm", 0, 2),
    ("above", "bpm", 0, 8),
    ("other-partition", "bpm", 1, 5),
    ("other-topic", "workout", 0, 5),
    ("not-a-record", None, None, None),
    ("no-offset", "bpm", 0, None),
]


def test_the_bound_keeps_exactly_the_rows_at_the_batch_coordinates(spark):
    assert bounded(spark, STORED, [("bpm", 0, 3, 7)]) == {"in-range", "low-edge", "high-edge"}
    assert bounded(spark, STORED, [(None, None, None, None)]) == {"not-a-record"}
    assert bounded(spark, STORED, [("bpm", 0, None, None), ("workout", 0, 5, 5)]) == {
        "no-offset",
        "other-topic",
    }


def test_many_groups_are_bounded_by_the_whole_offset_range(spark):
    groups = [(f"topic-{n}", 0, 3 + n % 2, 6) for n in range(MAX_BOUND_GROUPS + 1)]
    # Every stored row with an offset in 3..6, or none, whatever its topic.
    assert bounded(spark, STORED, groups) == {
        "in-range",
        "low-edge",
        "other-partition",
        "other-topic",
        "not-a-record",
        "no-offset",
    }


def test_a_table_without_data_files_is_empty(spark, tmp_path):
    table = BronzeTable("kafka_records", path=tmp_path / "kafka_records")
    ensure_table(spark, table)
    assert is_empty(table, spark)
    record = spark.createDataFrame(
        [("bpm/0/1/x", "bpm", 0, 1, None, "{}", None, None, "landing", None, datetime(2026, 1, 1))],
        KAFKA_RECORDS_SCHEMA,
    )
    insert_new(table, record, ["record_id"])
    assert not is_empty(table, spark)
