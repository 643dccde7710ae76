"""Reuse of data work: a rerun of the embedded DAG that changes only ``epochs`` against the cold run before it.

Each round starts a fresh ``AIRFLOW_HOME`` and state folder (migration untimed), runs the
DAG as ``make demo`` does (the baseline: every data step computes) and then again with only
``epochs`` changed (100 -> 99: with early stopping at patience 8 both train as long), so
``fetch`` to ``split`` reuse the first run's outputs (``tasks/core/reuse.py``). The figure
is the median rerun wall time against the median cold one (issue 26: at most 50 %). The
notes give each run's task durations from Airflow's database, so the share the data steps
had in the cold run (the most reuse can save) is on record beside the figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.orchestration import airflow_env, dag_run
from benchmarks.record import Figure, interleaved

TARGET_RATIO = 0.5
DATA_STEPS = ("fetch", "validate_raw", "prepare", "validate_prepared", "features", "split")
_DURATIONS = """
import json, sys
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as session:
    rows = session.execute(select(TaskInstance.task_id, TaskInstance.duration).where(
        TaskInstance.dag_id == sys.argv[1], TaskInstance.run_id == sys.argv[2])).all()
print(json.dumps({task: round(seconds or 0.0, 2) for task, seconds in rows}))
"""


def task_seconds(home: Path, summary: dict) -> dict[str, float]:
    """Each task's duration in a finished run, from the run's own Airflow database (not timed)."""
    done = subprocess.run([sys.executable, "-c", _DURATIONS, summary["dag_id"], summary["run_id"]],
                          capture_output=True, text=True, env=airflow_env(home), timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}


def run(quick: bool = False) -> list[Figure]:
    """The rerun's wall time against the cold run's, with where each spent its time."""
    cold_conf = {"model_name": "bench", "epochs": 3} if quick else {"model_name": "bench"}
    rerun_conf = {**cold_conf, "epochs": cold_conf.get("epochs", 100) - 1}
    homes: list[tempfile.TemporaryDirectory] = []
    rounds: list[dict] = []

    def cold() -> float:
        homes.append(tempfile.TemporaryDirectory(prefix="bench-reuse-"))
        summary, seconds = dag_run(Path(homes[-1].name), cold_conf)
        rounds.append({"cold": summary, "cold_s": seconds})
        return seconds

    def rerun() -> float:
        home = Path(homes[-1].name)
        summary, seconds = dag_run(home, rerun_conf)
        rounds[-1].update(rerun=summary, rerun_s=seconds, cold_tasks=task_seconds(home, rounds[-1]["cold"]),
                          rerun_tasks=task_seconds(home, summary))
        homes.pop().cleanup()
        return seconds

    pair = interleaved(rerun, cold, smoke=quick)
    last = rounds[-1]
    reused = [t for t in DATA_STEPS if last["rerun"]["tasks"].get(t) == "success"]
    notes = {**pair.notes(), "cold_conf": cold_conf, "rerun_conf": rerun_conf,
             "cold_task_seconds": last["cold_tasks"], "rerun_task_seconds": last["rerun_tasks"],
             "cold_data_steps_s": round(sum(last["cold_tasks"].get(t, 0) for t in DATA_STEPS), 2),
             "rerun_data_steps_s": round(sum(last["rerun_tasks"].get(t, 0) for t in reused), 2),
             "deploy": {"cold": last["cold"]["tasks"].get("deploy"), "rerun": last["rerun"]["tasks"].get("deploy")}}
    return [Figure("data_reuse", "embedded DAG rerun, only epochs changed", pair.value, "s", pair.baseline,
                   "the cold run before it", TARGET_RATIO, notes=notes, load=pair.load)]
