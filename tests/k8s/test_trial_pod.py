"""A tuning trial's pod in Kubernetes mode: the train step with the trial's settings, on its own GPUs.

Given the DAG parsed with ``PIPELINE_MODE=kubernetes`` and one trial as ``plan_trials`` plans it,
when the mapped ``trial`` task is expanded for that trial and its pod request is built (no cluster),
then the pod runs ``train`` with the trial's settings and study options and asks for the run's GPUs.
"""

from __future__ import annotations

import copy
import json

import pytest

from benchmarks.step_plan import ResultsTaskInstance
from tests.k8s.pods import RESULTS, RUN_ID
from tests.k8s.pss import restricted_violations

pytestmark = pytest.mark.integration
TRIAL = {"number": 3, "settings": {"model_type": "cnn", "units": 97, "learning_rate": 0.0042, "batch_size": 64}}


def _trial_pod(dag, gpu_count: int) -> dict:
    from kubernetes.client import ApiClient

    from mlops_pipeline.tuning import trial_arguments

    params = copy.deepcopy(dag.params)
    params["gpu_count"] = gpu_count
    params = params.validate()
    arguments = trial_arguments(params, TRIAL, RESULTS["split"], "sqlite:////artifacts/run/tuning/study.db",
                                "/artifacts/run/trial/3")
    task = dag.get_task("trial").unmap({"arguments": arguments})
    ti = ResultsTaskInstance("trial", RESULTS, dag.dag_id)
    context = {"params": params, "run_id": RUN_ID, "dag": dag, "task": task, "ti": ti}
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    return ApiClient().sanitize_for_serialization(task.build_pod_request_obj(context=context, dry_run=True))


def test_a_trial_pod_runs_the_train_step_with_the_trials_settings_on_its_own_gpus(kubernetes_dag):
    pod = _trial_pod(kubernetes_dag, gpu_count=2)

    base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
    args = base["args"]
    assert args[0] == "train" and "--batch-size=64" in args and "--learning-rate=0.0042" in args
    assert "--trial-number=3" in args and "--trial-study=sqlite:////artifacts/run/tuning/study.db" in args
    build = json.loads(next(a for a in args if a.startswith("--trial-build=")).split("=", 1)[1])
    assert (build["model_type"], build["units"], build["learning_rate"]) == ("cnn", 97, 0.0042)
    assert not any(a.startswith("--model=") or "test.npz" in a for a in args)  # tuning never sees the test split
    assert base["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]
    assert restricted_violations(pod) == []


def test_trials_run_at_most_the_forms_largest_parallelism_at_once(kubernetes_dag, local_dag):
    from tasks.core.parameters import TUNING_PARALLELISM

    for dag in (kubernetes_dag, local_dag):
        assert dag.get_task("trial").max_active_tis_per_dagrun == TUNING_PARALLELISM.maximum
