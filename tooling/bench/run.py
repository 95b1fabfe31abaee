"""``lakehouse bench``: how much data the lakehouse moves per core and how fresh gold is.

One run on one machine measures, for each data size: ingestion from landing files into bronze
next to the same Spark reading the same files into a ``noop`` sink (the ceiling), ``dbt run`` in
full against incremental runs after adding 1% more data and a fixed 10,000 readings; then, once,
ingestion from Kafka next to its ceiling, and streaming freshness (event to bronze, event to gold
under back-to-back builds) at a fixed produce rate; and the peak memory of the driver.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bench import data
from ingestion import landing
from ingestion.bronze import APPEND_ONLY, BRONZE_TABLES
from ingestion.ingest import ingest_continuously, ingest_once
from ingestion.settings import Settings
from ingestion.transform import dedup_records
from lakehouse import broker
from lakehouse.catalog import register_bronze
from lakehouse.dbt import run_dbt
from lakehouse.project import REPO_ROOT, load_settings

log = logging.getLogger(__name__)

AS_OF = {"as_of_date": "2023-04-01"}
FIXED_INCREMENT = 10_000
#: The job whose dbt build the incremental stages run as (its ``--vars``: the data-test window).
HOURLY_JOB = REPO_ROOT / "resources" / "dbt.job.yml"
#: How long before the bench the base data counts as ingested: outside the hourly window.
BASE_AGE_DAYS = 2
#: The same increment's dbt run on the largest data set against the smallest.
FLATNESS = f"dbt run +{FIXED_INCREMENT:,}, largest / smallest size"
#: The model whose share of the incremental run the benchmark follows, and that share's name.
LEDGER = "record_ledger"
LEDGER_SHARE = f"{LEDGER} share of dbt run, +1%"


@dataclass
class Measure:
    name: str
    size: int | None
    value: float
    unit: str


@dataclass
class Report:
    measures: list[Measure] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    #: Seconds per dbt node (model, snapshot, test) of each dbt stage.
    nodes: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, name: str, size: int | None, value: float, unit: str) -> float:
        self.measures = [m for m in self.measures if (m.name, m.size) != (name, size)]
        self.measures.append(Measure(name, size, value, unit))
        log.info("%s%s: %.3f %s", name, f" @ {size:,}" if size else "", value, unit)
        return value

    def value(self, name: str, size: int | None = None) -> float:
        return next(m.value for m in self.measures if m.name == name and m.size == size)

    def ratio(self, name: str, size: int | None, numerator: str, denominator: str) -> float:
        value = self.value(numerator, size) / self.value(denominator, size)
        return self.add(name, size, value, "x")

    def share(self, name: str, size: int, stage: str, model: str) -> float:
        """A model's seconds in a dbt stage (its run_results) against the stage's whole time."""
        [seconds] = [
            took
            for node, took in self.nodes[f"{stage} @ {size}"].items()
            if node.startswith("model.") and node.rsplit(".", 1)[1] == model
        ]
        return self.add(name, size, seconds / self.value(stage, size), "x")

    def to_json(self) -> str:
        return json.dumps(
            {
                "machine": self.machine,
                "measures": [asdict(m) for m in self.measures],
                "latencies": {name: summary(values) for name, values in self.latencies.items()},
                "nodes": self.nodes,
            },
            indent=1,
        )


def summary(values: list[float]) -> dict[str, float]:
    """Count and percentiles of latencies (the document's plot draws every value; the results
    file keeps these)."""
    if len(values) < 2:
        return {"count": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "count": len(values),
        **{f"p{p}": round(cuts[p - 1], 3) for p in (50, 90, 95, 99)},
        "max": round(max(values), 3),
    }


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def jvm_pid() -> int | None:
    """The JVM this Python process started (the Spark driver)."""
    for child in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in child.read_text().split():
            if "java" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                return int(pid)
    return None


def machine() -> dict:
    import platform

    import pyspark

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "spark": pyspark.__version__,
    }


# Stages ------------------------------------------------------------------------------------------
def noop_ceiling(spark: SparkSession, settings: Settings, stream: landing.Stream) -> float:
    """Seconds for the same stream, same batches, into Spark's ``noop`` sink."""

    def discard(batch, _batch_id) -> None:
        dedup_records(batch).write.format("noop").mode("overwrite").save()

    checkpoint = settings.root / "bench-noop" / f"{stream.name}-{time.time_ns()}"
    query = (
        stream.source.writeStream.trigger(availableNow=True)
        .option("checkpointLocation", str(checkpoint))
        .foreachBatch(discard)
        .start()
    )
    return timed(query.awaitTermination)


