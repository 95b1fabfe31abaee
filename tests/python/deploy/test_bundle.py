"""The Databricks bundle, checked offline: every job of every target, identities, schedules,
secrets."""

from __future__ import annotations

import copy
import re
import shlex

import pytest
import yaml
from databricks.bundles.jobs import Job
from jinja2 import Template

from lakehouse.project import REPO_ROOT as REPO
from tests.python.support.bundle import (
    DBT_ON_DATABRICKS,
    GROUPS,
    SUPPLIED,
    TARGETS,
    permissions,
    project_metadata,
    relative,
    resolve,
    tasks,
    unresolved,
)


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
    job["tasks"][-1]["dbt_task"]["profile_directory"] = "profiles"
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
    assert grants == {GROUPS["engineers"]: "CAN_MANAGE"}


def test_analysts_view_every_prod_job_but_the_erasure_whose_runs_name_the_user():
    prod = resolve("prod")
    for key, job in prod.jobs.items():
        grants = {p["group_name"]: p["level"] for p in permissions(prod, "jobs", job)}
        expected = {GROUPS["engineers"]: "CAN_MANAGE"}
        if key != "forget_user":
            expected[GROUPS["analysts"]] = "CAN_VIEW"
        assert grants == expected, key


@pytest.mark.parametrize("target", TARGETS)
def test_jobs_and_dbt_grant_to_the_same_groups(target):
    """The bundle's group variables default to the groups dbt grants to, and every cluster that
    runs dbt hands them to dbt (DBT_*_GROUP), so one setting renames a group everywhere."""
    resolved = resolve(target)
    names = {role: resolved.variables[f"{role}_group"] for role in GROUPS}
    assert names == GROUPS
    pii_readers = resolved.variables["pii_readers_group"]
    for key, task, _ in tasks(resolved, "dbt_task"):
        clusters = {c["job_cluster_key"]: c for c in resolved.jobs[key]["job_clusters"]}
        for cluster in [clusters[task["job_cluster_key"]]]:
            env = cluster["new_cluster"]["spark_env_vars"]
            assert env["DBT_ENGINEERS_GROUP"] == names["engineers"], key
            assert env["DBT_ANALYSTS_GROUP"] == names["analysts"], key
            assert env["DBT_PII_READERS_GROUP"] == pii_readers, key


def test_prod_without_a_service_principal_has_no_run_as_identity():
    """`bundle validate -t prod` rejects an empty run_as, so prod cannot silently run as the
    deployer when CI forgets BUNDLE_VAR_prod_service_principal."""
    unset = {k: v for k, v in SUPPLIED.items() if k != "prod_service_principal"}
    assert resolve("prod", unset).config["run_as"] == {"service_principal_name": ""}


