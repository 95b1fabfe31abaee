"""``lakehouse audit``: the record ledger ([rule 14](docs/contract.md#rule-14)) per topic and day,
reconciled against what the
sources hold: the landing files' lines, and the broker's offsets.

The ledger proves that every bronze record has a disposition in silver; the reconciliation proves
that every record the sources offered reached bronze. Together: nothing lost between a landing
file or a topic and gold.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestion import landing
from ingestion.erasure import Suppression, erased_so_far, held_back_so_far, subject_column
from ingestion.settings import Settings
from ingestion.status import watermark_offsets
from ingestion.transform import landing_lines_to_records, number_repeated_lines

log = logging.getLogger(__name__)

LEDGER_COLUMNS = [
    "date",
    "source",
    "topic",
    "records",
    "accepted",
    "rejected",
    "duplicates",
    "superseded",
    "unaccounted",
    "coordinate_conflicts",
]


@dataclass(frozen=True)
class LandingReconciliation:
    """Landing lines against bronze: ``missing`` lines' records are neither in bronze, nor
    erased (an erased user's records stay at the sources, on the suppression list), nor held
    back (an erased user's device's, until a registration decides whose)."""

    files: int
    lines: int
    records: int
    in_bronze: int
    erased: int = 0
    held: int = 0

    @property
    def missing(self) -> int:
        return self.records - self.in_bronze - self.erased - self.held


@dataclass(frozen=True)
class TopicReconciliation:
    """One topic's broker offsets against bronze: offsets the broker holds and bronze lacks,
    those of erased and of held-back records aside."""

    topic: str
    offsets: int
    in_bronze: int
    erased: int = 0
    held: int = 0

    @property
    def missing(self) -> int:
        return self.offsets - self.in_bronze - self.erased - self.held


def on_the_list(identities: DataFrame, suppressed: Suppression, kind: str) -> int:
    """How many of ``identities`` (one column, ``id``) the suppression list holds as ``kind``."""
    listed = suppressed.subjects.where(F.col("kind") == kind).select("subject")
    hashed = identities.select(subject_column(F.col("id"), suppressed.key, kind).alias("subject"))
    return hashed.join(listed, "subject", "left_semi").count()


def ledger(spark: SparkSession) -> list[dict]:
    """``gold.record_ledger_daily``, ordered by day, source and topic."""
    frame = spark.table("gold.record_ledger_daily").select(*LEDGER_COLUMNS)
    return [row.asDict() for row in frame.orderBy("date", "source", "topic").collect()]


def landing_records(spark: SparkSession, settings: Settings) -> DataFrame:
    """Every record of the landing Kafka files, identified as the ingester identifies them."""
    folder = settings.landing / "kafka"
    lines = (
        spark.read.format("text")
        .option("pathGlobFilter", landing.glob_filter(landing.KAFKA_FILE_PATTERNS))
        .load(str(folder))
        .select("value", F.col("_metadata.file_path").alias("source_file"))
    )
    return number_repeated_lines(landing_lines_to_records(lines))


def reconcile_landing(
    spark: SparkSession,
    settings: Settings,
    bronze: DataFrame,
    suppressed: Suppression,
    held: DataFrame,
) -> LandingReconciliation:
    """Lines of the landing Kafka files, their distinct records, how many are in bronze, and how
    many of the others were erased or are held back (``held``: the records held back)."""
    folder = settings.landing / "kafka"
    if not any(folder.glob("*")):
        return LandingReconciliation(0, 0, 0, 0)
    records = landing_records(spark, settings)
    identities = records.select("record_id").distinct()
    absent = identities.join(bronze.select("record_id"), "record_id", "left_anti")
    found = identities.count()
    gone = absent.count()
    return LandingReconciliation(
        files=records.select("source_file").distinct().count(),
        lines=records.count(),
        records=found,
        in_bronze=found - gone,
        erased=on_the_list(absent.select(F.col("record_id").alias("id")), suppressed, "record"),
        held=absent.join(held, "record_id", "left_semi").count(),
    )


def reconcile_topics(
    bronze: DataFrame,
    offsets: dict[str, dict[int, tuple[int, int]]],
    suppressed: Suppression,
    held: DataFrame,
) -> list[TopicReconciliation]:
    """Per topic, the broker's retained offsets (``{topic: {partition: (low, high)}}``) against
    the distinct offsets bronze holds from the broker in those ranges; of the offsets bronze
    lacks, those of records erased (by their coordinates) and those held back (``held``: the
    records held back)."""
    spark = bronze.sparkSession
    found = []
    for topic, partitions in sorted(offsets.items()):
        retained = functools.reduce(
            DataFrame.unionByName,
            [
                spark.range(low, high).select(
                    F.lit(partition).alias("partition"), F.col("id").alias("offset")
                )
                for partition, (low, high) in sorted(partitions.items())
            ],
        )
        landed = bronze.where((F.col("source") == "kafka") & (F.col("topic") == topic))
        absent = retained.join(
            landed.select("partition", "offset").distinct(), ["partition", "offset"], "left_anti"
        )
        gone = absent.count()
        coordinates = F.concat_ws("/", F.lit(topic), F.col("partition"), F.col("offset"))
        erased = on_the_list(absent.select(coordinates.alias("id")), suppressed, "offset")
        waiting = held.where((F.col("source") == "kafka") & (F.col("topic") == topic))
        waiting = absent.join(waiting, ["partition", "offset"], "left_semi").count()
        retained = sum(high - low for low, high in partitions.values())
        found.append(TopicReconciliation(topic, retained, retained - gone, erased, waiting))
    return found


def audit(spark: SparkSession, settings: Settings, *, kafka: bool) -> dict:
    """The ledger per day, source and topic, and the reconciliation with the sources."""
    bronze = spark.table("bronze.kafka_records")
    suppressed = erased_so_far(spark, settings)
    held = held_back_so_far(spark, settings)
    log.info("Reconciling %s with bronze", settings.landing / "kafka")
    files = reconcile_landing(spark, settings, bronze, suppressed, held)
    report = {"ledger": ledger(spark), "landing": {**asdict(files), "missing": files.missing}}
    if kafka:
        offsets = watermark_offsets(settings.kafka_client_config(), settings.topics.names())
        report["kafka"] = [
            {**asdict(t), "missing": t.missing}
            for t in reconcile_topics(bronze, offsets, suppressed, held)
        ]
    return report


def lost(report: dict) -> bool:
    """True when anything offered by a source or landed in bronze is unaccounted for."""
    return (
        any(row["unaccounted"] for row in report["ledger"])
        or report["landing"]["missing"] > 0
        or any(t["missing"] > 0 for t in report.get("kafka", []))
    )
