"""What `lakehouse sql` prints through the SQL warehouse: the values its client returns written
as Spark writes them in process, and the server's errors worded as Spark words them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from lakehouse.project import REPO_ROOT
from lakehouse.query import example_commands, json_of, json_query, text_of
from lakehouse.warehouse import server_message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("Zürich", "Zürich"),
        (True, "true"),
        (7, "7"),
        (Decimal("1.50"), "1.50"),
        (date(2023, 3, 1), "2023-03-01"),
        (datetime(2023, 3, 1, 10, 0), "2023-03-01 10:00:00"),
        (datetime(2023, 3, 1, 10, 0, 0, 500000), "2023-03-01 10:00:00.5"),
        (datetime(2023, 3, 1, 10, 0, 0, 123456), "2023-03-01 10:00:00.123456"),
        (71.5, "71.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (72.0, "72.0"),
        (0.0, "0.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (12345678.9, "1.23456789E7"),
        (1e7, "1.0E7"),
        (-2.5e-7, "-2.5E-7"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_a_value_is_written_as_spark_casts_it_to_text(value, text):
    assert text_of(value) == text


def test_a_query_is_asked_for_its_rows_as_spark_writes_them_in_json():
    assert json_query("select * from gold.gym_summary;\n") == (
        "select to_json(struct(*), map('timestampFormat', \"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX\")) "
        "from (select * from gold.gym_summary) as answer"
    )


def test_a_row_of_a_statement_that_is_no_query_is_a_json_object_without_nulls():
    row = ("bronze", "kafka_records", False, None, 3)
    columns = ["namespace", "tableName", "isTemporary", "comment", "n"]
    assert json_of(columns, row) == (
        '{"namespace":"bronze","tableName":"kafka_records","isTemporary":false,"n":3}'
    )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (
            "Error running query: [TABLE_OR_VIEW_NOT_FOUND] org.apache.spark.sql.AnalysisException:"
            " [TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. SQLSTATE: 42P01",
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. SQLSTATE: 42P01",
        ),
        (
            "Error running query: [PARSE_SYNTAX_ERROR] org.apache.spark.sql.catalyst.parser."
            "ParseException: \n[PARSE_SYNTAX_ERROR] Syntax error at or near 'form'.\n== SQL ==",
            "[PARSE_SYNTAX_ERROR] Syntax error at or near 'form'.",
        ),
        ("", "the server gave no reason"),
    ],
)
def test_a_server_error_is_its_first_line_without_the_servers_wrapping(reason, message):
    assert server_message(reason) == message


def test_the_readme_shows_the_example_queries():
    readme = (REPO_ROOT / "README.md").read_text()
    shown = re.findall(r"^\.venv/bin/lakehouse sql --env dev .*$", readme, flags=re.M)
    assert shown == example_commands("dev")
    assert example_commands("dev")[1] == (
        '.venv/bin/lakehouse sql --env dev --format json "select * from gold.gym_summary"'
    )
