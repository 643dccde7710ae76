"""Orchestration overhead: the embedded DAG run end to end against its steps run back to back.

Both sides run the same steps on the same data and settings: the DAG through
``scripts/run_dag.py`` (``dag.test()``, every step a local subprocess) with a temp
``AIRFLOW_HOME`` and state folder and a migrated DB (migration is not timed), the
baseline through :mod:`benchmarks.plain_steps`, which renders the DAG's own step
specs; the two alternate (DAG first: its branches decide which steps the baseline
runs), three rounds, and the figure is the median of each side. The difference is
what Airflow adds: its import, parsing the DAG folder, the database bookkeeping per
task, the sensor, branch and gate tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.plain_steps import DATA_STEPS, MODEL_STEPS, REGISTRY_STEPS, run_pipeline
from benchmarks.record import ROOT, Figure, interleaved

TARGET_RATIO = 1.3


def airflow_env(home: Path) -> dict[str, str]:
    """An isolated embedded-default environment under ``home``."""
    env = {**os.environ, "AIRFLOW_HOME": str(home / "airflow"), "PIPELINE_STATE_DIR": str(home / "state"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
           "AIRFLOW_CONN_FS_DEFAULT": "fs://", "PIPELINE_MODE": "local"}
    for name in ("PIPELINE_ARTIFACT_ROOT", "PIPELINE_SERVING_ROOT", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return env


def dag_run(home: Path, conf: dict) -> tuple[dict, float]:
    """Migrate a fresh DB (untimed), then time one DAG run; return its summary and wall time."""
    env = airflow_env(home)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=env, timeout=600)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "scripts/run_dag.py", "fashion_mnist_training", "--json", "--conf",
                           json.dumps(conf)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600)
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"DAG run failed ({done.returncode}): {(lines or [done.stderr[-1500:]])[-1]}")
    return json.loads(lines[-1]), seconds


def run(quick: bool = False) -> list[Figure]:
    """The DAG run's wall time against the sum of its steps' wall times."""
    conf = {"epochs": 2, "model_name": "bench"} if quick else {"model_name": "bench"}
    dags: list[tuple[dict, float]] = []
    plains: list[dict] = []

    def dag_side() -> float:
        with tempfile.TemporaryDirectory(prefix="bench-dag-") as dag_home:
            dags.append(dag_run(Path(dag_home), conf))
        return dags[-1][1]

    def plain_side() -> float:
        ran = _ran(dags[-1][0])  # the DAG side runs first: its branches decide which steps ran
        saved = dict(os.environ)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-plain-") as plain_home:
                plains.append(run_pipeline(Path(plain_home) / "state", conf, tuple(ran)))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return plains[-1]["total_s"]

    pair = interleaved(dag_side, plain_side, value_first=True, smoke=quick)
    summary, ran, plain = dags[-1][0], _ran(dags[-1][0]), plains[-1]
    notes = {**pair.notes(), "conf": conf, "steps": ran,
             "step_seconds": {k: round(v, 2) for k, v in plain["seconds"].items()},
             "dag_accuracy": summary.get("accuracy"),
             "plain_accuracy": plain["results"].get("evaluate", {}).get("accuracy"),
             "plain_epochs": plain["results"].get("train", {}).get("epochs_run")}
    return [Figure("orchestration", "embedded DAG run, end to end", pair.value, "s", pair.baseline,
                   f"{len(ran)} step CLIs back to back", TARGET_RATIO, notes=notes, load=pair.load)]


def _ran(summary: dict) -> list[str]:
    """The steps a DAG run's summary says succeeded, in pipeline order."""
    return [t for t in (*DATA_STEPS, *MODEL_STEPS, *REGISTRY_STEPS) if summary["tasks"].get(t) == "success"]
