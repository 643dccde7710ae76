"""The training DAG's steps run back to back, without a scheduler, by any executor.

The benchmarks (a baseline without Airflow) and the image tests (each step in its
container) need the DAG's exact command lines and order, not a copy of its wiring; it is
tooling, not part of what the scheduler loads, so it lives beside the benchmarks. This module
loads the DAG file with a given state folder, answers the tasks that are not steps
(``resolve_dataset``, an untuned run's ``pick_best``, the branch, the gate) with the same functions the DAG calls,
renders each step task's arguments as Airflow does (Jinja with the DAG's own environment,
upstream outputs resolved from the results of the tasks already run) and hands
``(spec, argv)`` to an executor, which returns the step's JSON result.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_pipeline.settings import PROJECT_ROOT
from mlops_pipeline.steps import StepSpec, result_line

DAG_FILE = PROJECT_ROOT / "dags" / "fashion_mnist_training.py"
DAG_ID = "fashion_mnist_training"
RUN_ID = "manual__step_plan"
Executor = Callable[[StepSpec, list[str]], dict]


class ResultsTaskInstance:
    """A task instance for rendering without a scheduler: ``xcom_pull`` answers from earlier results.

    A step pushes its whole result as ``return_value`` and each field under its own key
    (``multiple_outputs``), so ``key`` picks a field; a task that did not run (the branch not
    taken) pushed nothing, and ``default`` comes back, as from Airflow's.
    """

    def __init__(self, task_id: str, results: Mapping[str, Mapping[str, Any] | None], dag_id: str = DAG_ID) -> None:
        self.dag_id, self.task_id, self.map_index, self.try_number = dag_id, task_id, -1, 1
        self.results = results

    def xcom_pull(self, task_ids: str | None = None, key: str | None = "return_value", default: Any = None,
                  **_: Any) -> Any:
        import copy

        result = self.results.get(task_ids or self.task_id)
        if result is None:
            return default
        if key in (None, "return_value"):
            return copy.deepcopy(result)
        return copy.deepcopy(result[key]) if key in result else default


def render_task(dag: Any, task_id: str, params: Mapping[str, Any], results: Mapping[str, Mapping[str, Any] | None],
                run_id: str = RUN_ID) -> tuple[Any, dict[str, Any]]:
    """A copy of the DAG's task with its templates rendered as Airflow would, and the context it used."""
    import copy

    task = copy.deepcopy(dag.get_task(task_id))
    context = {"params": params, "run_id": run_id, "dag": dag, "task": task,
               "ti": ResultsTaskInstance(task_id, results, dag.dag_id)}
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    return task, context


def step_argv(task: Any) -> list[str]:
    """``<step> <arguments...>`` of a rendered step task, local or pod (a pod's arguments start with the step)."""
    arguments = [str(a) for a in task.arguments]
    return arguments if hasattr(task, "spec") else [task.step, *arguments]


def load_dag_module(state_dir: Path) -> Any:
    """Execute the DAG file with ``state_dir`` as the pipeline state (artifact root, registry, store)."""
    os.environ["PIPELINE_STATE_DIR"] = str(state_dir)
    for name in ("PIPELINE_ARTIFACT_ROOT", "PIPELINE_SERVING_ROOT", "MLFLOW_TRACKING_URI", "PIPELINE_DATASET_STORE",
                 "PIPELINE_LANDING_DIR"):
        os.environ.pop(name, None)
    spec = importlib.util.spec_from_file_location("step_plan_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pipeline_task_ids(dag: Any, use_pretrained_model: bool = False) -> tuple[str, ...]:
    """The step tasks of one run in the DAG's own order (its topological sort), on the branch the DAG would take."""
    from mlops_pipeline.decisions import BUILD_MODEL, LOAD_PRETRAINED, choose_model_source
    from tasks.contracts import STEP_NAMES

    skipped = {BUILD_MODEL, LOAD_PRETRAINED} - {choose_model_source(use_pretrained_model)}
    return tuple(task.task_id for task in dag.topological_sort()  # a step task, local or pod, names its step
                 if getattr(task, "step", None) in STEP_NAMES and task.task_id not in skipped)


def execute_local(spec: StepSpec, argv: list[str]) -> dict:
    """Run ``python -m tasks <argv>`` here, as the local runner does; the step's JSON result."""
    from mlops_pipeline.uri_check import allowlist_env

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
           **allowlist_env()}
    done = subprocess.run([sys.executable, "-m", "tasks", *argv], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{spec.task_id} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    result = result_line(done.stdout)
    if result is None:
        raise RuntimeError(f"{spec.task_id} printed no JSON result line")
    return result


def run_steps(conf: Mapping[str, Any], state_dir: Path, execute: Executor = execute_local,
              task_ids: Sequence[str] | None = None) -> dict:
    """Run the training DAG's steps (``task_ids``, default: one whole run) with ``execute``.

    Returns ``{"results": {task_id: result}, "seconds": {task_id: s}, "gate": reason, "total_s": s}``.
    ``deploy`` runs only if the gate, deciding as the DAG's does, lets it.
    """
    module = load_dag_module(state_dir)
    dag = module.dag
    params = resolve_params(dag, conf)
    from mlops_pipeline.decisions import gate_for
    from mlops_pipeline.triggers import MANUAL, resolve_for_run
    from mlops_pipeline.tuning import untuned

    if params["tuning_trials"]:
        raise ValueError("the step plan runs one untuned pipeline: set tuning_trials to 0")
    results: dict[str, dict] = {"resolve_dataset": resolve_for_run(MANUAL, [], module.SETTINGS.dataset_store, params),
                                "pick_best": untuned(params)}
    seconds: dict[str, float] = {}
    gate_reason = ""
    for task_id in task_ids or pipeline_task_ids(dag, bool(params["use_pretrained_model"])):
        if task_id == "deploy":
            deploy, gate_reason, table = gate_for(params, results.get("register") or {})
            results["gate"] = {"reason": gate_reason, "comparison": table}
            if not deploy:
                continue
        spec = module.STEPS[task_id]
        argv = step_argv(render_task(dag, task_id, params, results)[0])
        started = time.perf_counter()
        results[task_id] = execute(spec, argv)
        seconds[task_id] = time.perf_counter() - started
    return {"results": results, "seconds": seconds, "gate": gate_reason, "total_s": sum(seconds.values())}


def resolve_params(dag: Any, conf: Mapping[str, Any]) -> dict[str, Any]:
    """The DAG's Params with ``conf`` applied and validated, as Airflow resolves a triggered run's."""
    import copy

    unknown = sorted(set(conf) - set(dag.params))
    if unknown:
        raise ValueError(f"unknown params: {', '.join(unknown)}")
    params = copy.deepcopy(dag.params)
    params.update(dict(conf))
    return params.validate()
