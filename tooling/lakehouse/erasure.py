"""Erasure on the embedded default: the models that tell whose each record is brought up to date,
the runtime's erasure of bronze and the snapshots, then silver and gold dropped (folders and all)
and rebuilt by dbt from what is left, so no file of their history holds the user either; the
report, if there is one, written again from the rebuilt gold."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import SparkSession

from ingestion import erasure
from ingestion.erasure import BUILT_LAYERS, SNAPSHOT_MARK, Receipt
from lakehouse import report
from lakehouse.catalog import name_tables
from lakehouse.dbt import run_dbt
from lakehouse.project import LocalSettings

log = logging.getLogger(__name__)


def built_tables(spark: SparkSession) -> dict[str, Path]:
    """Every silver and gold table dbt built (views aside), by ``layer.name``, with its folder,
    as the session's metastore knows them."""
    found = {}
    for layer in BUILT_LAYERS:
        if not spark.catalog.databaseExists(layer):
            continue
        for table in spark.catalog.listTables(layer):
            if table.tableType == "VIEW" or table.isTemporary:
                continue
            name = f"{layer}.{table.name}"
            location = spark.sql(f"describe detail {name}").first()["location"]
            found[name] = Path(urlparse(location).path)
    return dict(sorted(found.items()))


def is_snapshot(spark: SparkSession, folder: Path) -> bool:
    return SNAPSHOT_MARK in spark.read.format("delta").load(str(folder)).columns


def row_counts(spark: SparkSession, tables: dict[str, Path]) -> dict[str, int]:
    return {
        name: spark.read.format("delta").load(str(path)).count() for name, path in tables.items()
    }


def forget(spark: SparkSession, settings: LocalSettings, user_id: int) -> Receipt:
    """Erase the user from every table of the environment, then from the report; returns the
    receipt, written last. The caller holds the environment's writers lock alone. Each step can
    run again: after a failure anywhere, the same command completes the erasure (once the user
    is in no table, it goes on from the report)."""
    receipt = erasure.under_way(spark, settings, user_id)
    if receipt.removed_at is None:
        receipt = remove(spark, settings, user_id, receipt)
    else:
        receipt.landing_files = erasure.landing_files_holding(settings, user_id)
    if report.default_path(settings).exists():  # written from gold as it was: again
        report.write_report(report.spark_rows(spark), settings)
    # the old report was the last file holding the user
    erasure.finish(spark, settings, receipt, datetime.now(UTC))
    return receipt


def remove(spark: SparkSession, settings: LocalSettings, user_id: int, so_far: Receipt) -> Receipt:
    """Remove the user from bronze and the snapshots, then drop silver and gold and rebuild
    them from what is left (``so_far``: the erasure under way); records when the user left every
    table."""
    settings = settings.model_copy(update={"dbt_target": "local"})  # it replaces folders: alone
    name_tables(spark, settings)  # a table only a build through the warehouse named included
    if erasure.needs_owners(so_far):
        # whose records is the models' rules' answer: silver.users as bronze holds it now
        run_dbt(settings, ["run", "--select", "+record_owners"])
    tables = built_tables(spark)
    snapshots = {name: path for name, path in tables.items() if is_snapshot(spark, path)}
    derived = {name: path for name, path in tables.items() if name not in snapshots}
    receipt = erasure.forget(spark, settings, user_id, list(snapshots.values()))
    if receipt.rows_before is None:  # counted once: a rerun may find them dropped already
        receipt.rows_before = row_counts(spark, derived)
        erasure.save_progress(spark, settings, receipt)
    for name, folder in derived.items():
        spark.sql(f"drop table if exists {name}")
        shutil.rmtree(folder, ignore_errors=True)
    log.info("Rebuilding %d silver and gold table(s) without the user", len(derived))
    # the data tests gate the rebuilt tables; the unit tests' inputs are fixtures, not data
    run_dbt(settings, ["build", "--exclude", "resource_type:snapshot", "test_type:unit"])
    after = row_counts(spark, built_tables(spark))
    for name, rows in receipt.rows_before.items():
        receipt.rows_removed[name] = rows - after.get(name, 0)
    # the tables' old folders, history included, are deleted: the user is in no table
    receipt.removed_at = datetime.now(UTC)
    erasure.save_progress(spark, settings, receipt)
    return receipt
