"""``lakehouse``: simulate, ingest, build, query and demo the smartwatch lakehouse."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import track
from rich.table import Table

from ingestion.errors import LakehouseError
from ingestion.settings import Env, Settings, load_settings

log = logging.getLogger("ingestion")
err_console = Console(stderr=True)


def _settings(ctx: click.Context, **overrides) -> Settings:
    return load_settings(**ctx.obj, **overrides)


def _spark(settings: Settings, *, with_metastore: bool):
    from ingestion.spark import build_spark

    return build_spark(
        settings, app_name=f"lakehouse-{settings.env.value}", with_metastore=with_metastore
    )


@click.group()
@click.option(
    "--env",
    "env",
    type=click.Choice([e.value for e in Env]),
    default=None,
    help="Environment (default: dev, or LAKEHOUSE_ENV).",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Root of local state (default: .lakehouse/ in the repository, or LAKEHOUSE_HOME).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="TOML settings file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, env, home, config_file, verbose) -> None:
    """Smartwatch lakehouse: Kafka and registrations into bronze, dbt into silver and gold."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=verbose)],
    )
    for noisy in ("py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = {"env": env, "home": home, "config_file": config_file}
    ctx.meta["verbose"] = verbose


def env_option(f):
    """``--env`` accepted after the sub-command too (``lakehouse sql --env dev ...``)."""

    def store(ctx: click.Context, _param, value):
        if value is not None:
            ctx.obj["env"] = value
        return value

    return click.option(
        "--env",
        type=click.Choice([e.value for e in Env]),
        default=None,
        expose_value=False,
        callback=store,
        help="Environment.",
    )(f)


def landing_option(f):
    return click.option(
        "--landing",
        "landing_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Landing zone with kafka/ and registrations/ (default: <env>/landing).",
    )(f)


def registrations_url_option(f):
    return click.option(
        "--registrations-url", default=None, help="SQLAlchemy URL of the registration database."
    )(f)


# simulate ---------------------------------------------------------------------------------------
@cli.command()
@env_option
@landing_option
@click.option("--users", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--start", default="2023-03-01", show_default=True, help="First day (UTC), YYYY-MM-DD."
)
@click.option(
    "--waves",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Arrival waves the days are split into.",
)
@click.option(
    "--wave",
    "only_wave",
    default=None,
    type=click.IntRange(min=1),
    help="Write only this wave (the same seed regenerates the same data).",
)
@click.option(
    "--anomalies/--clean",
    default=True,
    show_default=True,
    help="Inject duplicates, late events and bad input.",
)
@registrations_url_option
@click.option(
    "--kafka",
    is_flag=True,
    help="Publish the Kafka records to the broker instead of writing landing files.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="With --kafka: records per second (default: as fast as possible).",
)
@click.pass_context
def simulate(
    ctx,
    landing_dir,
    users,
    days,
    seed,
    start,
    waves,
    only_wave,
    anomalies,
    registrations_url,
    kafka,
    rate,
) -> None:
    """Generate landing files (or Kafka records), registration rows and their ground truth."""
    settings = _settings(ctx, landing_dir=landing_dir, registrations_url=registrations_url)
    _simulate(
        settings,
        users=users,
        days=days,
        seed=seed,
        start=start,
        waves=waves,
        only_wave=only_wave,
        anomalies=anomalies,
        kafka=kafka,
        rate=rate,
    )


def _simulate(
    settings: Settings,
    *,
    users: int,
    days: int,
    seed: int,
    start: str,
    waves: int,
    only_wave: int | None,
    anomalies: bool,
    kafka: bool = False,
    rate: float | None = None,
) -> None:
    from ingestion.simulator import SimulationConfig, generate
    from ingestion.simulator.produce import publish
    from ingestion.simulator.write import write_wave

    try:
        first_day = date.fromisoformat(start)
    except ValueError as exc:
        raise LakehouseError(f"--start {start!r} is not a date: use YYYY-MM-DD") from exc
    if only_wave is not None and only_wave > waves:
        raise LakehouseError(f"--wave {only_wave} is beyond --waves {waves}: pick 1..{waves}")
    try:
        config = SimulationConfig(
            seed=seed,
            users=users,
            days=days,
            waves=waves,
            start=first_day,
            anomalies=anomalies,
            topics=settings.topics.model_dump(),
        )
        dataset = generate(config)
    except ValueError as exc:
        raise LakehouseError(f"cannot simulate: {exc}") from exc
    chosen = [only_wave] if only_wave else list(range(1, waves + 1))
    targets = settings.simulation_targets()
    for wave in track(chosen, description="Writing waves", console=err_console):
        if kafka:
            publish(dataset, wave, bootstrap=settings.kafka_bootstrap_servers, rate=rate, **targets)
        else:
            write_wave(dataset, wave, **targets)
    log.info(
        "Landing zone: %s; registration DB: %s; ground truth: %s",
        settings.landing,
        settings.registrations_db_url,
        settings.truth_dir,
    )


# kafka -----------------------------------------------------------------------------------------
@cli.command()
@env_option
@click.argument("action", type=click.Choice(["start", "stop", "status"]))
@click.pass_context
def kafka(ctx, action) -> None:
    """Start, stop or show the local single-node Kafka broker (KRaft, 127.0.0.1)."""
    from ingestion import broker

    settings = _settings(ctx)
    local = broker.Broker.of(settings)
    if action == "start":
        broker.start(local)
        broker.create_topics(local.bootstrap, settings.topics.names())
    elif action == "stop":
        broker.stop(local)
    else:
        pid = broker.running_pid(local)
        click.echo(f"running on {local.bootstrap} (pid {pid})" if pid else "not running")


# ingest ----------------------------------------------------------------------------------------
@cli.command()
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
@registrations_url_option
@click.pass_context
def ingest(ctx, landing_dir, once, kafka, registrations_url) -> None:
    """Land Kafka records, landing files and registration rows in bronze, exactly once."""
    settings = _settings(ctx, landing_dir=landing_dir, registrations_url=registrations_url)
    spark = _spark(settings, with_metastore=False)
    _ingest(spark, settings, once=once, kafka=kafka)


def _ingest(spark, settings: Settings, *, once: bool, kafka: bool) -> None:
    from ingestion.ingest import ingest_continuously, ingest_once

    if once:
        report = ingest_once(spark, settings, kafka=kafka)
        for name, rows in report.rows.items():
            log.info("%s: %d row(s) read", name, rows)
    else:
        ingest_continuously(spark, settings, kafka=kafka)


# status ----------------------------------------------------------------------------------------
@cli.command()
@env_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.pass_context
def status(ctx, fmt) -> None:
    """Ingester progress: last batch and rows/s per stream, Kafka lag per topic, registrations."""
    import json

    from ingestion.ingest import STREAM_NAMES
    from ingestion.status import report

    found = report(_settings(ctx), stream_names=STREAM_NAMES)
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


# build -----------------------------------------------------------------------------------------
@cli.command(context_settings={"ignore_unknown_options": True})
@env_option
@click.option(
    "--target",
    "dbt_target",
    default=None,
    help="dbt target (default: local; dev/test/prod are the Databricks targets).",
)
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def build(ctx, dbt_target, dbt_args) -> None:
    """Run ``dbt build`` (extra arguments go to dbt, e.g. ``--select silver``)."""
    settings = _settings(ctx, dbt_target=dbt_target)
    _build(settings, list(dbt_args))


def _build(settings: Settings, extra: list[str], spark=None) -> None:
    from ingestion.catalog import register_bronze
    from ingestion.dbt import run_dbt

    if settings.dbt_target == "local":
        spark = spark or _spark(settings, with_metastore=True)
        register_bronze(spark, settings)
    run_dbt(settings, ["build", *extra])


# docs ------------------------------------------------------------------------------------------
@cli.command()
@env_option
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve after generating.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def docs(ctx, serve, port) -> None:
    """Generate the dbt docs site (the data catalogue) and serve it on 127.0.0.1."""
    from ingestion import docs as site
    from ingestion.catalog import register_bronze

    settings = _settings(ctx)
    if settings.dbt_target == "local":
        register_bronze(_spark(settings, with_metastore=True), settings)
    page = site.generate(settings)
    click.echo(f"Docs generated: {page}")
    if serve:
        site.serve(settings, port=port)


# run -------------------------------------------------------------------------------------------
@cli.command()
@env_option
@landing_option
@click.pass_context
def run(ctx, landing_dir) -> None:
    """Ingest what is available, then build silver and gold."""
    settings = _settings(ctx, landing_dir=landing_dir)
    spark = _spark(settings, with_metastore=True)
    _ingest(spark, settings, once=True, kafka=False)
    _build(settings, [], spark)


# sql -------------------------------------------------------------------------------------------
@cli.command()
@env_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.argument("query")
@click.pass_context
def sql(ctx, fmt, query) -> None:
    """Run a SQL query against an environment's tables (bronze, silver, gold)."""
    from pyspark.errors import PySparkException

    from ingestion.catalog import register_bronze
    from ingestion.query import as_text, render_csv, render_json

    settings = _settings(ctx)
    spark = _spark(settings, with_metastore=True)
    register_bronze(spark, settings)
    try:
        frame = spark.sql(query)
        if fmt == "json":
            click.echo(render_json(frame))
            return
        columns, rows = as_text(frame)
    except PySparkException as exc:
        first = str(exc).strip().splitlines()[0]
        raise LakehouseError(
            f'query failed: {first}; list tables with "show tables in silver" (or bronze, gold)'
        ) from exc
    if fmt == "csv":
        click.echo(render_csv(columns, rows), nl=False)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*["" if v is None else v for v in row])
    Console().print(table)


