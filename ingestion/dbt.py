"""Run the dbt project in-process on the environment's Spark session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ingestion.errors import LakehouseError
from ingestion.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

PROJECT_DIR = REPO_ROOT
PROFILES_DIR = REPO_ROOT / "profiles"


def dbt_args(settings: Settings, command: Sequence[str]) -> list[str]:
    """dbt arguments for ``command`` on this environment's target and state folder."""
    return [
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        settings.dbt_target,
        "--target-path",
        str(settings.root / "dbt" / "target"),
        "--log-path",
        str(settings.root / "dbt" / "logs"),
    ]


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


def run_dbt(settings: Settings, command: Sequence[str]) -> None:
    """Invoke dbt; raise LakehouseError naming the failed nodes when it does not succeed."""
    from dbt.cli.main import dbtRunner

    if not (PROJECT_DIR / "dbt_project.yml").exists():
        raise LakehouseError(
            f"no dbt project at {PROJECT_DIR}: run from a clone of the repository "
            "(the wheel carries only the ingester)"
        )
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
