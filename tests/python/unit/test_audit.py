"""The audit's reconciliation of the broker's offsets with bronze, and its verdict."""

from __future__ import annotations

from datetime import datetime

from ingestion.erasure import SUPPRESSED_SCHEMA, Suppression, subject_of
from lakehouse.audit import TopicReconciliation, lost, reconcile_topics

KEY = b"the environment's key"


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
    # bpm 0/6 and 0/8 are not in bronze: 0/6 was erased (its coordinates listed), 0/8 is lost;
    # 0/7, in bronze, is listed too (a record of another content at an erased one's offset)
    listed = [("bpm/0/6", "offset"), ("bpm/0/7", "offset"), ("bpm/0/8", "record")]
    subjects = spark.createDataFrame(
        [
            (subject_of(value, KEY, kind), kind, None, datetime(2026, 1, 1))
            for value, kind in listed
        ],
        SUPPRESSED_SCHEMA,
    )
    # workout 0/3 is held back (an erased user's device's, until a registration decides);
    # the held-back line from a landing file at bpm 0/8's coordinates is not the broker's
    held = spark.createDataFrame(
        [("kafka", "workout", 0, 3), ("landing", "bpm", 0, 8)],
        "source string, topic string, partition int, offset long",
    )
    found = reconcile_topics(bronze, offsets, Suppression(subjects, KEY), held)
    assert found == [
        TopicReconciliation("bpm", offsets=5, in_bronze=3, erased=1, held=0),
        TopicReconciliation("workout", offsets=1, in_bronze=0, erased=0, held=1),
    ]
    assert [t.missing for t in found] == [1, 0]


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