# audit -----------------------------------------------------------------------------------------
@cli.command()
@env_option
@landing_option
@click.option(
    "--kafka/--no-kafka",
    default=False,
    show_default=True,
    help="Also reconcile with the broker's offsets.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_context
def audit(ctx, landing_dir, kafka, fmt) -> None:
    """The record ledger per day, source and topic, reconciled with the landing files and the
    broker; exits non-zero when any record is unaccounted for."""
    import json

    from ingestion import audit as ledger
    from ingestion.catalog import register_bronze

    settings = _settings(ctx, landing_dir=landing_dir)
    spark = _spark(settings, with_metastore=True)
    register_bronze(spark, settings)
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
            f"{files['missing']} missing"
        )
        for topic in report.get("kafka", []):
            console.print(
                f"Kafka {topic['topic']}: {topic['offsets']} offset(s) on the broker, "
                f"{topic['in_bronze']} in bronze, {topic['missing']} missing"
            )
    if ledger.lost(report):
        raise LakehouseError(
            "records are unaccounted for (see above): run `lakehouse ingest` and `lakehouse "
            "build` again; if they stay missing, check the ingester's log and the checkpoints"
        )


# demo ------------------------------------------------------------------------------------------
@cli.command()
@env_option
@click.option("--users", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--kafka", is_flag=True, help="Go through a local Kafka broker instead of files.")
@click.pass_context
def demo(ctx, users, days, seed, kafka) -> None:
    """Simulate, ingest and build on the embedded default, then summarise what landed where."""
    from ingestion import broker
    from ingestion.demo import summary

    settings = _settings(ctx)
    if kafka:
        local = broker.Broker.of(settings)
        broker.start(local)
        broker.create_topics(local.bootstrap, settings.topics.names())
    _simulate(
        settings,
        users=users,
        days=days,
        seed=seed,
        start="2023-03-01",
        waves=1,
        only_wave=None,
        anomalies=True,
        kafka=kafka,
    )
    spark = _spark(settings, with_metastore=True)
    _ingest(spark, settings, once=True, kafka=kafka)
    _build(settings, [], spark)  # registers bronze in the metastore too
    click.echo(summary(spark, settings))
    if kafka:
        click.echo("The broker keeps running: stop it with `.venv/bin/lakehouse kafka stop`.")


# bench -----------------------------------------------------------------------------------------
@cli.command()
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
    default=Path("docs/benchmarks.md"),
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
@click.pass_context
def bench(ctx, sizes, kafka_size, users, days, document, add_to_last) -> None:
    """Measure ingestion throughput, incremental build cost, freshness and memory; write the table
    and plots."""
    import shutil

    from ingestion.bench import report, run

    settings = _settings(ctx)
    home = settings.home / "bench"
    shutil.rmtree(home, ignore_errors=True)
    spark = _spark(load_settings(env="dev", home=home / "session"), with_metastore=True)
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


def main() -> None:
    """Console entry point: one clear line on failure (``--verbose`` for the traceback)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # the CLI's last line of defence
        ctx = click.get_current_context(silent=True)
        if "-v" in sys.argv or "--verbose" in sys.argv or (ctx and ctx.meta.get("verbose")):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not isinstance(exc, LakehouseError):
            message = f"{type(exc).__name__}: {message} (run again with --verbose for details)"
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
