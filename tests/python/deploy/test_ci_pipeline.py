"""The Azure pipeline and the lint it runs: stages, conditions, secrets, SQL lint configuration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from lakehouse.project import REPO_ROOT as REPO
from tests.python.support.bundle import (
    load_bundle,
    variables_of,
)
from tests.python.support.credentials import scan_text

STAGES = [
    "Lint",
    "UnitTests",
    "IntegrationTests",
    "BuildWheel",
    "DeployTest",
    "IntegrationOnDatabricks",
    "DeployProd",
]
SKIPPED_ON_PULL_REQUESTS = STAGES[3:]
DEPLOY_STAGES = STAGES[4:]


def _pipeline() -> dict:
    return yaml.safe_load((REPO / "azure-pipelines.yml").read_text())


def _stage(name: str) -> dict:
    [stage] = [s for s in _pipeline()["stages"] if s["stage"] == name]
    return stage


def _steps(stage: dict) -> list[dict]:
    steps = []
    for job in stage["jobs"]:
        steps += job.get("steps", [])
        steps += job.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get("steps", [])
    return steps


def _scripts(stage: dict) -> list[tuple[str, dict]]:
    return [(step["script"], step.get("env", {})) for step in _steps(stage) if "script" in step]


def test_pipeline_stages_run_in_order():
    assert [stage["stage"] for stage in _pipeline()["stages"]] == STAGES
    for previous, stage in zip(STAGES, STAGES[1:], strict=False):
        assert _stage(stage)["dependsOn"] == previous


def test_pipeline_runs_on_main_and_validates_pull_requests():
    pipeline = _pipeline()
    assert pipeline["trigger"]["branches"]["include"] == ["main"]
    assert pipeline["pr"]["branches"]["include"] == ["main"]
    for name in STAGES[:3]:
        assert "condition" not in _stage(name), f"{name} must run on pull requests"
    for name in SKIPPED_ON_PULL_REQUESTS:
        condition = " ".join(_stage(name)["condition"].split())
        assert condition.startswith("and(succeeded(),"), name
        assert "ne(variables['Build.Reason'], 'PullRequest')" in condition, name
    assert "eq(variables['Build.SourceBranch'], 'refs/heads/main')" in _stage("DeployProd")[
        "condition"
    ].replace("\n", " ")


def test_pipeline_stages_do_what_they_say():
    def commands(stage):
        return "\n".join(script for script, _ in _scripts(_stage(stage)))

    assert commands("Lint").strip() == "make lint"
    lint = make_dry_run("lint")
    assert "ruff check ingestion simulator tooling tests" in lint
    assert "ruff format --check ingestion simulator tooling tests" in lint
    assert "sqlfluff lint models macros snapshots" in lint
    assert "make .venv/.installed" in commands("UnitTests")
    assert 'pytest -m "not integration"' in commands("UnitTests")
    assert "make test" in [script.strip() for script, _ in _scripts(_stage("IntegrationTests"))]
    assert "python -m build --wheel" in commands("BuildWheel")
    deploy_test = commands("DeployTest")
    assert deploy_test.index("bundle validate -t test") < deploy_test.index("bundle deploy -t test")
    assert "databricks bundle run -t test integration_tests" in commands("IntegrationOnDatabricks")
    assert "databricks bundle deploy -t prod" in commands("DeployProd")
    for stage in ("UnitTests", "IntegrationTests"):
        results = [s for s in _steps(_stage(stage)) if s.get("task") == "PublishTestResults@2"]
        assert results and results[0]["condition"] == "succeededOrFailed()", stage
    published = [
        s["inputs"]["targetPath"]
        for s in _steps(_stage("IntegrationTests"))
        if s.get("task") == "PublishPipelineArtifact@1"
    ]
    assert published == ["artifacts"]


def make_dry_run(target: str) -> str:
    """The commands ``make <target>`` runs (its prerequisites taken as made)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_each_environment_deploys_with_its_own_service_principal():
    """The test stages hold the test service principal's credentials only, the prod stage the
    prod one's only: nothing in a test stage can deploy prod."""
    pipeline = _pipeline()
    assert not [v for v in pipeline.get("variables", []) if "group" in v], "a group for all"
    groups = {name: [v["group"] for v in _stage(name)["variables"]] for name in DEPLOY_STAGES}
    assert groups == {
        "DeployTest": ["smartwatch-lakehouse-test"],
        "IntegrationOnDatabricks": ["smartwatch-lakehouse-test"],
        "DeployProd": ["smartwatch-lakehouse-prod"],
    }
    for stage in STAGES[:4]:
        assert "variables" not in _stage(stage), f"{stage} needs no credentials"


