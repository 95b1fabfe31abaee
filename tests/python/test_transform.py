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
    REGISTRATION_EXPORTS_SCHEMA,
    dedup_records,
    epoch_to_timestamp,
    export_files_to_registrations,
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


EXPORT_COLUMNS = [c for c in REGISTRATION_EXPORTS_SCHEMA.fieldNames() if c != "ingested_at"]
EXPORT_SCHEMA = T.StructType([REGISTRATION_EXPORTS_SCHEMA[c] for c in EXPORT_COLUMNS])
CONTRACT_HEADER = ["user_id", "device_id", "mac_address", "registration_timestamp"]


def export_row(source_file, line, raw, fields, header, mapped=None):
    """An expected bronze export row: ``mapped`` holds user_id, device_id, mac, timestamp."""
    return (*(mapped or (None,) * 4), source_file, line, raw, fields, header)


def test_export_files_map_columns_by_header_name_whatever_the_layout(spark):
    reordered = (
        '\ufeff Device_ID ,USER_ID,registration_timestamp,"Mac_Address"\r\n'
        "7,1,1678451168.5,aa:bb:cc:dd:ee:01\r\n"
        "\r\n"
        '8,2,"1678451169","AA:BB:CC:DD:EE:02"\r\n'
        "7,1,1678451168.5,aa:bb:cc:dd:ee:01\r\n"
        "\r\n   \r\n"
    )
    shapes = (
        "user_id,device_id,mac_address,registration_timestamp\n"
        '3,9,"a,""b""",5\n'
        "4,10,aa:bb:cc:dd:ee:04\n"
        "5,11,aa:bb:cc:dd:ee:05,1678451170,extra\n"
        ",,,\n"
    )
    no_mac = "\n\nuser_id,device_id,registration_timestamp\n6,12,1678451171\n"
    files = spark.createDataFrame(
        [
            (reordered, "a.csv"),
            (shapes, "b.csv"),
            (no_mac, "c.csv"),
            ("", "empty.csv"),
            ("user_id,device_id,mac_address,registration_timestamp\r\n\r\n", "header.csv"),
        ],
        "value string, source_file string",
    )
    reordered_header = ["device_id", "user_id", "registration_timestamp", "mac_address"]
    no_mac_header = ["user_id", "device_id", "registration_timestamp"]
    expected = spark.createDataFrame(
        [
            export_row(
                "a.csv",
                2,
                "7,1,1678451168.5,aa:bb:cc:dd:ee:01",
                4,
                reordered_header,
                ("1", "7", "aa:bb:cc:dd:ee:01", "1678451168.5"),
            ),
            export_row(
                "a.csv",
                4,
                '8,2,"1678451169","AA:BB:CC:DD:EE:02"',
                4,
                reordered_header,
                ("2", "8", "AA:BB:CC:DD:EE:02", "1678451169"),
            ),
            export_row(
                "a.csv",
                5,
                "7,1,1678451168.5,aa:bb:cc:dd:ee:01",
                4,
                reordered_header,
                ("1", "7", "aa:bb:cc:dd:ee:01", "1678451168.5"),
            ),
            export_row("b.csv", 2, '3,9,"a,""b""",5', 4, CONTRACT_HEADER, ("3", "9", 'a,"b"', "5")),
            export_row("b.csv", 3, "4,10,aa:bb:cc:dd:ee:04", 3, CONTRACT_HEADER),
            export_row("b.csv", 4, "5,11,aa:bb:cc:dd:ee:05,1678451170,extra", 5, CONTRACT_HEADER),
            export_row("b.csv", 5, ",,,", 4, CONTRACT_HEADER, ("", "", "", "")),
            export_row(
                "c.csv", 4, "6,12,1678451171", 3, no_mac_header, ("6", "12", None, "1678451171")
            ),
        ],
        EXPORT_SCHEMA,
    )
    result = export_files_to_registrations(files)
    assertDataFrameEqual(result.select(EXPORT_COLUMNS), expected, checkRowOrder=False)
    assert result.where(F.col("ingested_at").isNull()).count() == 0
