"""The serving manifest ``deploy`` writes: TF Serving pinned to the deployed version, with an optional canary.

Each Deployment serves one version from an immutable copy of its SavedModel in the deploy
step's run folder (mounted from the artifacts claim by ``subPath``), so a rendered file never
changes meaning: applying an older run's ``serving.yaml`` is a rollback. Roll-outs keep serving
(``maxUnavailable: 0``, readiness gates traffic); pods meet the "restricted" profile.

Traffic goes through a Gateway API ``HTTPRoute`` with weighted ``backendRefs``: with
``canary_percent`` > 0 the new version (``<app>-canary``) gets that share and the previous
champion (``<app>-stable``) the rest. Gateway API is a core Kubernetes API that any gateway
implements and fronts our own TF Serving Deployments; KServe's ``canaryTrafficPercent`` would
need KServe and Knative in the cluster and its own predictor images. ``canary.py`` decides when
to complete (``serving-complete.yaml``) or abandon (``serving-rollback.yaml``) a canary.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SERVING_IMAGE = "docker.io/tensorflow/serving:2.21.0"
NAMESPACE, CLAIM, GATEWAY = "airflow", "pipeline-artifacts", "fashion-mlops-gateway"
REST_PORT = 8501
PART_OF = {"app.kubernetes.io/part-of": "fashion-mlops"}


def app_name(model_name: str) -> str:
    """A DNS-1123 label for the model's serving objects (``fashion_mnist`` -> ``fashion-mnist-serving``)."""
    return (re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-")[:40] or "model") + "-serving"


def _container(model_name: str, image: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": f"/v1/models/{model_name}", "port": "http"}}
    return {"name": "tf-serving", "image": image,
            "args": [f"--model_name={model_name}", f"--model_base_path=/models/{model_name}", "--port=8500",
                     f"--rest_api_port={REST_PORT}", "--file_system_poll_wait_seconds=0"],
            "ports": [{"name": "grpc", "containerPort": 8500}, {"name": "http", "containerPort": REST_PORT}],
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 20, "failureThreshold": 3},
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [{"name": "model", "mountPath": "/models", "readOnly": True}]}  # subPath: deployment()


def deployment(name: str, model_name: str, version: int, sub_path: str, image: str, replicas: int = 2) -> dict:
    """TF Serving for exactly ``version``: the only version in the folder it mounts."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "fashion-mlops"}
    pod_labels = {**labels, "model-version": str(version)}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": pod_labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                     "minReadySeconds": 5,
                     "template": {"metadata": {"labels": pod_labels}, "spec": {
                         "automountServiceAccountToken": False,
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 50000, "runAsGroup": 0,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [_with_sub_path(_container(model_name, image), sub_path)],
                         "volumes": [{"name": "model", "persistentVolumeClaim": {"claimName": CLAIM,
                                                                                 "readOnly": True}}]}}}}


def _with_sub_path(container: dict, sub_path: str) -> dict:
    container["volumeMounts"][0]["subPath"] = sub_path
    return container


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": PART_OF},
            "spec": {"selector": {"app.kubernetes.io/name": name},
                     "ports": [{"name": "http", "port": REST_PORT, "targetPort": "http"},
                               {"name": "grpc", "port": 8500, "targetPort": "grpc"}]}}


def route(app: str, weights: dict[str, int]) -> dict:
    """The HTTPRoute splitting ``/v1/models/...`` between the named Services by weight."""
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": app, "namespace": NAMESPACE, "labels": PART_OF},
            "spec": {"parentRefs": [{"name": GATEWAY}],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/v1/models"}}],
                                "backendRefs": [{"name": name, "port": REST_PORT, "weight": weight}
                                                for name, weight in weights.items()]}]}}


def render(model_name: str, served: dict[str, tuple[int, str]], canary_percent: int, image: str) -> list[dict]:
    """Objects for ``served`` = {"stable": (version, subPath)[, "canary": (version, subPath)]}.

    Without a canary the route sends everything to stable; with one, ``canary_percent`` to it.
    """
    app = app_name(model_name)
    objects, weights = [], {}
    for role, (version, sub_path) in served.items():
        name = f"{app}-{role}"
        objects += [deployment(name, model_name, version, sub_path, image), service(name)]
        weights[name] = canary_percent if role == "canary" else 100 - (canary_percent if "canary" in served else 0)
    return [*objects, route(app, weights)]


def sub_path_of(folder: Path) -> str:
    """A run folder's path inside the artifacts claim: ``<dag_id>/<run_id>/<task_id>/...`` below its root.

    Run folders are ``<artifact root>/<dag_id>/<run_id>/<task_id>`` (``run_dir``); the claim is
    mounted at the artifact root, so the claim-relative path is what follows it.
    """
    parts = Path(folder).parts
    return "/".join(parts[-4:])


def write_manifests(output: Path, model_name: str, version: int, previous: int | None, serving_root: Path,
                    canary_percent: int, image: str) -> dict[str, str]:
    """Copy the served SavedModel(s) into ``output`` and write the manifests that serve them from there.

    Call after promotion, with the previous champion's folder already copied by
    :func:`keep_previous` when there is a canary. Returns the files written, by name.
    """
    import shutil

    import yaml

    from tasks.core.common import atomic_file

    role = "canary" if (output / "model-stable").is_dir() else "stable"
    shutil.copytree(serving_root / model_name / str(version), output / f"model-{role}" / model_name / str(version),
                    dirs_exist_ok=True)
    new = (version, sub_path_of(output / f"model-{role}"))
    stages = {"serving": {"stable": new}}
    if role == "canary":
        old = (previous, sub_path_of(output / "model-stable"))
        stages = {"serving": {"stable": old, "canary": new}, "serving-complete": {"stable": new},
                  "serving-rollback": {"stable": old}}
    written = {}
    for name, served in stages.items():
        documents = render(model_name, served, canary_percent if name == "serving" else 0, image)
        with atomic_file(output / f"{name}.yaml") as tmp:
            tmp.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        written[name.replace("-", "_")] = str(output / f"{name}.yaml")
    return written


def keep_previous(output: Path, serving_root: Path, model_name: str, previous: int | None, version: int) -> bool:
    """Before a canary's promotion: copy the current champion's SavedModel out of the serving folder (it is
    retired next), for the stable Deployment. False (no canary) when there is no other champion to keep."""
    import shutil

    folder = serving_root / model_name / str(previous)
    if previous is None or previous == version or not folder.is_dir():
        return False
    shutil.copytree(folder, output / "model-stable" / model_name / str(previous), dirs_exist_ok=True)
    return True
