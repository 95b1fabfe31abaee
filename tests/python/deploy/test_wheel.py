"""The wheel the jobs run: built by the bundle, its entry points accept what the jobs pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestion.settings import REPO_ROOT as REPO
from tests.python.support.bundle import (
    TARGETS,
    load_bundle,
    project_metadata,
    relative,
    resolve,
    tasks,
)


def test_the_bundle_builds_the_projects_wheel():
    bundle, _ = load_bundle()
    [artifact] = bundle["artifacts"].values()
    assert artifact["type"] == "whl"
    assert (REPO / artifact["path"] / "pyproject.toml").is_file()
    assert artifact["build"] == "python -m build --wheel"  # writes dist/*.whl


@pytest.mark.parametrize("target", TARGETS)
def test_wheel_tasks_call_the_wheels_entry_points(target):
    project = project_metadata()
    scripts = project["scripts"]
    distribution = re.sub(r"[-_.]+", "_", project["name"]).lower()
    found = tasks(resolve(target), "python_wheel_task")
    assert found
    for key, task, source in found:
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == distribution == "smartwatch_lakehouse"
        assert wheel["entry_point"] in scripts, f"{key}: {wheel['entry_point']} is not in the wheel"
        whl = [lib["whl"] for lib in task["libraries"] if "whl" in lib]
        assert [relative(source, path) for path in whl] == ["dist/*.whl"], key


@pytest.mark.parametrize("target", TARGETS)
def test_lakehouse_ingest_accepts_every_parameter_the_bundle_passes(target):
    from ingestion.job import parse_args

    found = [
        (key, task["python_wheel_task"]["parameters"])
        for key, task, _ in tasks(resolve(target), "python_wheel_task")
        if task["python_wheel_task"]["entry_point"] == "lakehouse-ingest"
    ]
    assert len(found) >= 2
    for key, parameters in found:
        try:
            args = parse_args(parameters)
        except SystemExit:
            pytest.fail(f"{target}/{key}: lakehouse-ingest rejects {parameters}")
        assert args.env == target
        assert args.catalog == f"smartwatch_{target}"
        assert args.home == f"/Volumes/smartwatch_{target}/ingestion/state"


def test_lakehouse_simulate_accepts_the_integration_tests_parameters(monkeypatch):
    import ingestion.cli

    [(_, task, _)] = [
        found
        for found in tasks(resolve("test"), "python_wheel_task")
        if found[1]["python_wheel_task"]["entry_point"] == "lakehouse"
    ]
    parameters = task["python_wheel_task"]["parameters"]
    seen = {}
    command = ingestion.cli.cli.commands[parameters[parameters.index("simulate")]]
    monkeypatch.setattr(command, "callback", lambda **kwargs: seen.update(kwargs))
    ingestion.cli.cli.main(parameters, prog_name="lakehouse", standalone_mode=False)
    assert seen["landing_dir"] == Path("/Volumes/smartwatch_test/ingestion/landing")
    assert seen["anomalies"] is False
