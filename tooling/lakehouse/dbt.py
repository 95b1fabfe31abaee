"""Run the dbt project in-process: on the environment's Spark session (the local target, with the
ingester's bronze tables registered first), through the environment's SQL warehouse (the
warehouse target), or on Databricks."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import yaml

from ingestion.errors import LakehouseError
from lakehouse.project import PROFILES_DIR, PROJECT_DIR, LocalSettings

log = logging.getLogger(__name__)

#: dbt commands that run no SQL, so need no Spark session.
OFFLINE = {"parse", "clean", "debug", "deps", "ls", "list"}
#: The targets that build this machine's tables: in a Spark of the command's own, or through the
#: environment's SQL warehouse.
LOCAL_TARGETS = ("local", "warehouse")


def build_target(settings: LocalSettings) -> str:
    """The target a build takes: the one given (``--target``, ``LAKEHOUSE_DBT_TARGET``), else the
    SQL warehouse when it runs (a Spark that stays up and warm builds faster), else a Spark of
    the command's own."""
    from lakehouse import warehouse

    if "dbt_target" in settings.model_fields_set:
        return settings.dbt_target
    return "warehouse" if warehouse.running(settings) else "local"


def require_warehouse(settings: LocalSettings) -> None:
    from lakehouse import warehouse

    if not warehouse.running(settings):
        env = settings.env.value
        raise LakehouseError(
            f"the warehouse target builds through the SQL warehouse of {env}, which does not "
            f"run: start it with `lakehouse warehouse start --env {env}`, or build in a Spark of "
            "the command's own with --target local"
        )


def with_topics(settings: LocalSettings, command: Sequence[str]) -> list[str]:
    """``command`` with the ingester's topic names in dbt's ``--vars`` (merged into the vars the
    command gives; a topics var the command gives wins)."""
    args, given = [], {}
    rest = iter(command)
    for arg in rest:
        if arg == "--vars" or arg.startswith("--vars="):
            text = arg.partition("=")[2] if "=" in arg else next(rest, "")
            given = parse_vars(text)
        else:
            args.append(arg)
    return [*args, "--vars", json.dumps({"topics": settings.topics.model_dump(), **given})]


def parse_vars(text: str) -> dict:
    """dbt's ``--vars`` value: a YAML (or JSON) mapping."""
    try:
        found = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise LakehouseError(f"--vars {text!r} is not YAML: write '{{name: value}}'") from exc
    if not isinstance(found, dict):
        raise LakehouseError(f"--vars {text!r} is not a mapping: write '{{name: value}}'")
    return found


def environment_options(settings: LocalSettings) -> dict[str, str]:
    """The dbt options this environment decides: its project, profiles, target and folders."""
    return {
        "--project-dir": str(PROJECT_DIR),
        "--profiles-dir": str(PROFILES_DIR),
        "--target": settings.dbt_target,
        "--target-path": str(settings.root / "dbt" / "target"),
        "--log-path": str(settings.root / "dbt" / "logs"),
    }


def refuse_environment_options(settings: LocalSettings, command: Sequence[str]) -> None:
    """Fail, before any work, when ``command`` passes a dbt option the environment decides
    (refused, not silently overridden; ``-t`` is dbt's short ``--target``)."""
    decided = {*environment_options(settings), "-t"}
    given = [name for name in (a.split("=", 1)[0] for a in command) if name in decided]
    if given:
        raise LakehouseError(
            f"{given[0]} is set from the environment ({settings.env.value}): choose it with "
            "--env and --home, and a Databricks target with `lakehouse build --target`"
        )


def dbt_args(settings: LocalSettings, command: Sequence[str]) -> list[str]:
    """dbt arguments for ``command`` on this environment's target and state folder, with the
    ingester's topic names."""
    refuse_environment_options(settings, command)
    options = environment_options(settings)
    return [*with_topics(settings, command), *(part for item in options.items() for part in item)]


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` in the process environment (where dbt's ``env_var`` reads them) while the
    block runs; the environment as it was afterwards."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def name_local_tables(settings: LocalSettings) -> None:
    """Name the environment's tables in the session dbt-spark will use (the running one, or a new
    one for this environment): the ingester's bronze tables, and any table its metastore lacks
    (one a build through the SQL warehouse created), so dbt builds on them rather than anew."""
    from pyspark.sql import SparkSession

    from ingestion.spark import build_spark
    from lakehouse.catalog import name_tables

    spark = SparkSession.getActiveSession() or build_spark(
        settings, app_name=f"lakehouse-{settings.env.value}", with_metastore=True
    )
    name_tables(spark, settings)


def run_dbt(settings: LocalSettings, command: Sequence[str]) -> None:
    """Invoke dbt; raise LakehouseError naming the failed nodes when it does not succeed."""
    from dbt.cli.main import dbtRunner

    if not (PROJECT_DIR / "dbt_project.yml").exists():
        raise LakehouseError(
            f"no dbt project at {PROJECT_DIR}: run from a clone of the repository "
            "(the wheel carries only the ingester)"
        )
    if settings.dbt_target == "local" and command[0] not in OFFLINE:
        name_local_tables(settings)
    if settings.dbt_target == "warehouse" and command[0] not in OFFLINE:
        require_warehouse(settings)  # it named the bronze tables when it started
    args = dbt_args(settings, command)
    log.info(
        "dbt %s (target %s, env %s)", " ".join(command), settings.dbt_target, settings.env.value
    )
    with environment(settings.dbt_env()):
        result = dbtRunner().invoke(args)
    if result.exception is not None:
        detail = " ".join(str(result.exception).split())
        raise LakehouseError(f"dbt {command[0]} could not run: {detail}") from result.exception
    if not result.success:
        failed = [
            f"{r.node.name} ({r.status})"
            for r in (result.result or [])
            if str(r.status) in {"error", "fail", "runtime error"}
        ]
        raise LakehouseError(
            f"dbt {command[0]} failed: {', '.join(failed) or 'see the log above'}; "
            f"details in {settings.root / 'dbt' / 'logs' / 'dbt.log'}"
        )
