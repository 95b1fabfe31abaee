"""The warehouse: dbt builds silver and gold, the docs site is the catalogue, SQL queries it, and
the report charts gold."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ingestion.errors import LakehouseError
from lakehouse.cli.options import env_option, format_option, settings_of, spark_of
from lakehouse.dbt import LOCAL_TARGETS, build_target, run_dbt
from lakehouse.lock import building


@click.command(context_settings={"ignore_unknown_options": True})
@env_option
@click.option(
    "--target",
    "dbt_target",
    default=None,
    help="dbt target: local (a Spark of the command's own), warehouse (through the environment's "
    "running SQL warehouse), or dev/test/prod (Databricks). Default: warehouse when it runs, "
    "else local.",
)
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def build(ctx, dbt_target, dbt_args) -> None:
    """Run ``dbt build`` (extra arguments go to dbt, e.g. ``--select silver``)."""
    settings = settings_of(ctx, dbt_target=dbt_target)
    settings = settings.model_copy(update={"dbt_target": build_target(settings)})
    if settings.dbt_target not in LOCAL_TARGETS:  # Databricks: its tables are not this machine's
        run_dbt(settings, ["build", *dbt_args])
        return
    with building(settings, doing="build"):
        run_dbt(settings, ["build", *dbt_args])


@click.command()
@env_option
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after generating.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def docs(ctx, serve, port) -> None:
    """Generate the dbt docs site (the data catalogue) and serve it on 127.0.0.1. Locally it reads
    the tables by their folders, so it runs while the ingester streams and a build runs."""
    from lakehouse import docs as site
    from lakehouse.catalog import name_tables

    settings = settings_of(ctx)
    if settings.dbt_target == "local":
        name_tables(spark_of(settings, with_metastore=False), settings)
    page = site.generate(settings)
    click.echo(f"Docs generated: {page}")
    if serve:
        site.serve(settings, port=port)


@click.command()
@env_option
@format_option("table", "csv", "json")
@click.argument("query")
@click.pass_context
def sql(ctx, fmt, query) -> None:
    """Run a SQL query against an environment's tables (bronze, silver, gold): through the
    environment's SQL warehouse when it runs (``lakehouse warehouse start``), else in a Spark
    session of its own. It reads the tables by their folders, not through the metastore, so it
    runs while the ingester streams and while a build runs."""
    from lakehouse import warehouse as endpoint
    from lakehouse.query import render_csv

    settings = settings_of(ctx)
    server = endpoint.running(settings)
    answer = ask_warehouse(server, query, fmt) if server else ask_spark(settings, query, fmt)
    if isinstance(answer, str):
        click.echo(answer)
        return
    columns, rows = answer
    if fmt == "csv":
        click.echo(render_csv(columns, rows), nl=False)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*["" if v is None else v for v in row])
    console = Console()
    if not console.is_terminal:  # a pipe or a file: whole rows, not folded to 80 columns
        console = Console(width=Console(width=100_000).measure(table).maximum)
    console.print(table)


def failed(first_line: str) -> LakehouseError:
    return LakehouseError(
        f'query failed: {first_line}; list tables with "show tables in silver" (or bronze, gold)'
    )


def ask_spark(settings, query: str, fmt: str):
    """The JSON text, or the columns and text rows, of ``query`` on a session of this process."""
    from pyspark.errors import PySparkException

    from lakehouse.catalog import name_tables
    from lakehouse.query import as_text, render_json

    spark = spark_of(settings, with_metastore=False)
    name_tables(spark, settings)
    try:
        frame = spark.sql(query)
        return render_json(frame) if fmt == "json" else as_text(frame)
    except PySparkException as exc:
        raise failed(str(exc).strip().splitlines()[0]) from exc


def ask_warehouse(server, query: str, fmt: str):
    """The JSON text, or the columns and text rows, of ``query`` on the SQL warehouse."""
    from lakehouse.query import json_array, json_of, json_query, text_of
    from lakehouse.warehouse import QueryFailed, run

    try:
        if fmt == "json":
            try:  # a query: each row written by Spark, as in process
                return json_array(row[0] for row in run(server, json_query(query))[1])
            except QueryFailed:  # a statement that is not a query (show, describe)
                columns, rows = run(server, query)
                return json_array(json_of(columns, row) for row in rows)
        columns, rows = run(server, query)
    except QueryFailed as exc:
        raise failed(str(exc)) from exc
    return columns, [[text_of(v) for v in row] for row in rows]


@click.command()
@env_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="HTML file to write (default: report/index.html in the environment's docs site).",
)
@click.pass_context
def report(ctx, out) -> None:
    """Write a static HTML report of an environment's gold tables: the AI/BI dashboard's pages
    (training load and heart-rate zones per workout, heart rate, gym visits and arrivals), each
    chart drawn from the dashboard's own definition. The page loads nothing from elsewhere. Like
    ``sql``, it reads the tables by their folders, through the SQL warehouse when it runs."""
    from lakehouse import warehouse as endpoint
    from lakehouse.catalog import name_tables
    from lakehouse.report import spark_rows, write_report

    settings = settings_of(ctx)
    server = endpoint.running(settings)
    if server:
        rows = endpoint.warehouse_rows(server)
    else:
        spark = spark_of(settings, with_metastore=False)
        name_tables(spark, settings)
        rows = spark_rows(spark)
    click.echo(f"Report written: {write_report(rows, settings, out)}")


@click.command("warehouse")
@env_option
@click.argument("action", type=click.Choice(["start", "stop", "status", "serve"]))
@click.pass_context
def warehouse_server(ctx, action) -> None:
    """Start, stop or show the environment's local SQL warehouse: Spark's Thrift server with
    Delta on 127.0.0.1 (JDBC/ODBC for BI tools, beeline; ``lakehouse sql`` and ``lakehouse
    report`` use it when it runs). ``serve`` runs it in the foreground."""
    from lakehouse import warehouse as endpoint

    settings = settings_of(ctx)
    if action == "start":
        click.echo(f"SQL warehouse running on {endpoint.start(settings).url}")
    elif action == "stop":
        endpoint.stop(settings)
    elif action == "serve":
        endpoint.serve(endpoint.server_session(settings), settings)
    else:
        server = endpoint.running(settings)
        click.echo(f"running on {server.url}" if server else "not running")
