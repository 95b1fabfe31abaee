"""Open the dbt docs site in headless Chromium (Debian's ``chromium``) and read what it rendered."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lakehouse.project import REPO_ROOT

#: Where tests keep files for people to look at (CI publishes the folder).
ARTIFACTS = Path(os.environ.get("LAKEHOUSE_TEST_ARTIFACTS", REPO_ROOT / "artifacts"))


def chromium() -> list[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("Chromium is missing: run `make system-deps` (Debian package chromium)")
    sandbox = ["--no-sandbox"] if os.getuid() == 0 else []
    return [binary, "--headless", "--disable-gpu", *sandbox, "--virtual-time-budget=20000"]


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran."""
    result = subprocess.run(
        [*chromium(), "--dump-dom", url], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


def screenshot(url: str, path: Path, *, height: int = 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [*chromium(), f"--window-size=1600,{height}", f"--screenshot={path}", url],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return path


class _VisibleText(HTMLParser):
    """Text nodes outside scripts and styles, each with its innermost element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data) -> None:
        if data.strip() and not {"script", "style"} & set(self.stack):
            self.texts.append((self.stack[-1] if self.stack else "", data.strip()))


def visible_texts(dom: str) -> list[tuple[str, str]]:
    parser = _VisibleText()
    parser.feed(dom)
    return parser.texts


def section(texts: list[tuple[str, str]], title: str, until: str) -> list[str]:
    """Texts between the heading ``title`` and the next heading ``until``."""
    start = next(i for i, (tag, text) in enumerate(texts) if tag == "h6" and text == title)
    end = next(
        i for i, (tag, text) in enumerate(texts) if i > start and tag == "h6" and text == until
    )
    return [text for _, text in texts[start + 1 : end]]


#: The ARIA roles of the marks that stand for one row of a chart's data (a line's path aside).
DATA_MARKS = frozenset({"point", "bar", "rect mark"})


class _ChartMarks(HTMLParser):
    """The data marks of each ``<figure data-widget>``: each mark's ``aria-label``
    (``Title: value; Title: value``) as a dict of its values by their titles."""

    def __init__(self) -> None:
        super().__init__()
        self.widget: str | None = None
        self.marks: dict[str, list[dict[str, str]]] = {}

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "figure" and "data-widget" in attributes:
            self.widget = attributes["data-widget"]
            self.marks[self.widget] = []
        elif self.widget and attributes.get("aria-roledescription") in DATA_MARKS:
            pairs = (part.split(": ", 1) for part in attributes["aria-label"].split("; "))
            self.marks[self.widget].append(dict(pairs))

    def handle_endtag(self, tag) -> None:
        if tag == "figure":
            self.widget = None


def chart_marks(page: str) -> dict[str, list[dict[str, str]]]:
    """Each chart's data marks, by widget name, each as its values by their titles."""
    parser = _ChartMarks()
    parser.feed(page)
    return parser.marks
