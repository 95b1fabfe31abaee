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
    epoch_seconds_to_timestamp,
    epoch_to_timestamp,
    export_files_to_registrations,
    kafka_rows_to_records,
    landing_lines_to_records,
    number_repeated_lines,
)

RECORD_COLUMNS = [c for c in KAFKA_RECORDS_SCHEMA.fieldNames() if c != "ingested_at"]
RECORD_SCHEMA = T.StructType([KAFKA_RECORDS_SCHEMA[c] for c in RECORD_COLUMNS])


def envelope(**fields) -> str:
    return json.dumps(fields)


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest()


def rid(topic: str, partition: int, offset: int, key: str | None, value: str | None) -> str:
    """[Rule 1](docs/contract.md#rule-1)'s record identity, from the contract's formula
    (docs/contract.md, section 5)."""
    head = "-" if key is None else f"{len(key.encode())}:{key}"
    tail = "-" if value is None else f"v{value}"
    return f"{topic}/{partition}/{offset}/{sha256(head + tail)}"


def test_event_times_are_epoch_seconds_only(spark):
    frame = spark.createDataFrame(
        [(1, "1678451168.123456"), (2, "1678451168123"), (3, "soon"), (4, "1e300")],
        "n int, epoch string",
    ).select("n", epoch_seconds_to_timestamp(F.col("epoch")).alias("at"))
    expected = spark.createDataFrame(
        [(1, datetime(2023, 3, 10, 12, 26, 8, 123456)), (2, None), (3, None), (4, None)],
        "n int, at timestamp",
    )
    assertDataFrameEqual(frame, expected, checkRowOrder=False)


