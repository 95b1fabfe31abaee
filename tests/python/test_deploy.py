"""Deployment files, checked offline: the Databricks bundle, the Azure pipeline, the SQL lint
configuration, and the absence of committed credentials."""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import yaml
from databricks.bundles.jobs import Job
from jinja2 import Template

from tests.python.test_dbt_project import GROUPS

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("dev", "test", "prod")

# What CI passes as BUNDLE_VAR_* (placeholders: only their presence and their flow matter here).
SUPPLIED = {
    "warehouse_id": "0123456789abcdef",
    "kafka_bootstrap_servers": "broker.example.net:9093",
    "prod_service_principal": "00000000-0000-0000-0000-000000000001",
}
# References the Databricks CLI itself resolves at deploy time.
RUNTIME_REFERENCES = ("workspace.", "resources.")
#: What a Databricks dbt task installs (dbt-spark runs only on the local target).
DBT_ON_DATABRICKS = {"dbt-core", "dbt-databricks"}
REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.\[\]-]*)\}")


# Bundle loading ---------------------------------------------------------------------------------
def _merge(into: dict, other: dict) -> dict:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def load_bundle() -> tuple[dict, dict[str, Path]]:
    """databricks.yml with its includes merged, and the file each job is defined in."""
    bundle = yaml.safe_load((REPO / "databricks.yml").read_text())
    sources: dict[str, Path] = {}
    for pattern in bundle.get("include", []):
        for path in sorted(REPO.glob(pattern)):
            part = yaml.safe_load(path.read_text())
            assert "include" not in part and "bundle" not in part, path
            jobs = dict(part.get("resources", {}).get("jobs", {}))
            for target in part.get("targets", {}).values():
                jobs.update(target.get("resources", {}).get("jobs", {}))
            for key in jobs:
                assert key not in sources, f"job {key} defined twice"
                sources[key] = path
            _merge(bundle, part)
    return bundle, sources


def _substitute(value, context: dict[str, str]):
    if isinstance(value, dict):
        return {key: _substitute(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, context) for item in value]
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: str(context.get(m.group(1), m.group(0))), value)
    return value


def variables_of(bundle: dict, target: str, supplied: dict[str, str]) -> dict[str, str]:
    """The target's variable values, as `bundle validate -t target` resolves them."""
    values = {name: spec.get("default") for name, spec in bundle["variables"].items()}
    values.update(bundle["targets"][target].get("variables") or {})
    values.update({k: v for k, v in supplied.items() if k in values})
    missing = sorted(name for name, value in values.items() if value is None)
    assert not missing, f"target {target}: no value for variables {missing}"
    context = {"bundle.target": target, "bundle.name": bundle["bundle"]["name"]}
    for _ in range(len(values)):  # variables may reference variables
        context.update({f"var.{name}": value for name, value in values.items()})
        values = _substitute(values, context)
    return values


@dataclass
class Target:
    name: str
    config: dict  # the target's own block, resolved
    variables: dict[str, str]
    jobs: dict[str, dict]  # resolved job definitions
    sources: dict[str, Path]


def resolve(target: str, supplied: dict[str, str] = SUPPLIED) -> Target:
    bundle, sources = load_bundle()
    variables = variables_of(bundle, target, supplied)
    own = bundle["targets"][target] or {}
    resources = _merge(copy.deepcopy(bundle.get("resources", {})), own.get("resources", {}))
    context = {f"var.{name}": value for name, value in variables.items()}
    context.update({"bundle.target": target, "bundle.name": bundle["bundle"]["name"]})
    return Target(
        name=target,
        config=_substitute({k: v for k, v in own.items() if k != "resources"}, context),
        variables=variables,
        jobs=_substitute(resources.get("jobs", {}), context),
        sources=sources,
    )


def unresolved(value) -> set[str]:
    text = yaml.safe_dump(value)
    return {ref for ref in REFERENCE.findall(text) if not ref.startswith(RUNTIME_REFERENCES)}


