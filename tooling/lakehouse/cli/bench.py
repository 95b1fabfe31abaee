"""The benchmark: throughput, build cost, freshness and memory, measured side by side."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from lakehouse.cli.options import env_option, settings_of, spark_of
from lakehouse.project import REPO_ROOT, load_settings


@click.command()
@click.option(
    "--sizes",
    default="1000000,10000000",
    show_default=True,
    help="Heart-rate readings per data set, comma-separated.",
)
@click.option("--kafka-size", default=1_000_000, show_default=True, type=click.IntRange(min=1))
@click.option("--users", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--out",
    "document",
    default=REPO_ROOT / "docs" / "benchmarks.md",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Markdown document whose results section is rewritten (plots go beside it).",
)
@click.option(
    "--add",
    "add_to_last",
    is_flag=True,
    help="Keep the last run's measures (results.json) and add or replace this run's.",
)
@click.option(
    "--queries",
    is_flag=True,
    help="Only time the README's queries on --env's tables (`make demo` builds dev's), in process "
    "and through the SQL warehouse; print the table.",
)
@env_option
@click.pass_context
def bench(ctx, sizes, kafka_size, users, days, document, add_to_last, queries) -> None:
    """Measure ingestion throughput, incremental build cost, freshness and memory; write the table
    and plots. With ``--queries``, the latency of the README's queries instead."""
    from bench import report, run

    settings = settings_of(ctx)
    if queries:
        from bench.queries import bench_queries
        from bench.queries import table as query_table

        click.echo(query_table(bench_queries(settings)))
        return
    home = settings.home / "bench"
    shutil.rmtree(home, ignore_errors=True)
    spark = spark_of(load_settings(env="dev", home=home / "session"), with_metastore=True)
    counts = [int(size) for size in sizes.split(",") if size.strip()]
    earlier = report.load(document) if add_to_last else []
    result = run.run(
        spark,
        home,
        counts,
        users=users,
        days=days,
        kafka_size=kafka_size,
        after_stage=lambda partial: report.write(partial, document, with_plots=False),
        earlier=earlier,
    )
    report.write(result, document)
    click.echo(report.table(result))
