"""The ``KubernetesPodOperator`` that runs a step's pod, and the pod's spec built from the step spec.

Every pod gets requests and limits, the restricted Pod Security profile (the xcom
sidecar included: the provider adds it without a security context, which a
``restricted`` namespace rejects), a writable ``/tmp`` (an ``emptyDir``: the root
filesystem is read-only), the shared artifact volume at the artifact root, its
credentials from a Kubernetes Secret, image pull secrets and long schedule/start
timeouts (a cold GPU node pulling a multi-GB image takes minutes). The step writes its
result to ``/airflow/xcom/return.json`` (``STEP_RESULT_PATH``), which the sidecar
returns as XCom.

GPU placement follows the spec's GPU count, which ``kubernetes_runner`` took from the
run's ``gpu_count`` (checked by the setting's rule) when the task ran: with a count > 0
the pod gets an ``nvidia.com/gpu`` limit, the configured node selector (none by default:
the device plugin's resource is enough), a toleration for the usual ``nvidia.com/gpu``
taint and the configured affinity; with 0 it is a plain CPU pod.
A step that exits 2 (bad input, ``StepError``) fails the task without retrying, as the
local runner does; so does a pod that no node could take within the schedule timeout
(one line naming what it asked for, :mod:`mlops_pipeline.pod_launch`), and the pod is deleted.

The pod's ``fsGroup`` (with ``OnRootMismatch``) makes a volume whose class applies it
group-writable for the step user; the xcom sidecar runs the step's own image (or
``PIPELINE_XCOM_SIDECAR_IMAGE``), so a pod pulls nothing from outside the deployment's registry.

This module imports the Kubernetes provider (~0.5 s): only
``kubernetes_runner.StepPodTask`` imports it, when it builds the pod (at run time),
so no DAG parse pays for it, in either mode. It does not import ``kubernetes_runner``.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodLaunchTimeoutException
from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes.client import models as k8s

from mlops_pipeline.pod_launch import launch_timeout_message
from mlops_pipeline.settings import PipelineSettings
from mlops_pipeline.steps import StepSpec
from mlops_pipeline.uri_check import allowlist_env
from tasks.core.common import BAD_INPUT_EXIT_CODE
from tasks.core.provenance import DAG_COMMIT_ENV

XCOM_RESULT_PATH = "/airflow/xcom/return.json"
ARTIFACT_VOLUME = "artifacts"
TMP_VOLUME = "tmp"
GPU_RESOURCE = "nvidia.com/gpu"
# The step images create this user (images/*/Dockerfile); runAsNonRoot needs a numeric uid.
STEP_UID = 50000
# Its group: the pods' fsGroup, and the group k8s/prepare-artifacts-volume.yaml gives the volume's root.
STEP_GID = 0


def base_exit_code(remote_pod: Any, container: str = "base") -> int | None:
    """The exit code of the step container in the pod status the API server reported."""
    statuses = (remote_pod.status.container_statuses if remote_pod is not None and remote_pod.status else None) or []
    status = next((s for s in statuses if s.name == container), None)
    terminated = status.state.terminated if status is not None and status.state else None
    return terminated.exit_code if terminated is not None else None


class StepPodOperator(KubernetesPodOperator):
    """A ``KubernetesPodOperator`` that asks for ``gpu_count`` GPUs (a checked number) and placement for them.

    ``gpu_placement`` holds the node selector, tolerations and affinity a GPU pod gets; the
    pod is completed in ``build_pod_request_obj``.
    """

    def __init__(self, *, gpu_count: int | None = None, gpu_placement: dict[str, Any] | None = None,
                 xcom_sidecar_image: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gpu_count = gpu_count
        self.gpu_placement = gpu_placement or {}
        self.xcom_sidecar_image = xcom_sidecar_image
        self.launch_failure: AirflowException | None = None

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> k8s.V1Pod:
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        gpus = self.gpu_count or 0
        if gpus > 0:
            base = next(c for c in pod.spec.containers if c.name == self.base_container_name)
            base.resources.limits = {**(base.resources.limits or {}), GPU_RESOURCE: str(gpus)}
            pod.spec.node_selector = {**(pod.spec.node_selector or {}), **self.gpu_placement.get("node_selector", {})}
            pod.spec.tolerations = [*(pod.spec.tolerations or []), *self.gpu_placement.get("tolerations", [])]
            if self.gpu_placement.get("affinity"):
                pod.spec.affinity = self.gpu_placement["affinity"]
        sidecar = next((c for c in pod.spec.containers if c.name == PodDefaults.SIDECAR_CONTAINER_NAME), None)
        if sidecar is not None and self.xcom_sidecar_image:
            sidecar.image = self.xcom_sidecar_image
            sidecar.image_pull_policy = pull_policy(self.xcom_sidecar_image)
        return pod

    def await_pod_start(self, pod: k8s.V1Pod) -> None:
        """As the provider's, but a launch timeout fails in one line naming what the pod asked for.

        A pod nothing could schedule is deleted (it would otherwise run whenever a node turns up,
        long after its task failed) and fails the task without a retry: another try would wait
        as long for the same missing node. A pod that was placed but did not start is retried.
        """
        try:
            super().await_pod_start(pod)
        except PodLaunchTimeoutException as exc:
            scheduled = "to be scheduled" not in str(exc)
            timeout = self.startup_timeout_seconds if scheduled else self.schedule_timeout_seconds
            message = launch_timeout_message(pod, scheduled=scheduled, timeout_s=timeout,
                                             container=self.base_container_name)
            if not scheduled:
                self._delete_unscheduled(pod)
            self.launch_failure = AirflowException(message) if scheduled else AirflowFailException(message)
            raise self.launch_failure from exc

    def _delete_unscheduled(self, pod: k8s.V1Pod) -> None:
        try:
            self.pod_manager.delete_pod(pod)
        except Exception as exc:  # noqa: BLE001 - the task's own message matters more than this one
            self.log.warning("could not delete the unscheduled pod %s: %s", pod.metadata.name, exc)

    def cleanup(self, pod: Any, remote_pod: Any, xcom_result: dict | None = None, context: Any = None) -> None:
        """As the provider's, but a step that exited 2 fails the task for good (no retry)."""
        try:
            super().cleanup(pod, remote_pod, xcom_result=xcom_result, context=context)
        except AirflowFailException:
            raise
        except AirflowException as exc:
            if self.launch_failure is not None:  # the pod never ran: say why, not "returned a failure"
                raise self.launch_failure from exc
            if base_exit_code(remote_pod, self.base_container_name) == BAD_INPUT_EXIT_CODE:
                raise AirflowFailException(f"step rejected its input (exit {BAD_INPUT_EXIT_CODE}), not retried: "
                                           f"{exc}") from exc
            raise