def test_the_databricks_cli_is_pinned_and_verified_before_it_runs():
    script = (REPO / ".ci" / "install-databricks-cli").read_text()
    for stage in DEPLOY_STAGES:
        installs = [s for s, _ in _scripts(_stage(stage)) if "install-databricks-cli" in s]
        assert installs, f"{stage} does not install the pinned CLI"
        assert "install.sh" not in "\n".join(s for s, _ in _scripts(_stage(stage)))
    [choice] = [line for line in script.splitlines() if line.startswith("version=")]
    chosen = subprocess.run(
        ["sh", "-c", f'{choice}; echo "$version"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pinned = re.search(r'"databricks-bundles==([0-9.]+)"', (REPO / "pyproject.toml").read_text())
    assert pinned and chosen == pinned.group(1)
    assert "sha256sum --check --strict" in script
    assert script.index("sha256sum") < script.index("unzip"), "verified before it is unpacked"
    assert script.startswith("#!/bin/sh") and "set -eu" in script


def test_prod_deploys_through_an_approved_environment():
    [job] = _stage("DeployProd")["jobs"]
    assert job["deployment"] == "DeployProd"
    assert job["environment"] == "smartwatch-prod"
    assert {"checkout": "self"} in _steps(_stage("DeployProd"))


def test_pipeline_credentials_come_from_the_variable_group():
    databricks_steps = [
        (script, env)
        for stage in DEPLOY_STAGES
        for script, env in _scripts(_stage(stage))
        if re.search(r"databricks bundle (deploy|run|validate)", script)
    ]
    assert len(databricks_steps) == 3
    for script, env in databricks_steps:
        for name in ("DATABRICKS_HOST", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
            assert env[name] == f"$({name})", script
        assert "DATABRICKS_TOKEN" not in env  # OAuth M2M of the service principal, no PAT
        for name, value in env.items():
            assert re.fullmatch(r"\$\([A-Z][A-Z0-9_]*\)", value), f"{name} is a literal"
    text = (REPO / "azure-pipelines.yml").read_text()
    assert not scan_text(text), scan_text(text)
    assert not re.search(r"azuredatabricks\.net|cloud\.databricks\.com", text)


def test_pipeline_supplies_every_variable_a_target_requires():
    bundle, _ = load_bundle()
    for stage in DEPLOY_STAGES:
        for script, env in _scripts(_stage(stage)):
            for target in re.findall(r"databricks bundle \w+ -t (\w+)", script):
                supplied = {
                    name.removeprefix("BUNDLE_VAR_"): value
                    for name, value in env.items()
                    if name.startswith("BUNDLE_VAR_")
                }
                assert set(supplied) <= set(bundle["variables"]), supplied
                variables_of(bundle, target, supplied)  # no required variable left unset
                if target == "prod":
                    assert "prod_service_principal" in supplied


def _exclude_rules(path: Path) -> set[str]:
    text = path.read_text()
    [rules] = re.findall(r"^exclude_rules\s*=\s*(.+)$", text, flags=re.M)
    return {rule.strip() for rule in rules.split(",")}


def test_macros_lint_config_extends_the_project_config():
    """A nested .sqlfluff replaces exclude_rules rather than adding to it."""
    root, macros = _exclude_rules(REPO / ".sqlfluff"), _exclude_rules(REPO / "macros" / ".sqlfluff")
    assert macros - root == {"LT02"}
    assert root <= macros


def test_sqlfluff_renders_the_projects_vars():
    import importlib.util

    [library] = re.findall(r"^library_path\s*=\s*(\S+)$", (REPO / ".sqlfluff").read_text(), re.M)
    spec = importlib.util.spec_from_file_location("dbt_context", REPO / library / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    for name, value in project["vars"].items():
        assert module.var(name) == value
    assert module.var("not_a_var", "fallback") == "fallback"
