"""Structured Streaming queries of the ingester, all built the same way.

Each stream is a source DataFrame plus a sink; ``start`` applies the trigger (``availableNow`` for
``--once``, a processing-time interval for ``--stream``) and the stream's own checkpoint.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from ingestion.bronze import (
    BronzeTable,
    batch_coordinates,
    coordinate_bound,
    ensure_table,
    insert_new,
    is_empty,
)
from ingestion.erasure import (
    Suppression,
    settle,
    suppression_list,
    suppression_reader,
    without_suppressed,
)
from ingestion.settings import Settings
from ingestion.transform import (
    KAFKA_RECORDS_SCHEMA,
    dedup_records,
    export_files_to_registrations,
    kafka_rows_to_records,
    landing_lines_to_records,
    number_repeated_lines,
)

log = logging.getLogger(__name__)

#: File names each landing folder loads ([rule 1](docs/contract.md#rule-1)): JSON lines, plain or
#: gzip-compressed.
KAFKA_FILE_PATTERNS = ("*.json", "*.jsonl", "*.json.gz", "*.jsonl.gz")
REGISTRATION_FILE_PATTERNS = ("*.csv", "*.csv.gz")
#: Spark's file source skips a file older than the newest seen minus ``maxFileAge`` (7 days by
#: default); landed files keep whatever modification time they were moved in with, so none is
#: too old to load.
MAX_FILE_AGE = "3650000d"


def glob_filter(patterns: tuple[str, ...]) -> str:
    """The file source's ``pathGlobFilter`` matching any of ``patterns`` (``*.{json,jsonl}``)."""
    suffixes = [p.removeprefix("*.") for p in patterns]
    return f"*.{{{','.join(suffixes)}}}" if len(suffixes) > 1 else patterns[0]


