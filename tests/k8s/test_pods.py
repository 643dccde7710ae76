"""Every pod the training DAG builds in Kubernetes mode, as the API server would receive it.

Given the DAG parsed with ``PIPELINE_MODE=kubernetes`` and a run of either branch,
when each step's templates are rendered and its pod request is built (no cluster),
then the pod is a valid Kubernetes object, passes the restricted Pod Security
profile, runs the same command line as the local runner, and only ``train`` asks for GPUs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.pods import BRANCHES, ROOT, build_pod, render, step_cases
from tests.k8s.pss import restricted_violations

K8S_VERSION = "1.35.0"
GPU_TASKS = {"train"}
CASES = step_cases()  # the DAG's own steps and order, on each branch


def _base(pod: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "base")


def test_every_step_task_is_a_pod(kubernetes_dag):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    from mlops_pipeline.kubernetes_runner import StepPodTask

    pods = {t.task_id for t in kubernetes_dag.tasks if isinstance(t, StepPodTask)}

    assert pods == {task_id for _, task_id in CASES} and len(pods) == 12  # 11 a run + the other branch
    assert all(isinstance(kubernetes_dag.get_task(task_id).pod(), KubernetesPodOperator) for task_id in pods)


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_pod_is_a_valid_kubernetes_object(kubernetes_dag, branch, task_id):
    import kubernetes_validate

    pod, _ = build_pod(kubernetes_dag, task_id, branch)

    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_pod_meets_the_restricted_profile_sidecar_included(kubernetes_dag, branch, task_id):
    pod, _ = build_pod(kubernetes_dag, task_id, branch)

    assert [c["name"] for c in pod["spec"]["containers"]] == ["base", "airflow-xcom-sidecar"]
    assert restricted_violations(pod) == []


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_pod_runs_the_local_command_line(kubernetes_dag, local_dag, branch, task_id):
    pod, _ = build_pod(kubernetes_dag, task_id, branch)
    local, _ = render(local_dag, task_id, branch)

    assert _base(pod)["args"] == local.command()[3:]
    assert "{{" not in " ".join(_base(pod)["args"])


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_pod_has_requests_limits_and_secret_env(kubernetes_dag, branch, task_id):
    pod, _ = build_pod(kubernetes_dag, task_id, branch)
    base = _base(pod)

    assert {"cpu", "memory"} <= set(base["resources"]["requests"])
    assert {"cpu", "memory"} <= set(base["resources"]["limits"])
    assert [e["secretRef"]["name"] for e in base["envFrom"]] == ["pipeline-step-env"]
    assert not any("PASSWORD" in e["name"] or "SECRET" in e["name"] for e in base["env"])
    assert pod["spec"]["volumes"][-1]["persistentVolumeClaim"]["claimName"] == "pipeline-artifacts"


@pytest.mark.parametrize("task_id", ["fetch", "train"])
def test_pod_tells_the_step_which_commit_its_dag_came_from(kubernetes_dag, task_id):
    from tasks.core.provenance import git_commit

    pod, _ = build_pod(kubernetes_dag, task_id, "build_model")
    env = {e["name"]: e.get("value") for e in _base(pod)["env"]}

    assert git_commit(ROOT / "dags") is not None  # the DAG is parsed from this checkout
    assert env["PIPELINE_DAG_COMMIT"] == git_commit(ROOT / "dags")


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_train_pod_gets_the_requested_gpus_on_a_gpu_node(kubernetes_dag, branch):
    pod, context = build_pod(kubernetes_dag, "train", branch)

    assert _base(pod)["resources"]["limits"]["nvidia.com/gpu"] == str(context["params"]["gpu_count"])
    # The device plugin's resource alone places it: no label that only GPU feature discovery sets.
    assert not pod["spec"].get("nodeSelector")
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]


@pytest.mark.parametrize(("branch", "task_id"), [c for c in CASES if c[1] not in GPU_TASKS])
def test_cpu_pods_ask_for_no_gpu_and_no_gpu_node(kubernetes_dag, branch, task_id):
    pod, _ = build_pod(kubernetes_dag, task_id, branch)

    assert "nvidia.com/gpu" not in _base(pod)["resources"]["limits"]
    assert not pod["spec"].get("nodeSelector")
    assert not pod["spec"].get("tolerations")


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_pod_runs_as_the_step_user_with_a_group_writable_volume(kubernetes_dag, branch, task_id):
    pod, _ = build_pod(kubernetes_dag, task_id, branch)
    context = pod["spec"]["securityContext"]

    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (50000, 0, 0)
    assert context["fsGroupChangePolicy"] == "OnRootMismatch"


@pytest.mark.parametrize(("branch", "task_id"), CASES)
def test_no_container_of_a_pod_pulls_from_outside_the_configured_registry(kubernetes_dag, branch, task_id):
    from mlops_pipeline.settings import load_settings

    kube = load_settings().kubernetes
    registries = {image.rsplit("/", 1)[0] + "/" for image in (kube.data_image, kube.train_image)}
    pod, _ = build_pod(kubernetes_dag, task_id, branch)
    containers = pod["spec"]["containers"] + pod["spec"].get("initContainers", [])

    outside = [f"{c['name']}: {c['image']}" for c in containers if not c["image"].startswith(tuple(registries))]
    assert outside == []
    assert len(containers) == 2  # the step and the xcom sidecar, which runs the step's own image
