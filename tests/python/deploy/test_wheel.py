"""The wheel the jobs run: built by the bundle, its entry points accept what the jobs pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lakehouse.project import REPO_ROOT as REPO
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
    import simulator.cli

    [(_, task, _)] = [
        found
        for found in tasks(resolve("test"), "python_wheel_task")
        if found[1]["python_wheel_task"]["entry_point"] == "lakehouse-simulate"
    ]
    seen = {}
    monkeypatch.setattr(
        simulator.cli, "simulate", lambda settings, **options: seen.update(options, of=settings)
    )
    simulator.cli.command.main(
        task["python_wheel_task"]["parameters"],
        prog_name="lakehouse-simulate",
        standalone_mode=False,
    )
    assert seen["of"].env == "test"
    assert seen["of"].home == Path("/Volumes/smartwatch_test/ingestion/state")
    assert seen["of"].landing == Path("/Volumes/smartwatch_test/ingestion/landing")
    assert seen["anomalies"] is False


#: The tests of the built wheel run in one process: setuptools builds in the repository's own
#: build/ and egg-info folders, so two processes building at once corrupt each other's wheel.
ONE_BUILDER = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel as the bundle builds it (``python -m build --wheel``), in a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("*.whl")
    return built


@ONE_BUILDER
def test_the_wheel_holds_the_runtime_and_the_simulator_only(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    packages = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert packages == {"ingestion", "simulator"}
    assert "ingestion/conf/log4j2.properties" in names
    assert sorted(re.findall(r"^(\S+) = ", scripts, re.M)) == [
        "lakehouse-forget",
        "lakehouse-ingest",
        "lakehouse-simulate",
    ]


@ONE_BUILDER
def test_the_installed_wheels_entry_points_run_and_keep_state_out_of_site_packages(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    probe = (
        "import ingestion, simulator.cli, ingestion.job, ingestion.settings as s;"
        "print(ingestion.__file__); print(simulator.cli.__file__);"
        "print(s.load_settings().home)"
    )
    environment = {**os.environ, "PYTHONPATH": str(target)}
    environment.pop("LAKEHOUSE_HOME", None)
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=work, env=environment, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    package, simulator_module, home = shown.stdout.split()
    assert Path(package).is_relative_to(target) and Path(simulator_module).is_relative_to(target)
    assert Path(home) == work / ".lakehouse"
    for module, entry in (("ingestion.job", "main()"), ("simulator.cli", "main()")):
        helped = subprocess.run(
            [sys.executable, "-c", f"from {module} import main; {entry}", "--help"],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert helped.returncode == 0, helped.stderr
        assert "--env" in helped.stdout and "--landing" in helped.stdout


def test_lakehouse_forget_accepts_every_parameter_the_erasure_job_passes():
    from ingestion.job import parse_forget_args

    for target in TARGETS:
        found = [
            (key, task["python_wheel_task"]["parameters"])
            for key, task, _ in tasks(resolve(target), "python_wheel_task")
            if task["python_wheel_task"]["entry_point"] == "lakehouse-forget"
        ]
        assert {key for key, _ in found} == {"forget_user", "vacuum"}
        job = resolve(target).jobs["forget_user"]
        assert job["parameters"] == [{"name": "user_id", "default": ""}]
        # Databricks puts the run's user_id where the job passes its dynamic value reference
        reference = "{{job.parameters.user_id}}"
        erase, rebuilt, purge = (
            parse_forget_args([p.replace(reference, "42") for p in parameters])
            for _, parameters in found
        )
        assert erase.catalog == rebuilt.catalog == purge.catalog == f"smartwatch_{target}"
        assert (erase.step, erase.user_id) == ("forget", 42)
        assert (rebuilt.step, rebuilt.user_id) == ("rebuilt", 42)
        assert (purge.step, purge.user_id) == ("purge", None)


def test_lakehouse_forget_refuses_a_step_without_its_user_or_a_purge_with_one(capsys):
    from ingestion.job import parse_forget_args

    for argv in (["--step", "forget"], ["--step", "purge", "--user-id", "7"]):
        with pytest.raises(SystemExit) as refused:
            parse_forget_args(["--catalog", "c", *argv])
        assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "--step forget takes a --user-id" in err
    assert "--step purge takes no --user-id" in err
