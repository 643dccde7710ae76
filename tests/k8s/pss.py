"""Our checker for the "restricted" Pod Security Standard: a second opinion beside checkov (test_policy_engine.py),
and the only check of the rules checkov lacks (procMount, sysctls, SELinux, AppArmor, hostPath and other volume types).

It reads a pod as the API server would receive it (the camelCase dict of
``ApiClient().sanitize_for_serialization``) and lists every rule it breaks, so a
failing test names the container and the field, the way the admission
controller of a ``restricted`` namespace would reject the pod.
"""

from __future__ import annotations

from typing import Any

# Volume types the restricted profile allows (everything else, hostPath first, is refused).
ALLOWED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                        "projected", "secret"}
ALLOWED_SECCOMP = {"RuntimeDefault", "Localhost"}
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
# Baseline rules the restricted profile includes, which checkov has no check for.
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
ALLOWED_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
ALLOWED_APPARMOR = {"RuntimeDefault", "Localhost"}


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or []]


def _selinux_apparmor(ctx: dict[str, Any], where: str) -> list[str]:
    problems = []
    selinux = ctx.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in ALLOWED_SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        problems.append(f"{where} sets seLinuxOptions {selinux}")
    apparmor = (ctx.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in ALLOWED_APPARMOR:
        problems.append(f"{where} has AppArmor profile {apparmor!r}")
    if (ctx.get("windowsOptions") or {}).get("hostProcess"):
        problems.append(f"{where} is a Windows hostProcess")
    return problems


def _pod_level(spec: dict[str, Any]) -> list[str]:
    problems = [f"spec.{flag} is true" for flag in ("hostNetwork", "hostPID", "hostIPC") if spec.get(flag)]
    pod_ctx = spec.get("securityContext") or {}
    problems += [f"pod sets unsafe sysctl {s.get('name')!r}" for s in pod_ctx.get("sysctls") or []
                 if s.get("name") not in SAFE_SYSCTLS]
    problems += _selinux_apparmor(pod_ctx, "the pod")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume {volume.get('name')!r} uses {sorted(kinds - ALLOWED_VOLUME_TYPES)}")
    return problems


def _container_level(container: dict[str, Any], pod_ctx: dict[str, Any]) -> list[str]:
    name = container.get("name")
    ctx = container.get("securityContext") or {}
    problems = []
    if ctx.get("privileged"):
        problems.append(f"container {name!r} is privileged")
    if ctx.get("procMount", "Default") != "Default":
        problems.append(f"container {name!r} sets procMount {ctx['procMount']!r}")
    problems += [f"container {name!r} uses hostPort {p['hostPort']}" for p in container.get("ports") or []
                 if p.get("hostPort")]
    problems += _selinux_apparmor(ctx, f"container {name!r}")
    if ctx.get("allowPrivilegeEscalation") is not False:
        problems.append(f"container {name!r} does not set allowPrivilegeEscalation: false")
    caps = ctx.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        problems.append(f"container {name!r} does not drop ALL capabilities")
    if set(caps.get("add") or []) - ALLOWED_ADDED_CAPABILITIES:
        problems.append(f"container {name!r} adds capabilities {caps.get('add')}")
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if non_root is not True:
        problems.append(f"container {name!r} does not run with runAsNonRoot: true (pod or container)")
    if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
        problems.append(f"container {name!r} runs as uid 0")
    seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
    if seccomp not in ALLOWED_SECCOMP:
        problems.append(f"container {name!r} has seccomp profile {seccomp!r}, not RuntimeDefault or Localhost")
    return problems


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """Every way ``pod`` breaks the restricted profile; an empty list means it would be admitted."""
    spec = pod.get("spec") or {}
    pod_ctx = spec.get("securityContext") or {}
    problems = _pod_level(spec)
    for container in _containers(spec):
        problems.extend(_container_level(container, pod_ctx))
    return problems
