"""The local SQL warehouse: while the ingester streams, `lakehouse sql` answers the README's
queries through it and sees each of the ingester's commits, `lakehouse report` writes the page
it writes in process, a JDBC client (beeline, as BI tools connect) reads the same tables, `lakehouse
build` goes through it (and builds incrementally), a table built after it started is named within
seconds, and it listens on the loopback address only."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pyspark
import pytest

from lakehouse.project import load_settings
from lakehouse.query import EXAMPLES
from lakehouse.warehouse import REFRESH_SECONDS
from tests.python.support.browser import chart_marks
from tests.python.support.cli import LAKEHOUSE, in_own_process
from tests.python.support.scenario import envelope
from tests.python.support.servers import free_port

T = datetime(2023, 3, 1, 10, 0)
T0 = 1_677_664_800  # T in epoch seconds
#: Gold and silver rows as dbt would leave them (the columns the README's queries and the
#: dashboard read).
TABLES = {
    ("gold", "workout_bpm_summary"): (
        "user_id int, workout_id int, start_time timestamp, age string, min_bpm int, "
        "avg_bpm double, max_bpm int, num_recordings bigint",
        [
            (1, 10, T, "30-39", 60, 71.5, 90, 12),
            (2, 11, T.replace(minute=30, microsecond=500000), "40-49", 65, 80.25, 120, 30),
        ],
    ),
    ("gold", "gym_summary"): (
        "date date, gym string, mac_address string, user_id int, minutes_in_gym double, "
        "login timestamp",
        [(date(2023, 3, 1), "Zürich West", "aa:00:00:00:00:01", 1, 52.0, T)],
    ),
    ("gold", "workout_hr_zones"): (
        "user_id int, workout_id int, session_id int, start_time timestamp, max_hr int, "
        "trimp double, seconds_zone_0 int, seconds_zone_1 int, seconds_zone_2 int, "
        "seconds_zone_3 int, seconds_zone_4 int, seconds_zone_5 int, coverage double",
        [
            (1, 10, 1, T, 190, 0.00005, 60, 0, 0, 0, 0, 0, 0.5),
            (2, 11, 1, T.replace(hour=11), 185, 152.75, 0, 0, 300, 600, 600, 300, 1.0),
            (3, 12, 2, T, 180, 98.5, 0, 120, 600, 300, 60, 0, 0.75),
        ],
    ),
    ("gold", "gym_daily_utilization"): (
        "gym string, date date, visits bigint, members bigint, minutes_in_gym double, "
        "peak_occupancy int",
        [
            ("b", date(2023, 3, 1), 4, 3, 200.0, 2),
            ("a", date(2023, 3, 2), 1, 1, 30.0, 1),
            ("a", date(2023, 3, 1), 2, 2, 90.5, 2),
        ],
    ),
    ("silver", "rejected_events"): (
        "record_id string, reason string",
        [("r1", "malformed json"), ("r2", "unknown topic"), ("r3", "malformed json")],
    ),
}
#: What each README query prints, by hand: the table format prints the rows the CSV does.
ANSWERS = [
    "user_id,workout_id,start_time,age,min_bpm,avg_bpm,max_bpm,num_recordings\n"
    "1,10,2023-03-01 10:00:00,30-39,60,71.5,90,12\n"
    "2,11,2023-03-01 10:30:00.5,40-49,65,80.25,120,30\n",
    [
        {
            "date": "2023-03-01",
            "gym": "Zürich West",
            "mac_address": "aa:00:00:00:00:01",
            "user_id": 1,
            "minutes_in_gym": 52.0,
            "login": "2023-03-01T10:00:00.000000Z",
        }
    ],
    "user_id,start_time,trimp,hard_seconds\n"
    "2,2023-03-01 11:00:00,152.75,900\n"
    "3,2023-03-01 10:00:00,98.5,60\n"
    "1,2023-03-01 10:00:00,5.0E-5,0\n",
    "gym,date,visits,peak_occupancy\na,2023-03-01,2,2\nb,2023-03-01,4,2\na,2023-03-02,1,1\n",
    "reason,count(1)\nmalformed json,2\nunknown topic,1\n",
]
#: The zones chart's bars of user 2's workout: its zones' seconds (written above) in minutes.
WORKOUT = "2023-03-01 11:00 user 2 workout 11 session 1"
ZONE_BARS = [
    {"Workout (start, user, kind, session)": WORKOUT, "Minutes": minutes, "Heart-rate zone": zone}
    for zone, minutes in [
        ("zone 0", "0"),
        ("zone 1", "0"),
        ("zone 2", "5"),
        ("zone 3", "10"),
        ("zone 4", "10"),
        ("zone 5", "5"),
    ]
]


def workouts(offsets: range) -> str:
    """Landing lines: at each of ``offsets`` of the workout topic, user 1 starts workout ``o`` (in
    session 1) ``o`` seconds after ``T``."""
    return "".join(
        envelope("workout", o, "1", workout_start(o), kafka_time=T0 + o) + "\n" for o in offsets
    )


def workout_start(o: int) -> dict:
    return {"user_id": 1, "workout_id": o, "session_id": 1, "action": "start", "timestamp": T0 + o}


def workout_rows(offsets: range) -> tuple[list[str], list[list[str]]]:
    """silver.workouts' rows of ``workouts(offsets)``, as ``rows_of`` reads the CSV answer."""
    header = ["user_id", "workout_id", "session_id", "action", "event_at"]
    rows = [["1", str(o), "1", "start", str(T + timedelta(seconds=o))] for o in offsets]
    return header, sorted(rows)


