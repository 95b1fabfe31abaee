"""The project's promises about itself: two commands, CI runs the tests, profiles match Spark."""

from __future__ import annotations

import ast
import re
import subprocess

import yaml
from jinja2 import Template

from ingestion.settings import load_settings
from ingestion.spark import spark_conf
from lakehouse.project import REPO_ROOT


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    commands = re.findall(r"^```(?:bash|sh)\n(.*?)```", readme, flags=re.S | re.M)
    first_two = [line for block in commands[:2] for line in block.strip().splitlines()]
    assert first_two == ["make demo", "make test"]
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec make test$", ci, flags=re.M)


def test_make_test_runs_pytest():
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "test"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert dry_run.strip().splitlines()[-1] == ".venv/bin/python -m pytest"


def test_local_profile_mirrors_the_session_factory(tmp_path):
    """dbt (plain `dbt build`) and the CLI must start Spark the same way."""
    env = {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_ENV": "dev"}
    raw = yaml.safe_load((REPO_ROOT / "profiles" / "profiles.yml").read_text())
    params = raw["smartwatch_lakehouse"]["outputs"]["local"]["server_side_parameters"]

    def env_var(name, default=None):
        return env.get(name, default)

    rendered = {k: Template(str(v)).render(env_var=env_var) for k, v in params.items()}
    expected = spark_conf(load_settings(env="dev", home=tmp_path), with_metastore=True)
    # the profile adds what PySpark's builder sets in the factory; log config is the CLI's own
    expected["spark.driver.extraJavaOptions"] = expected["spark.driver.extraJavaOptions"].split(
        " -Dlog4j2"
    )[0]
    assert {k: rendered[k] for k in expected} == expected
    assert rendered["spark.master"] == "local[2]"
    assert "io.delta:delta-spark_4.2_2.13:4.4.0" in rendered["spark.jars.packages"]


#: The README and the pages it links to (the contract's own cross-references are links too).
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page) -> set[str]:
    """Explicit anchors (``<a id>``) and the ones headings get (lower case, dashes)."""
    text = page.read_text()
    headings = re.findall(r"^#+ (.*)$", text, flags=re.M)
    return set(re.findall(r'<a id="([^"]+)"', text)) | {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings
    }


def test_every_link_in_the_docs_leads_somewhere():
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target} does not exist"
            if anchor:
                assert anchor in anchors(linked), f"{page.name}: no anchor {target}"


def test_every_rule_of_the_contract_has_an_anchor_and_every_mention_links_to_it():
    contract = REPO_ROOT / "docs" / "contract.md"
    rules = re.findall(r"^(\d+)\. <a id=\"rule-(\d+)\"></a>\*\*", contract.read_text(), re.M)
    assert rules and all(number == anchor for number, anchor in rules)
    assert [int(n) for n, _ in rules] == list(range(1, len(rules) + 1))
    for page in PAGES:
        # a mention outside a link: a rule's number not inside [...](...)
        text = re.sub(r"\[[^\]]*\]\([^)]*\)", "", page.read_text())
        text = re.sub(r'<a id="rule-\d+"></a>', "", text)
        assert not re.search(r"\brules? \d+\b", text), f"{page.name}: a rule mentioned, not linked"


#: Code and configuration that cite the contract's rules (paths from the repository's root).
CODE = [
    path
    for pattern in ("*.py", "*.sql", "*.yml")
    for path in REPO_ROOT.rglob(pattern)
    if not path.relative_to(REPO_ROOT).parts[0].startswith((".", "lint", "docs", "build"))
    and "egg-info" not in str(path)
]


def test_every_rule_cited_in_code_and_yaml_links_to_its_anchor():
    """In code, YAML and SQL a rule is cited as ``[rule N](docs/contract.md#rule-N)``: the link
    a reader follows from the repository's root, pointing at that very rule."""
    contract = (REPO_ROOT / "docs" / "contract.md").read_text()
    cited = 0
    for path in CODE:
        text = path.read_text()
        for number, target in re.findall(r"\[[Rr]ules? (\d+)\]\(([^)]*)\)", text):
            assert target == f"docs/contract.md#rule-{number}", f"{path}: {target}"
            assert f'<a id="rule-{number}"></a>' in contract
            cited += 1
        for number, target in re.findall(r"\[(\d+)\]\((docs/contract\.md#rule-\d+)\)", text):
            assert target == f"docs/contract.md#rule-{number}", f"{path}: {target}"
        bare = re.sub(r"\[[^\]]*\]\([^)]*\)", "", text)
        assert not re.search(r"\b[Rr]ules? \d+\b", bare), f"{path}: a rule cited, not linked"
    assert cited


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of ``package`` imports (module path -> packages)."""
    root = next(p for p in (REPO_ROOT / package, REPO_ROOT / "tooling" / package) if p.is_dir())
    found = {}
    for path in sorted(root.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


def test_dependencies_run_from_the_tooling_to_the_runtime_never_back():
    """The wheel's runtime (ingestion) imports neither the simulator nor the tooling; the
    simulator imports only the runtime; the tooling (whose CLI runs the benchmark) uses both."""
    forbidden = {
        "ingestion": {"simulator", "lakehouse", "bench"},
        "simulator": {"lakehouse", "bench"},
    }
    crossings = {
        module: sorted(names & banned)
        for package, banned in forbidden.items()
        for module, names in imported_packages(package).items()
        if names & banned
    }
    assert crossings == {}
    assert any("ingestion" in names for names in imported_packages("lakehouse").values())
