"""The serving manifests deploy renders, checked like k8s/: schema (kubernetes-validate), the restricted
profile (tests/k8s/pss.py and checkov's restricted checks) and a consistent Gateway API route."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tasks.model.manifest import render
from tests.k8s.pss import restricted_violations

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".state" / "tools" / "checkov" / "bin" / "checkov"
CHECKS = ("CKV_K8S_16,CKV_K8S_17,CKV_K8S_18,CKV_K8S_19,CKV_K8S_20,CKV_K8S_23,CKV_K8S_25,CKV_K8S_26,CKV_K8S_27,"
          "CKV_K8S_28,CKV_K8S_29,CKV_K8S_30,CKV_K8S_31,CKV_K8S_37,CKV_K8S_39")
STAGES = {
    "switch": ({"stable": (3, "dag/run/deploy/model-stable")}, 0),
    "canary": ({"stable": (2, "dag/run/deploy/model-stable"), "canary": (3, "dag/run/deploy/model-canary")}, 10),
}


@pytest.fixture(params=sorted(STAGES))
def documents(request) -> list[dict]:
    served, percent = STAGES[request.param]
    return render("fashion_mnist", served, percent, "docker.io/tensorflow/serving:2.21.0@sha256:" + "0" * 64)


def test_core_objects_are_valid_kubernetes_objects(documents):
    import kubernetes_validate

    for document in documents:
        if document["kind"] != "HTTPRoute":  # a Gateway API CRD: kubernetes-validate has no schema for it
            kubernetes_validate.validate(document, "1.35.0", strict=True)


def test_serving_pods_are_restricted_probed_and_roll_out_without_a_gap(documents):
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert restricted_violations(pod) == []
        assert container["readinessProbe"] and container["livenessProbe"] and container["resources"]["limits"]
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_route_splits_all_traffic_between_services_it_renders(documents):
    route = next(d for d in documents if d["kind"] == "HTTPRoute")
    refs = route["spec"]["rules"][0]["backendRefs"]
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1" and sum(r["weight"] for r in refs) == 100
    assert {r["name"] for r in refs} == set(services)
    for ref in refs:
        assert ref["port"] in {p["port"] for p in services[ref["name"]]["spec"]["ports"]}


def test_checkov_finds_no_restricted_profile_failure(documents, tmp_path):
    checkov = str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov")
    if checkov is None:
        pytest.skip("checkov is not installed: `make tools` puts it in .state/tools/checkov")
    (tmp_path / "serving.yaml").write_text(yaml.safe_dump_all(documents))
    done = subprocess.run([checkov, "--directory", str(tmp_path), "--framework", "kubernetes", "--output", "json",
                           "--skip-download", "--check", CHECKS], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["results"]["passed_checks"], done.stdout[:500]
    assert [c["check_id"] for c in report["results"]["failed_checks"]] == []
