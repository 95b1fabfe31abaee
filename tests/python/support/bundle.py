"""The Databricks bundle as the CLI resolves it per target, read offline; the account groups."""

from __future__ import annotations

import copy
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from lakehouse.project import REPO_ROOT as REPO

#: The account groups dbt grants to and the bundle gives permissions to (defaults).
GROUPS = {"engineers": "data-engineers", "analysts": "data-analysts"}
TARGETS = ("dev", "test", "prod")

# What CI passes as BUNDLE_VAR_* (placeholders: only their presence and their flow matter here).
SUPPLIED = {
    "warehouse_id": "0123456789abcdef",
    "kafka_bootstrap_servers": "broker.example.net:9093",
    "prod_service_principal": "00000000-0000-0000-0000-000000000001",
    "alert_email": "lakehouse-oncall@example.com",
}
# References the Databricks CLI itself resolves at deploy time.
RUNTIME_REFERENCES = ("workspace.", "resources.")
#: What a Databricks dbt task installs (dbt-spark runs only on the local target).
DBT_ON_DATABRICKS = {"dbt-core", "dbt-databricks"}
REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.\[\]-]*)\}")
#: The kinds of resource the bundle defines.
RESOURCE_KINDS = ("jobs", "dashboards")
#: How the CLI turns a target's permission levels into each kind's own (a level a kind lacks is
#: not granted on it).
PERMISSION_LEVELS = {
    "jobs": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_MANAGE_RUN"},
    "dashboards": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ"},
}


# Bundle loading ---------------------------------------------------------------------------------
def _merge(into: dict, other: dict) -> dict:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def load_bundle() -> tuple[dict, dict[str, Path]]:
    """databricks.yml with its includes merged, and the file each job and dashboard is defined in
    (the CLI wants a resource's key unique across kinds)."""
    bundle = yaml.safe_load((REPO / "databricks.yml").read_text())
    sources: dict[str, Path] = {}
    for pattern in bundle.get("include", []):
        for path in sorted(REPO.glob(pattern)):
            part = yaml.safe_load(path.read_text())
            assert "include" not in part and "bundle" not in part, path
            blocks = [part, *part.get("targets", {}).values()]
            keys = [
                key
                for block in blocks
                for kind in RESOURCE_KINDS
                for key in block.get("resources", {}).get(kind, {})
            ]
            for key in keys:
                assert key not in sources, f"resource {key} defined twice"
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
    dashboards: dict[str, dict]  # resolved dashboard definitions


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
        dashboards=_substitute(resources.get("dashboards", {}), context),
    )


def permissions(target: Target, kind: str, resource: dict) -> list[dict]:
    """A resource's permissions once deployed: its own, then the target's in the kind's levels."""
    levels = PERMISSION_LEVELS[kind]
    return [*resource.get("permissions", [])] + [
        {**grant, "level": levels[grant["level"]]}
        for grant in target.config.get("permissions", [])
        if grant["level"] in levels
    ]


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


def relative(source: Path, path: str) -> str:
    """A path in a bundle file, relative to that file as the Databricks CLI reads it."""
    return os.path.normpath(PurePosixPath(source.parent.relative_to(REPO)) / path)


def project_metadata() -> dict:
    """The ``[project]`` table of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
