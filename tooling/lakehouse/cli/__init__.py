"""``lakehouse``: simulate, ingest, build, query and demo the smartwatch lakehouse.

One module per command group: ``sources`` (simulate, kafka), ``pipeline`` (ingest, run, status,
audit), ``warehouse`` (build, docs, sql, report), ``demo`` and ``bench``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from rich.logging import RichHandler

from ingestion.errors import LakehouseError
from ingestion.secrets import redaction
from ingestion.settings import Env
from lakehouse.cli import bench, demo, pipeline, sources, warehouse
from lakehouse.cli.options import err_console


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


for command in (
    sources.simulate,
    sources.kafka,
    pipeline.ingest,
    pipeline.run,
    pipeline.status,
    pipeline.audit,
    pipeline.forget,
    warehouse.build,
    warehouse.docs,
    warehouse.sql,
    warehouse.report,
    warehouse.warehouse_server,
    demo.demo,
    bench.bench,
):
    cli.add_command(command)


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
        click.echo(f"error: {redaction(())(message)}", err=True)
        sys.exit(1)
