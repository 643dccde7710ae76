"""helm-values.yaml and k8s/*.yaml: what the cluster consumes, checked against its own schemas."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_pipeline.kubernetes_runner import pod_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import StepSpec
from tests.k8s.pods import PRIVILEGED_ONE_OFF
from tests.k8s.pss import restricted_violations

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "k8s").glob("*.yaml"))
K8S_VERSION = "1.35.0"


def _chart_schema() -> Path:
    """``<repo>/../shared/airflow-chart``; in a git worktree, beside the main checkout instead."""
    roots = [ROOT]
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=ROOT,
                            capture_output=True, text=True)
    if common.returncode == 0 and common.stdout.strip():
        roots.append(Path(common.stdout.strip()).parent)
    candidates = [root.parent / "shared" / "airflow-chart" / "values.schema.json" for root in roots]
    return next((c for c in candidates if c.exists()), candidates[0])


CHART_SCHEMA = _chart_schema()


def _values() -> dict:
    return yaml.safe_load((ROOT / "helm-values.yaml").read_text())


def _helm_env() -> dict[str, str]:
    return {item["name"]: item["value"] for item in _values()["env"]}


def _chart_errors(values: dict) -> list[str]:
    import jsonschema

    if not CHART_SCHEMA.exists():
        pytest.skip(f"the chart schema is not at {CHART_SCHEMA} (../shared/airflow-chart is absent)")
    validator = jsonschema.Draft7Validator(json.loads(CHART_SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]


def test_helm_values_validate_against_the_chart_schema():
    assert _chart_errors(_values()) == []


def test_the_chart_schema_check_is_live():
    assert _chart_errors({**_values(), "executor": "kubernetes", "createUserJob": {"enabled": "no"}})


def test_helm_values_run_steps_as_pods_with_secrets_from_secret_refs():
    values, env = _values(), _helm_env()

    assert values["executor"] in {"KubernetesExecutor", "CeleryExecutor"}
    assert env["PIPELINE_MODE"] == "kubernetes"
    assert env["MLFLOW_TRACKING_URI"].startswith("http")
    assert values["dags"]["gitSync"]["enabled"] is True
    assert "secretRef" in values["extraEnvFrom"]
    assert not any(k in name for name in env for k in ("PASSWORD", "SECRET_ACCESS_KEY", "TOKEN"))
    assert values["createUserJob"]["enabled"] is False and values["postgresql"]["enabled"] is False


def test_helm_settings_name_the_objects_under_k8s():
    settings = load_settings(_helm_env()).kubernetes
    objects = {(d["kind"], d["metadata"]["name"]) for p in MANIFESTS for d in yaml.safe_load_all(p.read_text())}

    assert {("PersistentVolumeClaim", settings.artifact_pvc), ("ServiceAccount", settings.service_account),
            ("Secret", settings.env_secret), ("Namespace", settings.namespace)} <= objects


def test_helm_connection_gives_the_xcom_sidecar_limits(monkeypatch):
    from kubernetes.client import ApiClient

    env = _helm_env()
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", env["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    op = pod_operator(StepSpec("split", "split"), load_settings(env))
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))

    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "airflow-xcom-sidecar")
    assert {"cpu", "memory"} <= set(sidecar["resources"]["limits"])
    assert restricted_violations(pod) == []


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_manifest_is_a_valid_kubernetes_object(manifest):
    import kubernetes_validate

    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_secret_template_holds_no_values():
    secret = yaml.safe_load((ROOT / "k8s" / "secret-pipeline-step-env.example.yaml").read_text())

    assert secret["stringData"] and all(value == "" for value in secret["stringData"].values())
    assert "data" not in secret


def test_namespace_enforces_the_restricted_profile():
    namespace = yaml.safe_load((ROOT / "k8s" / "namespace.yaml").read_text())

    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_tf_serving_reads_the_served_models_from_the_artifact_volume_and_is_restricted():
    settings = load_settings(_helm_env())
    deployment = next(yaml.safe_load_all((ROOT / "k8s" / "tf-serving.yaml").read_text()))
    pod = {"spec": deployment["spec"]["template"]["spec"]}
    container = pod["spec"]["containers"][0]
    claim = pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]

    assert claim == settings.kubernetes.artifact_pvc
    assert settings.serving_root == f"{settings.artifact_root}/serving"
    assert container["volumeMounts"][0]["subPath"] == "serving"
    assert "--model_base_path=/models/fashion_mnist" in container["args"]
    assert restricted_violations(pod) == []


def test_tf_serving_serves_what_the_locked_tensorflow_exports():
    locked = re.search(r"^tensorflow_cpu==(\S+)$", (ROOT / "constraints.txt").read_text(), flags=re.MULTILINE)
    deployment = next(yaml.safe_load_all((ROOT / "k8s" / "tf-serving.yaml").read_text()))
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    assert image.split("@")[0] == f"tensorflow/serving:{locked.group(1)}"


@pytest.mark.parametrize("name", ["mlflow", "mlflow-postgres"])
def test_mlflow_pods_are_restricted(name):
    workload = next(d for d in yaml.safe_load_all((ROOT / "k8s" / "mlflow.yaml").read_text())
                    if d["kind"] in {"Deployment", "StatefulSet"} and d["metadata"]["name"] == name)

    assert restricted_violations({"spec": workload["spec"]["template"]["spec"]}) == []


# What the "baseline" Pod Security Standard lets a container add (everything else it refuses).
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def test_the_volume_preparation_is_the_one_privileged_object_and_stays_within_baseline():
    job = yaml.safe_load((ROOT / "k8s" / PRIVILEGED_ONE_OFF[0]).read_text())
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    context = container["securityContext"]

    assert restricted_violations({"spec": pod})  # it does need root: the restricted namespace would refuse it
    assert pod["securityContext"]["runAsUser"] == 0 and pod["securityContext"]["seccompProfile"]["type"] == \
        "RuntimeDefault"
    assert context["capabilities"]["drop"] == ["ALL"]
    assert set(context["capabilities"]["add"]) == {"CHOWN", "FOWNER"} <= BASELINE_CAPABILITIES
    assert context["allowPrivilegeEscalation"] is False and not context.get("privileged")
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert all("hostPath" not in v for v in pod["volumes"])
    claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == load_settings(_helm_env()).kubernetes.artifact_pvc
    assert job["spec"]["backoffLimit"] == 0


def _images_in(obj: object) -> set[str]:
    if isinstance(obj, dict):
        return {obj["image"]} if isinstance(obj.get("image"), str) else set().union(*map(_images_in, obj.values()))
    if isinstance(obj, list):
        return set().union(*map(_images_in, obj)) if obj else set()
    return set()


def test_the_kubernetes_guide_lists_every_image_the_deployment_pulls():
    guide = (ROOT / "docs" / "kubernetes.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)`", guide, flags=re.MULTILINE))
    settings = load_settings(_helm_env()).kubernetes
    values = _values()
    pulled = {image for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) for image in _images_in(d)}
    pulled |= {settings.data_image, settings.train_image, values["images"]["airflow"]["repository"]}

    unlisted = sorted(i for i in pulled if i not in listed and i.split("@")[0].rsplit(":", 1)[0] not in listed)
    assert unlisted == []
