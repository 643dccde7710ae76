"""A corrupted batch stops the whole DAG at validate_raw: nothing is prepared or trained."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.steps import ROOT


@pytest.mark.e2e
def test_thirty_percent_invalid_labels_stop_the_run_before_training(airflow_db):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_dag.py"), "fashion_mnist_training", "--json",
                             "--conf", json.dumps({"invalid_label_rate": 0.3})],
                            capture_output=True, text=True, timeout=600, cwd=ROOT, env=os.environ.copy())
    assert result.returncode == 1, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["state"] == "failed"
    assert summary["tasks"]["validate_raw"] == "failed"
    assert summary["tasks"]["train"] != "success"
    assert summary["tasks"]["prepare"] != "success"
    assert "accuracy" not in summary
