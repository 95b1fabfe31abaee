"""The dbt project parses for every target (offline), and its governance rules hold: no direct
identifiers in gold, PII tagged and masked in silver, grants per layer on Databricks only, every
macro documented, every consumer of the tables declared as an exposure of what it reads."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from lakehouse.dbt import PROFILES_DIR, run_dbt
from lakehouse.project import REPO_ROOT
from tests.python.support.bundle import GROUPS
from tests.python.support.dashboard import gold_tables_read
from tests.python.support.scenario import scenario_settings

#: Columns that name, locate or date a person (the contract's user profile).
DIRECT_IDENTIFIERS = {"first_name", "last_name", "street_address", "dob"}
#: Every column of the project that can hold personal data, and how it is governed: masked
#: (direct identifiers, raw payloads), or tagged with its kind.
MASKED = DIRECT_IDENTIFIERS | {"value"}
PERSONAL = {
    **dict.fromkeys(["user_id", "device_id", "mac_address", "silver_key"], "identifier"),
    **dict.fromkeys(["city", "state", "zip", "sex", "gender", "age"], "quasi_identifier"),
    **dict.fromkeys(
        ["heartrate", "min_bpm", "max_bpm", "avg_bpm", "max_hr", "trimp"]
        + [f"seconds_zone_{k}" for k in range(6)],
        "health",
    ),
}


@pytest.fixture(scope="module")
def manifests(tmp_path_factory) -> dict[str, dict]:
    """The parsed project of the local target and of every Databricks target."""
    import os

    os.environ.setdefault("DATABRICKS_TOKEN", "placeholder-for-parsing")
    found = {}
    for target in ("local", "dev", "test", "prod"):
        settings = scenario_settings(tmp_path_factory.mktemp(target), dbt_target=target)
        run_dbt(settings, ["parse"])
        found[target] = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text())
    return found


def nodes(manifest: dict, *kinds: str) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] in kinds]


def layer(node: dict) -> str:
    return node["schema"]


@pytest.mark.parametrize("target", ["dev", "test", "prod"])
def test_project_parses_for_databricks_targets(manifests, target):
    models = nodes(manifests[target], "model")
    assert {layer(m) for m in models} == {"bronze", "silver", "gold"}


def test_gold_carries_no_direct_identifier_and_no_pii(manifests):
    gold = [m for m in nodes(manifests["prod"], "model") if layer(m) == "gold"]
    assert gold
    for model in gold:
        assert not DIRECT_IDENTIFIERS & set(model["columns"]), model["name"]
        assert not [c for c, v in model["columns"].items() if v["meta"].get("pii")], model["name"]


def test_every_direct_identifier_in_silver_is_tagged_pii_and_masked(manifests):
    tagged = 0
    for node in nodes(manifests["prod"], "model", "snapshot"):
        if layer(node) != "silver":
            continue
        for name, column in node["columns"].items():
            if name in DIRECT_IDENTIFIERS:
                assert column["meta"].get("pii") is True, f"{node['name']}.{name} is not tagged"
                tagged += 1
        if any(c["meta"].get("pii") for c in node["columns"].values()):
            hooks = [h["sql"] for h in node["config"]["post-hook"]]
            assert "{{ apply_pii_masks() }}" in hooks, f"{node['name']} is not masked"
    # the profile, its history and its snapshot each hold the four identifiers
    assert tagged == len(DIRECT_IDENTIFIERS) * 3


def test_raw_payloads_in_silver_are_masked_too(manifests):
    rejected = next(m for m in nodes(manifests["prod"], "model") if m["name"] == "rejected_events")
    assert rejected["columns"]["value"]["meta"].get("pii") is True


def test_every_column_that_can_hold_personal_data_is_masked_or_tagged(manifests):
    """On the Databricks targets, each silver and gold table and snapshot masks its direct
    identifiers and raw payloads and tags its other personal data, by a post-hook whose
    statements are checked below."""
    governed = 0
    for target in ("dev", "test", "prod"):
        for node in nodes(manifests[target], "model", "snapshot"):
            if layer(node) not in ("silver", "gold"):
                continue
            for name, column in node["columns"].items():
                where = f"{target}: {node['name']}.{name}"
                if name in MASKED:
                    assert column["meta"].get("pii") is True, f"{where} is not masked"
                    governed += 1
                elif name in PERSONAL:
                    assert column["meta"].get("personal") == PERSONAL[name], f"{where} untagged"
                    governed += 1
            hooks = [h["sql"] for h in node["config"]["post-hook"]]
            assert "{{ apply_pii_masks() }}" in hooks, f"{target}: {node['name']} is not governed"
    assert governed


def test_the_governance_hook_masks_and_tags_what_the_columns_say(manifests):
    from types import SimpleNamespace

    columns = {
        "user_id": SimpleNamespace(meta={"personal": "identifier"}),
        "dob": SimpleNamespace(meta={"pii": True, "pii_type": "date"}),
        "first_name": SimpleNamespace(meta={"pii": True}),
        "workout_id": SimpleNamespace(meta={}),
    }
    model = SimpleNamespace(config=SimpleNamespace(materialized="table"), columns=columns)
    ran = rendered_statements(
        manifests["prod"],
        "databricks__apply_pii_masks",
        {},
        model=model,
        this="smartwatch_prod.silver.user_profile",
        adapter=SimpleNamespace(quote=lambda name: f"`{name}`"),
        governance_schema=lambda: "smartwatch_prod.governance",
    )
    table = "alter table smartwatch_prod.silver.user_profile alter column"
    assert sorted(ran) == sorted(
        [
            f"{table} `dob` set mask smartwatch_prod.governance.mask_pii_date",
            f"{table} `dob` set tags ('pii' = 'date')",
            f"{table} `first_name` set mask smartwatch_prod.governance.mask_pii_string",
            f"{table} `first_name` set tags ('pii' = 'text')",
            f"{table} `user_id` set tags ('personal_data' = 'identifier')",
        ]
    )


def rendered_statements(manifest: dict, macro: str, groups: dict[str, str], **context) -> list[str]:
    """The statements a Databricks macro runs, rendered with jinja2 outside dbt: ``var`` gives the
    group names, ``run_query`` records each statement (whitespace collapsed); ``context`` adds
    what else the macro reads (``model``, ``this``, ...)."""
    from types import SimpleNamespace

    from jinja2 import Environment

    [definition] = [m for m in manifest["macros"].values() if m["name"] == macro]
    ran: list[str] = []
    environment = Environment(extensions=["jinja2.ext.do"])
    environment.globals.update(
        var=lambda name: groups[name],
        target=SimpleNamespace(catalog="smartwatch_prod"),
        execute=True,
        run_query=lambda sql: ran.append(" ".join(sql.split())),
        **context,
    )
    environment.from_string(definition["macro_sql"] + "{{ " + macro + "() }}").render()
    return ran


def test_grants_per_layer_on_databricks(manifests):
    engineers, analysts = "`eng`", "`ana`"
    groups = {"engineers_group": "eng", "analysts_group": "ana"}
    ran = rendered_statements(manifests["prod"], "databricks__grant_schema_privileges", groups)
    catalog = "smartwatch_prod"
    assert sorted(ran) == sorted(
        [
            f"grant use catalog on catalog {catalog} to {engineers}",
            f"grant use catalog on catalog {catalog} to {analysts}",
            f"grant use schema, select, modify on schema {catalog}.bronze to {engineers}",
            f"grant use schema, select, modify on schema {catalog}.silver to {engineers}",
            f"grant use schema, select on schema {catalog}.gold to {engineers}",
            f"grant use schema, select on schema {catalog}.gold to {analysts}",
        ]
    )
    hooks = {n["name"]: n for n in nodes(manifests["prod"], "operation")}
    assert any("grant_schema_privileges" in h["raw_code"] for h in hooks.values())
    assert any("create_pii_mask_functions" in h["raw_code"] for h in hooks.values())


def test_the_default_groups_are_the_bundles(manifests):
    """Outside the bundle (an engineer's own `dbt build --target prod`), dbt grants to the groups
    the bundle names by default."""
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    for role, group in GROUPS.items():
        assert f"'{group}')" in project["vars"][f"{role}_group"]


def test_the_local_target_grants_nothing(manifests):
    for node in nodes(manifests["local"], "model", "snapshot"):
        assert node["config"]["grants"] == {}, node["name"]
    [default] = [
        m
        for m in manifests["local"]["macros"].values()
        if m["name"] == "default__grant_schema_privileges"
    ]
    assert "run_query" not in default["macro_sql"]


def test_profiles_read_credentials_from_the_environment_only():
    profile = yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())
    outputs = profile["smartwatch_lakehouse"]["outputs"]
    assert {o["type"] for o in outputs.values()} == {"spark", "databricks"}
    for name, output in outputs.items():
        if output["type"] != "databricks":
            continue
        for key in ("token", "password", "client_secret", "host", "http_path"):
            if key in output:
                assert str(output[key]).startswith("{{ env_var("), f"{name}.{key} is a literal"


def test_the_docs_site_shows_the_contracts_rules_word_for_word(manifests):
    """Each rule of docs/contract.md is the doc block ``rule_N``, and the models cite them."""
    contract = (REPO_ROOT / "docs" / "contract.md").read_text()
    rules = dict(re.findall(r'(?m)^(\d+)\. (<a id="rule-\1"></a>.*?)\n\n', contract + "\n\n", re.S))
    anchored = re.findall(r'<a id="rule-(\d+)"></a>\*\*', contract)
    assert anchored and sorted(rules, key=int) == anchored, "every anchored rule was read"
    docs = manifests["local"]["docs"]
    for number, text in rules.items():
        block = docs[f"doc.smartwatch_lakehouse.rule_{number}"]["block_contents"]
        assert block.startswith(f"{number}. {text}"), number
    cited = {
        int(n)
        for node in [*manifests["local"]["nodes"].values(), *manifests["local"]["sources"].values()]
        for n in re.findall(r'<a id="rule-(\d+)"></a>', node.get("description") or "")
    }
    assert {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14} <= cited


def signature(macro_sql: str) -> list[str]:
    """Parameter names of a macro (or generic test) from its definition."""
    found = re.match(r"\{%-?\s*(?:macro|test)\s+\w+\((.*?)\)\s*-?%\}", macro_sql, re.S)
    assert found, macro_sql[:80]
    return [part.split("=")[0].strip() for part in found.group(1).split(",") if part.strip()]


def test_every_macro_is_documented_with_its_arguments(manifests):
    """_macros.yml describes each of the project's macros and generic tests, and names their
    arguments in the order the definition takes them."""
    own = [
        m
        for m in manifests["local"]["macros"].values()
        if m["package_name"] == "smartwatch_lakehouse"
    ]
    assert own
    undocumented = sorted(m["name"] for m in own if not m["description"].strip())
    mismatched = {
        m["name"]: ([a["name"] for a in m["arguments"]], signature(m["macro_sql"]))
        for m in own
        if [a["name"] for a in m["arguments"]] != signature(m["macro_sql"])
    }
    assert undocumented == []
    assert mismatched == {}


def test_one_macro_family_per_file(manifests):
    """A macro file holds one macro with its dispatch implementations (and private helpers named
    after it)."""
    by_file: dict[str, set[str]] = {}
    for m in manifests["local"]["macros"].values():
        if m["package_name"] == "smartwatch_lakehouse":
            family = re.sub(r"^(default|spark|databricks)__", "", m["name"])
            by_file.setdefault(m["original_file_path"], set()).add(family)
    crowded = {
        path: sorted(families)
        for path, families in by_file.items()
        if len({f for f in families if not any(f.startswith(g + "_") for g in families)}) > 1
    }
    assert crowded == {}


# Exposures ------------------------------------------------------------------------------------
EXPOSURES = REPO_ROOT / "models" / "exposures.yml"
REF = re.compile(r"""^ref\(\s*['"](\w+)['"]\s*\)$""")


def exposures() -> dict[str, dict]:
    return {e["name"]: e for e in yaml.safe_load(EXPOSURES.read_text())["exposures"]}


def referenced(exposure: dict) -> set[str]:
    """The models an exposure's depends_on names (each entry a plain ``ref('model')``)."""
    found = [REF.match(entry) for entry in exposure["depends_on"]]
    assert all(found), f"{exposure['name']}: {exposure['depends_on']}"
    return {match.group(1) for match in found}


def test_every_exposure_depends_on_models_of_the_project():
    models = {path.stem for path in (REPO_ROOT / "models").rglob("*.sql")}
    found = exposures()
    assert set(found) == {"fitness_dashboard", "lakehouse_report", "analyst_queries"}
    for name, exposure in found.items():
        assert exposure["type"] in {"dashboard", "notebook", "analysis", "ml", "application"}
        assert exposure["maturity"] in {"low", "medium", "high"}, name
        assert exposure["owner"]["name"] and exposure["description"].strip(), name
        refs = referenced(exposure)
        assert refs and refs <= models, f"{name}: no model {sorted(refs - models)}"


def test_the_dashboard_exposure_is_what_the_dashboard_reads():
    """The Databricks dashboard's exposure lists exactly the gold models its datasets read."""
    assert referenced(exposures()["fitness_dashboard"]) == gold_tables_read()


def test_the_analysts_exposure_is_what_the_readme_queries_on_gold():
    readme = (REPO_ROOT / "README.md").read_text()
    querying = readme.split("## Querying", 1)[1].split("\n## ", 1)[0]
    gold = set(re.findall(r"\bgold\.(\w+)", querying))
    assert gold and referenced(exposures()["analyst_queries"]) == gold


def test_dbt_resolves_every_exposure_to_the_models_it_names(manifests):
    for target in ("local", "prod"):
        parsed = {e["name"]: e for e in manifests[target]["exposures"].values()}
        assert set(parsed) == set(exposures()), target
        for name, exposure in parsed.items():
            nodes = exposure["depends_on"]["nodes"]
            assert {n.split(".")[-1] for n in nodes} == referenced(exposures()[name]), name
            assert all(manifests[target]["nodes"][n]["resource_type"] == "model" for n in nodes)
