"""A step pod that no node can take fails within the schedule timeout, in one line saying what it asked for.

Given a ``train`` pod asking for GPUs on a cluster where it stays Pending (no device plugin, a
node label nobody sets, a quota), when the provider's own wait gives up after
``PIPELINE_POD_SCHEDULE_TIMEOUT``, then the task fails without a retry, its one-line message names
the GPUs, the node selector and what to check, and the Pending pod is deleted (it would
otherwise run whenever a node turns up). The provider's wait runs for real against a fake API client.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import models as k8s

from mlops_pipeline.pod_launch import launch_timeout_message
from mlops_pipeline.pod_operator import pod_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import TRAIN_RESOURCES, StepSpec

KUBE = {"PIPELINE_MODE": "kubernetes"}


def _train(env: dict[str, str], gpus: int = 2) -> Any:
    return pod_operator(StepSpec("train", "train", image="train", resources=TRAIN_RESOURCES, gpus=gpus),
                        load_settings({**KUBE, **env}))


def _request(op: Any) -> k8s.V1Pod:
    pod = op.build_pod_request_obj(dry_run=True)
    pod.metadata.name, pod.metadata.namespace = "train-abc123", "airflow"
    return pod


class PendingCluster:
    """The two calls the provider makes while it waits: the pod never leaves Pending; deletions are kept."""

    def __init__(self, scheduled: bool = False) -> None:
        self.scheduled, self.deleted = scheduled, []

    def read_namespaced_pod(self, name: str, namespace: str) -> k8s.V1Pod:
        condition = k8s.V1PodCondition(type="PodScheduled", status="True" if self.scheduled else "False",
                                       reason=None if self.scheduled else "Unschedulable")
        return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, namespace=namespace),
                         status=k8s.V1PodStatus(phase="Pending", conditions=[condition]))

    def delete_namespaced_pod(self, name: str, namespace: str, body: Any = None) -> None:
        self.deleted.append(f"{namespace}/{name}")


def _waiting(op: Any, cluster: PendingCluster) -> Any:
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

    op.pod_manager = PodManager(kube_client=cluster)
    op.startup_check_interval_seconds, op.log_events_on_startup, op.log_events_on_failure = 0.2, False, False
    return op


def test_the_message_names_the_gpus_and_what_to_check():
    op = _train({})

    message = launch_timeout_message(_request(op), scheduled=False, timeout_s=1800)

    assert "\n" not in message
    assert message.startswith("pod airflow/train-abc123 could not be scheduled within 1800 s "
                              "(PIPELINE_POD_SCHEDULE_TIMEOUT)")
    assert "nvidia.com/gpu=2 cpu=2 memory=4Gi with no node selector" in message
    assert "NVIDIA device plugin" in message and "describe resourcequota" in message
    assert "kubectl -n airflow describe pod train-abc123" in message


def test_a_configured_node_selector_is_named_with_the_command_that_finds_its_nodes():
    op = _train({"PIPELINE_GPU_NODE_SELECTOR": '{"nvidia.com/gpu.present": "true"}'})

    message = launch_timeout_message(_request(op), scheduled=False, timeout_s=60)

    assert "with node selector nvidia.com/gpu.present=true" in message
    assert "kubectl get nodes -l nvidia.com/gpu.present=true" in message


def test_a_cpu_pod_is_not_sent_looking_for_a_device_plugin():
    op = _train({}, gpus=0)

    message = launch_timeout_message(_request(op), scheduled=False, timeout_s=60)

    assert "nvidia.com/gpu" not in message and "cpu=2 memory=4Gi" in message


def test_an_unschedulable_pod_fails_within_the_timeout_in_one_line_without_retry_and_is_deleted(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    cluster = PendingCluster()
    op = _waiting(_train({"PIPELINE_POD_SCHEDULE_TIMEOUT": "1"}), cluster)
    pod = _request(op)
    for name in ("patch_already_checked", "process_pod_deletion", "is_istio_enabled"):
        monkeypatch.setattr(op, name, lambda *a, **k: False)

    started = time.monotonic()
    with pytest.raises(AirflowFailException) as waited:
        op.await_pod_start(pod)
    with pytest.raises(AirflowFailException) as cleaned:  # the provider's cleanup, run in its `finally`, says the same
        op.cleanup(pod, cluster.read_namespaced_pod(pod.metadata.name, "airflow"))

    assert time.monotonic() - started < 10
    assert str(waited.value) == str(cleaned.value)
    assert "could not be scheduled within 1 s" in str(waited.value) and "nvidia.com/gpu=2" in str(waited.value)
    assert cluster.deleted == ["airflow/train-abc123"]


def test_a_pod_placed_but_not_started_stays_retryable_and_is_kept(monkeypatch):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    cluster = PendingCluster(scheduled=True)
    op = _waiting(_train({"PIPELINE_POD_STARTUP_TIMEOUT": "1"}), cluster)

    with pytest.raises(AirflowException) as waited:
        op.await_pod_start(_request(op))

    assert not isinstance(waited.value, AirflowFailException)
    assert "did not start within 1 s (PIPELINE_POD_STARTUP_TIMEOUT)" in str(waited.value)
    assert cluster.deleted == []
