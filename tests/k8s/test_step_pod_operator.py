"""The step pod task: GPUs only when the run asks for them, no retry on bad input, cluster-ready settings.

Given the DAG parsed in Kubernetes mode, when ``train`` is rendered for a run with
``gpu_count`` 0, 1 or 2, then its pod asks for exactly that many GPUs and only a GPU
pod is placed on GPU nodes. When a step's container exits 2, the task fails without
retrying (``AirflowFailException``), as in the local runner; other failures stay retryable.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client import ApiClient

from benchmarks.step_plan import render_task
from mlops_pipeline.pod_operator import StepPodOperator, pod_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import StepSpec

# What train's upstream tasks returned; the branch not taken (load_pretrained) pushed nothing.
RESULTS = {"build_model": {"model": "/artifacts/run/build_model/model.keras"},
           "split": {"train": "/artifacts/run/split/train.npz", "val": "/artifacts/run/split/val.npz",
                     "test": "/artifacts/run/split/test.npz"}}
DIGEST = "ghcr.io/fashion-mlops/step-train@sha256:" + "a" * 64


def _train_pod(dag, gpu_count: int) -> dict:
    params = copy.deepcopy(dag.params)
    params["gpu_count"] = gpu_count
    task, context = render_task(dag, "train", params.validate(), RESULTS)
    return ApiClient().sanitize_for_serialization(task.build_pod_request_obj(context=context, dry_run=True))


def _base(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "base")


def test_no_gpu_requested_means_a_cpu_pod(kubernetes_dag):
    pod = _train_pod(kubernetes_dag, 0)

    assert "nvidia.com/gpu" not in _base(pod)["resources"]["limits"]
    assert not pod["spec"].get("nodeSelector")
    assert not pod["spec"].get("tolerations")
    assert not pod["spec"].get("affinity")


@pytest.mark.parametrize("gpus", [1, 2])
def test_gpus_requested_means_a_gpu_pod_on_a_gpu_node(kubernetes_dag, gpus):
    pod = _train_pod(kubernetes_dag, gpus)

    assert _base(pod)["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
    assert not pod["spec"].get("nodeSelector")
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["spec"]["tolerations"]


def test_every_step_pod_carries_the_deployments_dataset_allowlist(kubernetes_dag):
    # fetch checks its source again inside its pod: with no allowlist there it would refuse every file.
    pod = _train_pod(kubernetes_dag, 0)
    env = {e["name"]: e.get("value") for e in _base(pod)["env"]}
    roots = env["PIPELINE_ALLOWED_DATA_ROOTS"].split(",")
    assert env["PIPELINE_ARTIFACT_ROOT"] in roots
    assert env["PIPELINE_ALLOWED_DATA_SCHEMES"] == ",".join(load_settings().allowed_data_schemes)


def test_the_step_root_filesystem_is_read_only_with_a_writable_tmp(kubernetes_dag):
    pod = _train_pod(kubernetes_dag, 0)
    base = _base(pod)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}

    assert base["securityContext"]["readOnlyRootFilesystem"] is True
    tmp = next(m for m in base["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in volumes[tmp["name"]]


def _failed_pod(exit_code: int) -> Any:
    """The pod status the API server reports once the step container exited ``exit_code``."""
    from kubernetes.client import models as k8s

    terminated = k8s.V1ContainerStateTerminated(exit_code=exit_code, reason="Error")
    status = k8s.V1ContainerStatus(name="base", image="step-data", image_id="", ready=False, restart_count=0,
                                   state=k8s.V1ContainerState(terminated=terminated))
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="prepare-x", namespace="airflow", annotations={}),
                     spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base")]),
                     status=k8s.V1PodStatus(phase="Failed", container_statuses=[status]))


@pytest.mark.parametrize(("code", "retried"), [(2, False), (1, True), (137, True)])
def test_bad_input_fails_the_task_without_retry(monkeypatch, code, retried):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    op = pod_operator(StepSpec("prepare", "prepare"), load_settings({"PIPELINE_MODE": "kubernetes"}))
    for name in ("patch_already_checked", "process_pod_deletion", "is_istio_enabled"):
        monkeypatch.setattr(op, name, lambda *a, **k: False)
    pod = _failed_pod(code)

    with pytest.raises(AirflowException) as failure:
        op.cleanup(pod, pod)

    assert isinstance(failure.value, AirflowFailException) is not retried


def test_timeouts_pull_secrets_and_digests_come_from_settings():
    env = {"PIPELINE_MODE": "kubernetes", "PIPELINE_POD_SCHEDULE_TIMEOUT": "2400",
           "PIPELINE_POD_STARTUP_TIMEOUT": "3600", "PIPELINE_IMAGE_PULL_SECRETS": "regcred, other",
           "PIPELINE_TRAIN_IMAGE": DIGEST}
    op = pod_operator(StepSpec("train", "train", image="train", gpus=1), load_settings(env))
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))

    assert isinstance(op, StepPodOperator)
    assert (op.schedule_timeout_seconds, op.startup_timeout_seconds) == (2400, 3600)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]
    assert _base(pod)["image"] == DIGEST and _base(pod)["imagePullPolicy"] == "IfNotPresent"


def test_default_timeouts_allow_a_cold_gpu_node():
    settings = load_settings({"PIPELINE_MODE": "kubernetes"})
    op = pod_operator(StepSpec("train", "train", image="train", gpus=1), settings)

    assert op.schedule_timeout_seconds >= 900 and op.startup_timeout_seconds >= 900


@pytest.mark.parametrize(("env", "message"), [
    ({"PIPELINE_REQUIRE_IMAGE_DIGEST": "true"}, "PIPELINE_DATA_IMAGE=.* is not pinned by digest"),
    ({"PIPELINE_POD_STARTUP_TIMEOUT": "soon"}, "PIPELINE_POD_STARTUP_TIMEOUT must be a positive whole number"),
])
def test_bad_settings_fail_naming_the_variable(env, message):
    with pytest.raises(ValueError, match=message):
        load_settings({"PIPELINE_MODE": "kubernetes", **env})


def test_pinned_images_pass_the_digest_requirement():
    settings = load_settings({"PIPELINE_MODE": "kubernetes", "PIPELINE_REQUIRE_IMAGE_DIGEST": "true",
                              "PIPELINE_DATA_IMAGE": DIGEST.replace("train", "data"), "PIPELINE_TRAIN_IMAGE": DIGEST})

    assert settings.kubernetes.train_image == DIGEST


def test_the_dag_task_runs_the_pod_operator_built_from_its_rendered_arguments(kubernetes_dag, monkeypatch):
    from mlops_pipeline.pod_operator import StepPodOperator

    ran = {}
    monkeypatch.setattr(StepPodOperator, "execute", lambda self, context: ran.update(
        arguments=self.arguments, task_id=self.task_id) or {"model": "m"})
    params = copy.deepcopy(kubernetes_dag.params)
    task, context = render_task(kubernetes_dag, "train", params.validate(), RESULTS)

    assert task.execute(context) == {"model": "m"}
    assert ran["task_id"] == "train" and ran["arguments"][0] == "train"
    assert "{{" not in " ".join(ran["arguments"])
    assert "--model=/artifacts/run/build_model/model.keras" in ran["arguments"]


def _sidecar(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "airflow-xcom-sidecar")


def test_the_xcom_sidecar_runs_the_steps_own_image_by_default():
    op = pod_operator(StepSpec("train", "train", image="train"), load_settings({"PIPELINE_MODE": "kubernetes"}))
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))

    assert _sidecar(pod)["image"] == _base(pod)["image"] == load_settings({}).kubernetes.train_image
    assert _sidecar(pod)["command"][:2] == ["sh", "-c"]  # the image needs a shell: both step images have one


def test_the_xcom_sidecar_image_is_a_setting_and_must_be_pinned_where_images_are():
    sidecar = "registry.example.com/tools/busybox@sha256:" + "b" * 64
    env = {"PIPELINE_MODE": "kubernetes", "PIPELINE_XCOM_SIDECAR_IMAGE": sidecar}
    op = pod_operator(StepSpec("split", "split"), load_settings(env))
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))

    assert (_sidecar(pod)["image"], _sidecar(pod)["imagePullPolicy"]) == (sidecar, "IfNotPresent")
    with pytest.raises(ValueError, match="PIPELINE_XCOM_SIDECAR_IMAGE=.* is not pinned by digest"):
        load_settings({**env, "PIPELINE_REQUIRE_IMAGE_DIGEST": "true", "PIPELINE_DATA_IMAGE": DIGEST,
                       "PIPELINE_TRAIN_IMAGE": DIGEST, "PIPELINE_XCOM_SIDECAR_IMAGE": "busybox:1.37"})


def test_the_xcom_sidecar_ignores_the_connections_public_default(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       '{"conn_type": "kubernetes", "extra": {"xcom_sidecar_container_image": "alpine:3.24.2"}}')
    op = pod_operator(StepSpec("split", "split"), load_settings({"PIPELINE_MODE": "kubernetes"}))
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))

    assert _sidecar(pod)["image"] == load_settings({}).kubernetes.data_image


@pytest.mark.parametrize("gpu_count", [9, -1, 1.5])
def test_a_gpu_count_outside_the_forms_rule_fails_the_task_without_retry(kubernetes_dag, gpu_count):
    from airflow.sdk.exceptions import AirflowFailException

    # Given a run whose gpu_count skipped the form's check (a CLI trigger), so it breaks the setting's 0..8 whole rule
    params = {**copy.deepcopy(kubernetes_dag.params).validate(), "gpu_count": gpu_count}
    task, context = render_task(kubernetes_dag, "train", params, RESULTS)

    # When its pod is built, then the task fails for good with the setting's own message, asking for no GPU
    with pytest.raises(AirflowFailException, match=f"gpu_count={gpu_count}: "):
        task.build_pod_request_obj(context=context, dry_run=True)
