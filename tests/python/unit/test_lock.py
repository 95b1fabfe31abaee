"""The locks of an environment on the embedded default: the ingester and a build share the
writers lock, an erasure holds it alone, one build runs at a time, and each command turned away
is told which one to wait for."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ingestion.errors import LakehouseError
from lakehouse.lock import BUILD_LOCK_FILE, building, lock_path, writing
from lakehouse.project import load_settings
from tests.python.support.cli import run_cli


@pytest.fixture
def test_env(home):
    return load_settings(env="test", home=home)


def test_the_ingester_and_a_build_write_side_by_side(test_env):
    with writing(test_env, alone=False, doing="ingest"), building(test_env, doing="build"):
        assert lock_path(test_env).exists()


def refusal(settings, holder: dict, asker: dict) -> str:
    """The message of the command ``asker`` while ``holder`` holds the lock."""
    with writing(settings, **holder), pytest.raises(LakehouseError) as refused:  # noqa: SIM117
        with writing(settings, **asker):
            pytest.fail(f"{asker['doing']} ran beside {holder['doing']}")
    return str(refused.value)


INGEST = {"alone": False, "doing": "ingest"}
FORGET = {"alone": True, "doing": "forget a user"}


def test_one_build_at_a_time_and_the_second_is_told_by_which(test_env):
    """A build in process and one through the warehouse (or two through it) would write the same
    tables at once: the second is turned away before it starts, then runs once the first ended."""
    with building(test_env, doing="build"), pytest.raises(LakehouseError) as refused:  # noqa: SIM117
        with building(test_env, doing="run"):
            pytest.fail("a second build ran beside the first")
    message = str(refused.value)
    assert message.startswith("cannot run in env test: build (process ")
    assert message.endswith("is building its tables; run the command again when it has ended")
    assert lock_path(test_env, BUILD_LOCK_FILE).read_text() == "", "the name goes with the lock"
    with building(test_env, doing="run"):  # once the first ended
        assert lock_path(test_env, BUILD_LOCK_FILE).read_text().startswith("run (process ")


def test_an_erasure_and_a_build_turn_each_other_away(test_env):
    with writing(test_env, **FORGET), pytest.raises(LakehouseError) as refused:  # noqa: SIM117
        with building(test_env, doing="build"):
            pytest.fail("a build ran during the erasure")
    assert str(refused.value).startswith("cannot build in env test: forget a user (process ")
    with building(test_env, doing="build"), pytest.raises(LakehouseError) as refused:  # noqa: SIM117
        with writing(test_env, **FORGET):
            pytest.fail("the erasure ran during a build")
    assert str(refused.value).startswith(
        "cannot forget a user in env test: an ingester or a build is writing its tables"
    )


def test_an_erasure_is_refused_while_the_ingester_writes(test_env):
    assert refusal(test_env, INGEST, FORGET) == (
        "cannot forget a user in env test: an ingester or a build is writing its tables; stop it "
        "(a streaming `lakehouse ingest` stops with Ctrl-C), wait for builds to end, then run "
        "the command again"
    )
    with writing(test_env, **FORGET):  # once the ingester stopped
        assert lock_path(test_env).read_text().startswith("forget a user (process ")


def test_the_ingester_is_refused_during_an_erasure_and_told_by_whom(test_env):
    message = refusal(test_env, FORGET, INGEST)
    assert message.startswith("cannot ingest in env test: forget a user (process ")
    assert message.endswith("is rewriting its tables; run the command again when it has ended")
    assert lock_path(test_env).read_text() == "", "the holder's name goes with the lock"


def test_a_killed_erasure_leaves_no_lock_behind(test_env):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from lakehouse.lock import writing
                from lakehouse.project import load_settings
                with writing(load_settings(env="test", home={str(test_env.home)!r}),
                             alone=True, doing="forget a user"):
                    print("held", flush=True)
                    time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(LakehouseError, match="is rewriting its tables"),
            writing(test_env, **INGEST),
        ):
            pytest.fail("the ingester ran during the erasure")
    finally:
        holder.kill()
        holder.wait()
    with writing(test_env, **FORGET):  # the erasure can be run again
        assert lock_path(test_env).read_text().startswith("forget a user (process ")


def test_forget_stops_before_spark_while_the_ingester_holds_the_lock(
    home, test_env, monkeypatch, capsys
):
    with writing(test_env, **INGEST):
        code, out, err = run_cli(
            monkeypatch, capsys, "--home", str(home), "forget", "--env", "test", "--user-id", "7"
        )
    assert code == 1 and out == ""
    assert err.strip().startswith("error: cannot forget a user in env test: an ingester")
    assert not (home / "test" / "governance").exists(), "nothing was erased or recorded"


def test_a_build_stops_before_spark_while_another_build_runs(home, test_env, monkeypatch, capsys):
    with building(test_env, doing="run"):
        code, out, err = run_cli(monkeypatch, capsys, "--home", str(home), "build", "--env", "test")
    assert code == 1 and out == ""
    assert err.strip().startswith("error: cannot build in env test: run (process ")
    assert not (home / "test" / "dbt").exists(), "dbt did not start"
