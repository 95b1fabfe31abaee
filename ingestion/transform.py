"""Pure DataFrame -> DataFrame transformations of the ingester (no session, paths or I/O)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

#: The landing envelope, every field read as text: a number or a string both give its text, so
#: ``"partition": 0`` and ``"partition": "0"`` are alike and nothing overflows while parsing.
ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField(name, T.StringType())
        for name in ("key", "value", "topic", "partition", "offset", "timestamp")
    ]
)

KAFKA_RECORDS_SCHEMA = T.StructType(
    [
        T.StructField("record_id", T.StringType(), nullable=False),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("key", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("kafka_timestamp", T.TimestampType()),
        T.StructField("raw", T.StringType()),
        T.StructField("source", T.StringType(), nullable=False),
        T.StructField("source_file", T.StringType()),
        T.StructField("ingested_at", T.TimestampType(), nullable=False),
    ]
)

#: The registration columns of contract 1.1, as a CSV export's header names them.
REGISTRATION_COLUMNS = ["user_id", "device_id", "mac_address", "registration_timestamp"]

REGISTRATION_EXPORTS_SCHEMA = T.StructType(
    [
        *(T.StructField(c, T.StringType()) for c in REGISTRATION_COLUMNS),
        T.StructField("source_file", T.StringType(), nullable=False),
        T.StructField("ingested_at", T.TimestampType(), nullable=False),
        # Added later: older bronze tables get them by ALTER TABLE (null in their old rows).
        T.StructField("line_number", T.IntegerType()),
        T.StructField("raw", T.StringType()),
        T.StructField("field_count", T.IntegerType()),
        T.StructField("header_columns", T.ArrayType(T.StringType())),
    ]
)

REGISTRATIONS_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.LongType()),
        T.StructField("device_id", T.LongType()),
        T.StructField("mac_address", T.StringType()),
        T.StructField("registration_timestamp", T.TimestampType()),
        T.StructField("source_table", T.StringType(), nullable=False),
        T.StructField("ingested_at", T.TimestampType(), nullable=False),
        # Added later: the row as read, JSON (null in rows landed before it existed).
        T.StructField("raw", T.StringType()),
    ]
)

#: Key columns of a database registration row; a row is loaded once per distinct key.
REGISTRATION_KEY = ["user_id", "device_id", "mac_address", "registration_timestamp"]

_MILLIS_THRESHOLD = 10**11
#: The timestamp range every engine and file format here holds: 0001-01-01 to 9999-12-31 (UTC).
MIN_MICROS = -62_135_596_800_000_000
MAX_MICROS = 253_402_300_799_999_999
_BOM = "\ufeff"


def epoch_to_timestamp(epoch: Column) -> Column:
    """A landing envelope's epoch seconds (or milliseconds when >= 10^11, contract 1.3) to a UTC
    timestamp; as epoch_seconds_to_timestamp otherwise."""
    value = F.trim(epoch.cast("string")).try_cast(T.DecimalType(38, 6))
    seconds = F.when(value >= F.lit(_MILLIS_THRESHOLD), value / F.lit(1000)).otherwise(value)
    return epoch_seconds_to_timestamp(seconds)


def epoch_seconds_to_timestamp(epoch: Column) -> Column:
    """Epoch seconds (integer or fractional, text or a number) to a UTC timestamp, exact to the
    microsecond, as the staging views read event times. Anything that is not a number, or lies
    outside the timestamp range, gives null (never an error that would fail the batch)."""
    seconds = F.trim(epoch.cast("string")).try_cast(T.DecimalType(38, 6))
    micros = F.round(F.try_multiply(seconds, F.lit(1_000_000)), 0).try_cast("bigint")
    return F.when(micros.between(MIN_MICROS, MAX_MICROS), F.timestamp_micros(micros))


def integer_text(text: Column, type_name: str) -> Column:
    """An integer written as digits (optionally signed) as ``type_name``; else null."""
    return F.when(F.trim(text).rlike("^-?[0-9]+$"), F.trim(text).try_cast(type_name))


def content_hash(key: Column, value: Column) -> Column:
    """SHA-256 of a record's key and value, unambiguous: a length prefix separates the key from
    the value, and a null key or value differs from an empty one."""
    return F.sha2(
        F.concat(
            F.coalesce(F.concat(F.octet_length(key).cast("string"), F.lit(":"), key), F.lit("-")),
            F.coalesce(F.concat(F.lit("v"), value), F.lit("-")),
        ),
        256,
    )


def record_id(
    topic: Column, partition: Column, offset: Column, key: Column, value: Column
) -> Column:
    """A Kafka record's identity ([rule 1](docs/contract.md#rule-1)):
    ``topic/partition/offset/<content hash>``.

    The same coordinates with the same key and value are one record; with another key or value
    (an exporter reusing offsets, a topic re-created) another record.
    """
    return F.concat_ws(
        "/", topic, partition.cast("string"), offset.cast("string"), content_hash(key, value)
    )


def strip_bom(line: Column) -> Column:
    """A line without a leading UTF-8 byte-order mark (only a file's first line has one)."""
    return F.when(line.startswith(_BOM), F.substring(line, 2, 2**31 - 1)).otherwise(line)


def landing_lines_to_records(lines: DataFrame) -> DataFrame:
    """Landing-zone lines (``value``, ``source_file``) to bronze Kafka records.

    A line that is a Kafka envelope (topic, partition and offset present, partition and offset
    integers) keeps its coordinates, key and value; any other line keeps only its raw text
    (coordinates null) and is keyed by file and content, so it lands and silver reports it. The
    raw line is kept byte for byte (bytes that are not UTF-8 included); the envelope is read from
    it with invalid bytes replaced, so such a record keeps its coordinates and silver rejects it.
    Blank lines carry nothing and are dropped.
    """
    text = strip_bom(F.col("value"))
    parsed = lines.select(
        text.alias("raw"),
        F.col("source_file"),
        F.from_json(F.make_valid_utf8(text), ENVELOPE_SCHEMA).alias("e"),
    ).where(F.trim(F.col("raw")) != "")
    topic = F.col("e.topic")
    partition = integer_text(F.col("e.partition"), "int")
    offset = integer_text(F.col("e.offset"), "bigint")
    is_envelope = topic.isNotNull() & partition.isNotNull() & offset.isNotNull()

    def envelope(column: Column) -> Column:
        return F.when(is_envelope, column)

    line_id = F.concat(F.lit("file:"), F.col("source_file"), F.lit("#"), F.sha2(F.col("raw"), 256))
    # a value with bytes that are not UTF-8 is identified by the raw line it came in
    value_bytes = F.when(F.is_valid_utf8(F.col("raw")), F.col("e.value")).otherwise(F.col("raw"))
    return parsed.select(
        F.when(is_envelope, record_id(topic, partition, offset, F.col("e.key"), value_bytes))
        .otherwise(line_id)
        .alias("record_id"),
        envelope(topic).alias("topic"),
        envelope(partition).alias("partition"),
        envelope(offset).alias("offset"),
        envelope(F.col("e.key")).alias("key"),
        envelope(F.col("e.value")).alias("value"),
        envelope(epoch_to_timestamp(F.col("e.timestamp"))).alias("kafka_timestamp"),
        F.col("raw"),
        F.lit("landing").alias("source"),
        F.col("source_file"),
        F.current_timestamp().alias("ingested_at"),
    )


def kafka_rows_to_records(rows: DataFrame) -> DataFrame:
    """Rows of Spark's Kafka source to bronze Kafka records.

    Key and value become text byte for byte (bytes that are not UTF-8 are kept, for silver to
    reject), never decoded with replacement characters.
    """
    key = F.col("key").cast("string")
    value = F.col("value").cast("string")
    return rows.select(
        record_id(F.col("topic"), F.col("partition"), F.col("offset"), key, value).alias(
            "record_id"
        ),
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        key.alias("key"),
        value.alias("value"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.lit(None).cast("string").alias("raw"),
        F.lit("kafka").alias("source"),
        F.lit(None).cast("string").alias("source_file"),
        F.current_timestamp().alias("ingested_at"),
    )


def first_per_key(records: DataFrame, key: list[str], order: list[Column]) -> DataFrame:
    """Keep one row per ``key``: the first by ``order`` (a total order, so the result is fixed)."""
    window = Window.partitionBy(*key).orderBy(*order)
    return (
        records.withColumn("_row", F.row_number().over(window))
        .where(F.col("_row") == 1)
        .drop("_row")
    )


def number_repeated_lines(records: DataFrame) -> DataFrame:
    """Lines that are not Kafka records, numbered per identical line of a file (``#1``, ``#2``),
    so a line repeated in one file lands as often as it occurs. A file is always read whole in
    one batch, so the numbering is the same whenever the file is read."""
    occurrence = F.row_number().over(Window.partitionBy("record_id").orderBy("raw"))
    return records.withColumn(
        "record_id",
        F.when(
            F.col("topic").isNull(),
            F.concat(F.col("record_id"), F.lit("#"), occurrence.cast("string")),
        ).otherwise(F.col("record_id")),
    )


def dedup_records(records: DataFrame) -> DataFrame:
    """One row per ``record_id`` within a batch: a record met twice (same coordinates, key and
    value) lands once, from the file met first."""
    return first_per_key(
        records,
        ["record_id"],
        [F.col("source_file").asc_nulls_first(), F.col("raw").asc_nulls_first()],
    )


#: One CSV field after the comma that opens it: a quoted field (``""`` escapes a quote) or text
#: up to the next comma.
_CSV_FIELD = r',("(?:[^"]|"")*"|[^,]*)'
_LINE_BREAK = r"\r\n|\r|\n"
_BLANK = r"^\s*$"
_BYTE_ORDER_MARK = "\ufeff"


def csv_unquote(field: Column) -> Column:
    """A CSV field's text: the inside of a quoted field (``""`` read as ``"``), else as is."""
    trimmed = F.trim(field)
    quoted = trimmed.startswith('"') & trimmed.endswith('"') & (F.length(trimmed) >= 2)
    inner = F.regexp_replace(F.substring(trimmed, 2, F.length(trimmed) - 2), '""', '"')
    return F.when(quoted, inner).otherwise(field)


def csv_fields(line: Column) -> Column:
    """The fields of one CSV line (quotes honoured, not removed): an array as long as the line
    has fields, so ``a,,b`` has three and an empty line one."""
    return F.regexp_extract_all(F.concat(F.lit(","), line), F.lit(_CSV_FIELD), 1)


def export_files_to_registrations(files: DataFrame) -> DataFrame:
    """Whole registration CSV files (``value``: the file's text, ``source_file``) to bronze
    registration exports: one row per non-blank line after the header, columns mapped by name.

    The header is the first non-blank line; its names are matched case-insensitively after
    trimming (and unquoting), in any order. A byte-order mark, CRLF or CR line ends and blank
    lines are not errors. Every data line lands with its text (``raw``), its line number, its
    field count and the header's column names, so silver can reject a row with a missing or
    extra field, or a file whose header lacks a contract column; the four columns hold the row's
    fields only when the row has as many fields as the header (else null). Quoted fields may
    hold commas; a line break inside a quoted field is not supported (it splits the row).
    """
    text = F.regexp_replace(F.col("value"), f"^{_BYTE_ORDER_MARK}", "")
    lines = F.split(text, _LINE_BREAK)
    header = F.try_element_at(F.filter(lines, lambda line: ~line.rlike(_BLANK)), F.lit(1))
    # The file-level columns first: a column computed beside the explode would copy every
    # line of the file into each of its rows (memory quadratic in the file's length).
    per_file = files.select(
        F.col("source_file"),
        lines.alias("lines"),
        F.array_position(lines, header).alias("header_line"),
        F.transform(csv_fields(header), lambda h: F.lower(F.trim(csv_unquote(h)))).alias(
            "header_columns"
        ),
    )
    with_header = per_file.select(
        "source_file",
        "header_line",
        "header_columns",
        F.posexplode("lines").alias("position", "raw"),
    )
    rows = with_header.where(
        (F.col("position") + 1 > F.col("header_line")) & ~F.col("raw").rlike(_BLANK)
    ).select("*", csv_fields(F.col("raw")).alias("fields"))
    field_count = F.size("fields")
    shaped = field_count == F.size("header_columns")

    def column(name: str) -> Column:
        index = F.array_position("header_columns", name).cast("int")
        return F.when(shaped & (index > 0), csv_unquote(F.try_element_at("fields", index)))

    return rows.select(
        *(column(c).alias(c) for c in REGISTRATION_COLUMNS),
        F.col("source_file"),
        F.current_timestamp().alias("ingested_at"),
        (F.col("position") + 1).cast("int").alias("line_number"),
        F.col("raw"),
        field_count.cast("int").alias("field_count"),
        F.col("header_columns"),
    )
