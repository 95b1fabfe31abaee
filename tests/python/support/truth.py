"""Read the simulator's ground truth (what was sent), never the pipeline's tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Truth:
    records: list[dict]
    registrations: list[dict]
    bad_lines: list[dict]

    @classmethod
    def load(cls, truth_dir: Path, waves: list[int] | None = None) -> Truth:
        folders = sorted(truth_dir.glob("wave-*"))
        if waves is not None:
            folders = [f for f in folders if int(f.name.split("-")[1]) in waves]
        return cls(
            [r for f in folders for r in _lines(f / "records.jsonl")],
            [r for f in folders for r in _lines(f / "registrations.jsonl")],
            [r for f in folders for r in _lines(f / "bad_lines.jsonl")],
        )
