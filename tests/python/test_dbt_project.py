"""The dbt project parses for every target, including the Databricks ones (offline)."""

from __future__ import annotations

import pytest

from ingestion.dbt import run_dbt
from tests.python.conftest import scenario_settings


@pytest.mark.parametrize("target", ["dev", "test", "prod"])
def test_project_parses_for_databricks_targets(home, target, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "placeholder-for-parsing")
    run_dbt(scenario_settings(home, dbt_target=target), ["parse"])
