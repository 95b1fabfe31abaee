"""Operating the ingester: ingest, run (ingest, then build), its status, and the record ledger."""

from __future__ import annotations

import json
import logging

import click
from rich.console import Console
from rich.table import Table

from ingestion.errors import LakehouseError
from lakehouse.cli.options import env_option, format_option, landing_option, settings_of, spark_of
from lakehouse.dbt import refuse_environment_options, run_dbt
from lakehouse.lock import building, writing
from lakehouse.project import LocalSettings

log = logging.getLogger(__name__)


@click.command()
@env_option
@landing_option
@click.option(
    "--once/--stream",
    default=True,
    show_default=True,
    help="Drain what is available and stop (availableNow), or run continuously.",
)
@click.option(
    "--kafka/--no-kafka",
    default=False,
    show_default=True,
    help="Also read the Kafka broker's topics.",
)
@click.option(
    "--registrations-url", default=None, help="SQLAlchemy URL of the registration database."
)
@click.pass_context
def ingest(ctx, landing_dir, once, kafka, registrations_url) -> None:
    """Land Kafka records, landing files and registration rows in bronze, exactly once."""
    settings = settings_of(ctx, landing_dir=landing_dir, registrations_url=registrations_url)
    with writing(settings, alone=False, doing="ingest"):
        spark = spark_of(settings, with_metastore=False)
        ingest_sources(spark, settings, once=once, kafka=kafka)


def ingest_sources(spark, settings: LocalSettings, *, once: bool, kafka: bool) -> None:
    """Ingest once (and log the rows read per stream), or continuously until stopped."""
    from ingestion.ingest import ingest_continuously, ingest_once

    if once:
        report = ingest_once(spark, settings, kafka=kafka)
        for name, rows in report.rows.items():
            log.info("%s: %d row(s) read", name, rows)
    else:
        ingest_continuously(spark, settings, kafka=kafka)


@click.command(context_settings={"ignore_unknown_options": True})
@env_option
@landing_option
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx, landing_dir, dbt_args) -> None:
    """Ingest what is available, then build silver and gold in the same Spark session (extra
    arguments go to ``dbt build``, e.g. ``--select silver``)."""
    settings = settings_of(ctx, landing_dir=landing_dir)
    refuse_environment_options(settings, dbt_args)
    with building(settings, doing="run"):
        spark = spark_of(settings, with_metastore=True)
        ingest_sources(spark, settings, once=True, kafka=False)
        run_dbt(settings, ["build", *dbt_args])


@click.command()
@env_option
@format_option("table", "json")
@click.pass_context
def status(ctx, fmt) -> None:
    """Ingester progress: last batch and rows/s per stream, Kafka lag per topic, registrations."""
    from ingestion.ingest import STREAM_NAMES
    from ingestion.status import report

    found = report(settings_of(ctx), stream_names=STREAM_NAMES)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
        return
    console = Console()
    streams = Table("stream", "last batch", "at", "rows", "rows/s in", "rows/s processed")
    for name, last in found["streams"].items():
        if last is None:
            streams.add_row(name, "-", "no batch yet", "", "", "")
            continue
        streams.add_row(
            name,
            str(last["batch_id"]),
            str(last["at"]),
            str(last["rows"]),
            f"{last['input_rows_per_second']:.1f}",
            f"{last['processed_rows_per_second']:.1f}",
        )
    console.print(streams)
    kafka = found["kafka"]
    if kafka["lag"] is None:
        console.print(f"Kafka {kafka['bootstrap']}: {kafka['error']}")
    else:
        lags = Table("topic", "lag (records)", title=f"Kafka {kafka['bootstrap']}")
        for topic, behind in kafka["lag"].items():
            lags.add_row(topic, str(behind))
        console.print(lags)
    registrations = found["registrations"]
    if registrations is None:
        console.print("Registrations: not polled yet")
    else:
        console.print(
            f"Registrations: watermark {registrations['watermark'] or '-'}, "
            f"{registrations['rows']} new row(s) at {registrations['at']}"
            + (f", last poll failed: {registrations['error']}" if registrations["error"] else "")
        )
    unmatched = found["unmatched_files"]
    if unmatched:
        console.print(f"Landing files that match no pattern (not loaded): {len(unmatched)}")
        for path in unmatched:
            console.print(f"  {path}")


@click.command()
@env_option
@landing_option
@click.option(
    "--kafka/--no-kafka",
    default=False,
    show_default=True,
    help="Also reconcile with the broker's offsets.",
)
@format_option("table", "json")
@click.pass_context
def audit(ctx, landing_dir, kafka, fmt) -> None:
    """The record ledger per day, source and topic, reconciled with the landing files and the
    broker (an erased user's records the sources still hold count as erased, not missing, and
    records held back until a registration decides whose as held);
    exits non-zero when any record is unaccounted for."""
    from lakehouse import audit as ledger
    from lakehouse.catalog import name_tables

    settings = settings_of(ctx, landing_dir=landing_dir)
    spark = spark_of(settings, with_metastore=False)
    name_tables(spark, settings)
    report = ledger.audit(spark, settings, kafka=kafka)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        console = Console()
        table = Table(*ledger.LEDGER_COLUMNS, title="Record ledger (silver.record_ledger)")
        for row in report["ledger"]:
            table.add_row(*[str(row[c]) for c in ledger.LEDGER_COLUMNS])
        console.print(table)
        files = report["landing"]
        console.print(
            f"Landing {settings.landing / 'kafka'}: {files['files']} file(s), {files['lines']} "
            f"line(s), {files['records']} record(s), {files['in_bronze']} in bronze, "
            f"{files['erased']} erased, {files['held']} held back, {files['missing']} missing"
        )
        for topic in report.get("kafka", []):
            console.print(
                f"Kafka {topic['topic']}: {topic['offsets']} offset(s) on the broker, "
                f"{topic['in_bronze']} in bronze, {topic['erased']} erased, "
                f"{topic['held']} held back, {topic['missing']} missing"
            )
    if ledger.lost(report):
        raise LakehouseError(
            "records are unaccounted for (see above): run `lakehouse ingest` and `lakehouse "
            "build` again; if they stay missing, check the ingester's log and the checkpoints"
        )


@click.command()
@env_option
@click.option("--user-id", required=True, type=int, help="The user to erase.")
@format_option("table", "json")
@click.pass_context
def forget(ctx, user_id, fmt) -> None:
    """Erase a user from every table of the environment, history included; keep their id hashed
    on the suppression list and record a receipt, last. It runs alone: stop the ingester first.
    After a failure, run it again: it continues the erasure."""
    from lakehouse.erasure import forget as erase

    settings = settings_of(ctx)
    with writing(settings, alone=True, doing="forget a user"):
        receipt = erase(spark_of(settings, with_metastore=True), settings, user_id)
    summary = {
        "receipt_id": receipt.receipt_id,
        "erased_at": receipt.erased_at.isoformat(),
        "removed_at": receipt.removed_at.isoformat(),
        "files_gone_at": receipt.files_gone_at.isoformat(),
        "rows_removed": receipt.rows_removed,
        "landing_files_holding_the_user": receipt.landing_files,
    }
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
        return
    table = Table("table", "rows removed", title=f"Erasure {receipt.receipt_id}")
    for name, rows in receipt.rows_removed.items():
        table.add_row(name, str(rows))
    Console().print(table)
    if receipt.landing_files:
        Console().print(
            "Landing files that still hold the user (the source systems' retention decides):"
        )
        for path in receipt.landing_files:
            Console().print(f"  {path}")