def write_base(spark: SparkSession, settings: Settings, size: int, users: int, days: int) -> int:
    """The data set of one size in the landing zone; returns its Kafka records."""
    folder = settings.landing / "kafka"
    entities = data.profile_lines(spark, users=users).union(
        data.workout_lines(spark, users=users, days=days)
    )
    data.write_lines(entities, folder, files=2, label="entities")
    readings = data.bpm_lines(
        spark, size, first=0, users=users, days=days, per_device=max(size // users, 1)
    )
    data.write_lines(readings, folder, files=max(2, size // 250_000), label="bpm-base")
    data.write_registrations(
        data.registration_rows(spark, users=users), settings.landing / "registrations"
    )
    return size + users + users * days * 2


def add_readings(spark, settings, *, size, first, count, users, days, label, repeating=None):
    readings = data.bpm_lines(
        spark,
        count,
        first=first,
        users=users,
        days=days,
        per_device=max(size // users, 1),
        repeating=repeating,
    )
    data.write_lines(readings, settings.landing / "kafka", files=2, label=label)


def dbt_run(settings: Settings, *extra: str) -> float:
    return timed(lambda: run_dbt(settings, ["run", *extra, "--vars", json.dumps(AS_OF)]))


def hourly_vars(job_file: Path = HOURLY_JOB) -> dict:
    """The ``--vars`` of the hourly dbt job's build command (the data-test window)."""
    job = yaml.safe_load(job_file.read_text())
    [task] = [
        t for t in job["resources"]["jobs"]["dbt_build"]["tasks"] if t["task_key"] == "dbt_build"
    ]
    (command,) = task["dbt_task"]["commands"]
    words = shlex.split(command)
    return yaml.safe_load(words[words.index("--vars") + 1]) if "--vars" in words else {}


def node_seconds(settings: Settings) -> dict[str, float]:
    """Seconds per model and snapshot of the last dbt command (its run_results.json), and of
    all its tests together (``tests``)."""
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text())
    seconds = {"tests": 0.0}
    for result in results["results"]:
        node, took = result["unique_id"], result["execution_time"]
        if node.startswith(("model.", "snapshot.")):
            seconds[node] = round(took, 2)
        else:
            seconds["tests"] = round(seconds["tests"] + took, 2)
    return seconds


def built_tables(settings: Settings) -> list[str]:
    """The tables dbt builds (models materialized as tables or incrementally), as its manifest
    of the last command names them."""
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text())
    return [
        f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] in ("table", "incremental")
    ]


def dbt_stage(
    report: Report, settings: Settings, name: str, size: int, *args: str, hourly: bool = False
) -> float:
    """One dbt command, timed whole and per node; ``hourly`` as the hourly job runs it (data
    tests on the rows of its window)."""
    variables = {**AS_OF, **(hourly_vars() if hourly else {})}
    seconds = timed(lambda: run_dbt(settings, [*args, "--vars", json.dumps(variables)]))
    report.add(name, size, seconds, "s")
    report.nodes[f"{name} @ {size}"] = node_seconds(settings)
    return seconds


def age_ingestion(spark: SparkSession, settings: Settings, days: int) -> None:
    """Move the bronze rows' ingestion time ``days`` back: the base data then stands for data
    ingested long before, as in a steady state, and outside the hourly build's test window.
    Bronze is append-only: the property is lifted for this one update and set again."""
    for table in BRONZE_TABLES:
        name = f"delta.`{settings.bronze_table_path(table)}`"
        spark.sql(f"alter table {name} set tblproperties ('{APPEND_ONLY}' = 'false')")
        spark.sql(f"update {name} set ingested_at = ingested_at - make_interval(0, 0, 0, {days})")
        spark.sql(f"alter table {name} set tblproperties ('{APPEND_ONLY}' = 'true')")


def reset_catalog(spark: SparkSession) -> None:
    for schema in ("gold", "silver", "bronze"):
        spark.sql(f"drop schema if exists {schema} cascade")


@dataclass
class Increments:
    """Readings added to a data set after its base, ids (and times) continuing."""

    spark: SparkSession
    settings: Settings
    size: int
    users: int
    days: int
    next_id: int = 0

    def write(self, count: int, label: str, *, repeated: int = 0) -> None:
        """``count`` new readings; with ``repeated``, as many more lines that repeat readings of
        the base data set, spread over it, at new offsets (a producer's retries)."""
        first = self.next_id or self.size
        batches = ((count, first, None), (repeated, first + count, self.size))
        for lines, offset, repeating in batches:
            if lines:
                add_readings(
                    self.spark,
                    self.settings,
                    size=self.size,
                    first=offset,
                    count=lines,
                    users=self.users,
                    days=self.days,
                    label=label if repeating is None else f"{label}-repeated",
                    repeating=repeating,
                )
        self.next_id = first + count + repeated

    def ingest(self, count: int, label: str, *, repeated: int = 0) -> None:
        self.write(count, label, repeated=repeated)
        ingest_once(self.spark, self.settings)


def bench_size(spark, settings, report: Report, size: int, *, users: int, days: int) -> None:
    """Ingestion against its ceiling, then dbt in steady state: each incremental command reads
    only what was ingested after the previous command consumed bronze (commit versions, no
    time window), as a scheduled ``dbt build`` does."""
    records = write_base(spark, settings, size, users, days)
    ceiling = noop_ceiling(spark, settings, landing.landing_kafka_stream(spark, settings))
    report.add("landing noop ceiling", size, records / ceiling, "events/s")
    ingest = timed(lambda: ingest_once(spark, settings))
    report.add("landing to bronze", size, records / ingest, "events/s")
    report.ratio("landing ratio to ceiling", size, "landing to bronze", "landing noop ceiling")
    more = Increments(spark, settings, size, users, days)
    snapshot_partitions_ab(spark, settings, report, size, more)
    age_ingestion(spark, settings, BASE_AGE_DAYS)
    reset_catalog(spark)
    register_bronze(spark, settings)
    for command in ("run", "build"):
        full = f"dbt full {command}"
        dbt_stage(report, settings, full, size, command, "--full-refresh")
        more.ingest(size // 100, f"{command}-plus-1pct")
        hourly = command == "build"
        dbt_stage(report, settings, f"dbt {command}, +1%", size, command, hourly=hourly)
        dbt_stage(report, settings, f"dbt {command}, no new input", size, command, hourly=hourly)
        report.ratio(f"{command} +1% / full {command}", size, f"dbt {command}, +1%", full)
        report.ratio(
            f"{command} no input / full {command}", size, f"dbt {command}, no new input", full
        )
    report.share(LEDGER_SHARE, size, "dbt run, +1%", LEDGER)
    dbt_stage(report, settings, "dbt test, every row (daily)", size, "test")
    more.ingest(FIXED_INCREMENT, "plus-fixed")
    dbt_stage(report, settings, f"dbt run, +{FIXED_INCREMENT:,}", size, "run")
    merge_source_ab(report, settings, size, more)
    deletion_vectors_ab(report, settings, size, more)
    pid = jvm_pid()
    if pid:
        report.add("peak driver memory (JVM)", size, peak_rss_mb(pid), "MiB")


def with_conf(spark: SparkSession, key: str, value: str, action: Callable[[], object]) -> None:
    before = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        action()
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def merge_source_ab(report: Report, settings: Settings, size: int, more: Increments) -> None:
    """A/B: Delta materializes a MERGE's source (else it may evaluate it twice); the
    incremental heart_rate model after +10,000 readings, with each setting."""
    key = "spark.databricks.delta.merge.materializeSource"
    for value in ("auto", "none"):
        name = f"heart_rate +{FIXED_INCREMENT:,}, materializeSource={value}"
        more.ingest(FIXED_INCREMENT, f"ab-materialize-{value}")
        with_conf(
            more.spark,
            key,
            value,
            lambda name=name: dbt_stage(
                report, settings, name, size, "run", "--select", "heart_rate"
            ),
        )


def set_deletion_vectors(spark: SparkSession, tables: list[str], enabled: bool) -> None:
    for table in tables:
        spark.sql(
            f"alter table {table} set tblproperties "
            f"('delta.enableDeletionVectors' = '{str(enabled).lower()}')"
        )


def deletion_vectors_ab(report: Report, settings: Settings, size: int, more: Increments) -> None:
    """A/B: silver's and gold's MERGEs with deletion vectors (the local default, as on
    Databricks) and without; ``dbt run`` after +10,000 readings and a tenth as many repeats of
    readings spread over the base (a producer's retries), which update stored rows all over the
    tables. Seconds of the whole run and of the two models that update most."""
    tables = built_tables(settings)
    try:
        for enabled in (True, False):
            set_deletion_vectors(more.spark, tables, enabled)
            label = "on" if enabled else "off"
            more.ingest(FIXED_INCREMENT, f"ab-dv-{label}", repeated=FIXED_INCREMENT // 10)
            name = f"dbt run +{FIXED_INCREMENT:,} with repeats, deletion vectors {label}"
            dbt_stage(report, settings, name, size, "run")
            seconds = report.nodes[f"{name} @ {size}"]
            for model in ("heart_rate", "record_ledger"):
                node = f"model.smartwatch_lakehouse.{model}"
                report.add(f"{model} in {name}", size, seconds[node], "s")
    finally:
        set_deletion_vectors(more.spark, tables, True)


def snapshot_partitions_ab(spark, settings, report: Report, size: int, more: Increments) -> None:
    """A/B: tasks per Delta snapshot (50 by default, SNAPSHOT_PARTITIONS here); ingesting
    +10,000 readings with each."""
    key = "spark.databricks.delta.snapshotPartitions"
    for value in ("50", spark.conf.get(key)):
        more.write(FIXED_INCREMENT, f"ab-snapshot-{value}")
        name = f"ingest +{FIXED_INCREMENT:,}, snapshotPartitions={value}"
        with_conf(
            spark,
            key,
            value,
            lambda name=name: report.add(
                name, size, timed(lambda: ingest_once(spark, settings)), "s"
            ),
        )


def produce(bootstrap: str, lines, *, rate: float | None = None) -> int:
    """Publish envelope lines (key and value) to their topics, at ``rate`` records/s if given."""
    from confluent_kafka import Producer

    from simulator.produce import Message, producer_config, send_all

    producer = Producer(producer_config(bootstrap))
    envelopes = (json.loads(row.value) for row in lines)
    sent = send_all(
        producer,
        (Message(e["topic"], e["key"], e["value"]) for e in envelopes),
        rate=rate,
    )
    producer.flush(120)
    return sent


def bench_kafka(spark, settings, report: Report, size: int, *, users: int, days: int) -> None:
    local = broker.serve(settings)
    try:
        lines = data.bpm_lines(
            spark, size, first=0, users=users, days=days, per_device=size // users
        )
        produce(local.bootstrap, lines.toLocalIterator())
        ceiling = noop_ceiling(spark, settings, landing.broker_kafka_stream(spark, settings))
        report.add("kafka noop ceiling", size, size / ceiling, "events/s")
        query_settings = settings.model_copy(update={"landing_dir": settings.root / "no-landing"})
        ingest = timed(lambda: ingest_once(spark, query_settings, kafka=True))
        report.add("kafka to bronze", size, size / ingest, "events/s")
        report.ratio("kafka ratio to ceiling", size, "kafka to bronze", "kafka noop ceiling")
        reset_catalog(spark)
        register_bronze(spark, query_settings)
        bench_freshness(spark, query_settings, report, local, users=users, days=days, first=size)
    finally:
        broker.stop(local)


def bench_freshness(spark, settings, report, local, *, users, days, first, rate=500, seconds=90):
    """Event to bronze at a fixed produce rate with the streaming ingester, and event to gold
    with dbt running back to back meanwhile."""
    count = int(rate * seconds)
    lines = data.bpm_lines(spark, count, first=first, users=users, days=days, per_device=100)
    rows = lines.collect()
    stop = threading.Event()
    ingester = threading.Thread(
        target=ingest_continuously, args=(spark, settings), kwargs={"kafka": True, "stop": stop}
    )
    producer = threading.Thread(target=produce, args=(local.bootstrap, rows), kwargs={"rate": rate})
    dbt_run(settings)  # every model exists before the builds that follow the readings
    ingester.start()
    time.sleep(20)  # the streams are up
    since = spark.sql("select current_timestamp() as now").first()["now"]
    producer.start()
    builds: list[tuple[float, float]] = []
    while producer.is_alive():
        started = time.time()
        dbt_run(settings, "--select", "heart_rate+")
        builds.append((started, time.time()))
    started = time.time()
    dbt_run(settings, "--select", "heart_rate+")
    builds.append((started, time.time()))
    stop.set()
    ingester.join(300)
    arrived = (
        settings.bronze_table("kafka_records")
        .read(spark)
        .where((F.col("source") == "kafka") & (F.col("kafka_timestamp") >= F.lit(since)))
        .select(
            F.unix_micros("kafka_timestamp").alias("sent"),
            F.unix_micros("ingested_at").alias("landed"),
        )
        .collect()
    )
    to_bronze = [(r.landed - r.sent) / 1e6 for r in arrived]
    to_gold = [
        next(end for start, end in builds if start >= r.landed / 1e6) - r.sent / 1e6
        for r in arrived
        if any(start >= r.landed / 1e6 for start, _ in builds)
    ]
    report.latencies = {"event to bronze": to_bronze, "event to gold": to_gold}
    trigger = settings.trigger_seconds
    for name, values in report.latencies.items():
        percentiles = summary(values)
        report.add(f"{name} p50", rate, percentiles["p50"], "s")
        report.add(f"{name} p95", rate, percentiles["p95"], "s")
    report.add(
        "event to bronze p95 / trigger interval",
        rate,
        report.value("event to bronze p95", rate) / trigger,
        "x",
    )
    report.add("produced at", rate, len(arrived) / seconds, "events/s")


def run(
    spark: SparkSession,
    home: Path,
    sizes: list[int],
    *,
    users: int,
    days: int,
    kafka_size: int,
    after_stage: Callable[[Report], None] = lambda _: None,
    earlier: list[Measure] | None = None,
) -> Report:
    """Every stage in turn; ``after_stage`` sees the results so far (a long run keeps them).
    ``earlier`` measures (of another run) are kept, those of the same name and size replaced."""
    report = Report(machine=machine(), measures=list(earlier or []))
    for size in sizes:
        settings = load_settings(env="dev", home=home / f"size-{size}")
        bench_size(spark, settings, report, size, users=users, days=days)
        after_stage(report)
    if len(sizes) > 1:
        fixed = f"dbt run, +{FIXED_INCREMENT:,}"
        report.add(
            FLATNESS,
            max(sizes),
            report.value(fixed, max(sizes)) / report.value(fixed, min(sizes)),
            "x",
        )
    settings = load_settings(
        env="dev",
        home=home / "kafka",
        kafka_bootstrap_servers="127.0.0.1:29392",
        trigger_interval="5 seconds",
        registrations_poll_seconds=300,
    )
    bench_kafka(spark, settings, report, kafka_size, users=users, days=days)
    return report
