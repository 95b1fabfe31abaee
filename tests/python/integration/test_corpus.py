"""A corpus of bad and awkward input, as real exporters and brokers deliver it, fed through the
documented commands (``lakehouse ingest --once --landing DIR``, then ``lakehouse run``): every
record ends where the contract says, nothing is lost, and the build stays green."""

from __future__ import annotations

import json

import pytest

from tests.python.support.corpus import (
    BAD_LINES,
    INVALID_UTF8,
    assert_contract_outcome,
    build_corpus,
    lakehouse,
    normalized,
    run_corpus,
)
from tests.python.support.oracle import record_id
from tests.python.support.tables import read_all


@pytest.mark.integration
def test_every_kind_of_input_ends_where_the_contract_says(catalog, home, monkeypatch, capsys):
    spark = catalog
    corpus = build_corpus()
    landing = home / "landing-in"
    folder = landing / "kafka"

    def cli(*args: str) -> str:
        return lakehouse(monkeypatch, capsys, home, *args)

    # the data tests hold on this input; the unit tests (fixed inputs) run in the waves' build
    files = run_corpus(corpus, landing, cli, "--exclude", "test_type:unit")
    ledger = {r.record_id: r for r in spark.table("silver.record_ledger").collect()}
    assert_contract_outcome(corpus, ledger, read_all(spark))

    # the file no stream loads is reported
    status = json.loads(
        lakehouse(monkeypatch, capsys, home, "status", "--env", "test", "--format", "json")
    )
    assert status["unmatched_files"] == [str(folder / "README.txt")]

    # the audit reconciles the landing files with bronze, and bronze with the ledger
    report = json.loads(
        lakehouse(
            monkeypatch,
            capsys,
            home,
            *["audit", "--env", "test", "--landing", str(landing), "--format", "json"],
        )
    )
    identities = {record_id(normalized(r)) for case in corpus.cases for r in case.records}
    offered = len(identities) + len(BAD_LINES) + len(INVALID_UTF8)
    lines = sum(len(case.records) for case in corpus.cases) + len(BAD_LINES) + len(INVALID_UTF8)
    assert report["landing"] == {
        "files": len(files),
        "lines": lines,
        "records": offered,
        "in_bronze": offered,
        "erased": 0,
        "missing": 0,
    }
    kafka_rows = [row for row in report["ledger"] if row["source"] in ("landing", "kafka")]
    assert sum(row["records"] for row in kafka_rows) == offered
    assert [row["unaccounted"] for row in report["ledger"]] == [0] * len(report["ledger"])
    exports = [row for row in report["ledger"] if row["source"] == "export"]
    assert [(row["records"], row["accepted"]) for row in exports] == [(1, 1)]
