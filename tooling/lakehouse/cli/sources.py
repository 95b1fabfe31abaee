"""Stand-ins for the source systems: simulated data, and a local Kafka broker."""

from __future__ import annotations

import click

from lakehouse import broker
from lakehouse.cli.options import env_option, settings_of
from simulator.cli import simulate as write_simulation
from simulator.cli import simulation_options


@click.command()
@env_option
@simulation_options
@click.pass_context
def simulate(ctx, landing_dir, registrations_url, **options) -> None:
    """Generate landing files (or Kafka records), registration rows and their ground truth."""
    settings = settings_of(ctx, landing_dir=landing_dir, registrations_url=registrations_url)
    write_simulation(settings, **options)


@click.command()
@env_option
@click.argument("action", type=click.Choice(["start", "stop", "status"]))
@click.pass_context
def kafka(ctx, action) -> None:
    """Start, stop or show the local single-node Kafka broker (KRaft, 127.0.0.1)."""
    settings = settings_of(ctx)
    if action == "start":
        broker.serve(settings)
        return
    local = broker.Broker.of(settings)
    if action == "stop":
        broker.stop(local)
    else:
        pid = broker.running_pid(local)
        click.echo(f"running on {local.bootstrap} (pid {pid})" if pid else "not running")
