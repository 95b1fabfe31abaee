"""Spark's fixed cost on tiny data, one setting at a time.

``python -m bench.knobs`` runs the same small pipeline (a simulated day of four users with bad
input: ingest into bronze, a full ``dbt build`` with every unit and data test, then a ``dbt run``
with no new input) once per setting, each in a fresh process with one setting changed from the
local default, and prints each run's seconds and its ratio to the default's, side by side.
Results are kept in docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Each setting measured, against the local default (``ingestion.spark.spark_conf`` and
#: profiles/profiles.yml): Spark settings, dbt's command-line options (``--``), or the process
#: environment (``$``, which every JVM the process starts inherits).
KNOBS: dict[str, dict[str, str]] = {
    "default": {},
    "JVM: C1 compiler only": {"$JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"},
    "dbt threads 2": {"--threads": "2"},
    "shuffle partitions 1": {"spark.sql.shuffle.partitions": "1"},
    "Delta statistics not collected": {"spark.databricks.delta.stats.collect": "false"},
    "Delta log checkpoint every 100 commits": {
        "spark.databricks.delta.properties.defaults.checkpointInterval": "100"
    },
    "whole-stage code generation off": {"spark.sql.codegen.wholeStage": "false"},
    "all code generation off": {
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    },
    "adaptive query execution off": {"spark.sql.adaptive.enabled": "false"},
    "Delta deletion vectors off": {
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false"
    },
    "JVM: parallel garbage collector": {"$JAVA_TOOL_OPTIONS": "-XX:+UseParallelGC"},
}
AS_OF = json.dumps({"as_of_date": "2023-03-10"})


def split(knob: dict[str, str]) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """A setting's Spark configuration, dbt options and environment variables."""
    conf = {k: v for k, v in knob.items() if not k.startswith(("--", "$"))}
    options = [part for k, v in knob.items() if k.startswith("--") for part in (k, v)]
    environment = {k[1:]: v for k, v in knob.items() if k.startswith("$")}
    return conf, options, environment


def run_one(home: Path, knob: dict[str, str]) -> dict[str, float]:
    """The small pipeline with ``knob`` on top of the test settings; seconds per stage."""
    from ingestion.ingest import ingest_once
    from ingestion.spark import build_spark
    from lakehouse.dbt import run_dbt
    from lakehouse.project import load_settings
    from simulator import SimulationConfig, generate
    from simulator.write import write_wave

    conf, options, _ = split(knob)
    partitions = conf.get("spark.sql.shuffle.partitions", "2")
    settings = load_settings(
        env="test", home=home, shuffle_partitions=int(partitions), driver_memory="2g"
    )
    dataset = generate(SimulationConfig(seed=3, users=4, days=1, waves=1, anomalies=True))
    write_wave(dataset, 1, **settings.simulation_targets())
    took = {}
    start = time.perf_counter()
    spark = build_spark(settings, app_name="knobs", with_metastore=True)
    for key, value in conf.items():
        spark.conf.set(key, value)
    took["start"] = time.perf_counter() - start
    for stage, work in (
        ("ingest", lambda: ingest_once(spark, settings)),
        ("build", lambda: run_dbt(settings, ["build", *options, "--vars", AS_OF])),
        ("no-input run", lambda: run_dbt(settings, ["run", *options, "--vars", AS_OF])),
    ):
        start = time.perf_counter()
        work()
        took[stage] = time.perf_counter() - start
    spark.stop()
    return took


def measure(names: list[str]) -> dict[str, dict[str, float] | str]:
    """Each named setting's stage times, each from its own process; for a setting whose run
    fails, the end of its error instead (the other settings are still measured)."""
    results: dict[str, dict[str, float] | str] = {}
    for name in names:
        log.info("Measuring: %s", name)
        _, _, environment = split(KNOBS[name])
        with tempfile.TemporaryDirectory(prefix="knobs-") as home:
            done = subprocess.run(
                [sys.executable, "-m", "bench.knobs", "--one", name, "--home", home],
                env={**os.environ, **environment},
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode == 0:
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            results[name] = " ".join(done.stderr.strip().splitlines()[-1:])[:300]
        log.info("%s: %s", name, results[name])
    return results


def table(results: dict[str, dict[str, float] | str]) -> str:
    """Markdown: each setting's seconds per stage and in all, and its total against the
    default's (``results`` holds "default"); a failed setting's row gives its error."""
    stages = list(results["default"])
    base = sum(results["default"].values())
    lines = [
        "| setting | " + " | ".join(f"{s} (s)" for s in stages) + " | total (s) | / default |",
        "|---" * (len(stages) + 3) + "|",
    ]
    for name, took in results.items():
        if isinstance(took, str):
            lines.append(f"| {name} | fails: {took} |" + " |" * (len(stages) + 1))
            continue
        total = sum(took.values())
        cells = " | ".join(f"{took[s]:.1f}" for s in stages)
        lines.append(f"| {name} | {cells} | {total:.1f} | {total / base:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=list(KNOBS), help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", choices=list(KNOBS), help="settings to measure")
    args = parser.parse_args()
    if args.one:
        logging.basicConfig(level=logging.WARNING)
        sys.stdout.write(json.dumps(run_one(args.home, KNOBS[args.one])) + "\n")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = ["default", *[n for n in (args.only or KNOBS) if n != "default"]]
    sys.stdout.write(table(measure(names)) + "\n")


if __name__ == "__main__":
    main()