def tasks(target: Target, kind: str) -> list[tuple[str, dict, Path]]:
    """(job key, task, defining file) of every task of one kind (e.g. python_wheel_task)."""
    return [
        (key, task, target.sources[key])
        for key, job in target.jobs.items()
        for task in job["tasks"]
        if kind in task
    ]


def _relative(source: Path, path: str) -> str:
    """A path in a bundle file, relative to that file as the Databricks CLI reads it."""
    return os.path.normpath(PurePosixPath(source.parent.relative_to(REPO)) / path)


# The bundle -------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
def test_every_job_is_a_valid_databricks_job(target):
    resolved = resolve(target)
    assert resolved.jobs
    assert not unresolved(resolved.variables) and not unresolved(resolved.config)
    for key, job in resolved.jobs.items():
        assert not unresolved(job), f"{target}/{key}: unresolved {unresolved(job)}"
        settings = copy.deepcopy(job)
        if "run_as" in resolved.config:  # the target's run_as and permissions apply to each job
            settings["run_as"] = resolved.config["run_as"]
        settings["permissions"] = [
            {**p, "level": {"CAN_RUN": "CAN_MANAGE_RUN"}.get(p["level"], p["level"])}
            for p in resolved.config.get("permissions", [])
        ]
        Job.from_dict(settings)


def test_a_job_with_an_unknown_field_is_rejected():
    job = copy.deepcopy(resolve("test").jobs["dbt_build"])
    job["tasks"][0]["dbt_task"]["profile_directory"] = "profiles"
    with pytest.raises(ValueError, match="profile_directory"):
        Job.from_dict(job)


def test_each_target_has_its_own_catalog():
    catalogs = {target: resolve(target).variables["catalog"] for target in TARGETS}
    assert catalogs == {t: f"smartwatch_{t}" for t in TARGETS}
    for target in TARGETS:
        state_root = resolve(target).variables["state_root"]
        assert state_root.startswith(f"/Volumes/{catalogs[target]}/"), state_root


def test_modes_and_identities():
    dev, test, prod = (resolve(target) for target in TARGETS)
    assert dev.config["mode"] == "development" and dev.config.get("default") is True
    assert "mode" not in test.config
    assert prod.config["mode"] == "production"
    assert prod.config["run_as"] == {"service_principal_name": SUPPLIED["prod_service_principal"]}
    assert "run_as" not in dev.config and "run_as" not in test.config
    # one copy of prod per workspace (production mode wants an explicit root path)
    assert prod.config["workspace"]["root_path"] == (
        "/Workspace/Users/${workspace.current_user.userName}/.bundle/smartwatch_lakehouse/prod"
    )
    grants = {p["group_name"]: p["level"] for p in prod.config["permissions"]}
    assert grants == {GROUPS["engineers"]: "CAN_MANAGE", GROUPS["analysts"]: "CAN_VIEW"}


@pytest.mark.parametrize("target", TARGETS)
def test_jobs_and_dbt_grant_to_the_same_groups(target):
    """The bundle's group variables default to the groups dbt grants to, and every cluster that
    runs dbt hands them to dbt (DBT_*_GROUP), so one setting renames a group everywhere."""
    resolved = resolve(target)
    names = {role: resolved.variables[f"{role}_group"] for role in GROUPS}
    assert names == GROUPS
    pii_readers = resolved.variables["pii_readers_group"]
    for key, _, _ in tasks(resolved, "dbt_task"):
        for cluster in resolved.jobs[key]["job_clusters"]:
            env = cluster["new_cluster"]["spark_env_vars"]
            assert env["DBT_ENGINEERS_GROUP"] == names["engineers"], key
            assert env["DBT_ANALYSTS_GROUP"] == names["analysts"], key
            assert env["DBT_PII_READERS_GROUP"] == pii_readers, key


def test_prod_without_a_service_principal_has_no_run_as_identity():
    """`bundle validate -t prod` rejects an empty run_as, so prod cannot silently run as the
    deployer when CI forgets BUNDLE_VAR_prod_service_principal."""
    unset = {k: v for k, v in SUPPLIED.items() if k != "prod_service_principal"}
    assert resolve("prod", unset).config["run_as"] == {"service_principal_name": ""}


