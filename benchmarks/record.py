"""One JSON record per figure, appended to ``results.jsonl`` so a regression shows as a diff.

Each record carries the machine it was measured on, the git commit and the load
average while it was measured, because a figure without them cannot be compared
with the next one. Ratios come from :func:`interleaved` pairs (value and baseline
alternating, median of at least three), so a burst of other work on a shared
machine slows both sides of a pair instead of one; a figure taken while the
1-minute load was above the core count is marked ``under_load``. A benchmark's own
processes raise the load average too (TensorFlow runs more threads than there are
cores), so each pair also records ``other_cpu``: the largest share of the machine's
CPU time that went to processes other than the benchmark and its children while one
side was measured (from ``/proc/stat`` less the benchmark's own CPU time).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
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
    load: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.load = self.load or load_now()

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
        load = self.load
        other = f"; other processes {load['other_cpu']:.0%} of CPU" if "other_cpu" in load else ""
        busy = f" [UNDER LOAD {load['max_1m']:.1f} > {load['cores']} cores{other}]" if load["under_load"] else ""
        return (f"{self.name:<44} {self.value:>10.4g} {self.unit:<10} baseline {base:<34} ratio {ratio:<7} {goal}"
                f"{busy}")


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine since boot, CPU seconds of this process and its waited children)."""
    stat = _read("/proc/stat")
    fields = [int(v) for v in stat.splitlines()[0].split()[1:]] if stat else []
    busy = (sum(fields) - sum(fields[3:5])) / os.sysconf("SC_CLK_TCK") if fields else 0.0  # less idle, iowait
    own = os.times()
    return busy, own.user + own.system + own.children_user + own.children_system


def other_cpu_share(action: Callable[[], float]) -> tuple[float, float]:
    """Run ``action``; return its result and the share of all cores other processes used meanwhile."""
    busy, own = _cpu_seconds()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    busy_after, own_after = _cpu_seconds()
    other = max((busy_after - busy) - (own_after - own), 0.0)
    return result, other / (elapsed * (os.cpu_count() or 1)) if elapsed > 0 else 0.0


def load_now(samples: list[float] | None = None) -> dict:
    """The load average now (and the highest 1-minute load seen while measuring), against the core count."""
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count() or 1
    highest = max([one, *(samples or [])])
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2), "max_1m": round(highest, 2),
            "cores": cores, "under_load": highest > cores}


@dataclass
class Pair:
    """Medians of interleaved runs of a value and its baseline, with every sample and the load seen."""

    value: float
    baseline: float
    values: list[float]
    baselines: list[float]
    load: dict

    def notes(self) -> dict:
        return {"samples": [round(v, 4) for v in self.values],
                "baseline_samples": [round(b, 4) for b in self.baselines]}


def interleaved(value: Callable[[], float], baseline: Callable[[], float], repeat: int = 3,
                value_first: bool = False, smoke: bool = False) -> Pair:
    """Run baseline, value, baseline, value... (or value first) ``repeat`` times each; medians of each side.

    Each callable returns its own measurement (seconds, samples/s...), so start-up it
    should not count can be left out by the callable itself. A figure takes at least three
    rounds; a ``smoke`` run (``--quick``: does the benchmark still work?) takes one.
    """
    repeat = 1 if smoke else max(repeat, 3)
    values, baselines, loads, others = [], [], [], []
    sides = ((value, values), (baseline, baselines)) if value_first else ((baseline, baselines), (value, values))
    for _ in range(repeat):
        for action, samples in sides:
            loads.append(os.getloadavg()[0])
            result, other = other_cpu_share(action)
            samples.append(result)
            others.append(other)
    load = {**load_now(loads), "other_cpu": round(max(others), 3)}
    return Pair(statistics.median(values), statistics.median(baselines), values, baselines, load)


def timed(action: Callable[[], object]) -> Callable[[], float]:
    """A callable that runs ``action`` and returns its wall seconds (for :func:`interleaved`)."""
    def run() -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started
    return run


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
    # The results file itself does not make the code dirty: a run appends to it after its first figure.
    code = ["--", ".", f":(exclude){RESULTS.relative_to(ROOT)}"]
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", *code], cwd=ROOT,
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
