"""The columnar data path at 1x, 5x and 10x Fashion-MNIST: peak RSS per step and seconds per 1,000 rows.

A generated 28x28 CSV (random pixels; the thesis' faults: 0.5% invalid label strings,
0.1% empty cells, a tenth of the labels as category names) goes through the
columnar pass (what ``fetch`` runs), the unchanged raw GX suite on its profile (what
``validate_raw`` runs), and the ``prepare``, ``features`` and ``split`` step functions
as the DAG wires them, each in a fresh process that reports its work time
(after imports) and its peak RSS (``VmHWM``).
Sizes and the baseline (``pyarrow.csv.read_csv`` of the 70,000-row file, also a
fresh process) are interleaved, three rounds (one with ``--quick``), medians reported. Targets: every
step under 2 GB at 700,000 rows, seconds per 1,000 rows there no worse than at
70,000, and the data path's work at most 2x the read at 70,000 rows.

    python -m benchmarks.scale --child REPORT STEP ARGS...   (one step's process)
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import ROOT, Figure, load_now
from tasks.core.layout import FASHION_MNIST_CATEGORIES

SIZES = (70_000, 350_000, 700_000)
QUICK_SIZES = (1_000, 2_000)
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "3"))  # fewer only to get a figure in time; recorded in notes
TARGET_RSS_MB = 2048.0
TARGET_READ_RATIO = 2.0
TARGET_WALL_RATIO = 3.0
STEPS = {  # step -> (module, function)
    "columnar": ("tasks.data.columnar", "write_columnar"),
    "validate": ("benchmarks.scale", "validate_raw"),
    "prepare": ("tasks.data.streaming", "prepare_columnar"),
    "features": ("tasks.steps.features", "features"),
    "split": ("tasks.steps.split", "split"),
    "read_csv": ("pyarrow.csv", "read_csv"),
}


def write_rows(path: Path, rows: int, height: int = 28, width: int = 28, seed: int = 0, block: int = 10_000) -> None:
    """A Fashion-MNIST-layout CSV of ``rows`` rows, written ``block`` rows at a time (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tasks.core.layout import FASHION_MNIST_CATEGORIES, THESIS_INVALID_LABELS, pixel_columns

    rng = np.random.default_rng(seed)
    names = pixel_columns(height, width)
    schema = pa.schema([("label", pa.string()), *[(name, pa.int64()) for name in names]])
    with pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="none")) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            codes = rng.integers(0, 10, n)
            labels = codes.astype(str).astype(object)
            as_name = rng.random(n) < 0.1
            labels[as_name] = np.asarray(FASHION_MNIST_CATEGORIES, dtype=object)[codes[as_name]]
            invalid = rng.random(n) < 0.005
            labels[invalid] = rng.choice(np.asarray(THESIS_INVALID_LABELS, dtype=object), int(invalid.sum()))
            pixels = rng.integers(0, 256, (n, len(names)))
            empty = rng.random((n, len(names))) < 0.001
            columns = [pa.array(labels, pa.string())]
            columns += [pa.array(pixels[:, j], mask=empty[:, j]) for j in range(len(names))]
            writer.write_table(pa.table(columns, schema=schema))


def validate_raw(profile: str) -> None:
    """The unchanged raw GX suite on the frames rebuilt from the columnar pass's profile (what validate runs)."""
    from tasks.data.columnar import raw_frames
    from tasks.data.gx_suite import load_suite, run_suite
    from tasks.steps.validate import Thresholds, suite_values

    values = suite_values(28, 28, list(FASHION_MNIST_CATEGORIES), Thresholds())
    records = run_suite(load_suite("raw", values), raw_frames(profile), None)
    failed = [r for r in records if not r["success"]]
    if failed:
        raise RuntimeError(f"raw suite failed on generated data: {failed[0]}")


def child(argv: list[str]) -> int:
    """In a fresh process: import the step, run it, write work seconds and peak RSS to REPORT."""
    report, step, args = Path(argv[0]), argv[1], json.loads(argv[2])
    started = time.perf_counter()
    module, function = STEPS[step]
    action = getattr(importlib.import_module(module), function)
    importlib.import_module("pyarrow.compute")
    for name in {"validate": ("great_expectations", "pandas")}.get(step, ()):
        importlib.import_module(name)
    loaded = time.perf_counter()
    action(*[Path(a) if isinstance(a, str) and a.endswith("/") else a for a in args])  # "dir/": an output folder
    done = time.perf_counter()
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    report.write_text(json.dumps({"startup_s": loaded - started, "work_s": done - loaded,
                                  "peak_rss_mb": int(hwm.split()[1]) / 1024}))
    return 0