def test_test_and_prod_keep_their_secrets_apart():
    scopes = {target: resolve(target).variables["secret_scope"] for target in TARGETS}
    assert len(set(scopes.values())) == len(TARGETS), scopes
    for target in TARGETS:
        resolved = resolve(target)
        for key, job in resolved.jobs.items():
            for cluster in job.get("job_clusters", []):
                env = cluster["new_cluster"].get("spark_env_vars", {})
                for name, value in env.items():
                    if name.startswith("LAKEHOUSE_"):
                        assert re.fullmatch(
                            rf"\{{\{{secrets/{scopes[target]}/[\w-]+\}}\}}", value
                        ), f"{target}/{key}: {name} is not a secret of scope {scopes[target]}"


def test_integration_tests_exist_only_in_test():
    assert "integration_tests" in resolve("test").jobs
    assert "integration_tests" not in resolve("dev").jobs
    assert "integration_tests" not in resolve("prod").jobs


def test_integration_tests_simulate_then_ingest_then_build():
    job = resolve("test").jobs["integration_tests"]
    order = [task["task_key"] for task in job["tasks"]]
    assert order == ["simulate", "ingest_once", "dbt_build"]
    for previous, task in zip(job["tasks"], job["tasks"][1:], strict=False):
        assert task["depends_on"] == [{"task_key": previous["task_key"]}]
    simulate, ingest, build = job["tasks"]
    landing = resolve("test").variables["landing_root"]
    assert landing == "/Volumes/smartwatch_test/ingestion/landing"
    for task in (simulate, ingest):
        params = task["python_wheel_task"]["parameters"]
        assert params[params.index("--landing") + 1] == landing
    assert params[params.index("--mode") + 1] == "once"
    assert build["dbt_task"]["commands"] == ["dbt build --target test"]


def test_streaming_ingester_runs_on_a_job_cluster():
    for target in TARGETS:
        job = resolve(target).jobs["ingester_stream"]
        assert "continuous" in job and "schedule" not in job
        clusters = {c["job_cluster_key"]: c for c in job["job_clusters"]}
        [task] = job["tasks"]
        assert "environment_key" not in task and not job.get("environments")
        cluster = clusters[task["job_cluster_key"]]["new_cluster"]
        assert cluster["num_workers"] >= 1
        assert cluster["spark_version"].endswith("-scala2.13")
        params = task["python_wheel_task"]["parameters"]
        assert params[params.index("--mode") + 1] == "stream"
        assert "--kafka" in params


def test_only_prod_runs_unattended_and_one_ingester_mode_at_a_time():
    for target in TARGETS:
        jobs = resolve(target).jobs
        stream = jobs["ingester_stream"]["continuous"]["pause_status"]
        batch = jobs["ingester_available_now"]["schedule"]["pause_status"]
        dbt = jobs["dbt_build"]["schedule"]["pause_status"]
        assert (stream, batch).count("UNPAUSED") <= 1, f"{target}: both ingesters share checkpoints"
        expected = "UNPAUSED" if target == "prod" else "PAUSED"
        assert (stream, dbt) == (expected, expected), target


def test_the_hourly_build_tests_recent_rows_and_a_daily_job_tests_all():
    """The hourly build's data tests read the rows of the last hours (the variable of
    macros/test_window.sql); every test on every row runs daily."""
    jobs = resolve("prod").jobs
    (hourly,) = jobs["dbt_build"]["tasks"][0]["dbt_task"]["commands"]
    build = shlex.split(hourly)
    assert build[:2] == ["dbt", "build"]
    window = yaml.safe_load(build[build.index("--vars") + 1])["test_window_hours"]
    assert jobs["dbt_build"]["schedule"]["quartz_cron_expression"] == "0 0 * * * ?"  # hourly
    assert window >= 2, "a window of two hourly runs: a late run still tests its rows"
    full = jobs["dbt_full_tests"]
    assert full["tasks"][0]["dbt_task"]["commands"] == ["dbt test --target prod"]
    assert full["schedule"]["quartz_cron_expression"].split()[3:5] == ["*", "*"], "daily"
    assert full["schedule"]["pause_status"] == jobs["dbt_build"]["schedule"]["pause_status"]


