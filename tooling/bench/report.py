"""Write a benchmark run: the results table into docs/benchmarks.md, one plot per measure."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.run import FLATNESS, LEDGER_SHARE, Measure, Report
from ingestion.files import write_atomically

START, END = "<!-- results:start -->", "<!-- results:end -->"

#: (name, target): ratios the issue sets, each checked against its limit in the table.
TARGETS = {
    "landing ratio to ceiling": (">=", 0.8),
    "kafka ratio to ceiling": (">=", 0.8),
    "run +1% / full run": ("<=", 0.2),
    "build +1% / full build": ("<=", 0.1),
    "build no input / full build": ("<=", 0.2),
    LEDGER_SHARE: ("<=", 0.15),
    FLATNESS: ("<=", 1.1),
    "event to bronze p95 / trigger interval": ("<=", 2.0),
}


def _size(size: int | None) -> str:
    if size is None:
        return ""
    return f"{size / 1_000_000:g}M" if size >= 1_000_000 else f"{size:,}"


def table(report: Report) -> str:
    lines = ["| measure | size / rate | value | target |", "|---|---|---|---|"]
    for m in report.measures:
        target = ""
        if m.name in TARGETS:
            op, limit = TARGETS[m.name]
            held = m.value >= limit if op == ">=" else m.value <= limit
            target = f"{op} {limit:g}: {'met' if held else '**not met**'}"
        value = f"{m.value:,.0f}" if m.value >= 100 else f"{m.value:.3g}"
        lines.append(f"| {m.name} | {_size(m.size)} | {value} {m.unit} | {target} |")
    machine = report.machine
    lines += [
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"Python {machine['python']}, Spark {machine['spark']}, `local[2]`.",
    ]
    return "\n".join(lines)


#: The dbt stages whose per-model seconds the document shows, in its columns.
NODE_STAGES = ["dbt full run", "dbt run, +1%", "dbt run, no new input"]


def node_table(report: Report, top: int = 12) -> str:
    """Seconds per model at the largest size of the run, for the NODE_STAGES, slowest first."""
    sizes = [int(key.rsplit("@", 1)[1]) for key in report.nodes]
    if not sizes:
        return ""
    size = max(sizes)
    stages = [report.nodes.get(f"{stage} @ {size}", {}) for stage in NODE_STAGES]
    models = [n for n in stages[0] if n.startswith(("model.", "snapshot."))]
    models.sort(key=lambda n: -stages[0][n])
    lines = [
        f"Seconds per model at {_size(size)} (`run_results.json`), the {top} slowest in full:",
        "",
        "| model | " + " | ".join(NODE_STAGES) + " |",
        "|---" * (len(NODE_STAGES) + 1) + "|",
    ]
    for name in models[:top]:
        cells = [f"{stage[name]:.1f}" if name in stage else "" for stage in stages]
        lines.append(f"| {name.rsplit('.', 1)[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bar(path: Path, title: str, labels: list[str], series: dict[str, list[float]], unit: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(series), 1)
    for n, (name, values) in enumerate(series.items()):
        axis.bar([i + n * width for i in range(len(labels))], values, width, label=name)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    axis.set_ylabel(unit)
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plots(report: Report, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    by = {(m.name, m.size): m.value for m in report.measures}
    sizes = sorted({m.size for m in report.measures if m.name == "landing to bronze"})
    kafka = sorted({m.size for m in report.measures if m.name == "kafka to bronze"})
    written = []
    path = folder / "ingestion-throughput.png"
    labels = [f"landing {_size(s)}" for s in sizes] + [f"kafka {_size(s)}" for s in kafka]
    _bar(
        path,
        "Ingestion into bronze against the noop-sink ceiling",
        labels,
        {
            "into bronze": [by[("landing to bronze", s)] for s in sizes]
            + [by[("kafka to bronze", s)] for s in kafka],
            "noop ceiling": [by[("landing noop ceiling", s)] for s in sizes]
            + [by[("kafka noop ceiling", s)] for s in kafka],
        },
        "events/s",
    )
    written.append(path)
    path = folder / "dbt-full-vs-incremental.png"
    runs = [n for n, _ in by if n.startswith("dbt ")]
    names = list(dict.fromkeys(runs))
    _bar(
        path,
        "dbt run: full against incremental, by table size",
        [_size(s) for s in sizes],
        {name.removeprefix("dbt "): [by.get((name, s), 0.0) for s in sizes] for name in names},
        "seconds",
    )
    written.append(path)
    path = folder / "freshness.png"
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, values in report.latencies.items():
        ordered = sorted(values)
        axis.plot(ordered, [i / len(ordered) for i in range(1, len(ordered) + 1)], label=name)
    axis.set_xlabel("seconds after the event was produced")
    axis.set_ylabel("share of events")
    axis.set_title("Freshness at a fixed produce rate (CDF)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    written.append(path)
    path = folder / "driver-memory.png"
    memory = [(s, v) for (n, s), v in by.items() if n == "peak driver memory (JVM)"]
    _bar(
        path,
        "Peak driver memory (JVM resident set)",
        [_size(s) for s, _ in memory],
        {"peak": [v for _, v in memory]},
        "MiB",
    )
    written.append(path)
    return written


def load(document: Path) -> list[Measure]:
    """The measures of the last run written beside ``document`` (none if there is none)."""
    path = document.parent / "benchmarks" / "results.json"
    if not path.exists():
        return []
    return [Measure(**m) for m in json.loads(path.read_text())["measures"]]


def write(report: Report, document: Path, *, with_plots: bool = True) -> None:
    """Results JSON and plots beside ``document``; the table between its result markers."""
    folder = document.parent / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "results.json", report.to_json() + "\n")
    if with_plots:
        plots(report, folder)
    text = document.read_text() if document.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    block = f"{START}\n{table(report)}\n\n{node_table(report)}\n{END}"
    text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    write_atomically(document, text)
