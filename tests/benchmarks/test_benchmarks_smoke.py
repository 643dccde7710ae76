"""The benchmark suite still runs: every benchmark on tiny sizes (``--quick``), results to a temp file.

Benchmarks are not timed tests: this only keeps their code working; the figures
come from ``make bench`` and live in ``benchmarks/results.jsonl``. ``orchestration``
and ``quality`` are left out: each is a whole pipeline run (a dozen processes that
import TensorFlow or GX, 1-2 minutes even on tiny data), and the end-to-end tests
already run the DAG and the steps they are built from.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SMOKED = ("dag_parse", "data_path", "training")


def test_every_benchmark_runs_on_tiny_sizes_and_records_its_figures(tmp_path):
    results = tmp_path / "results.jsonl"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--results", str(results),
                           "--only", *SMOKED], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert {r["benchmark"] for r in records} == set(SMOKED)
    for record in records:
        assert record["quick"] is True and record["machine"]["cores"] >= 1 and record["commit"]
        assert record["value"] > 0 and "baseline" in record and "ratio" in record and "load" in record
    assert "ratio" in done.stdout and "baseline" in done.stdout