def unmatched_files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` that its stream will never load: names matching none of
    ``patterns``, and files in subfolders. Hidden and temporary names (``.x``, ``_x``: files still
    being written) are not listed."""
    found = []
    for parent, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in names:
            if name.startswith((".", "_")):
                continue
            path = Path(parent) / name
            nested = path.parent != folder
            if nested or not any(fnmatch.fnmatch(name, p) for p in patterns):
                found.append(path)
    return sorted(found)


@dataclass(frozen=True)
class Stream:
    """A named streaming query: its source, how a batch lands, and where its progress lives."""

    name: str
    source: DataFrame
    table: str
    sink: Callable[[DataFrame, int], None] | None = None  # None: Delta sink, append


def record_lander(target: BronzeTable) -> Callable[[DataFrame], None]:
    """Append the records whose ``record_id`` is new to ``target`` (``insert_new``). Into a
    table that holds records, only the files that can hold the records' coordinates are read:
    the records are parsed once and kept (memory, then disk) for their coordinates and the
    lookup. Into an empty table (the first load, often the largest batch) there is nothing to
    skip and the records go straight to the lookup."""

    def land(records: DataFrame) -> None:
        if is_empty(target, records.sparkSession):
            insert_new(target, records, ["record_id"])
            return
        records = records.persist()
        try:
            bound = coordinate_bound(batch_coordinates(records))
            insert_new(target, records, ["record_id"], bound=bound)
        finally:
            records.unpersist()

    return land


def kafka_record_sink(
    settings: Settings, target: BronzeTable, suppressed: Callable[[], Suppression]
):
    """foreachBatch sink: land a batch's records new to bronze (``record_lander``), less the
    erased users' (``suppressed``: the suppression list, read at each batch), which are left
    out or held back (``settle``)."""
    land = record_lander(target)

    def write(batch: DataFrame, batch_id: int) -> None:
        records = dedup_records(number_repeated_lines(batch))
        settle(batch.sparkSession, settings, records, suppressed(), land)

    return write


def settle_held_back(spark: SparkSession, settings: Settings) -> None:
    """Judge the records held back again, with no new batch (a stream's sink does it only when
    records arrive): those a registration built since decides land or are erased."""
    suppressed = suppression_list(spark, settings)
    if suppressed.registrations is None:  # no device listed: nothing is held back
        return
    none = spark.createDataFrame([], KAFKA_RECORDS_SCHEMA)
    target = settings.bronze_table("kafka_records")
    settle(spark, settings, none, suppressed, record_lander(target))


def landing_kafka_stream(spark: SparkSession, settings: Settings) -> Stream:
    """Kafka-envelope JSON-lines files of ``<landing>/kafka`` into ``bronze.kafka_records``."""
    suppressed = suppression_reader(spark, settings)
    folder = settings.landing / "kafka"
    folder.mkdir(parents=True, exist_ok=True)
    lines = (
        spark.readStream.format("text")
        .option("pathGlobFilter", glob_filter(KAFKA_FILE_PATTERNS))
        .option("maxFileAge", MAX_FILE_AGE)
        .option("maxFilesPerTrigger", settings.max_files_per_trigger)
        .load(str(folder))
        .select("value", F.col("_metadata.file_path").alias("source_file"))
    )
    return Stream(
        name="landing_kafka",
        source=landing_lines_to_records(lines),
        table="kafka_records",
        sink=kafka_record_sink(settings, settings.bronze_table("kafka_records"), suppressed),
    )


def broker_kafka_stream(spark: SparkSession, settings: Settings) -> Stream:
    """Topics of the Kafka broker into ``bronze.kafka_records``."""
    suppressed = suppression_reader(spark, settings)
    rows = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .option("subscribe", ",".join(settings.topics.names()))
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .options(**settings.kafka_source_options())
        .load()
    )
    return Stream(
        name="kafka",
        source=kafka_rows_to_records(rows),
        table="kafka_records",
        sink=kafka_record_sink(settings, settings.bronze_table("kafka_records"), suppressed),
    )


def landing_registration_stream(spark: SparkSession, settings: Settings) -> Stream:
    """Registration CSVs of ``<landing>/registrations`` into ``bronze.registration_exports``.

    Each file is read whole (one row per file) so its header maps the columns by name; gzip
    files (``*.csv.gz``) are decompressed by the text source.
    """
    folder = settings.landing / "registrations"
    folder.mkdir(parents=True, exist_ok=True)
    files = (
        spark.readStream.format("text")
        .option("wholetext", "true")
        .option("pathGlobFilter", glob_filter(REGISTRATION_FILE_PATTERNS))
        .option("maxFileAge", MAX_FILE_AGE)
        .option("maxFilesPerTrigger", settings.max_files_per_trigger)
        .load(str(folder))
        .select("value", F.col("_metadata.file_path").alias("source_file"))
    )
    return Stream(
        name="landing_registrations",
        source=without_suppressed(
            export_files_to_registrations(files),
            suppression_list(spark, settings),
            F.expr("try_cast(trim(user_id) as bigint)"),
        ),
        table="registration_exports",
    )


def start(stream: Stream, settings: Settings, *, once: bool) -> StreamingQuery:
    """Start ``stream`` into its bronze table with the trigger of the run mode."""
    target = settings.bronze_table(stream.table)
    ensure_table(stream.source.sparkSession, target)
    writer = (
        stream.source.writeStream.queryName(f"{settings.env.value}_{stream.name}")
        .option("checkpointLocation", str(settings.checkpoint_dir / stream.name))
        .trigger(**trigger(once, settings.trigger_interval))
    )
    if stream.sink is None:
        query = target.start_append(writer)
    else:
        query = writer.foreachBatch(stream.sink).start()
    log.info(
        "Started stream %s -> %s (%s)",
        stream.name,
        target,
        "availableNow" if once else f"every {settings.trigger_interval}",
    )
    return query


def trigger(once: bool, interval: str) -> dict:
    """Trigger arguments: drain what is there and stop, or run every ``interval``."""
    return {"availableNow": True} if once else {"processingTime": interval}
