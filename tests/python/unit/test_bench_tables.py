"""The bench's list of the tables dbt builds, read from a hand-written manifest."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bench.run import built_tables


def node(kind: str, schema: str, alias: str, materialized: str) -> dict:
    return {
        "resource_type": kind,
        "schema": schema,
        "alias": alias,
        "config": {"materialized": materialized},
    }


def test_tables_and_incremental_models_count_views_and_tests_do_not(tmp_path):
    target = tmp_path / "dbt" / "target"
    target.mkdir(parents=True)
    nodes = [
        node("model", "silver", "heart_rate", "incremental"),
        node("model", "gold", "gym_summary", "table"),
        node("model", "bronze", "stg_kafka__bpm", "view"),
        node("model", "silver", "device_assignments", "view"),
        node("test", "silver", "unique_heart_rate", "test"),
        node("snapshot", "silver", "user_profile_snapshots", "snapshot"),
    ]
    manifest = {"nodes": {f"n{i}": n for i, n in enumerate(nodes)}}
    (target / "manifest.json").write_text(json.dumps(manifest))

    assert built_tables(SimpleNamespace(root=tmp_path)) == ["silver.heart_rate", "gold.gym_summary"]
