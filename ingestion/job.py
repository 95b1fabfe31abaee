"""Databricks wheel entry point of the standalone ingester (``lakehouse-ingest``).

Parses arguments, builds settings, gets the Spark session and runs the ingester. On Databricks the
session already exists (``getOrCreate`` returns it); bundle variables arrive as CLI parameters.
"""

from __future__ import annotations

import argparse
import logging

from ingestion.ingest import ingest_continuously, ingest_once
from ingestion.settings import load_settings


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
    spark = build_spark(
        settings, app_name=f"lakehouse-ingest-{settings.env.value}", with_metastore=False
    )
    if args.mode == "once":
        ingest_once(spark, settings, kafka=args.kafka)
    else:
        ingest_continuously(spark, settings, kafka=args.kafka)


if __name__ == "__main__":
    main()
