"""Every Kubernetes object of ours, checked by a real policy engine (checkov) for the restricted profile.

Given every object in ``k8s/`` (but the one-off Job that prepares the artifact volume as root, which
runs under "baseline": ``conftest.PRIVILEGED_ONE_OFF``) and every pod the DAGs build in Kubernetes mode (both
branches of the training DAG, rendered), when checkov's Kubernetes checks run on them,
then none of the checks that carry a rule of the "restricted" Pod Security Standard
fails. The restricted rules checkov has no check for (``procMount``, ``sysctls``,
AppArmor and SELinux options, the volume types, uid 0) are checked by
``tests/k8s/pss.py`` on the same objects.

checkov runs from its own environment (``make tools``): it cannot install beside our lock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.pods import PRIVILEGED_ONE_OFF, build_pod, step_cases
from tests.k8s.pss import restricted_violations

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".state" / "tools" / "checkov" / "bin" / "checkov"
# checkov's checks for the controls of the restricted profile (baseline included).
RESTRICTED_CHECKS = {
    "CKV_K8S_16": "privileged", "CKV_K8S_17": "hostPID", "CKV_K8S_18": "hostIPC", "CKV_K8S_19": "hostNetwork",
    "CKV_K8S_20": "allowPrivilegeEscalation", "CKV_K8S_23": "runAsNonRoot", "CKV_K8S_25": "added capabilities",
    "CKV_K8S_26": "hostPort", "CKV_K8S_27": "docker socket hostPath", "CKV_K8S_28": "NET_RAW",
    "CKV_K8S_29": "pod and container security context", "CKV_K8S_30": "container security context",
    "CKV_K8S_31": "seccomp RuntimeDefault", "CKV_K8S_37": "drop ALL capabilities", "CKV_K8S_39": "CAP_SYS_ADMIN",
}
WORKLOADS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet"}


def _checkov() -> str:
    found = str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov")
    if found is None:
        pytest.skip("checkov is not installed: `make tools` puts it in .state/tools/checkov")
    return found


def run_checkov(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """checkov's passed and failed checks on every YAML file in ``folder``, restricted to our check list."""
    done = subprocess.run([_checkov(), "--directory", str(folder), "--framework", "kubernetes", "--output", "json",
                           "--skip-download", "--check", ",".join(RESTRICTED_CHECKS)],
                          capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    if "results" not in report:
        raise AssertionError(f"checkov found nothing to check: {done.stdout[:500]} {done.stderr[-500:]}")
    return report["results"]


def _our_objects(kubernetes_dag: Any) -> dict[str, dict[str, Any]]:
    objects = {f"{p.stem}-{i}": doc for p in sorted((ROOT / "k8s").glob("*.yaml")) if p.name not in PRIVILEGED_ONE_OFF
               for i, doc in enumerate(yaml.safe_load_all(p.read_text()))}
    for branch, task_id in step_cases():
        pod, _ = build_pod(kubernetes_dag, task_id, branch)
        objects[f"pod-{branch}-{task_id}"] = pod
    return objects


@pytest.fixture(scope="module")
def objects(kubernetes_dag) -> dict[str, dict[str, Any]]:
    return _our_objects(kubernetes_dag)


@pytest.fixture(scope="module")
def checked(objects, tmp_path_factory) -> dict[str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("objects")
    for name, obj in objects.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    return run_checkov(folder)


def test_checkov_checks_every_workload_of_ours(objects, checked):
    workloads = {o["metadata"]["name"] for o in objects.values() if o["kind"] in WORKLOADS}
    seen = {c["resource"].split(".")[2] for c in checked["passed_checks"] + checked["failed_checks"]}

    assert {"fashion-mnist-serving", "mlflow", "mlflow-postgres"} <= workloads
    assert {"train", "build-model", "load-pretrained", "fetch"} <= {n.rsplit("-", 1)[0] for n in workloads}
    assert workloads <= seen
    assert {c["check_id"] for c in checked["passed_checks"]} == set(RESTRICTED_CHECKS)


def test_no_object_of_ours_fails_a_restricted_profile_check(checked):
    failures = sorted(f"{c['resource']}: {c['check_id']} {RESTRICTED_CHECKS[c['check_id']]}"
                      for c in checked["failed_checks"])

    assert failures == []


def test_the_rules_checkov_has_no_check_for_hold_too(objects):
    problems = {name: restricted_violations(_pod_of(obj)) for name, obj in objects.items() if obj["kind"] in WORKLOADS}

    assert {name: p for name, p in problems.items() if p} == {}


def _pod_of(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        return obj
    template = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return {"spec": template["template"]["spec"]}


BAD_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "airflow"},
    "spec": {"hostNetwork": True, "containers": [{
        "name": "base", "image": "busybox:1.37", "ports": [{"containerPort": 80, "hostPort": 80}],
        "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "runAsUser": 0,
                            "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]}}}]},
}


def test_the_engine_refuses_a_pod_that_breaks_the_profile(tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(BAD_POD))

    failed = {c["check_id"] for c in run_checkov(tmp_path)["failed_checks"]}

    assert {"CKV_K8S_16", "CKV_K8S_19", "CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_26", "CKV_K8S_31",
            "CKV_K8S_37", "CKV_K8S_39"} <= failed