@pytest.mark.parametrize("target", TARGETS)
def test_dbt_tasks_build_their_own_target(target):
    resolved = resolve(target)
    found = tasks(resolved, "dbt_task")
    assert found
    for key, task, source in found:
        dbt = task["dbt_task"]
        commands = [shlex.split(command) for command in dbt["commands"]]
        assert all(c[0] == "dbt" and c[c.index("--target") + 1] == target for c in commands), key
        # Own profiles: the task then takes neither warehouse_id nor catalog.
        assert not {"warehouse_id", "catalog"} & set(dbt), key
        project = REPO / _relative(source, dbt["project_directory"])
        assert (project / "dbt_project.yml").is_file()
        profiles = yaml.safe_load(
            (project / dbt["profiles_directory"] / "profiles.yml").read_text()
        )
        assert profiles["smartwatch_lakehouse"]["outputs"][target]["type"] == "databricks"
        packages = {lib["pypi"]["package"] for lib in task["libraries"] if "pypi" in lib}
        # the pins of pyproject.toml, the one place versions are chosen
        pinned = {p for p in _project()["optional-dependencies"]["local"] if p.startswith("dbt-")}
        assert packages == {p for p in pinned if p.split("==")[0] in DBT_ON_DATABRICKS}, key
        # The environment the Databricks profile reads.
        [cluster] = [
            c["new_cluster"]
            for c in resolved.jobs[key]["job_clusters"]
            if c["job_cluster_key"] == task["job_cluster_key"]
        ]
        env = cluster["spark_env_vars"]
        assert env["DATABRICKS_CATALOG"] == f"smartwatch_{target}"
        assert env["DATABRICKS_HTTP_PATH"] == f"/sql/1.0/warehouses/{SUPPLIED['warehouse_id']}"
        assert env["DATABRICKS_HOST"] == "${workspace.host}"


def test_databricks_profile_takes_the_token_the_dbt_task_injects():
    profiles = yaml.safe_load((REPO / "profiles" / "profiles.yml").read_text())
    outputs = profiles["smartwatch_lakehouse"]["outputs"]

    def render(template: str, env: dict[str, str]) -> str:
        return Template(template).render(env_var=lambda name, default=None: env.get(name, default))

    for target in TARGETS:
        token = outputs[target]["token"]
        assert render(token, {"DBT_ACCESS_TOKEN": "<injected>"}) == "<injected>"
        both = {"DATABRICKS_TOKEN": "<given>", "DBT_ACCESS_TOKEN": "<injected>"}
        assert render(token, both) == "<given>"
        assert render(outputs[target]["catalog"], {}) == f"smartwatch_{target}"


# The wheel and its entry points -----------------------------------------------------------------
def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_the_bundle_builds_the_projects_wheel():
    bundle, _ = load_bundle()
    [artifact] = bundle["artifacts"].values()
    assert artifact["type"] == "whl"
    assert (REPO / artifact["path"] / "pyproject.toml").is_file()
    assert artifact["build"] == "python -m build --wheel"  # writes dist/*.whl


@pytest.mark.parametrize("target", TARGETS)
def test_wheel_tasks_call_the_wheels_entry_points(target):
    project = _project()
    scripts = project["scripts"]
    distribution = re.sub(r"[-_.]+", "_", project["name"]).lower()
    found = tasks(resolve(target), "python_wheel_task")
    assert found
    for key, task, source in found:
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == distribution == "smartwatch_lakehouse"
        assert wheel["entry_point"] in scripts, f"{key}: {wheel['entry_point']} is not in the wheel"
        whl = [lib["whl"] for lib in task["libraries"] if "whl" in lib]
        assert [_relative(source, path) for path in whl] == ["dist/*.whl"], key


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


# The Azure pipeline -----------------------------------------------------------------------------
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
    assert {"group": "smartwatch-lakehouse-secrets"} in pipeline["variables"]
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

    assert "ruff check" in commands("Lint") and "ruff format --check" in commands("Lint")
    assert "sqlfluff lint models macros snapshots" in commands("Lint")
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