#: The ingester's settings that hold secrets: on a job cluster, only from a secret scope.
SECRET_SETTINGS = {
    "LAKEHOUSE_REGISTRATIONS_URL",
    "LAKEHOUSE_KAFKA_SASL_JAAS_CONFIG",
    "LAKEHOUSE_ERASURE_KEY",
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_job_that_ingests_or_erases_has_the_erasure_key(target):
    """The ingester hashes what it reads to compare it with the suppression list, and erasure
    hashes what it lists: both with the secret scope's key, on every cluster that runs them."""
    for key, job in resolve(target).jobs.items():
        envs = cluster_envs(job)
        for task in job.get("tasks", []):
            entry = task.get("python_wheel_task", {}).get("entry_point")
            if entry in ("lakehouse-ingest", "lakehouse-forget"):
                env = envs[task["job_cluster_key"]]
                assert "LAKEHOUSE_ERASURE_KEY" in env, f"{key}/{task['task_key']}: no key"


def cluster_envs(job: dict) -> dict[str, dict[str, str]]:
    return {
        cluster["job_cluster_key"]: cluster["new_cluster"].get("spark_env_vars", {})
        for cluster in job.get("job_clusters", [])
    }


@pytest.mark.parametrize("target", TARGETS)
def test_every_job_that_reads_kafka_does_so_over_sasl_ssl(target):
    """A job cluster carrying Kafka credentials connects with SASL_SSL and a mechanism, and every
    task that reads Kafka runs on such a cluster."""
    resolved = resolve(target)
    readers = 0
    for key, job in resolved.jobs.items():
        envs = cluster_envs(job)
        for name, env in envs.items():
            if "LAKEHOUSE_KAFKA_SASL_JAAS_CONFIG" in env:
                assert env.get("LAKEHOUSE_KAFKA_SECURITY_PROTOCOL") == "SASL_SSL", f"{key}/{name}"
                assert env.get("LAKEHOUSE_KAFKA_SASL_MECHANISM"), f"{key}/{name}"
        for task in job.get("tasks", []):
            parameters = task.get("python_wheel_task", {}).get("parameters", [])
            if "--kafka" in parameters:
                readers += 1
                env = envs[task["job_cluster_key"]]
                assert "LAKEHOUSE_KAFKA_SASL_JAAS_CONFIG" in env, f"{key}: no Kafka credentials"
    assert readers >= 2


def test_test_and_prod_keep_their_secrets_apart():
    scopes = {target: resolve(target).variables["secret_scope"] for target in TARGETS}
    assert len(set(scopes.values())) == len(TARGETS), scopes
    for target in TARGETS:
        resolved = resolve(target)
        for key, job in resolved.jobs.items():
            for cluster in job.get("job_clusters", []):
                env = cluster["new_cluster"].get("spark_env_vars", {})
                for name, value in env.items():
                    if name in SECRET_SETTINGS:
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


def test_the_erasure_job_brings_whose_records_up_to_date_before_it_erases():
    for target in TARGETS:
        job = resolve(target).jobs["forget_user"]
        assert [task["task_key"] for task in job["tasks"]] == [
            "owners",
            "forget",
            "rebuild",
            "rebuilt",
        ]
        for previous, task in zip(job["tasks"], job["tasks"][1:], strict=False):
            assert task["depends_on"] == [{"task_key": previous["task_key"]}]
        assert job["tasks"][0]["dbt_task"]["commands"] == [
            f"dbt run --select +record_owners --target {target}"
        ]


def test_a_daily_vacuum_keeps_a_week_of_files_and_completes_erasures():
    """The erasure job never vacuums below Delta's retention (the ingester commits meanwhile);
    the daily vacuum deletes what a week has freed and writes the receipts."""
    for target in TARGETS:
        jobs = resolve(target).jobs
        vacuum = jobs["vacuum"]
        assert vacuum["schedule"]["quartz_cron_expression"].split()[3:5] == ["*", "*"], "daily"
        assert vacuum["schedule"]["pause_status"] == jobs["dbt_build"]["schedule"]["pause_status"]
        [task] = vacuum["tasks"]
        assert task["python_wheel_task"]["entry_point"] == "lakehouse-forget"
        params = task["python_wheel_task"]["parameters"]
        assert params[params.index("--step") + 1] == "purge" and "--user-id" not in params


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
    macros/testing/get_where_subquery.sql); every test on every row runs daily."""
    jobs = resolve("prod").jobs
    steps = {task["task_key"]: task for task in jobs["dbt_build"]["tasks"]}
    (hourly,) = steps["dbt_build"]["dbt_task"]["commands"]
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
        project = REPO / relative(source, dbt["project_directory"])
        assert (project / "dbt_project.yml").is_file()
        profiles = yaml.safe_load(
            (project / dbt["profiles_directory"] / "profiles.yml").read_text()
        )
        assert profiles["smartwatch_lakehouse"]["outputs"][target]["type"] == "databricks"
        packages = {lib["pypi"]["package"] for lib in task["libraries"] if "pypi" in lib}
        # the pins of pyproject.toml, the one place versions are chosen
        local = project_metadata()["optional-dependencies"]["local"]
        pinned = {p for p in local if p.startswith("dbt-")}
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


#: The notification each kind of health rule raises.
HEALTH_NOTICE = {
    "RUN_DURATION_SECONDS": "on_duration_warning_threshold_exceeded",
    "STREAMING_BACKLOG_SECONDS": "on_streaming_backlog_exceeded",
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_job_alerts_on_failure_and_on_its_health_rules(target):
    resolved = resolve(target)
    alert = SUPPLIED["alert_email"]
    for key, job in resolved.jobs.items():
        notices = job.get("email_notifications", {})
        assert notices.get("on_failure") == [alert], f"{key} fails silently"
        for rule in job.get("health", {}).get("rules", []):
            assert notices.get(HEALTH_NOTICE[rule["metric"]]) == [alert], f"{key}: {rule}"
    jobs = resolved.jobs
    metrics = {
        key: {r["metric"] for r in job.get("health", {}).get("rules", [])}
        for key, job in jobs.items()
    }
    assert "STREAMING_BACKLOG_SECONDS" in metrics["ingester_stream"]
    for key in ("ingester_available_now", "dbt_build", "dbt_full_tests"):
        assert "RUN_DURATION_SECONDS" in metrics[key], key


def test_the_dbt_job_checks_source_freshness_before_it_builds():
    [job] = [resolve("prod").jobs["dbt_build"]]
    steps = {task["task_key"]: task for task in job["tasks"]}
    assert steps["source_freshness"]["dbt_task"]["commands"] == [
        "dbt source freshness --target prod"
    ]
    assert steps["dbt_build"]["depends_on"] == [{"task_key": "source_freshness"}]
    assert steps["dbt_build"].get("run_if", "ALL_SUCCESS") == "ALL_SUCCESS"
    sources = yaml.safe_load((REPO / "models" / "bronze" / "_sources.yml").read_text())
    [bronze] = sources["sources"]
    assert bronze["config"]["freshness"]["error_after"], "freshness must be able to fail the run"


def test_a_failing_data_test_fails_the_job():
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    assert project["data_tests"]["smartwatch_lakehouse"]["+severity"] == "error"
