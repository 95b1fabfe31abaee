"""The `lakehouse` command run in the test's process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lakehouse.cli import main
from lakehouse.project import LAKEHOUSE, REPO_ROOT


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["lakehouse", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def in_own_process(home: Path, environment: dict[str, str]) -> Callable[..., str]:
    """A function running ``lakehouse --home HOME ARGS`` in its own process (from the repository,
    with ``environment`` added to this one's); it fails the test on a non-zero exit, showing the
    end of the command's error output, and returns its standard output."""

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(LAKEHOUSE), "--home", str(home), *args],
            env={**os.environ, **environment},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert done.returncode == 0, f"lakehouse {args[0]} failed:\n{done.stderr[-6000:]}"
        run.stderr = done.stderr
        return done.stdout

    return run
