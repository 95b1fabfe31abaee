"""The `lakehouse` command: answers in the asked format, fails in one clear line."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sys

import pytest

from lakehouse.cli import main
from lakehouse.dbt import build_target
from lakehouse.project import load_settings
from lakehouse.warehouse import HOST, Warehouse
from tests.python.support.cli import run_cli
from tests.python.support.servers import free_port

QUERY = (
    "select 1 as n, 'a,b' as s, timestamp'2023-03-10 12:26:08.123456' as at, "
    "cast(null as string) as missing"
)


def test_sql_json_answers_with_typed_values(spark, home, monkeypatch, capsys):
    code, out, _ = run_cli(
        monkeypatch, capsys, "--home", str(home), "sql", "--env", "test", "--format", "json", QUERY
    )
    assert code == 0
    assert json.loads(out) == [{"n": 1, "s": "a,b", "at": "2023-03-10T12:26:08.123456Z"}]


def test_sql_csv_quotes_and_keeps_microseconds(spark, home, monkeypatch, capsys):
    code, out, _ = run_cli(
        monkeypatch, capsys, "--home", str(home), "sql", "--env", "test", "--format", "csv", QUERY
    )
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["n", "s", "at", "missing"],
        ["1", "a,b", "2023-03-10 12:26:08.123456", ""],
    ]


def test_bad_query_fails_in_one_line_with_a_hint(spark, home, monkeypatch, capsys):
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "--home",
        str(home),
        "sql",
        "--env",
        "test",
        "select * from silver.no_such_table",
    )
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "TABLE_OR_VIEW_NOT_FOUND" in lines[0] and "show tables in silver" in lines[0]


def test_bad_flag_value_fails_in_one_line(home, monkeypatch, capsys):
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "--home",
        str(home),
        "simulate",
        "--env",
        "test",
        "--start",
        "March 1st",
    )
    assert code == 1
    assert err.strip() == "error: --start 'March 1st' is not a date: use YYYY-MM-DD"


def test_verbose_shows_the_traceback(home, monkeypatch, capsys):
    monkeypatch.setattr(
        sys,
        "argv",
        ["lakehouse", "--verbose", "--home", str(home), "simulate", "--start", "March 1st"],
    )
    with pytest.raises(Exception, match="is not a date"):
        main()


@pytest.mark.parametrize("option", [["--target", "prod"], ["--project-dir=elsewhere"]])
def test_run_refuses_a_dbt_option_the_environment_sets_before_ingesting(
    home, monkeypatch, capsys, option
):
    code, _, err = run_cli(
        monkeypatch, capsys, "--home", str(home), "run", "--env", "test", *option
    )
    assert code == 1
    name = option[0].split("=")[0]
    assert err.strip() == (
        f"error: {name} is set from the environment (test): choose it with --env and --home, "
        "and a Databricks target with `lakehouse build --target`"
    )
    assert not (home / "test" / "bronze").exists(), "nothing was ingested"


def test_a_build_through_a_warehouse_that_does_not_run_fails_saying_how_to_start_it(
    home, monkeypatch, capsys
):
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE_PORT", str(free_port()))
    code, _, err = run_cli(
        monkeypatch, capsys, "--home", str(home), "build", "--env", "test", "--target", "warehouse"
    )
    assert code == 1
    assert err.strip() == (
        "error: the warehouse target builds through the SQL warehouse of test, which does not "
        "run: start it with `lakehouse warehouse start --env test`, or build in a Spark of the "
        "command's own with --target local"
    )
    assert not (home / "test" / "dbt").exists(), "dbt did not start"


def test_a_build_takes_the_warehouse_when_it_runs_and_no_target_is_given(home, monkeypatch):
    port = free_port()
    settings = load_settings(env="test", home=home, warehouse_port=port)
    assert build_target(settings) == "local"
    server = Warehouse.of(settings)
    server.root.mkdir(parents=True)
    server.pid_file.write_text(str(os.getpid()))  # a live process: this test's
    assert build_target(settings) == "local", "a pid without a listener is no warehouse"
    with socket.socket() as listener:
        listener.bind((HOST, port))
        listener.listen()
        assert build_target(settings) == "warehouse"
        given = load_settings(env="test", home=home, warehouse_port=port, dbt_target="local")
        assert build_target(given) == "local"
        monkeypatch.setenv("LAKEHOUSE_DBT_TARGET", "prod")
        assert build_target(load_settings(env="test", home=home, warehouse_port=port)) == "prod"
