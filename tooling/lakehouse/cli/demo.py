"""The demo: simulate, ingest and build on the embedded default, then summarise."""

from __future__ import annotations

import click

from lakehouse import broker
from lakehouse.cli.options import env_option, settings_of, spark_of
from lakehouse.cli.pipeline import ingest_sources
from lakehouse.dbt import run_dbt
from lakehouse.demo import summary
from lakehouse.lock import building
from lakehouse.report import spark_rows, write_report
from simulator.cli import simulate


@click.command()
@env_option
@click.option("--users", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--kafka", is_flag=True, help="Go through a local Kafka broker instead of files.")
@click.pass_context
def demo(ctx, users, days, seed, kafka) -> None:
    """Simulate, ingest and build on the embedded default, then summarise what landed where."""
    settings = settings_of(ctx)
    if kafka:
        broker.serve(settings)
    simulate(settings, users=users, days=days, seed=seed, kafka=kafka)
    with building(settings, doing="demo"):
        spark = spark_of(settings, with_metastore=True)
        ingest_sources(spark, settings, once=True, kafka=kafka)
        run_dbt(settings, ["build"])  # registers bronze in the metastore too
    report = write_report(spark_rows(spark), settings)
    click.echo(summary(spark, settings, report))
    if kafka:
        click.echo("The broker keeps running: stop it with `.venv/bin/lakehouse kafka stop`.")
