"""One JSON record per figure, appended to ``results.jsonl`` so a regression shows as a diff.

Each record carries the machine it was measured on and the git commit, because a
figure without both cannot be compared with the next one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.jsonl"


@dataclass
class Figure:
    """A measured value, its same-run baseline, and the target it is judged against.

    ``higher_is_better`` decides whether ``target`` is an upper bound on ``judged``
    (times, ratios of cost) or a lower bound (throughput, accuracy); ``judged`` is
    the number the target applies to (the ratio or the value itself).
    """

    benchmark: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: float | None = None
    judged_on: str = "ratio"
    higher_is_better: bool = False
    notes: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        judged = self.ratio if self.judged_on == "ratio" else self.value
        if self.target is None or judged is None:
            return None
        return judged >= self.target if self.higher_is_better else judged <= self.target

    def line(self) -> str:
        """One printed line: value, baseline, ratio, target and verdict."""
        base = f"{self.baseline:.4g} ({self.baseline_name})" if self.baseline is not None else "-"
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "-"
        if self.target is None:
            goal = "no target"
        else:
            sign = ">=" if self.higher_is_better else "<="
            unit = "x" if self.judged_on == "ratio" else f" {self.unit}"
            goal = f"target {self.judged_on} {sign} {self.target:g}{unit}: {'met' if self.met else 'NOT MET'}"
        return f"{self.name:<44} {self.value:>10.4g} {self.unit:<10} baseline {base:<34} ratio {ratio:<7} {goal}"


def machine() -> dict:
    """Cores, memory, CPU model and GPU of this machine (what a figure depends on)."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10).stdout.strip() or "none"
    except (OSError, subprocess.SubprocessError):
        gpu = "none"
    return {"cores": os.cpu_count(), "ram_gb": round(mem_kb / 2**20, 1), "cpu": cpu, "gpu": gpu,
            "python": platform.python_version()}


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (done.stdout.strip() or "unknown") + ("-dirty" if dirty else "")


def append(figures: list[Figure], path: Path, quick: bool) -> None:
    """Append one record per figure to ``path`` (JSON lines)."""
    stamp = {"machine": machine(), "commit": git_commit(), "quick": quick,
             "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        for figure in figures:
            record = {**asdict(figure), "ratio": figure.ratio, "met": figure.met, **stamp}
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
