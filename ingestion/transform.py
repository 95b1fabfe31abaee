"""Pure DataFrame -> DataFrame transformations of the ingester (no session, paths or I/O)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("key", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("timestamp", T.DecimalType(20, 3)),
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


def epoch_to_timestamp(epoch: Column) -> Column:
    """Epoch seconds (or milliseconds when >= 10^11, contract 1.3) to a UTC timestamp."""
    seconds = F.when(epoch >= F.lit(_MILLIS_THRESHOLD), epoch / F.lit(1000)).otherwise(epoch)
    return F.timestamp_seconds(seconds.cast(T.DecimalType(20, 6)))


def record_id(topic: Column, partition: Column, offset: Column, fallback: Column) -> Column:
    """Bronze dedup key: ``topic/partition/offset`` for a Kafka record, else ``fallback``."""
    tpo = F.concat_ws("/", topic, partition.cast("string"), offset.cast("string"))
    has_tpo = topic.isNotNull() & partition.isNotNull() & offset.isNotNull()
    return F.when(has_tpo, tpo).otherwise(fallback)


def landing_lines_to_records(lines: DataFrame) -> DataFrame:
    """Landing-zone lines (``value``, ``source_file``) to bronze Kafka records.

    A line that is a Kafka envelope keeps its topic, partition, offset, key and value; any other
    line keeps only its raw text (topic, partition and offset null) and is keyed by file and
    content, so it lands once and silver can report it. Blank lines carry nothing and are dropped.
    """
    envelope = F.from_json(F.col("value"), ENVELOPE_SCHEMA)
    parsed = lines.where(F.trim(F.col("value")) != "").select(
        F.col("value").alias("raw"), F.col("source_file"), envelope.alias("e")
    )
    # A record without a value (a tombstone) is still a Kafka record: silver rejects its value.
    is_envelope = (
        F.col("e.topic").isNotNull()
        & F.col("e.partition").isNotNull()
        & F.col("e.offset").isNotNull()
    )

    def envelope_field(name: str) -> Column:
        return F.when(is_envelope, F.col(f"e.{name}"))

    fallback = F.concat(F.lit("file:"), F.col("source_file"), F.lit("#"), F.sha2(F.col("raw"), 256))
    return parsed.select(
        record_id(
            envelope_field("topic"), envelope_field("partition"), envelope_field("offset"), fallback
        ).alias("record_id"),
        envelope_field("topic").alias("topic"),
        envelope_field("partition").alias("partition"),
        envelope_field("offset").alias("offset"),
        envelope_field("key").alias("key"),
        envelope_field("value").alias("value"),
        F.when(is_envelope, epoch_to_timestamp(F.col("e.timestamp"))).alias("kafka_timestamp"),
        F.col("raw"),
        F.lit("landing").alias("source"),
        F.col("source_file"),
        F.current_timestamp().alias("ingested_at"),
    )


def kafka_rows_to_records(rows: DataFrame) -> DataFrame:
    """Rows of Spark's Kafka source to bronze Kafka records (value decoded as UTF-8 text)."""
    return rows.select(
        record_id(F.col("topic"), F.col("partition"), F.col("offset"), F.lit(None)).alias(
            "record_id"
        ),
        F.col("topic"),
        F.col("partition"),
        F.col("offset"),
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
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


def dedup_records(records: DataFrame) -> DataFrame:
    """One row per ``record_id`` within a batch (the record met first in file order wins)."""
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
    with_header = files.select(
        F.col("source_file"),
        F.posexplode(lines).alias("position", "raw"),
        F.array_position(lines, header).alias("header_line"),
        F.transform(csv_fields(header), lambda h: F.lower(F.trim(csv_unquote(h)))).alias(
            "header_columns"
        ),
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