def _resources(spec: StepSpec) -> k8s.V1ResourceRequirements:
    r = spec.resources
    return k8s.V1ResourceRequirements(requests={"cpu": r.cpu_request, "memory": r.memory_request},
                                      limits={"cpu": r.cpu_limit, "memory": r.memory_limit})


def _security() -> tuple[k8s.V1PodSecurityContext, k8s.V1SecurityContext]:
    """Pod and container security contexts that meet the 'restricted' profile, with a read-only root."""
    seccomp = k8s.V1SeccompProfile(type="RuntimeDefault")
    pod = k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=STEP_UID, run_as_group=STEP_GID,
                                   fs_group=STEP_GID, fs_group_change_policy="OnRootMismatch",
                                   seccomp_profile=seccomp)
    container = k8s.V1SecurityContext(allow_privilege_escalation=False, run_as_non_root=True,
                                      read_only_root_filesystem=True,
                                      capabilities=k8s.V1Capabilities(drop=["ALL"]), seccomp_profile=seccomp)
    return pod, container


def pull_policy(image: str) -> str:
    """A digest never moves: the node's copy is the right one. A tag may move: ask the registry."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def _image(spec: StepSpec, settings: PipelineSettings) -> str:
    return settings.kubernetes.image_for(spec.image)


def _env(spec: StepSpec, settings: PipelineSettings, dag_commit: str | None = None) -> list[k8s.V1EnvVar]:
    """Plain settings for the step (its image, for lineage; the dataset allowlist, which ``fetch`` applies again
    inside the pod; the DAG's commit, which the step records beside its image's); secrets come only through
    ``env_from``."""
    values = {"STEP_RESULT_PATH": XCOM_RESULT_PATH, "PIPELINE_ARTIFACT_ROOT": settings.artifact_root,
              "PIPELINE_IMAGE": _image(spec, settings), "GIT_PYTHON_REFRESH": "quiet",
              "MPLCONFIGDIR": "/tmp/matplotlib", **allowlist_env(settings), **settings.kubernetes.step_env,
              **({DAG_COMMIT_ENV: dag_commit} if dag_commit else {})}
    return [k8s.V1EnvVar(name=name, value=value) for name, value in values.items()]


def _gpu_placement(settings: PipelineSettings) -> dict[str, Any]:
    """Node selector, toleration and affinity of a pod that asks for GPUs."""
    kube = settings.kubernetes
    placement: dict[str, Any] = {
        "node_selector": dict(kube.gpu_node_selector),
        "tolerations": [k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")],
    }
    if kube.train_affinity:
        placement["affinity"] = dict(kube.train_affinity)
    return placement


def _volumes(settings: PipelineSettings) -> tuple[list[k8s.V1Volume], list[k8s.V1VolumeMount]]:
    claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=settings.kubernetes.artifact_pvc)
    volumes = [k8s.V1Volume(name=TMP_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="4Gi")),
               k8s.V1Volume(name=ARTIFACT_VOLUME, persistent_volume_claim=claim)]
    mounts = [k8s.V1VolumeMount(name=TMP_VOLUME, mount_path="/tmp"),
              k8s.V1VolumeMount(name=ARTIFACT_VOLUME, mount_path=settings.artifact_root)]
    return volumes, mounts


def pod_operator(spec: StepSpec, settings: PipelineSettings, *, dag_commit: str | None = None,
                 **kwargs: Any) -> StepPodOperator:
    """The pod task that runs ``spec`` in the cluster; ``dag_commit``: the commit its DAG file came from."""
    kube = settings.kubernetes
    pod_security, container_security = _security()
    volumes, mounts = _volumes(settings)
    image = _image(spec, settings)
    return StepPodOperator(
        task_id=spec.task_id,
        name=spec.task_id.replace("_", "-"),
        namespace=kube.namespace,
        image=image,
        image_pull_policy=pull_policy(image),
        image_pull_secrets=[k8s.V1LocalObjectReference(name=name) for name in kube.image_pull_secrets] or None,
        arguments=spec.pod_arguments(),
        env_vars=_env(spec, settings, dag_commit),
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=kube.env_secret, optional=True))],
        container_resources=_resources(spec),
        volumes=volumes,
        volume_mounts=mounts,
        gpu_count=spec.gpus,
        gpu_placement=_gpu_placement(settings) if spec.gpus is not None else None,
        security_context=pod_security,
        container_security_context=container_security,
        xcom_sidecar_container_security_context=container_security,
        xcom_sidecar_image=kube.xcom_sidecar_image or image,
        service_account_name=kube.service_account,
        automount_service_account_token=False,
        in_cluster=kube.in_cluster,
        schedule_timeout_seconds=kube.schedule_timeout_s,
        startup_timeout_seconds=kube.startup_timeout_s,
        do_xcom_push=True,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        labels={"app.kubernetes.io/part-of": "fashion-mlops", "pipeline-step": spec.step},
        **kwargs,
    )
