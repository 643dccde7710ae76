"""DAG parse time: each DAG file executed in a fresh interpreter, Airflow's own import excluded.

The scheduler re-parses every DAG file continually, so a DAG file must be cheap to
execute: no TensorFlow, pandas, GX or MLflow at top level. The probe imports
``airflow.sdk`` and the standard operators first (a cost every DAG pays once per
parser process), then times executing the file. The baseline is a DAG with one
EmptyOperator parsed the same way. ``tests/dags/test_dag_integrity.py`` uses the
same probe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.record import ROOT, Figure, interleaved

HEAVY_MODULES = ("tensorflow", "keras", "pandas", "sklearn", "great_expectations", "mlflow",
                 "airflow.providers.cncf.kubernetes.operators.pod", "kubernetes.client")
MODES = ("local", "kubernetes")  # PIPELINE_MODE: the DAG builds subprocess tasks or pod tasks
TARGET_SECONDS = 0.3
PROBE = """
import importlib.util, sys, time
sys.path[:0] = [{plugins!r}]
import airflow.sdk  # Airflow's own import cost is excluded from the measurement
import airflow.providers.standard.operators.python
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("probe_dag", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - started
heavy = [m for m in {heavy!r} if m in sys.modules]
print(f"{{elapsed}}|{{','.join(heavy)}}")
"""
EMPTY_DAG = '''"""Baseline: the smallest DAG there is."""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag


@dag(dag_id="empty_baseline", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def empty_baseline():
    EmptyOperator(task_id="nothing")


empty_baseline()
'''


def probe_dag_file(path: Path, mode: str = "local") -> tuple[float, list[str]]:
    """Seconds to execute ``path`` in a fresh interpreter (``PIPELINE_MODE=mode``) and the heavy modules it imported."""
    probe = PROBE.format(plugins=str(ROOT / "plugins"), path=str(path), heavy=HEAVY_MODULES)
    env = {**os.environ, "PIPELINE_MODE": mode}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          env=env)
    seconds, heavy = done.stdout.strip().splitlines()[-1].split("|")
    return float(seconds), [name for name in heavy.split(",") if name]


def run(quick: bool = False) -> list[Figure]:
    """One figure per DAG file and mode: median parse against the empty DAG's, parsed alternately."""
    repeat = 3 if quick else 5
    figures = []
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        empty = Path(tmp) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        for mode in MODES:
            for path in sorted((ROOT / "dags").glob("*.py")):
                heavy: list[str] = []

                def parse(path=path, heavy=heavy, mode=mode) -> float:
                    seconds, found = probe_dag_file(path, mode)
                    heavy[:] = found
                    return seconds

                pair = interleaved(parse, lambda: probe_dag_file(empty)[0], repeat)
                figures.append(Figure("dag_parse", f"parse {path.name} ({mode} mode)", pair.value, "s",
                                      pair.baseline, "empty DAG, 1 EmptyOperator", TARGET_SECONDS, judged_on="value",
                                      load=pair.load, notes={**pair.notes(), "heavy_imports": heavy,
                                                             "mode": mode, "repeat": repeat}))
    return figures
