"""Jinja context in which sqlfluff renders the dbt project offline (library_path in .sqlfluff).

sqlfluff's dbt builtins render every ``var()`` as the word ``item``; this context returns the
project's own vars from dbt_project.yml instead, so templated SQL such as
``heartrate <= {{ var('heartrate_max') }}`` parses. ``target`` is a Databricks dev
target; nothing here opens a connection.
"""

from pathlib import Path as _Path

import yaml as _yaml

_PROJECT = _Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = _yaml.safe_load(_PROJECT.read_text())["vars"]

target = {"name": "dev", "type": "databricks", "schema": "default", "catalog": "smartwatch_dev"}


def var(name, default=None):
    return _VARS.get(name, default)