def test_epoch_to_timestamp_keeps_microseconds_and_reads_milliseconds(spark):
    frame = spark.createDataFrame(
        [
            (1, "1678451168"),
            (2, "1678451168.0"),
            (3, "1678451168.123456"),
            (4, "1678451168123"),
            (5, " 1.678451168E9 "),
            (6, "-1"),
            (7, "1e30"),  # milliseconds beyond year 9999: null, never an overflow error
            (8, "1e40"),  # beyond decimal(38, 6)
            (9, "soon"),
            (10, None),
        ],
        "n int, epoch string",
    ).select("n", epoch_to_timestamp(F.col("epoch")).alias("at"))
    expected = spark.createDataFrame(
        [
            (1, datetime(2023, 3, 10, 12, 26, 8)),
            (2, datetime(2023, 3, 10, 12, 26, 8)),
            (3, datetime(2023, 3, 10, 12, 26, 8, 123456)),
            (4, datetime(2023, 3, 10, 12, 26, 8, 123000)),
            (5, datetime(2023, 3, 10, 12, 26, 8)),
            (6, datetime(1969, 12, 31, 23, 59, 59)),
            (7, None),
            (8, None),
            (9, None),
            (10, None),
        ],
        "n int, at timestamp",
    )
    assertDataFrameEqual(frame, expected, checkRowOrder=False)


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
    # the same coordinates as `good` with another value: another record
    # ([rule 1](docs/contract.md#rule-1))
    reused = envelope(
        key="12", value='{"device_id": 13}', topic="bpm", partition=1, offset=5, timestamp=1e30
    )
    as_text = envelope(key=7, value={"a": 1}, topic="bpm", partition="2", offset="8")
    huge_partition = envelope(key="1", value="{}", topic="bpm", partition=2**40, offset=1)
    lines = spark.createDataFrame(
        [
            ("\ufeff" + good, "f1"),
            (millis, "f1"),
            ("not json", "f2"),
            (no_offset, "f2"),
            ("   ", "f2"),
            (tombstone, "f2"),
            (reused, "f3"),
            (as_text, "f3"),
            (huge_partition, "f3"),
        ],
        "value string, source_file string",
    )
    result = landing_lines_to_records(lines)
    expected = spark.createDataFrame(
        [
            (
                rid("bpm", 1, 5, "12", '{"device_id": 12}'),
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
                rid("bpm", 1, 5, "12", '{"device_id": 13}'),
                "bpm",
                1,
                5,
                "12",
                '{"device_id": 13}',
                None,
                reused,
                "landing",
                "f3",
            ),
            (
                rid("bpm", 2, 8, "7", '{"a":1}'),
                "bpm",
                2,
                8,
                "7",
                '{"a":1}',
                None,
                as_text,
                "landing",
                "f3",
            ),
            (
                f"file:f3#{sha256(huge_partition)}",
                None,
                None,
                None,
                None,
                None,
                None,
                huge_partition,
                "landing",
                "f3",
            ),
            (
                rid("gps", 0, 9, None, "x"),
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
                rid("bpm", 0, 4, "3", None),
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
                rid("bpm", 2, 11, "7", '{"hr": 70.5, "name": "Zoë"}'),
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


def test_kafka_rows_keep_bytes_that_are_not_utf8(spark):
    value = b'{"hr": 70, "note": "\xff"}'
    rows = spark.createDataFrame(
        [(None, bytearray(value), "bpm", 0, 1, datetime(2023, 3, 10, 12, 0, 0))],
        "key binary, value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    landed = kafka_rows_to_records(rows).select(
        F.col("value").cast("binary").alias("bytes"), F.is_valid_utf8("value").alias("valid")
    )
    assert [(bytes(r.bytes), r.valid) for r in landed.collect()] == [(value, False)]


def test_landing_line_with_bytes_that_are_not_utf8_keeps_them_and_its_coordinates(spark):
    line = b'{"key": "1", "value": "\xc3\x28", "topic": "bpm", "partition": 0, "offset": 3}'
    lines = spark.createDataFrame([(bytearray(line), "f")], "bytes binary, source_file string")
    result = landing_lines_to_records(
        lines.select(F.col("bytes").cast("string").alias("value"), "source_file")
    ).select("record_id", "topic", "partition", "offset", F.col("raw").cast("binary").alias("raw"))
    assert [tuple(r) for r in result.collect()] == [
        (f"bpm/0/3/{sha256(b'1:1v' + line)}", "bpm", 0, 3, bytearray(line))
    ]


def test_number_repeated_lines_tells_identical_bad_lines_apart(spark):
    records = spark.createDataFrame(
        [
            ("file:a#h", None, "bad"),
            ("file:a#h", None, "bad"),
            ("file:b#h", None, "bad"),
            ("bpm/0/1/x", "bpm", "{}"),
            ("bpm/0/1/x", "bpm", "{}"),
        ],
        "record_id string, topic string, raw string",
    )
    expected = spark.createDataFrame(
        [
            ("file:a#h#1", None, "bad"),
            ("file:a#h#2", None, "bad"),
            ("file:b#h#1", None, "bad"),
            ("bpm/0/1/x", "bpm", "{}"),
            ("bpm/0/1/x", "bpm", "{}"),
        ],
        "record_id string, topic string, raw string",
    )
    assertDataFrameEqual(number_repeated_lines(records), expected, checkRowOrder=False)


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


def test_a_long_export_lands_every_line_without_copying_the_file_per_row(spark):
    # 200,000 lines of ~40 bytes: carrying the 8 MB file in each row would need terabytes.
    lines = 200_000
    body = "".join(f"{n},{n + 1},aa:bb:cc:dd:ee:ff,{1678000000 + n}\n" for n in range(lines))
    files = spark.createDataFrame(
        [("user_id,device_id,mac_address,registration_timestamp\n" + body, "long.csv")],
        "value string, source_file string",
    )
    result = export_files_to_registrations(files).agg(
        F.count("*").alias("rows"),
        F.sum(F.col("user_id").cast("bigint")).alias("user_id_sum"),
        F.max("line_number").alias("last_line"),
    )
    assert result.first().asDict() == {
        "rows": lines,
        "user_id_sum": sum(range(lines)),
        "last_line": lines + 1,
    }
