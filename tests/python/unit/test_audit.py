"""The audit's reconciliation of the broker's offsets with bronze, and its verdict."""

from __future__ import annotations

from lakehouse.audit import TopicReconciliation, lost, reconcile_topics


def test_reconcile_topics_counts_offsets_the_broker_holds_and_bronze_lacks(spark):
    bronze = spark.createDataFrame(
        [
            ("kafka", "bpm", 0, 5),
            ("kafka", "bpm", 0, 5),  # a coordinate conflict: one offset
            ("kafka", "bpm", 0, 7),
            ("kafka", "bpm", 0, 9),  # beyond the broker's high watermark: not counted
            ("kafka", "bpm", 1, 0),
            ("landing", "bpm", 0, 6),  # from a landing file, not the broker
            ("kafka", "workout", 0, 2),  # before the broker's low watermark (deleted)
        ],
        "source string, topic string, partition int, offset long",
    )
    offsets = {"bpm": {0: (5, 9), 1: (0, 1)}, "workout": {0: (3, 4)}}
    assert reconcile_topics(bronze, offsets) == [
        TopicReconciliation("bpm", offsets=5, in_bronze=3),
        TopicReconciliation("workout", offsets=1, in_bronze=0),
    ]


def test_lost_when_any_record_is_unaccounted_for():
    fine = {
        "ledger": [{"unaccounted": 0}],
        "landing": {"missing": 0},
        "kafka": [{"missing": 0}],
    }
    assert not lost(fine)
    assert lost({**fine, "ledger": [{"unaccounted": 0}, {"unaccounted": 1}]})
    assert lost({**fine, "landing": {"missing": 2}})
    assert lost({**fine, "kafka": [{"missing": 0}, {"missing": 1}]})
