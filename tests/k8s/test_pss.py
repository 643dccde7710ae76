"""The restricted-profile checker itself: it must catch what the admission controller refuses."""

from __future__ import annotations

from tests.k8s.pss import restricted_violations

GOOD_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _pod(*containers: dict, **spec: object) -> dict:
    return {"spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": list(containers), **spec}}


def test_a_hardened_pod_passes():
    assert restricted_violations(_pod({"name": "base", "securityContext": GOOD_CONTEXT})) == []


def test_a_sidecar_without_a_security_context_is_named():
    pod = _pod({"name": "base", "securityContext": GOOD_CONTEXT}, {"name": "airflow-xcom-sidecar"})

    problems = restricted_violations(pod)

    assert problems and all("airflow-xcom-sidecar" in p for p in problems)
    assert any("allowPrivilegeEscalation" in p for p in problems)
    assert any("drop ALL" in p for p in problems)


def test_host_access_root_and_unconfined_seccomp_are_refused():
    bad = {**GOOD_CONTEXT, "privileged": True, "runAsUser": 0, "seccompProfile": {"type": "Unconfined"}}
    pod = _pod({"name": "base", "securityContext": bad}, hostNetwork=True,
               volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}])

    problems = " | ".join(restricted_violations(pod))

    for expected in ("hostNetwork", "hostPath", "privileged", "uid 0", "Unconfined"):
        assert expected in problems


def test_the_rules_checkov_lacks_are_refused():
    bad = {**GOOD_CONTEXT, "procMount": "Unmasked", "seLinuxOptions": {"type": "spc_t"},
           "appArmorProfile": {"type": "Unconfined"}}
    pod = _pod({"name": "base", "securityContext": bad, "ports": [{"containerPort": 80, "hostPort": 80}]})
    pod["spec"]["securityContext"]["sysctls"] = [{"name": "kernel.msgmax", "value": "1"}]

    problems = " | ".join(restricted_violations(pod))

    for expected in ("procMount", "hostPort 80", "seLinuxOptions", "AppArmor", "kernel.msgmax"):
        assert expected in problems