# SQL lint configuration -------------------------------------------------------------------------
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


# Credential scan --------------------------------------------------------------------------------
SECRET_WORD = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
# key: value / key = value, where the key (any case, any prefix) ends with a secret word
ASSIGNMENT = re.compile(
    r"(?i)(?<![\w-])(?:[\w-]*[_-])?"
    + SECRET_WORD
    + r"""['"]?\s*[:=]\s*(?P<value>"[^"]*"|'[^']*'|[^\s,;#)]+)"""
)
PATTERNS = {
    "Databricks personal access token": re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Azure storage account key": re.compile(
        r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@<>{}$]+:(?P<value>[^\s@/<>]+)@"),
}
CONFIG_SUFFIXES = {".yml", ".yaml", ".toml", ".ini", ".cfg", ".env", ".properties", ".sqlfluff"}


def _placeholder(value: str) -> bool:
    """An empty value, or one taken from elsewhere at run time (an f-string's ``{...}`` too)."""
    value = value.strip().strip("'\"").strip()
    return (
        not value
        or value.startswith(("$(", "${", "{", "<", "%(", "env_var(", "os.environ", "$"))
        or "{{secrets/" in value
        or set(value) <= set("*x.\\")  # masked, also as a regular expression (\\*)
    )


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    findings = []
    config = Path(path).suffix in CONFIG_SUFFIXES or Path(path).name.startswith(".env")
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                if "value" in pattern.groupindex and _placeholder(match["value"]):
                    continue
                findings.append(Finding(path, number, kind))
        for match in ASSIGNMENT.finditer(line):
            value = match["value"]
            quoted = value[:1] in "'\"" and value[-1:] == value[:1] and len(value) > 1
            # In code an unquoted value is an expression (a name, a call); in config it is data.
            if (quoted or config) and not _placeholder(value):
                findings.append(Finding(path, number, "literal credential"))
    return findings


def scan_repository() -> list[Finding]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    findings = []
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        findings += scan_text(data.decode("utf-8", errors="replace"), name)
    return findings


def test_no_credentials_in_the_repository():
    assert scan_repository() == []


def _planted() -> dict[str, str]:
    """Secret-looking strings, assembled at run time so this file holds none of them."""
    hex32 = "0123456789abcdef" * 2
    key88 = ("Zm9v" * 22)[:86] + "=="
    block = "-" * 5 + "BEGIN " + "RSA " + "PRIVATE KEY" + "-" * 5
    return {
        "Databricks personal access token": f"host = x\ntoken_value dapi{hex32} here",
        "AWS access key": "aws = " + "AKIA" + "ABCDEFGHIJKLMNOP",
        "Azure storage account key": f"AccountName=acct;AccountKey={key88};",
        "private key": block + "\nMIIE...",
        "password in a URL": "url = postgresql://app:" + "s3cr3t" + "@db.example.net/app",
        "literal credential": "conn = connect(pass" + "word='hunter2')",
    }


@pytest.mark.parametrize("kind", sorted(_planted()))
def test_scanner_catches_a_planted_credential(kind):
    assert kind in {finding.kind for finding in scan_text(_planted()[kind], "planted.py")}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("token: \"{{ env_var('DATABRICKS_TOKEN', '') }}\"", "profiles.yml"),
        ("DATABRICKS_CLIENT_SECRET: $(DATABRICKS_CLIENT_SECRET)", "azure-pipelines.yml"),
        ('KEY: "{{secrets/smartwatch/registrations-url}}"', "job.yml"),
        ('password = ""', "settings.py"),
        ("mssql+pymssql://<user>@<server>:<password>@<server>.example.net:1433/db", "README.md"),
        ("token = settings.token", "module.py"),
        ("secret_scope: smartwatch", "databricks.yml"),
    ],
)
def test_scanner_lets_references_and_placeholders_through(text, path):
    assert scan_text(text, path) == []


def test_scanner_reads_unquoted_config_values_as_data():
    line = "  pass" + "word: hunter2"
    assert scan_text(line, "settings.yml")
    assert not scan_text(line, "module.py")
