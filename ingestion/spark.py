"""The one place that builds a local SparkSession with Delta Lake."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession

from ingestion.settings import Settings

log = logging.getLogger(__name__)

KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"
#: Delta's jars among those resolved (their dependencies, older Jackson among them, are not).
DELTA_JAR = re.compile(r"^io\.delta_delta-(spark|storage)[-_]")
LOG4J_CONF = Path(__file__).parent / "conf" / "log4j2.properties"
#: The jars Ivy resolved at the first start, so later starts skip resolution.
JARS_CACHE = Path(
    os.environ.get(
        "LAKEHOUSE_JARS_CACHE", Path.home() / ".cache" / "smartwatch-lakehouse" / "jars.txt"
    )
)


def spark_conf(settings: Settings, *, with_metastore: bool) -> dict[str, str]:
    """Spark configuration for an environment; profiles/profiles.yml mirrors it for dbt.

    ``with_metastore`` attaches the environment's Hive metastore (embedded Derby: one JVM at a
    time). The ingester runs without it and writes bronze Delta tables by path, so it can run
    alongside dbt.
    """
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.default.parallelism": "2",
        "spark.driver.memory": settings.driver_memory,
        "spark.driver.extraJavaOptions": (
            f"-Duser.timezone=UTC {derby_option(settings, with_metastore)} "
            f"-Dlog4j2.configurationFile={LOG4J_CONF.as_uri()}"
        ),
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(settings.warehouse_dir),
        "spark.databricks.delta.catalog.update.enabled": "true",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        # A Delta snapshot is rebuilt in 50 tasks by default: on two cores most of a small
        # table's read and commit time (measured in docs/benchmarks.md).
        "spark.databricks.delta.snapshotPartitions": "2",
        # Files of at most this many rows: a table written in key order (silver's full builds)
        # is then many files with narrow ranges, which bounded merges skip.
        "spark.sql.files.maxRecordsPerFile": "500000",
        # Spark keeps the Java classes it compiles for 100 queries by default, and a dbt build
        # runs about 400 statements, many alike: each build compiled most of them again. Kept
        # for 5000, a second build in one session takes about 60% of the first's time, for a
        # few MB of class metadata (measured in docs/testing.md).
        "spark.sql.codegen.cache.maxEntries": "5000",
        # New tables write deletion vectors, as Databricks does by default: a MERGE that
        # updates or deletes a few rows marks them in a small file beside each data file it
        # touches instead of rewriting the whole file, so its cost follows the rows it changes
        # (measured in docs/benchmarks.md).
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "true",
    }
    if with_metastore:
        conf["spark.sql.catalogImplementation"] = "hive"
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={settings.metastore_dir};create=true"
        )
    else:
        conf["spark.sql.catalogImplementation"] = "in-memory"
    return conf


def derby_option(settings: Settings, with_metastore: bool) -> str:
    """Where embedded Derby keeps its files. With the metastore: the environment's folder (the
    metastore's relative paths and ``derby.log``). Without it only the SQL warehouse boots
    Derby, for in-memory databases that a ``derby.system.home`` would misplace: just the log."""
    if with_metastore:
        return f"-Dderby.system.home={settings.root}"
    return f"-Dderby.stream.error.file={settings.root / 'derby.log'}"


def build_spark(
    settings: Settings, *, app_name: str, with_metastore: bool, jars_on_classpath: bool = False
) -> SparkSession:
    """Create (or return the running) local SparkSession for ``settings.env``.

    ``jars_on_classpath`` puts Delta's jars (resolved by an earlier start) on the driver's own
    class path too, for code that loads classes outside the session's jar loader (the SQL
    warehouse's Thrift server runs each statement so)."""
    settings.root.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName(app_name).master(settings.spark_master)
    for key, value in spark_conf(settings, with_metastore=with_metastore).items():
        builder = builder.config(key, value)
    if with_metastore:
        builder = builder.enableHiveSupport()
    cached = cached_jars()
    if cached:
        builder = builder.config("spark.jars", ",".join(cached))
        if jars_on_classpath:  # Delta's own: other dependencies would shadow Spark's
            paths = [j.removeprefix("file:") for j in cached if DELTA_JAR.search(Path(j).name)]
            builder = builder.config("spark.driver.extraClassPath", os.pathsep.join(paths))
    else:
        log.info("Resolving the Delta and Kafka jars from Maven Central (first start only)")
        builder = configure_spark_with_delta_pip(builder, extra_packages=[KAFKA_PACKAGE])
    # PySpark's query-context logger repeats every failed query's JVM stack trace as JSON; the
    # caller (dbt, the CLI) reports the error itself.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    log.info("Starting Spark (%s, env %s)", settings.spark_master, settings.env.value)
    spark = builder.getOrCreate()
    if not cached:
        remember_jars(spark.sparkContext.getConf().get("spark.jars", ""))
    return spark


def cached_jars() -> list[str]:
    """Jar files resolved by an earlier start, if every one of them is still there."""
    if not JARS_CACHE.exists():
        return []
    jars = JARS_CACHE.read_text().split()
    present = all(Path(j.removeprefix("file:")).exists() for j in jars)
    return jars if jars and present else []


def remember_jars(spark_jars: str) -> None:
    jars = [j for j in spark_jars.split(",") if j]
    if jars:
        JARS_CACHE.parent.mkdir(parents=True, exist_ok=True)
        JARS_CACHE.write_text("\n".join(jars) + "\n")
