"""The training DAG's steps as plain subprocesses, back to back, with no Airflow around them.

The command lines come from the DAG's own ``StepSpec``s: the DAG file is executed
(with this run's ``PIPELINE_STATE_DIR``, so its artifact root and tracking URI point
at a temp folder), and each step's templated arguments are rendered with the same
Jinja the DAG uses (``params``, ``run_id | path_safe``, ``ti.xcom_pull`` answered
from the JSON result lines of the steps run before). So the baseline runs exactly
what the DAG would, minus the orchestration.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.record import ROOT

RUN_ID = "manual__plain_steps"
DATA_STEPS = ("fetch", "validate_raw", "prepare", "validate_prepared", "features", "split")
MODEL_STEPS = ("build_model", "train", "evaluate")
REGISTRY_STEPS = ("register", "deploy")


class _TaskInstance:
    """Answers ``ti.xcom_pull`` from the results of the steps already run."""

    def __init__(self, results: dict[str, dict], gate_reason: str = "") -> None:
        self.results = results
        self.gate_reason = gate_reason

    def xcom_pull(self, task_ids: str, key: str | None = None):
        if key == "reason":
            return self.gate_reason
        return self.results.get(task_ids)


def load_training_dag(state_dir: Path):
    """Execute the DAG file with ``state_dir`` as the pipeline state (returns the module)."""
    os.environ["PIPELINE_STATE_DIR"] = str(state_dir)
    for name in ("PIPELINE_ARTIFACT_ROOT", "PIPELINE_SERVING_ROOT", "MLFLOW_TRACKING_URI"):
        os.environ.pop(name, None)
    plugins = str(ROOT / "plugins")
    if plugins not in sys.path:
        sys.path.insert(0, plugins)
    spec = importlib.util.spec_from_file_location("plain_steps_dag", ROOT / "dags" / "fashion_mnist_training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_params(conf: dict) -> dict:
    """The trigger form's defaults overridden by ``conf`` (as Airflow resolves them)."""
    from mlops_pipeline.params import training_params

    params = {name: param.value for name, param in training_params().items()}
    unknown = set(conf) - set(params)
    if unknown:
        raise ValueError(f"unknown params: {sorted(unknown)}")
    return {**params, **conf}


def render(spec, params: dict, ti: _TaskInstance, dag_id: str) -> list[str]:
    """The step's command line with every template rendered."""
    import jinja2

    from mlops_pipeline.steps import path_safe

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["path_safe"] = path_safe
    context = {"params": params, "ti": ti, "run_id": RUN_ID, "dag": type("Dag", (), {"dag_id": dag_id})}
    args = [env.from_string(arg).render(**context) for arg in spec.arguments]
    return [sys.executable, "-m", "tasks", spec.step, *args]


def run_step(command: list[str], env: dict[str, str]) -> tuple[dict, float]:
    """Run one command line; return its JSON result line and its wall time."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:5])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    line = next(line for line in reversed(done.stdout.strip().splitlines()) if line.startswith("{"))
    return json.loads(line), seconds


def run_pipeline(state_dir: Path, conf: dict, steps: tuple[str, ...]) -> dict:
    """Run ``steps`` (task ids of the training DAG) in order; the gate decides on deploy as the DAG's does."""
    module = load_training_dag(state_dir)
    from mlops_pipeline.decisions import gate_decision

    params = default_params(conf)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    ti = _TaskInstance(results)
    for task_id in steps:
        if task_id == "deploy":
            r = results["register"]
            deploy, ti.gate_reason = gate_decision(r.get("accuracy"), float(params["accuracy_threshold"]),
                                                   r.get("champion_accuracy"), float(params["min_improvement"]),
                                                   r.get("champion_version"))
            if not deploy:
                continue
        command = render(module.STEPS[task_id], params, ti, "fashion_mnist_training")
        results[task_id], seconds[task_id] = run_step(command, env)
    return {"results": results, "seconds": seconds, "total_s": sum(seconds.values())}
