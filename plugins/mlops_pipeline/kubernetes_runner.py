"""Turn a step spec into a ``KubernetesPodOperator`` with the same command line.

Every pod gets requests and limits, the restricted Pod Security profile (the xcom
sidecar included: the provider adds it without a security context, which a
``restricted`` namespace rejects), the shared artifact volume at the artifact root
and its credentials from a Kubernetes Secret; a step with GPUs also gets an
``nvidia.com/gpu`` limit, a GPU node selector, a toleration for the usual
``nvidia.com/gpu`` taint and the configured affinity. The step writes its result to
``/airflow/xcom/return.json`` (``STEP_RESULT_PATH``), which the sidecar returns as XCom.
"""

from __future__ import annotations

from typing import Any

from mlops_pipeline.settings import PipelineSettings
from mlops_pipeline.steps import StepSpec

XCOM_RESULT_PATH = "/airflow/xcom/return.json"
ARTIFACT_VOLUME = "artifacts"
GPU_RESOURCE = "nvidia.com/gpu"
# The step images create this user (images/*/Dockerfile); runAsNonRoot needs a numeric uid.
STEP_UID = 50000


def _resources(spec: StepSpec) -> Any:
    from kubernetes.client import models as k8s

    r = spec.resources
    limits = {"cpu": r.cpu_limit, "memory": r.memory_limit}
    if spec.gpus is not None:
        limits[GPU_RESOURCE] = spec.gpus
    return k8s.V1ResourceRequirements(requests={"cpu": r.cpu_request, "memory": r.memory_request}, limits=limits)


def _security() -> tuple[Any, Any]:
    """Pod and container security contexts that meet the 'restricted' profile."""
    from kubernetes.client import models as k8s

    seccomp = k8s.V1SeccompProfile(type="RuntimeDefault")
    pod = k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=STEP_UID, run_as_group=0, fs_group=0,
                                   seccomp_profile=seccomp)
    container = k8s.V1SecurityContext(allow_privilege_escalation=False, run_as_non_root=True,
                                      capabilities=k8s.V1Capabilities(drop=["ALL"]), seccomp_profile=seccomp)
    return pod, container


def _image(spec: StepSpec, settings: PipelineSettings) -> str:
    kube = settings.kubernetes
    return kube.train_image if spec.image == "train" else kube.data_image


def _env(spec: StepSpec, settings: PipelineSettings) -> list[Any]:
    """Plain settings for the step (its image too, for lineage); secrets come only through ``env_from``."""
    from kubernetes.client import models as k8s

    values = {"STEP_RESULT_PATH": XCOM_RESULT_PATH, "PIPELINE_ARTIFACT_ROOT": settings.artifact_root,
              "PIPELINE_IMAGE": _image(spec, settings), **settings.kubernetes.step_env}
    return [k8s.V1EnvVar(name=name, value=value) for name, value in values.items()]


def _gpu_placement(spec: StepSpec, settings: PipelineSettings) -> dict[str, Any]:
    """Node selector, toleration and affinity that put a GPU step on a GPU node; nothing for CPU steps."""
    from kubernetes.client import models as k8s

    if spec.gpus is None:
        return {}
    kube = settings.kubernetes
    placement: dict[str, Any] = {
        "node_selector": dict(kube.gpu_node_selector),
        "tolerations": [k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")],
    }
    if kube.train_affinity:
        placement["affinity"] = dict(kube.train_affinity)
    return placement


def pod_operator(spec: StepSpec, settings: PipelineSettings, **kwargs: Any) -> Any:
    """The ``KubernetesPodOperator`` that runs ``spec`` in the cluster."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    kube = settings.kubernetes
    pod_security, container_security = _security()
    return KubernetesPodOperator(
        task_id=spec.task_id,
        name=spec.task_id.replace("_", "-"),
        namespace=kube.namespace,
        image=_image(spec, settings),
        arguments=spec.pod_arguments(),
        env_vars=_env(spec, settings),
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=kube.env_secret, optional=True))],
        container_resources=_resources(spec),
        volumes=[k8s.V1Volume(name=ARTIFACT_VOLUME, persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name=kube.artifact_pvc))],
        volume_mounts=[k8s.V1VolumeMount(name=ARTIFACT_VOLUME, mount_path=settings.artifact_root)],
        **_gpu_placement(spec, settings),
        security_context=pod_security,
        container_security_context=container_security,
        xcom_sidecar_container_security_context=container_security,
        service_account_name=kube.service_account,
        automount_service_account_token=False,
        in_cluster=kube.in_cluster,
        do_xcom_push=True,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        labels={"app.kubernetes.io/part-of": "fashion-mlops", "pipeline-step": spec.step},
        **kwargs,
    )
