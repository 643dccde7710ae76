"""The scale benchmark runs in its quick mode, and every figure says how loaded the machine was."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pyarrow.csv as pacsv
import pytest

from benchmarks import record
from benchmarks.scale import write_rows
from tasks.data.layout import FASHION_MNIST_CATEGORIES
from tests.support.steps import ROOT


def test_interleaved_alternates_the_sides_and_reports_medians(monkeypatch):
    order: list[str] = []
    values, baselines = iter([5.0, 1.0, 3.0]), iter([2.0, 9.0, 4.0])

    def value() -> float:
        order.append("value")
        return next(values)

    def baseline() -> float:
        order.append("baseline")
        return next(baselines)

    monkeypatch.setattr(record.os, "getloadavg", lambda: (0.5, 0.4, 0.3))
    pair = record.interleaved(value, baseline, repeat=1)  # at least three rounds, whatever is asked
    assert order == ["baseline", "value"] * 3
    assert (pair.value, pair.baseline) == (3.0, 4.0)
    assert pair.load["under_load"] is False and pair.load["max_1m"] == 0.5


def test_a_figure_taken_with_load_above_the_cores_is_marked(monkeypatch):
    monkeypatch.setattr(record.os, "getloadavg", lambda: (9.0, 5.0, 2.0))
    monkeypatch.setattr(record.os, "cpu_count", lambda: 2)
    figure = record.Figure("b", "busy figure", 2.0, "s", 1.0, "base", 3.0)
    assert figure.load == {"1m": 9.0, "5m": 5.0, "15m": 2.0, "max_1m": 9.0, "cores": 2, "under_load": True}
    assert "UNDER LOAD 9.0 > 2 cores" in figure.line()


SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"


def test_cpu_used_by_other_processes_is_told_apart_from_the_benchmark_own(monkeypatch):
    def own_child() -> float:  # the benchmark's own (waited) child keeps one core busy
        subprocess.run([sys.executable, "-c", SPIN.format(seconds=1.5)], check=True)
        return 1.0

    _, own_share = record.other_cpu_share(own_child)
    stranger = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=30)])  # not ours: never waited for
    try:
        result, other_share = record.other_cpu_share(lambda: time.sleep(1.5) or 2.0)
    finally:
        stranger.kill()
        stranger.wait()
    cores = record.os.cpu_count() or 1
    assert result == 2.0
    assert other_share > 0.6 / cores and own_share < 0.3 / cores  # one busy core is 1/cores of the machine


def test_generated_rows_have_the_layout_and_the_thesis_faults(tmp_path):
    path = tmp_path / "raw.csv"
    write_rows(path, 3_000, height=4, width=4, block=1_000)
    table = pacsv.read_csv(path)
    assert table.num_rows == 3_000 and table.column_names[:3] == ["label", "pixel1", "pixel2"]
    labels = set(table.column("label").to_pylist())
    assert {str(code) for code in range(10)} <= labels and labels & set(FASHION_MNIST_CATEGORIES)
    assert labels & {"tshirt", "hat", "jacket", "accessoire", "facemask"}
    assert sum(column.null_count for column in table.columns[1:]) > 0


@pytest.mark.slow
def test_scale_benchmark_quick_mode_records_every_figure_with_its_load(tmp_path):
    results = tmp_path / "results.jsonl"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "scale", "--results",
                           str(results)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    names = {r["name"] for r in records}
    assert "columnar data path work, 1,000 rows" in names and "peak RSS split, 2,000 rows" in names
    for r in records:
        assert {"value", "baseline", "ratio", "target", "met", "machine", "commit", "date", "load"} <= r.keys()
        assert r["value"] > 0 and r["load"]["cores"] >= 1
    work = next(r for r in records if r["name"] == "columnar data path work, 1,000 rows")
    assert len(work["notes"]["work_samples"]) == 3 and work["ratio"] > 0
