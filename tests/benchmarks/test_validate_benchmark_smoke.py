"""The benchmark script still runs (on a few rows; the full-size figures go in the report)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.steps import ROOT


def test_benchmark_runs_on_a_small_file_and_prints_its_figures():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "validate_benchmark.py"), "--rows", "500",
                             "--repeat", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    for figure in ("rows/s", "pyarrow.csv.read_csv", "raw validation", "ratio validation / read"):
        assert figure in result.stdout
