"""helm-values.yaml: every container the chart starts is restricted, and Airflow sees what the steps write.

The chart applies ``securityContexts`` to Airflow's own containers only; git-sync,
statsd, the wait-for-migrations init containers and the log groomers each have their
own key, and without it a "restricted" namespace rejects the pod that carries them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_pipeline.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
VALUES = yaml.safe_load((ROOT / "helm-values.yaml").read_text())
ENV = {item["name"]: item["value"] for item in VALUES["env"]}
COMPONENTS = ("scheduler", "dagProcessor", "triggerer", "workers")
# (path to a container security context, path to the pod context it runs under)
CONTAINERS = [
    (("dags", "gitSync", "securityContexts", "container"), ("securityContexts", "pod")),
    (("statsd", "securityContexts", "container"), ("statsd", "securityContexts", "pod")),
    (("migrateDatabaseJob", "securityContexts", "container"), ("migrateDatabaseJob", "securityContexts", "pod")),
    (("apiServer", "securityContexts", "container"), ("apiServer", "securityContexts", "pod")),
    (("apiServer", "waitForMigrations", "securityContexts", "container"), ("apiServer", "securityContexts", "pod")),
    *[((c, *part, "securityContexts", "container"), (c, "securityContexts", "pod")) for c in COMPONENTS
      for part in ((), ("logGroomerSidecar",), ("waitForMigrations",))],
]


def _get(path: tuple[str, ...]) -> dict:
    node = VALUES
    for key in path:
        node = node.get(key) or {}
    return node


def _problems(container: dict, pod: dict) -> list[str]:
    problems = []
    if container.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((container.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities do not drop ALL")
    if container.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot is not true")
    seccomp = (container.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
    if seccomp not in {"RuntimeDefault", "Localhost"}:
        problems.append(f"seccomp profile is {seccomp!r}")
    return problems


@pytest.mark.parametrize(("container", "pod"), CONTAINERS, ids=[".".join(c) for c, _ in CONTAINERS])
def test_every_container_the_chart_starts_is_restricted(container, pod):
    assert _problems(_get(container), _get(pod)) == []


def test_the_check_catches_a_container_left_to_the_chart_defaults():
    assert len(_problems({}, {})) == 4


def test_every_airflow_component_mounts_the_artifact_volume_where_the_steps_write():
    settings = load_settings(ENV)
    volume = next(v for v in VALUES["volumes"] if v["name"] == VALUES["volumeMounts"][0]["name"])

    assert volume["persistentVolumeClaim"]["claimName"] == settings.kubernetes.artifact_pvc
    assert VALUES["volumeMounts"][0]["mountPath"] == settings.artifact_root
    assert settings.landing_dir.startswith(settings.artifact_root + "/")
    assert settings.dataset_store.startswith(settings.artifact_root + "/")


def test_the_ingest_sensor_has_its_connection_and_task_logs_outlive_their_pods():
    assert ENV["AIRFLOW_CONN_FS_DEFAULT"] == "fs://"
    assert VALUES["logs"]["persistence"]["enabled"] is True


def test_step_pods_wait_for_cold_gpu_nodes_and_pull_with_the_registry_secret():
    kube = load_settings(ENV).kubernetes

    assert kube.schedule_timeout_s >= 900 and kube.startup_timeout_s >= 900
    assert kube.image_pull_secrets == tuple(s["name"] for s in VALUES["imagePullSecrets"])


def test_the_tracking_uri_is_the_mlflow_service_of_k8s():
    docs = list(yaml.safe_load_all((ROOT / "k8s" / "mlflow.yaml").read_text()))
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "mlflow")
    server = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    port = service["spec"]["ports"][0]["port"]

    assert ENV["MLFLOW_TRACKING_URI"] == f"http://{host}:{port}"
    assert any(a.startswith("--allowed-hosts=") and f"{host}:{port}" in a.split("=", 1)[1].split(",")
               for a in server["args"])
    uri = next(e["value"] for e in server["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert uri.startswith("postgresql+psycopg2://mlflow:$(MLFLOW_DB_PASSWORD)@mlflow-postgres:5432/")
    assert "--artifacts-destination=/mlflow/artifacts" in server["args"]


def test_the_mlflow_db_secret_is_a_template_without_a_password():
    secret = yaml.safe_load((ROOT / "k8s" / "secret-mlflow-db.example.yaml").read_text())

    assert secret["stringData"] == {"password": ""}
