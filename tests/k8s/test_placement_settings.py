"""Cluster placement and step environment come from the deployment's environment, not DAG code."""

from __future__ import annotations

import json

import pytest

from mlops_pipeline.kubernetes_runner import pod_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import StepSpec

AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}]}
]}}}
ENV = {"PIPELINE_MODE": "kubernetes", "PIPELINE_TRAIN_AFFINITY": json.dumps(AFFINITY),
       "MLFLOW_TRACKING_URI": "http://mlflow.mlops.svc:5000", "AWS_SECRET_ACCESS_KEY": "not-forwarded"}


def _pod(spec: StepSpec, env: dict[str, str]) -> dict:
    from kubernetes.client import ApiClient

    op = pod_operator(spec, load_settings(env))
    return ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))


def test_gpu_step_gets_the_configured_affinity():
    pod = _pod(StepSpec("train", "train", gpus=1, image="train"), ENV)

    assert pod["spec"]["affinity"] == AFFINITY


def test_cpu_step_ignores_the_gpu_affinity():
    pod = _pod(StepSpec("prepare", "prepare"), ENV)

    assert not pod["spec"].get("affinity")


def test_only_plain_settings_are_forwarded_to_steps():
    env = {e["name"]: e["value"] for e in _pod(StepSpec("evaluate", "evaluate"), ENV)["spec"]["containers"][0]["env"]}

    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlops.svc:5000"
    assert "AWS_SECRET_ACCESS_KEY" not in env


@pytest.mark.parametrize(("raw", "message"), [("{not json", "not valid JSON"), ("[1]", "must be a JSON object")])
def test_a_bad_affinity_fails_naming_the_variable(raw, message):
    with pytest.raises(ValueError, match=f"PIPELINE_TRAIN_AFFINITY.*{message}"):
        load_settings({"PIPELINE_MODE": "kubernetes", "PIPELINE_TRAIN_AFFINITY": raw})


def test_gpu_node_selector_can_be_replaced():
    settings = load_settings({"PIPELINE_GPU_NODE_SELECTOR": '{"cloud.google.com/gke-accelerator": "nvidia-l4"}'})

    assert dict(settings.kubernetes.gpu_node_selector) == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
