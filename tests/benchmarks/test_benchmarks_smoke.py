"""The benchmark suite still runs: every benchmark on tiny sizes (``--quick``), results to a temp file.

Benchmarks are not timed tests: this only keeps their code working (``make bench`` broke
silently once, when the step wiring changed and no test ran the benchmarks); the figures
come from ``make bench`` and live in ``benchmarks/results.jsonl``. ``orchestration``,
``data_reuse`` and ``quality`` are whole pipeline runs (a dozen processes that import TensorFlow or GX,
minutes even on tiny data), so they have a test of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.steps import ROOT

SMOKED = ("dag_parse", "data_path", "training", "serving")  # scale: test_scale_and_records.py
PIPELINES = ("orchestration", "data_reuse", "quality", "tuning")


def quick(tmp_path, names: tuple[str, ...], timeout: int) -> tuple[subprocess.CompletedProcess, list[dict]]:
    results = tmp_path / "results.jsonl"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--results", str(results),
                           "--only", *names], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, [json.loads(line) for line in results.read_text().splitlines()]


@pytest.mark.e2e  # whole pipeline runs, a DAG run among them
@pytest.mark.timeout(3600)
def test_every_pipeline_benchmark_runs_on_tiny_sizes(tmp_path):
    done, records = quick(tmp_path, PIPELINES, 3600)
    assert {r["benchmark"] for r in records} == set(PIPELINES)
    assert all(r["value"] > 0 and r["baseline"] for r in records), done.stdout[-2000:]


@pytest.mark.timeout(2400)  # ~5 min idle; a 2-core machine shared with other test runs takes several times that
def test_every_benchmark_runs_on_tiny_sizes_and_records_its_figures(tmp_path):
    done, records = quick(tmp_path, SMOKED, 2400)
    assert {r["benchmark"] for r in records} == set(SMOKED)
    assert {r["name"] for r in records if r["benchmark"] == "dag_parse"} >= {
        "parse fashion_mnist_training.py (local mode)", "parse fashion_mnist_training.py (kubernetes mode)"}
    for record in records:
        assert record["quick"] is True and record["machine"]["cores"] >= 1 and record["commit"]
        assert record["value"] > 0 and "baseline" in record and "ratio" in record and "load" in record
    assert "ratio" in done.stdout and "baseline" in done.stdout
