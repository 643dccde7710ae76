"""The training DAG as the scheduler builds it in each mode, its tasks rendered as pods (tests/k8s' helpers).

The DAG reads its settings at import, so each mode gets its own DagBag parsed with
that mode's environment. Both bags share the artifact and serving roots, so a pod's
arguments and the local runner's command line can be compared word for word.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "fashion_mnist_training"
ARTIFACT_ROOT = "/artifacts"
RUN_ID = "manual__2026-05-01T12:00:00+00:00"
# The one object of k8s/ that is not held to the restricted profile: a one-off Job that hands the artifact
# volume's root to the step user. chown needs root (uid 0 with CAP_CHOWN), which "restricted" forbids; it runs
# once, by hand, under "baseline" (docs/kubernetes.md, step 2). test_cluster_config checks it against baseline.
PRIVILEGED_ONE_OFF = ("prepare-artifacts-volume.yaml",)
SHARED_ENV = {"PIPELINE_ARTIFACT_ROOT": ARTIFACT_ROOT, "PIPELINE_SERVING_ROOT": f"{ARTIFACT_ROOT}/serving",
              "MLFLOW_TRACKING_URI": "http://mlflow.mlops.svc:5000", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

# What each step returns as XCom (its JSON result line), as a run would have pushed it.
RESULTS = {
    "resolve_dataset": {"uri": "s3://datasets/fashion.csv", "trigger": "param", "version": ""},
    "fetch": {"raw": f"{ARTIFACT_ROOT}/run/fetch/raw.csv", "source": "s3://datasets/fashion.csv",
              "sha256": "0" * 64, "columnar": f"{ARTIFACT_ROOT}/run/fetch/raw.arrow",
              "profile": f"{ARTIFACT_ROOT}/run/fetch/raw_profile.json"},
    "prepare": {"prepared": f"{ARTIFACT_ROOT}/run/prepare/prepared.arrow"},
    "features": {"features": f"{ARTIFACT_ROOT}/run/features/features.npz"},
    "split": {"train": f"{ARTIFACT_ROOT}/run/split/train.npz", "val": f"{ARTIFACT_ROOT}/run/split/val.npz",
              "test": f"{ARTIFACT_ROOT}/run/split/test.npz"},
    "build_model": {"model": f"{ARTIFACT_ROOT}/run/build_model/model.keras"},
    "load_pretrained": {"model": f"{ARTIFACT_ROOT}/run/load_pretrained/model.keras"},
    "train": {"model": f"{ARTIFACT_ROOT}/run/train/model.keras", "history": f"{ARTIFACT_ROOT}/run/train/history.json",
              "fingerprints": f"{ARTIFACT_ROOT}/run/train/fingerprints.npy"},
    "evaluate": {"metrics": f"{ARTIFACT_ROOT}/run/evaluate/metrics.json", "accuracy": 0.93},
    "register": {"version": 3, "model_name": "fashion_mnist", "accuracy": 0.93, "champion_version": 2,
                 "champion_accuracy": 0.91},
    "gate": {"reason": "-0.01 below the champion: not deploying", "comparison": {}},
}
# The two branches of choose_model: build a new model, or fine-tune a pretrained one on 2 GPUs.
BRANCHES = {
    "build_model": {},
    "load_pretrained": {"use_pretrained_model": True, "base_model_uri": f"{ARTIFACT_ROOT}/base/model.keras",
                        "gpu_count": 2},
}


def load_dag(monkeypatch: pytest.MonkeyPatch, mode: str) -> Any:
    """The training DAG parsed from ``dags/`` with ``PIPELINE_MODE=mode``."""
    from airflow.dag_processing.dagbag import DagBag

    for key, value in {**SHARED_ENV, "PIPELINE_MODE": mode}.items():
        monkeypatch.setenv(key, value)
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


@functools.cache
def step_cases() -> tuple[tuple[str, str], ...]:
    """``(branch, task_id)`` for every step task of a run on each branch, in the DAG's own order."""
    from benchmarks.step_plan import pipeline_task_ids

    with pytest.MonkeyPatch.context() as mp:
        dag = load_dag(mp, "kubernetes")
    return tuple((branch, task_id) for branch in BRANCHES
                 for task_id in pipeline_task_ids(dag, branch == "load_pretrained"))


def build_pod(dag: Any, task_id: str, branch: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rendered pod as a plain dict, and the context it was rendered in."""
    from kubernetes.client import ApiClient

    op, context = render(dag, task_id, branch)
    pod = op.build_pod_request_obj(context=context, dry_run=True)
    return ApiClient().sanitize_for_serialization(pod), context


def render(dag: Any, task_id: str, branch: str) -> Any:
    """A copy of the task with its templates rendered for a run that took ``branch`` (the other pushed nothing)."""
    from benchmarks.step_plan import render_task

    params = copy.deepcopy(dag.params)
    for key, value in BRANCHES[branch].items():
        params[key] = value
    from mlops_pipeline.tuning import SEARCHED

    skipped = "load_pretrained" if branch == "build_model" else "build_model"
    results = {task: result for task, result in RESULTS.items() if task != skipped}
    params = params.validate()
    results["pick_best"] = {**{name: params[name] for name in SEARCHED}, "study": ""}  # tuning off: the form's
    results["resolve_dataset"] = {**results["resolve_dataset"], "image_height": params["image_height"],
                                  "image_width": params["image_width"]}  # a manual run: the form's shape
    return render_task(dag, task_id, params, results, RUN_ID)
