"""``lakehouse-simulate``: write simulated source data where the ingester reads it.

The same command is ``lakehouse simulate`` locally; on Databricks the integration job runs it from
the wheel (``--env test --home <volume> --landing <volume> --clean``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click

from ingestion.errors import LakehouseError
from ingestion.secrets import describe_url, redaction
from ingestion.settings import Env, Settings, load_settings
from simulator.generate import SimulationConfig, generate
from simulator.produce import publish
from simulator.write import write_wave

log = logging.getLogger(__name__)

FIRST_DAY = "2023-03-01"


def simulation_options(f: Callable) -> Callable:
    """The options of a simulation: its size, seed, waves, anomalies and where it goes."""
    options = [
        click.option(
            "--landing",
            "landing_dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Landing zone to write kafka/ and registrations/ into (default: <env>/landing).",
        ),
        click.option("--users", default=20, show_default=True, type=click.IntRange(min=1)),
        click.option("--days", default=3, show_default=True, type=click.IntRange(min=1)),
        click.option("--seed", default=7, show_default=True, type=int),
        click.option(
            "--start", default=FIRST_DAY, show_default=True, help="First day (UTC), YYYY-MM-DD."
        ),
        click.option(
            "--waves",
            default=1,
            show_default=True,
            type=click.IntRange(min=1),
            help="Arrival waves the days are split into.",
        ),
        click.option(
            "--wave",
            "only_wave",
            default=None,
            type=click.IntRange(min=1),
            help="Write only this wave (the same seed regenerates the same data).",
        ),
        click.option(
            "--anomalies/--clean",
            default=True,
            show_default=True,
            help="Inject duplicates, late events and bad input.",
        ),
        click.option(
            "--registrations-url",
            default=None,
            help="SQLAlchemy URL of the registration database to insert into.",
        ),
        click.option(
            "--kafka",
            is_flag=True,
            help="Publish the Kafka records to the broker instead of writing landing files.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="With --kafka: records per second (default: as fast as possible).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def simulate(
    settings: Settings,
    *,
    users: int = 20,
    days: int = 3,
    seed: int = 7,
    start: str = FIRST_DAY,
    waves: int = 1,
    only_wave: int | None = None,
    anomalies: bool = True,
    kafka: bool = False,
    rate: float | None = None,
) -> None:
    """Generate the data set and write its waves: landing files (or Kafka records), registration
    rows and their ground truth, where ``settings`` say the ingester reads them."""
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
    for done, wave in enumerate(chosen, start=1):
        if kafka:
            publish(dataset, wave, bootstrap=settings.kafka_bootstrap_servers, rate=rate, **targets)
        else:
            write_wave(dataset, wave, **targets)
        log.info("Wave %d written (%d of %d)", wave, done, len(chosen))
    log.info(
        "Landing zone: %s; registration DB: %s; ground truth: %s",
        settings.landing,
        describe_url(settings.registrations_db_url),
        settings.truth_dir,
    )


@click.command(name="lakehouse-simulate")
@click.option("--env", type=click.Choice([e.value for e in Env]), default=None)
@click.option(
    "--home", type=click.Path(path_type=Path), default=None, help="Root of the environment's state."
)
@simulation_options
def command(env, home, landing_dir, registrations_url, **options) -> None:
    """Write simulated source data (landing files or Kafka records, registration rows and their
    ground truth) for the ingester to read."""
    settings = load_settings(
        env=env, home=home, landing_dir=landing_dir, registrations_url=registrations_url
    )
    redaction(settings.secret_values())
    simulate(settings, **options)


def main() -> None:
    """Wheel entry point (``lakehouse-simulate``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        command.main(prog_name="lakehouse-simulate", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception:  # logged through the redactor, then a failing exit
        log.exception("lakehouse-simulate failed")
        sys.exit(1)
