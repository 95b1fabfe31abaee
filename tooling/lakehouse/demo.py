"""The demo's closing summary: what landed where, and how to query it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from ingestion.settings import Settings

LAYERS = ("bronze", "silver", "gold")


def table_counts(spark: SparkSession) -> list[tuple[str, str, int]]:
    """(layer, table, rows) for every table of every layer that exists."""
    found = []
    for layer in LAYERS:
        if not spark.catalog.databaseExists(layer):
            continue
        for table in sorted(t.name for t in spark.catalog.listTables(layer)):
            found.append((layer, table, spark.table(f"{layer}.{table}").count()))
    return found


def summary(spark: SparkSession, settings: Settings, report: Path) -> str:
    lines = [f"Environment {settings.env.value}: state under {settings.root}", ""]
    lines += [
        f"  {layer}.{table:<28} {rows:>10,} rows" for layer, table, rows in table_counts(spark)
    ]
    cli = f".venv/bin/lakehouse sql --env {settings.env.value}"
    lines += [
        "",
        "Query it:",
        f'  {cli} "select * from gold.workout_bpm_summary limit 10"',
        f'  {cli} --format json "select * from gold.gym_summary"',
        f'  {cli} "select user_id, start_time, trimp from gold.workout_hr_zones limit 10"',
        f'  {cli} "select * from gold.gym_daily_utilization order by peak_occupancy desc"',
        "",
        f"The report (training load, heart-rate zones, gym occupancy): {report}",
        "",
        "What became of every record (the ledger, reconciled with the landing files):",
        f"  .venv/bin/lakehouse audit --env {settings.env.value}",
    ]
    return "\n".join(lines)
