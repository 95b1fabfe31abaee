"""Databricks wheel entry point of the standalone ingester (``lakehouse-ingest``).

Parses arguments, builds settings, gets the Spark session and runs the ingester. On Databricks the
session already exists (``getOrCreate`` returns it); bundle variables arrive as CLI parameters.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from ingestion.ingest import ingest_continuously, ingest_once
from ingestion.secrets import redaction
from ingestion.settings import load_settings

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakehouse-ingest", description=__doc__)
    parser.add_argument("--env", choices=["dev", "test", "prod"], default=None)
    parser.add_argument("--home", default=None, help="Root of the environment's state.")
    parser.add_argument("--landing", dest="landing_dir", default=None)
    parser.add_argument("--mode", choices=["once", "stream"], default="once")
    parser.add_argument("--kafka", action="store_true", help="Also read the Kafka broker.")
    parser.add_argument("--kafka-bootstrap-servers", default=None)
    parser.add_argument("--trigger-interval", default=None)
    parser.add_argument(
        "--catalog",
        default=None,
        help="Unity Catalog catalog of the bronze tables (<catalog>.bronze.<table>).",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from ingestion.spark import build_spark

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    args = parse_args(argv)
    settings = load_settings(
        env=args.env,
        home=args.home,
        landing_dir=args.landing_dir,
        kafka_bootstrap_servers=args.kafka_bootstrap_servers,
        trigger_interval=args.trigger_interval,
        catalog=args.catalog,
    )
    redaction(settings.secret_values())
    try:
        spark = build_spark(
            settings, app_name=f"lakehouse-ingest-{settings.env.value}", with_metastore=False
        )
        if args.mode == "once":
            ingest_once(spark, settings, kafka=args.kafka)
        else:
            ingest_continuously(spark, settings, kafka=args.kafka)
    except Exception:  # logged through the redactor (no secret in the job's log), then a failure
        log.exception("lakehouse-ingest failed")
        sys.exit(1)


#: The erasure job's steps (lakehouse-forget --step): bronze and the snapshots without the user;
#: after dbt rebuilt silver and gold, the user counted out of every table and a vacuum; the daily
#: vacuum, which writes the receipts of the erasures whose files it deleted.
FORGET_STEPS = ("forget", "rebuilt", "purge")


def parse_forget_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lakehouse-forget",
        description="Erase one user from a catalog's tables (the Databricks erasure job): "
        "--step forget removes them from bronze and the snapshots; --step rebuilt, after dbt "
        "rebuilt silver and gold, records that they are in no table and vacuums; --step purge "
        "(daily) vacuums and writes the receipt of each erasure whose files it deleted.",
    )
    parser.add_argument("--env", choices=["dev", "test", "prod"], default=None)
    parser.add_argument("--home", default=None, help="Root of the environment's state.")
    parser.add_argument("--landing", dest="landing_dir", default=None)
    parser.add_argument("--catalog", required=True, help="Unity Catalog catalog of the tables.")
    parser.add_argument("--step", choices=FORGET_STEPS, required=True)
    parser.add_argument("--user-id", type=int, help="The user to erase (steps forget, rebuilt).")
    args = parser.parse_args(argv)
    if (args.user_id is None) != (args.step == "purge"):
        parser.error(f"--step {args.step} takes {'no' if args.step == 'purge' else 'a'} --user-id")
    return args


def forget_main(argv: list[str] | None = None) -> None:
    """Wheel entry point ``lakehouse-forget`` (the erasure job's Python steps)."""
    from ingestion import erasure
    from ingestion.spark import build_spark

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_forget_args(argv)
    settings = load_settings(
        env=args.env, home=args.home, landing_dir=args.landing_dir, catalog=args.catalog
    )
    redaction(settings.secret_values())
    try:
        spark = build_spark(settings, app_name="lakehouse-forget", with_metastore=False)
        if args.step == "forget":
            snapshots = erasure.catalog_snapshots(spark, settings)
            erasure.forget(spark, settings, args.user_id, snapshots)
        elif args.step == "rebuilt":
            erasure.mark_removed(spark, settings, args.user_id, datetime.now(UTC))
            erasure.purge_history(spark, settings)
        else:
            erasure.purge_history(spark, settings)
    except Exception:  # logged through the redactor, then a failure
        log.exception("lakehouse-forget failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