def measured(step: str, args: list, folder: Path) -> dict:
    """One step in a fresh process: wall seconds (with start-up), work seconds, peak RSS in MB."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"{step}.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--child", str(report), step, json.dumps(args)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return {"wall_s": wall, **json.loads(report.read_text())}


def data_path(csv: Path, out: Path) -> dict[str, dict]:
    """The four steps on ``csv``, each in its own process (output folders end in "/": passed as paths)."""
    prep, feat = out / "prepare", out / "features"
    return {
        "columnar": measured("columnar", [str(csv), f"{out / 'columnar'}/"], out),
        "validate": measured("validate", [str(out / "columnar" / "raw_profile.json")], out),
        "prepare": measured("prepare", [str(out / "columnar" / "raw_profile.json"), f"{prep}/", 28, 28], out),
        "features": measured("features", [str(prep / "prepared.arrow"), f"{feat}/", 28, 28,
                                          "sparse_categorical_crossentropy"], out),
        "split": measured("split", [str(feat / "features.npz"), f"{out / 'split'}/", 0.2, 0.1, 42], out),
    }


def run(quick: bool = False) -> list[Figure]:
    """Rounds of (read baseline, data path at every size), interleaved; medians per size and step."""
    sizes, rounds = (QUICK_SIZES, 1) if quick else (SIZES, ROUNDS)  # quick: proves the code runs, judges nothing
    runs: dict[int, list[dict]] = {rows: [] for rows in sizes}
    reads, loads = [], []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        for rows in sizes:
            write_rows(tmp / f"raw_{rows}.csv", rows)
        small = tmp / f"raw_{sizes[0]}.csv"
        for round_ in range(rounds):
            for rows in sizes:
                loads.append(os.getloadavg()[0])
                if rows == sizes[0]:
                    reads.append(measured("read_csv", [str(small)], tmp / "read"))
                runs[rows].append(data_path(tmp / f"raw_{rows}.csv", tmp / f"run_{rows}_{round_}"))
        mb = {rows: round((tmp / f"raw_{rows}.csv").stat().st_size / 1e6, 1) for rows in sizes}
    return figures(sizes, runs, reads, load_now(loads), mb)


def _median(samples: list[dict], step: str | None, key: str) -> float:
    if step is None:
        return statistics.median(sum(s[k][key] for k in s) for s in samples)
    return statistics.median(s[step][key] for s in samples)


def figures(sizes: tuple[int, ...], runs: dict[int, list[dict]], reads: list[dict], load: dict,
            mb: dict[int, float]) -> list[Figure]:
    """Turn the samples into figures: ratios to the read, per-1,000-row cost against the smallest size, RSS."""
    read_s, read_wall = statistics.median(r["work_s"] for r in reads), statistics.median(r["wall_s"] for r in reads)
    first = sizes[0]
    per_k_first = _median(runs[first], None, "work_s") / first * 1000
    out = []
    for rows in sizes:
        work, wall = _median(runs[rows], None, "work_s"), _median(runs[rows], None, "wall_s")
        steps = {step: {key: round(_median(runs[rows], step, key), 3) for key in ("work_s", "wall_s", "peak_rss_mb")}
                 for step in STEPS if step != "read_csv"}
        notes = {"rows": rows, "csv_mb": mb[rows], "rounds": len(runs[rows]), "steps": steps,
                 "work_samples": [round(sum(s[k]["work_s"] for k in s), 3) for s in runs[rows]]}
        if rows == first:
            out.append(Figure("scale", f"columnar data path work, {rows:,} rows", work, "s", read_s,
                              "pyarrow.csv.read_csv (fresh process, work)", TARGET_READ_RATIO, notes=notes, load=load))
            out.append(Figure("scale", f"columnar data path incl. start-up, {rows:,} rows", wall, "s", read_wall,
                              "pyarrow.csv.read_csv (fresh process, wall)", TARGET_WALL_RATIO, load=load,
                              notes={"rows": rows, "read_samples": [round(r["work_s"], 3) for r in reads]}))
        else:
            out.append(Figure("scale", f"work s per 1,000 rows, {rows:,} rows", work / rows * 1000, "s", per_k_first,
                              f"same at {first:,} rows", 1.0 if rows == sizes[-1] else None, notes=notes, load=load))
        for step, figures_ in steps.items():
            out.append(Figure("scale", f"peak RSS {step}, {rows:,} rows", figures_["peak_rss_mb"], "MB",
                              target=TARGET_RSS_MB if rows == sizes[-1] else None, judged_on="value",
                              notes={"rows": rows}, load=load))
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    raise SystemExit(child(sys.argv[2:]))
