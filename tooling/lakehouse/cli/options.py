"""What every ``lakehouse`` command shares: the environment's settings, its Spark session, and the
options several commands take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console

from ingestion.secrets import redaction
from ingestion.settings import Env
from lakehouse.project import LocalSettings, load_settings

err_console = Console(stderr=True)


def settings_of(ctx: click.Context, **overrides) -> LocalSettings:
    """The settings of the group's environment, with a command's own flags on top; their secrets
    are kept out of every log line from here on."""
    settings = load_settings(**ctx.obj, **overrides)
    redaction(settings.secret_values())
    return settings


def spark_of(settings: LocalSettings, *, with_metastore: bool):
    from ingestion.spark import build_spark

    return build_spark(
        settings, app_name=f"lakehouse-{settings.env.value}", with_metastore=with_metastore
    )


def env_option(f: Callable) -> Callable:
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


def landing_option(f: Callable) -> Callable:
    return click.option(
        "--landing",
        "landing_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Landing zone with kafka/ and registrations/ (default: <env>/landing).",
    )(f)


def format_option(*choices: str) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )
