"""The read-path benchmark's table: each read against the models' read, each write against the
MERGE without the change data feed."""

from __future__ import annotations

from bench.reads import report


def test_reads_and_writes_are_each_held_to_their_own_baseline():
    took = {
        "version range (models)": 0.8,
        "change data feed": 0.2,
        "MERGE of 1% of rows, change data feed on": 3.0,
        "MERGE of 1% of rows, change data feed off": 2.5,
    }
    assert report(took).splitlines() == [
        "| measure | median (s) | ratio |",
        "|---|---:|---:|",
        "| version range (models) | 0.80 | 1.00 |",
        "| change data feed | 0.20 | 0.25 |",
        "| MERGE of 1% of rows, change data feed on | 3.00 | 1.20 |",
        "| MERGE of 1% of rows, change data feed off | 2.50 | 1.00 |",
    ]
