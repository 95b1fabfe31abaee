"""``lakehouse audit``: the record ledger ([rule 14](docs/contract.md#rule-14)) per topic and day,
reconciled against what the
sources hold: the landing files' lines, and the broker's offsets.

The ledger proves that every bronze record has a disposition in silver; the reconciliation proves
that every record the sources offered reached bronze. Together: nothing lost between a landing
file or a topic and gold.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestion import landing
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
    """Landing lines against bronze: ``missing`` lines' records are not in bronze."""

    files: int
    lines: int
    records: int
    in_bronze: int

    @property
    def missing(self) -> int:
        return self.records - self.in_bronze


@dataclass(frozen=True)
class TopicReconciliation:
    """One topic's broker offsets against bronze: offsets the broker holds and bronze lacks."""

    topic: str
    offsets: int
    in_bronze: int

    @property
    def missing(self) -> int:
        return self.offsets - self.in_bronze


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
    spark: SparkSession, settings: Settings, bronze: DataFrame
) -> LandingReconciliation:
    """Lines of the landing Kafka files, their distinct records, and how many are in bronze."""
    folder = settings.landing / "kafka"
    if not any(folder.glob("*")):
        return LandingReconciliation(0, 0, 0, 0)
    records = landing_records(spark, settings)
    identities = records.select("record_id").distinct()
    found = identities.join(bronze.select("record_id"), "record_id", "left_semi")
    return LandingReconciliation(
        files=records.select("source_file").distinct().count(),
        lines=records.count(),
        records=identities.count(),
        in_bronze=found.count(),
    )


def reconcile_topics(
    bronze: DataFrame, offsets: dict[str, dict[int, tuple[int, int]]]
) -> list[TopicReconciliation]:
    """Per topic, the broker's retained offsets (``{topic: {partition: (low, high)}}``) against
    the distinct offsets bronze holds from the broker in those ranges."""
    found = []
    for topic, partitions in sorted(offsets.items()):
        held = sum(high - low for low, high in partitions.values())
        in_range = F.lit(False)
        for partition, (low, high) in partitions.items():
            in_range = in_range | (
                (F.col("partition") == partition)
                & (F.col("offset") >= low)
                & (F.col("offset") < high)
            )
        present = (
            bronze.where((F.col("source") == "kafka") & (F.col("topic") == topic) & in_range)
            .select("partition", "offset")
            .distinct()
            .count()
        )
        found.append(TopicReconciliation(topic, held, present))
    return found


def audit(spark: SparkSession, settings: Settings, *, kafka: bool) -> dict:
    """The ledger per day, source and topic, and the reconciliation with the sources."""
    bronze = spark.table("bronze.kafka_records")
    log.info("Reconciling %s with bronze", settings.landing / "kafka")
    files = reconcile_landing(spark, settings, bronze)
    report = {"ledger": ledger(spark), "landing": {**asdict(files), "missing": files.missing}}
    if kafka:
        offsets = watermark_offsets(settings.kafka_client_config(), settings.topics.names())
        report["kafka"] = [
            {**asdict(t), "missing": t.missing} for t in reconcile_topics(bronze, offsets)
        ]
    return report


def lost(report: dict) -> bool:
    """True when anything offered by a source or landed in bronze is unaccounted for."""
    return (
        any(row["unaccounted"] for row in report["ledger"])
        or report["landing"]["missing"] > 0
        or any(t["missing"] > 0 for t in report.get("kafka", []))
    )
