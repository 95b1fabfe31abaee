"""How an incremental model reads its parent's new commits, three ways, side by side.

``python -m bench.reads`` (from ``tooling/``) writes a table shaped like ``bronze.kafka_records``
(row tracking and Delta's change data feed on) in hourly commits, then one more commit of 1% new
rows, and times reading exactly the rows of that last commit:

- **version range** (what the models do): rows whose ``row_commit_version`` lies after the
  version last read, with the earliest ``ingested_at`` of those rows as a literal, so that Delta
  skips the files that cannot hold them; the two metadata queries that find the range count;
- **version range, no pruning**: the same filter without the ``ingested_at`` literal (Delta
  cannot skip files by row version);
- **change data feed**: ``table_changes`` between the two versions;

and what each costs to write: the same MERGE that updates 1% of the rows, on a table with and
without the change data feed. It also times finding a high-water mark kept as data:
``max()`` of a column over the whole table. Each measure runs ``--repeat`` times; the median is
printed, with its ratio to the version range's (a read) or to the MERGE without the change data
feed (a write). Results are kept in docs/decisions.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

#: The columns of the table: a Kafka record's, as bronze keeps it.
COLUMNS = (
    "id",
    "concat('bpm/0/', id) as record_id",
    "'bpm' as topic",
    "0 as `partition`",
    "id as `offset`",
    "repeat(cast(id as string), 12) as value",
    "timestamp_seconds(1700000000 + {hour} * 3600 + id % 3600) as ingested_at",
)
SCHEMA = (
    "id bigint, record_id string, topic string, `partition` int, `offset` bigint, value string, "
    "ingested_at timestamp"
)
PROPERTIES = "'delta.enableRowTracking' = 'true', 'delta.enableChangeDataFeed' = '{feed}'"


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``work`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rows_of(spark, start: int, count: int, hour: int) -> DataFrame:
    """``count`` records with ids from ``start``, ingested in hour ``hour``."""
    return spark.range(start, start + count).selectExpr(*[c.format(hour=hour) for c in COLUMNS])


def write_commits(spark, path: Path, rows: int, commits: int, feed: bool) -> None:
    """``rows`` rows in ``commits`` hourly appends to a new Delta table at ``path``."""
    spark.sql(
        f"create table delta.`{path}` ({SCHEMA}) using delta "
        f"tblproperties ({PROPERTIES.format(feed=str(feed).lower())})"
    )
    per_commit = rows // commits
    for hour in range(commits):
        rows_of(spark, hour * per_commit, per_commit, hour).write.format("delta").mode(
            "append"
        ).save(str(path))


def latest_version(spark, path: Path) -> int:
    return spark.sql(f"describe history delta.`{path}` limit 1").first().version


def version_range(spark, path: Path, last: int, prune: bool) -> tuple:
    """The rows committed after version ``last``, read as the models read them."""
    current = latest_version(spark, path)
    where = f"_metadata.row_commit_version > {last} and _metadata.row_commit_version <= {current}"
    if prune:
        bound = f"select cast(min(ingested_at) as string) from delta.`{path}` where {where}"
        earliest = spark.sql(bound).first()[0]
        where += f" and ingested_at >= timestamp '{earliest}'"
    return spark.sql(f"select count(*), sum(hash(value)) from delta.`{path}` where {where}").first()


def change_feed(spark, path: Path, last: int) -> tuple:
    """The rows committed after version ``last``, read from the change data feed."""
    current = latest_version(spark, path)
    return spark.sql(
        f"select count(*), sum(hash(value)) from table_changes_by_path('{path}', {last + 1}, "
        f"{current}) where _change_type = 'insert'"
    ).first()


def merge_one_percent(spark, path: Path, rows: int) -> None:
    """A MERGE that rewrites the value of 1% of the rows, spread over the table."""
    spark.sql(
        f"merge into delta.`{path}` as t using (select id, 'changed' as value from range(0, "
        f"{rows}, 100)) as s on t.id = s.id when matched then update set value = s.value"
    )


def measure(spark, folder: Path, rows: int, commits: int, repeat: int) -> dict[str, float]:
    """Seconds per read and per write (medians), on tables under ``folder``."""
    tables = {feed: folder / f"feed-{feed}" for feed in (True, False)}
    for feed, path in tables.items():
        log.info("Writing %d rows in %d commits (change data feed %s)", rows, commits, feed)
        write_commits(spark, path, rows, commits, feed)
    path = tables[True]
    last = latest_version(spark, path)
    new = rows // 100
    for table in tables.values():
        rows_of(spark, rows, new, commits).write.format("delta").mode("append").save(str(table))
    expected = version_range(spark, path, last, prune=False)
    assert expected[0] == new, f"the last commit holds {new} rows, read {expected[0]}"
    reads = {
        "version range (models)": lambda: version_range(spark, path, last, prune=True),
        "version range, no pruning": lambda: version_range(spark, path, last, prune=False),
        "change data feed": lambda: change_feed(spark, path, last),
        "finding a high-water mark: max() over the table": lambda: spark.sql(
            f"select max(ingested_at) from delta.`{path}`"
        ).first(),
    }
    for name, read in list(reads.items())[:3]:
        assert read() == expected, f"{name} read other rows than the last commit's"
    took = {name: median_seconds(read, repeat) for name, read in reads.items()}
    for feed, table in tables.items():
        name = f"MERGE of 1% of rows, change data feed {'on' if feed else 'off'}"
        took[name] = median_seconds(lambda t=table: merge_one_percent(spark, t, rows), repeat)
    return took


def report(took: dict[str, float]) -> str:
    """Markdown: each measure's seconds, a read's against the models' read, a write's against
    the MERGE without the change data feed."""
    base_read = took["version range (models)"]
    base_write = took["MERGE of 1% of rows, change data feed off"]
    lines = ["| measure | median (s) | ratio |", "|---|---:|---:|"]
    for name, seconds in took.items():
        base = base_write if name.startswith("MERGE") else base_read
        lines.append(f"| {name} | {seconds:.2f} | {seconds / base:.2f} |")
    return "\n".join(lines)


def main() -> None:
    from ingestion.spark import build_spark
    from lakehouse.project import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--commits", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="reads-") as home:
        settings = load_settings(env="test", home=home, shuffle_partitions=2, driver_memory="4g")
        spark = build_spark(settings, app_name="bench-reads", with_metastore=False)
        try:
            took = measure(spark, Path(home) / "tables", args.rows, args.commits, args.repeat)
        finally:
            spark.stop()
    sys.stdout.write(report(took) + "\n")


if __name__ == "__main__":
    main()