def streaming(settings, log: Path) -> subprocess.Popen:
    """The ingester streaming the environment's landing files (a trigger a second)."""
    env = {**os.environ, **settings.dbt_env(), "LAKEHOUSE_TRIGGER_INTERVAL": "1 second"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ingestion.job", "--mode", "stream"],
            env={**env, "LAKEHOUSE_DRIVER_MEMORY": "1g"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition, what: str, ingester: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert ingester.poll() is None, f"the ingester stopped before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def write_table(spark, settings, layer: str, name: str, schema: str, rows: list) -> Path:
    folder = settings.layer_dir(layer) / name
    spark.createDataFrame(rows, schema).coalesce(1).write.format("delta").save(str(folder))
    return folder


def loopback_listeners(port: int) -> set[str]:
    """The addresses listening on TCP ``port`` (``/proc/net/tcp`` and ``tcp6``, state 0A)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                ipv4 = bytes.fromhex(address[-8:])[::-1]  # the last 32 bits, little-endian
                v4_mapped = len(address) == 8 or address[:24] == "0000000000000000FFFF0000"
                found.add(".".join(map(str, ipv4)) if v4_mapped else address)
    return found


def rows_of(answer: str) -> tuple[list[str], list[list[str]]]:
    """A CSV answer's header, and its rows sorted."""
    header, *rows = list(csv.reader(io.StringIO(answer)))
    return header, sorted(rows)


@pytest.mark.integration
def test_the_warehouse_answers_the_readme_queries_and_a_jdbc_client(spark, tmp_path):
    home = tmp_path / "home"
    port = free_port()
    env = {"LAKEHOUSE_DRIVER_MEMORY": "1g", "LAKEHOUSE_WAREHOUSE_PORT": str(port)}
    lakehouse = in_own_process(home, {**env, "LAKEHOUSE_SHUFFLE_PARTITIONS": "2"})
    settings = load_settings(env="test", home=home, warehouse_port=port)
    for (layer, name), (schema, rows) in TABLES.items():
        write_table(spark, settings, layer, name, schema, rows)

    sql = ("sql", "--env", "test")
    assert "running on" in lakehouse("warehouse", "start", "--env", "test")
    landing = settings.landing / "kafka"
    landing.mkdir(parents=True)
    (landing / "first.jsonl").write_text(workouts(range(3)))
    ingester = streaming(settings, tmp_path / "ingester.log")
    try:
        url = f"jdbc:hive2://127.0.0.1:{port}/default"
        assert lakehouse("warehouse", "status", "--env", "test").strip() == f"running on {url}"
        assert loopback_listeners(port) == {"127.0.0.1"}

        # the ingester streams into bronze; the warehouse sees each of its commits
        def landed() -> str:
            return lakehouse(
                *sql, "--format", "csv", "select count(*) as n from bronze.kafka_records"
            )

        wait_for(lambda: landed() == "n\n3\n", "the first file in bronze", ingester)
        (landing / "second.jsonl").write_text(workouts(range(3, 5)))
        wait_for(lambda: landed() == "n\n5\n", "the second file in bronze", ingester)

        for (fmt, query), answer in zip(EXAMPLES, ANSWERS, strict=True):
            if fmt == "json":
                assert json.loads(lakehouse(*sql, "--format", "json", query)) == answer
                continue
            printed = lakehouse(*sql, "--format", "csv", query)
            if "order by" in query:
                assert printed == answer, query
            else:  # no order asked for: the same rows, in any order
                assert rows_of(printed) == rows_of(answer), query
        table = lakehouse(*sql, EXAMPLES[0][1])  # the table format prints the CSV's cells
        header, rows = rows_of(ANSWERS[0])
        lines = [[c.strip() for c in line.split("│")[1:-1]] for line in table.splitlines()]
        assert [cells for cells in lines if cells and cells[0].isdigit()] == rows
        assert all(name in table for name in header)
        failed = subprocess.run(
            [str(LAKEHOUSE), "--home", str(home), *sql, "select * from gold.nope"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert failed.returncode == 1
        assert "query failed: [TABLE_OR_VIEW_NOT_FOUND] The table or view `gold`.`nope`" in (
            failed.stderr
        )

        # the report through the warehouse: the page the report writes in process (below)
        through = tmp_path / "through-warehouse.html"
        lakehouse("report", "--env", "test", "--out", str(through))

        # a JDBC client, as BI tools connect
        jars = Path(pyspark.__file__).parent / "jars"
        beeline = subprocess.run(
            ["java", "-cp", f"{jars}/*", "org.apache.hive.beeline.BeeLine", "-u", url]
            + ["--silent=true", "--outputformat=csv2", "-e", EXAMPLES[3][1]],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        assert beeline.stdout.strip().splitlines()[-3:] == ANSWERS[3].strip().splitlines()[-3:]

        # a build goes through the warehouse while it runs: the streamed workout events reach
        # silver.workouts, then (incrementally) the ones streamed after the first build
        build = ("build", "--env", "test", "--select", "+workouts", "--exclude", "test_type:unit")
        columns = ", ".join(workout_rows(range(0))[0])  # the header alone

        def built() -> tuple[list[str], list[list[str]]]:
            query = f"select {columns} from silver.workouts"
            return rows_of(lakehouse(*sql, "--format", "csv", query))

        assert "(target='warehouse')" in lakehouse(*build)
        assert built() == workout_rows(range(5))
        (landing / "third.jsonl").write_text(workouts(range(5, 7)))
        wait_for(lambda: landed() == "n\n7\n", "the third file in bronze", ingester)
        assert "(target='warehouse')" in lakehouse(*build)
        assert built() == workout_rows(range(7))
        folder = settings.layer_dir("silver") / "workouts"
        history = spark.sql(f"describe history delta.`{folder}`").collect()
        operations = [commit.operation for commit in history]
        assert operations.count("CREATE OR REPLACE TABLE AS SELECT") == 1, operations
        assert "MERGE" in operations, operations  # the second build merged the new events

        # a table built after the warehouse started is named within its refresh
        write_table(spark, settings, "gold", "later", "n int", [(7,)])
        deadline = time.monotonic() + 6 * REFRESH_SECONDS
        while "gold,later," not in lakehouse(*sql, "--format", "csv", "show tables in gold"):
            assert time.monotonic() < deadline, "gold.later was not named"
            time.sleep(1)
        assert lakehouse(*sql, "--format", "csv", "select n from gold.later") == "n\n7\n"
    finally:
        ingester.send_signal(signal.SIGTERM)
        ingester.wait(120)
        lakehouse("warehouse", "stop", "--env", "test")
    assert lakehouse("warehouse", "status", "--env", "test").strip() == "not running"
    assert loopback_listeners(port) == set()

    in_process = tmp_path / "in-process.html"
    lakehouse("report", "--env", "test", "--out", str(in_process))
    # with the warehouse stopped a build runs in a Spark of its own, whose metastore never saw
    # the tables the warehouse's builds created: it names them first and builds on them (a
    # snapshot's history is kept), rather than creating them again
    assert "(target='local')" in lakehouse(*build)
    header, rows = workout_rows(range(7))
    stored = spark.read.format("delta").load(str(folder))
    assert sorted([str(v) for v in row] for row in stored.select(*header).collect()) == rows
    history = spark.sql(f"describe history delta.`{folder}`").collect()
    assert [c.operation for c in history].count("CREATE OR REPLACE TABLE AS SELECT") == 1
    page = without_time(through.read_text())
    assert page == without_time(in_process.read_text())
    assert 'class="empty"' not in page  # every widget shows rows written by hand
    bars = chart_marks(page)["zone_minutes_per_workout"]
    workout = [bar for bar in bars if bar["Workout (start, user, kind, session)"] == WORKOUT]
    assert sorted(workout, key=lambda bar: bar["Heart-rate zone"]) == ZONE_BARS


def without_time(page: str) -> str:
    """A report page without the time it was generated at."""
    return re.sub(r'<time datetime="[^"]*">[^<]*</time>', "<time/>", page)
