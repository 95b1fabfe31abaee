"""The consumers' catalogue: the dbt docs site of an environment, generated and served."""

from __future__ import annotations

import functools
import http.server
import logging
from pathlib import Path

from ingestion.dbt import run_dbt
from ingestion.settings import Settings

log = logging.getLogger(__name__)


def target_dir(settings: Settings) -> Path:
    return settings.root / "dbt" / "target"


def generate(settings: Settings) -> Path:
    """Generate the docs (manifest, catalog, and a self-contained ``static_index.html``)."""
    run_dbt(settings, ["docs", "generate", "--static"])
    return target_dir(settings) / "static_index.html"


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the generated site until interrupted (loopback only unless ``host`` says otherwise)."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(target_dir(settings))
    )
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        log.info("dbt docs of %s on http://%s:%d/ (Ctrl-C to stop)", settings.env.value, host, port)
        server.serve_forever()
