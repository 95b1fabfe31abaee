"""Unit tests of the ingester's pure transformations, with exact expected DataFrames."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from ingestion.transform import (
    KAFKA_RECORDS_SCHEMA,
    dedup_records,
    epoch_to_timestamp,
    export_rows_to_registrations,
    kafka_rows_to_records,
    landing_lines_to_records,
)

RECORD_COLUMNS = [c for c in KAFKA_RECORDS_SCHEMA.fieldNames() if c != "ingested_at"]
RECORD_SCHEMA = T.StructType([KAFKA_RECORDS_SCHEMA[c] for c in RECORD_COLUMNS])


def envelope(**fields) -> str:
    return json.dumps(fields)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_epoch_to_timestamp_keeps_microseconds_and_reads_milliseconds(spark):
    frame = spark.createDataFrame(
        [("1678451168",), ("1678451168.0",), ("1678451168.123456",), ("1678451168123",)],
        "epoch string",
    ).select(epoch_to_timestamp(F.col("epoch").cast("decimal(20,6)")).alias("at"))
    expected = spark.createDataFrame(
        [
            (datetime(2023, 3, 10, 12, 26, 8),),
            (datetime(2023, 3, 10, 12, 26, 8),),
            (datetime(2023, 3, 10, 12, 26, 8, 123456),),
            (datetime(2023, 3, 10, 12, 26, 8, 123000),),
        ],
        "at timestamp",
    )
    assertDataFrameEqual(frame, expected)


def test_landing_lines_keep_envelopes_and_raw_bad_lines(spark):
    good = envelope(
        key="12",
        value='{"device_id": 12}',
        topic="bpm",
        partition=1,
        offset=5,
        timestamp=1678451168,
    )
    millis = envelope(
        key=None, value="x", topic="gps", partition=0, offset=9, timestamp=1678451168250
    )
    no_offset = envelope(key="1", value="{}", topic="bpm", partition=0)
    tombstone = envelope(
        key="3", value=None, topic="bpm", partition=0, offset=4, timestamp=1678451168
    )
    lines = spark.createDataFrame(
        [
            (good, "f1"),
            (millis, "f1"),
            ("not json", "f2"),
            (no_offset, "f2"),
            ("   ", "f2"),
            (tombstone, "f2"),
        ],
        "value string, source_file string",
    )
    result = landing_lines_to_records(lines)
    expected = spark.createDataFrame(
        [
            (
                "bpm/1/5",
                "bpm",
                1,
                5,
                "12",
                '{"device_id": 12}',
                datetime(2023, 3, 10, 12, 26, 8),
                good,
                "landing",
                "f1",
            ),
            (
                "gps/0/9",
                "gps",
                0,
                9,
                None,
                "x",
                datetime(2023, 3, 10, 12, 26, 8, 250000),
                millis,
                "landing",
                "f1",
            ),
            (
                f"file:f2#{sha256('not json')}",
                None,
                None,
                None,
                None,
                None,
                None,
                "not json",
                "landing",
                "f2",
            ),
            (
                f"file:f2#{sha256(no_offset)}",
                None,
                None,
                None,
                None,
                None,
                None,
                no_offset,
                "landing",
                "f2",
            ),
            (
                "bpm/0/4",
                "bpm",
                0,
                4,
                "3",
                None,
                datetime(2023, 3, 10, 12, 26, 8),
                tombstone,
                "landing",
                "f2",
            ),
        ],
        RECORD_SCHEMA,
    )
    assertDataFrameEqual(result.select(RECORD_COLUMNS), expected, checkRowOrder=False)
    assert result.where(F.col("ingested_at").isNull()).count() == 0


def test_kafka_rows_decode_key_and_value(spark):
    rows = spark.createDataFrame(
        [
            (
                bytearray(b"7"),
                bytearray('{"hr": 70.5, "name": "Zoë"}'.encode()),
                "bpm",
                2,
                11,
                datetime(2023, 3, 10, 12, 0, 0),
            )
        ],
        "key binary, value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    expected = spark.createDataFrame(
        [
            (
                "bpm/2/11",
                "bpm",
                2,
                11,
                "7",
                '{"hr": 70.5, "name": "Zoë"}',
                datetime(2023, 3, 10, 12, 0, 0),
                None,
                "kafka",
                None,
            )
        ],
        RECORD_SCHEMA,
    )
    assertDataFrameEqual(kafka_rows_to_records(rows).select(RECORD_COLUMNS), expected)


def test_dedup_records_keeps_first_file_per_record(spark):
    records = spark.createDataFrame(
        [
            ("bpm/0/1", "b.jsonl", "second copy"),
            ("bpm/0/1", "a.jsonl", "first copy"),
            ("bpm/0/2", "b.jsonl", "only"),
        ],
        "record_id string, source_file string, raw string",
    )
    expected = spark.createDataFrame(
        [("bpm/0/1", "a.jsonl", "first copy"), ("bpm/0/2", "b.jsonl", "only")],
        "record_id string, source_file string, raw string",
    )
    assertDataFrameEqual(dedup_records(records), expected, checkRowOrder=False)


def test_export_rows_drop_blank_lines_only(spark):
    rows = spark.createDataFrame(
        [
            ("1", "2", "aa:bb:cc:dd:ee:ff", "1678451168.5", "r.csv"),
            (None, None, None, None, "r.csv"),
            ("", " ", None, "", "r.csv"),
            ("x", None, None, None, "r.csv"),
        ],
        "user_id string, device_id string, mac_address string, registration_timestamp string, "
        "source_file string",
    )
    expected = spark.createDataFrame(
        [
            ("1", "2", "aa:bb:cc:dd:ee:ff", "1678451168.5", "r.csv"),
            ("x", None, None, None, "r.csv"),
        ],
        "user_id string, device_id string, mac_address string, registration_timestamp string, "
        "source_file string",
    )
    result = export_rows_to_registrations(rows)
    assertDataFrameEqual(result.drop("ingested_at"), expected, checkRowOrder=False)
