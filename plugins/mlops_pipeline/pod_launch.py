"""Why a step pod never ran, in one line: what it asked the cluster for and what to check.

The provider's own message ("Pod took too long to be scheduled ... Check the pod events")
names neither the GPUs nor the node selector, and the pod it leaves behind may still be
scheduled hours later. A pod that nothing can place is the deployment's problem (no
device plugin, a node label nobody sets, a quota), so the message says where to look.
No provider import here: the message is built from the pod request alone.
"""

from __future__ import annotations

from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"


def _base(pod: Any, container: str) -> Any:
    return next((c for c in pod.spec.containers if c.name == container), pod.spec.containers[0])


def requested(pod: Any, container: str = "base") -> str:
    """What the pod asks for that decides where it can run: GPUs, CPU, memory, node selector, affinity."""
    resources = _base(pod, container).resources
    limits, requests = (resources.limits or {}) if resources else {}, (resources.requests or {}) if resources else {}
    asked = [f"{GPU_RESOURCE}={limits[GPU_RESOURCE]}"] if GPU_RESOURCE in limits else []
    asked += [f"{name}={requests[name]}" for name in ("cpu", "memory") if name in requests]
    selector = pod.spec.node_selector or {}
    where = (f"node selector {', '.join(f'{k}={v}' for k, v in sorted(selector.items()))}" if selector
             else "no node selector")
    return f"{' '.join(asked) or 'nothing'} with {where}{', an affinity' if pod.spec.affinity else ''}"


def _checks(pod: Any, container: str) -> list[str]:
    namespace = pod.metadata.namespace
    resources = _base(pod, container).resources
    checks = []
    if resources and GPU_RESOURCE in (resources.limits or {}):
        checks.append(f"that the NVIDIA device plugin runs and nodes advertise {GPU_RESOURCE} "
                      f"(kubectl describe nodes | grep {GPU_RESOURCE})")
    for key, value in sorted((pod.spec.node_selector or {}).items()):
        checks.append(f"that nodes carry {key}={value} (kubectl get nodes -l {key}={value}; "
                      "PIPELINE_GPU_NODE_SELECTOR sets it)")
    checks.append(f"the namespace's quotas (kubectl -n {namespace} describe resourcequota)")
    return checks


def launch_timeout_message(pod: Any, *, scheduled: bool, timeout_s: int, container: str = "base") -> str:
    """One line: the pod that did not start in time, what it requested and what to check."""
    name, namespace = pod.metadata.name, pod.metadata.namespace
    events = f"its events: kubectl -n {namespace} describe pod {name}"
    if scheduled:
        image = _base(pod, container).image
        return (f"pod {namespace}/{name} was scheduled but did not start within {timeout_s} s "
                f"(PIPELINE_POD_STARTUP_TIMEOUT): check the pull of {image} (registry reachable from the node, "
                f"PIPELINE_IMAGE_PULL_SECRETS) and that its volumes are bound; {events}")
    return (f"pod {namespace}/{name} could not be scheduled within {timeout_s} s (PIPELINE_POD_SCHEDULE_TIMEOUT): "
            f"it requested {requested(pod, container)}; check {', '.join(_checks(pod, container))}; {events}")
