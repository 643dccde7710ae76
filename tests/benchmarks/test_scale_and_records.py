"""The scale benchmark runs in its quick mode, and every figure says how loaded the machine was."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.csv as pacsv
import pytest

from benchmarks import record
from benchmarks.scale import write_rows
from tasks.core.layout import FASHION_MNIST_CATEGORIES
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


def test_a_smoke_run_takes_one_round_of_each_side(monkeypatch):
    order: list[str] = []
    monkeypatch.setattr(record.os, "getloadavg", lambda: (0.5, 0.4, 0.3))
    pair = record.interleaved(lambda: order.append("value") or 2.0, lambda: order.append("baseline") or 1.0,
                              smoke=True)
    assert order == ["baseline", "value"] and (pair.value, pair.baseline) == (2.0, 1.0)


def test_a_figure_taken_with_load_above_the_cores_is_marked(monkeypatch):
    monkeypatch.setattr(record.os, "getloadavg", lambda: (9.0, 5.0, 2.0))
    monkeypatch.setattr(record.os, "cpu_count", lambda: 2)
    figure = record.Figure("b", "busy figure", 2.0, "s", 1.0, "base", 3.0)
    assert figure.load == {"1m": 9.0, "5m": 5.0, "15m": 2.0, "max_1m": 9.0, "cores": 2, "under_load": True}
    assert "UNDER LOAD 9.0 > 2 cores" in figure.line()


def test_cpu_used_by_other_processes_is_told_apart_from_the_benchmark_own(monkeypatch):
    # Given the machine's busy CPU seconds and the benchmark's own (process + waited children) as /proc and
    # os.times report them: over 2 s on 2 cores the machine was busy 3 s, 1 s of it the benchmark's own
    readings = iter([(100.0, 10.0), (103.0, 11.0)])
    clock = iter([50.0, 52.0])
    monkeypatch.setattr(record, "_cpu_seconds", lambda: next(readings))
    monkeypatch.setattr(record.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(record.os, "cpu_count", lambda: 2)

    result, other_share = record.other_cpu_share(lambda: 7.0)

    # Then the other processes' 2 s are half of the 4 core-seconds, and the benchmark's own second is not counted
    assert result == 7.0 and other_share == 0.5


def test_the_cpu_counters_are_read_from_this_machine():
    busy, own = record._cpu_seconds()
    assert busy > 0 and own > 0  # /proc/stat and os.times() answered (a 0 would silently hide other processes)


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
    assert work["notes"]["rounds"] == len(work["notes"]["work_samples"]) == 1 and work["ratio"] > 0  # quick: 1 round
