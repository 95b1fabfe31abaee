"""The consumers' catalogue: the dbt docs site of an environment, generated and served."""

from __future__ import annotations

import functools
import http.server
import logging
from pathlib import Path

from markdown_it import MarkdownIt

from ingestion.files import write_atomically
from lakehouse.dbt import run_dbt
from lakehouse.project import REPO_ROOT
from lakehouse.project import LocalSettings as Settings

log = logging.getLogger(__name__)

#: The contract, as descriptions and comments link to it (from the repository's root).
CONTRACT_LINK = "docs/contract.md"
CONTRACT = REPO_ROOT / CONTRACT_LINK


def target_dir(settings: Settings) -> Path:
    return settings.root / "dbt" / "target"


def generate(settings: Settings) -> Path:
    """Generate the docs (manifest, catalog, and a self-contained ``static_index.html``), with
    the contract beside them."""
    run_dbt(settings, ["docs", "generate", "--static"])
    publish_contract(target_dir(settings))
    return target_dir(settings) / "static_index.html"


def publish_contract(site: Path) -> None:
    """The contract as an HTML page of the site (``docs/contract.html``), and the site's links to
    its rules (``docs/contract.md#rule-N`` in the project's descriptions) pointed at that page."""
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(CONTRACT.read_text())
    write_atomically(
        site / "docs" / "contract.html",
        f'<!doctype html><html><head><meta charset="utf-8"><title>Data contract</title></head>'
        f"<body>{page}</body></html>",
    )
    for name in ("static_index.html", "index.html", "manifest.json"):
        path = site / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            write_atomically(path, text.replace(f"{CONTRACT_LINK}#", "docs/contract.html#"))


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the generated site until interrupted (loopback only unless ``host`` says otherwise)."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(target_dir(settings))
    )
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        log.info("dbt docs of %s on http://%s:%d/ (Ctrl-C to stop)", settings.env.value, host, port)
        server.serve_forever()
