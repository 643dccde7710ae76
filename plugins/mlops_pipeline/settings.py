"""Deployment settings, read from the environment (never from DAG code or Variables).

``PIPELINE_MODE`` picks the runner: ``local`` (default; each step a subprocess on
this machine) or ``kubernetes`` (each step a pod). Everything else has a default
that fits the mode, so the embedded default needs no configuration at all.
Reading settings has no side effects: nothing is created until a step writes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tasks.core.common import json_object

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Real image samples shipped with the code (tasks/ travels into every image): always readable.
SAMPLES_DIR = PROJECT_ROOT / "tasks" / "data" / "samples"
MODES = ("local", "kubernetes")
DEFAULT_IMAGE_TAG = "0.1.0"
# Non-secret settings the step pods need from the scheduler's environment (Helm ``env``):
# where MLflow tracks, and which S3-compatible store serves datasets. Keys and passwords
# never travel this way; they come from the step Secret (``env_from``).
DEFAULT_RETRAIN_CRON = "0 3 * * 1"  # Mondays 03:00 UTC
DEFAULT_MONITOR_CRON = "17 * * * *"  # hourly
DEFAULT_SERVING_URL = "http://127.0.0.1:8501"  # make serve
FORWARDED_STEP_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                      "PIPELINE_MLFLOW_TIMEOUT_S")


@dataclass(frozen=True)
class KubernetesSettings:
    """Where and how step pods run; the defaults match ``helm-values.yaml``."""

    namespace: str = "airflow"
    data_image: str = f"ghcr.io/fashion-mlops/step-data:{DEFAULT_IMAGE_TAG}"
    train_image: str = f"ghcr.io/fashion-mlops/step-train:{DEFAULT_IMAGE_TAG}"
    service_account: str = "pipeline-steps"
    artifact_pvc: str = "pipeline-artifacts"
    # The nvidia.com/gpu resource alone places a GPU pod on a plain cluster with the NVIDIA device plugin;
    # a label such as nvidia.com/gpu.present exists only where GPU feature discovery runs.
    gpu_node_selector: Mapping[str, str] = field(default_factory=dict)
    env_secret: str = "pipeline-step-env"
    in_cluster: bool = True
    train_affinity: Mapping[str, object] = field(default_factory=dict)
    step_env: Mapping[str, str] = field(default_factory=dict)
    # A cold GPU node (autoscaled, pulling a multi-GB image) takes minutes: KPO's 120 s default fails it.
    schedule_timeout_s: int = 1800
    startup_timeout_s: int = 1800
    image_pull_secrets: tuple[str, ...] = ()
    # The image of the xcom sidecar KubernetesPodOperator adds to each step pod ("": the step's own image,
    # already on the node, so no pod pulls from a registry other than ours).
    xcom_sidecar_image: str = ""
    # true: step images must be pinned by digest (name@sha256:...), so a moved tag cannot change a run.
    require_image_digest: bool = False

    def image_for(self, step_image: str) -> str:
        """The image reference a step's contract names by kind (``"train"`` or ``"data"``)."""
        return self.train_image if step_image == "train" else self.data_image


IMAGE_DIGEST = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")


def _image_reference(env: Mapping[str, str], name: str, default: str, require_digest: bool) -> str:
    """An image reference from ``env[name]``; with ``require_digest``, only an immutable ``...@sha256:`` one."""
    value = env.get(name, "").strip() or default
    if require_digest and not IMAGE_DIGEST.match(value):
        raise ValueError(f"{name}={value!r} is not pinned by digest (<image>@sha256:<64 hex>), "
                         "and PIPELINE_REQUIRE_IMAGE_DIGEST is true")
    return value


def _optional_image(env: Mapping[str, str], name: str, require_digest: bool) -> str:
    """An image reference from ``env[name]``, or ``""`` when unset."""
    return _image_reference(env, name, "", require_digest) if env.get(name, "").strip() else ""


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive number of seconds from ``env[name]``, failing with the variable's name."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number of seconds, got {raw!r}")
    return int(raw)


def _json_object(env: Mapping[str, str], name: str) -> dict[str, object]:
    """A JSON object from ``env[name]`` (empty when unset), failing with the variable's name."""
    raw = env.get(name, "").strip()
    return json_object(name, raw, ValueError) if raw else {}


@dataclass(frozen=True)
class PipelineSettings:
    """Mode, artifact locations and the Kubernetes details of one deployment."""

    mode: str
    state_dir: Path
    artifact_root: str
    serving_root: str
    tracking_uri: str
    kubernetes: KubernetesSettings
    # Where new dataset files are dropped, and the immutable store they are versioned into.
    landing_dir: str = ""
    dataset_store: str = ""
    # When the training DAG retrains on the latest stored dataset even if no new data arrived.
    retrain_cron: str = DEFAULT_RETRAIN_CRON
    # What a run may read (tasks/data/uri_policy.py): local folders and remote prefixes, and remote schemes.
    allowed_data_roots: tuple[str, ...] = ()
    allowed_data_schemes: tuple[str, ...] = ()
    # The model server the feedback page asks (TF Serving's REST API), and the feedback database
    # (SQLAlchemy URL; SQLite under the state folder by default, PostgreSQL in the cluster and compose).
    serving_url: str = DEFAULT_SERVING_URL
    feedback_db_url: str = ""
    monitor_cron: str = DEFAULT_MONITOR_CRON


def load_settings(environ: Mapping[str, str] | None = None) -> PipelineSettings:
    """Build the settings from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    mode = env.get("PIPELINE_MODE", "local").strip().lower()
    if mode not in MODES:
        raise ValueError(f"PIPELINE_MODE={mode!r} is not one of {', '.join(MODES)}")
    state_dir = Path(env.get("PIPELINE_STATE_DIR", PROJECT_ROOT / ".state"))
    default_root = str(state_dir / "artifacts") if mode == "local" else "/artifacts"
    artifact_root = env.get("PIPELINE_ARTIFACT_ROOT", default_root).rstrip("/")
    serving_default = str(state_dir / "serving") if mode == "local" else f"{artifact_root}/serving"
    k8s_defaults = KubernetesSettings()
    pinned = env.get("PIPELINE_REQUIRE_IMAGE_DIGEST", "false").strip().lower() == "true"
    kubernetes = KubernetesSettings(
        namespace=env.get("PIPELINE_K8S_NAMESPACE", k8s_defaults.namespace),
        data_image=_image_reference(env, "PIPELINE_DATA_IMAGE", k8s_defaults.data_image, pinned and mode != "local"),
        train_image=_image_reference(env, "PIPELINE_TRAIN_IMAGE", k8s_defaults.train_image, pinned and mode != "local"),
        service_account=env.get("PIPELINE_K8S_SERVICE_ACCOUNT", k8s_defaults.service_account),
        artifact_pvc=env.get("PIPELINE_ARTIFACT_PVC", k8s_defaults.artifact_pvc),
        env_secret=env.get("PIPELINE_STEP_ENV_SECRET", k8s_defaults.env_secret),
        in_cluster=env.get("PIPELINE_K8S_IN_CLUSTER", "true").lower() == "true",
        gpu_node_selector=_json_object(env, "PIPELINE_GPU_NODE_SELECTOR") or k8s_defaults.gpu_node_selector,
        train_affinity=_json_object(env, "PIPELINE_TRAIN_AFFINITY"),
        step_env={name: env[name] for name in FORWARDED_STEP_ENV if env.get(name)},
        schedule_timeout_s=_seconds(env, "PIPELINE_POD_SCHEDULE_TIMEOUT", k8s_defaults.schedule_timeout_s),
        startup_timeout_s=_seconds(env, "PIPELINE_POD_STARTUP_TIMEOUT", k8s_defaults.startup_timeout_s),
        image_pull_secrets=tuple(n.strip() for n in env.get("PIPELINE_IMAGE_PULL_SECRETS", "").split(",") if n.strip()),
        xcom_sidecar_image=_optional_image(env, "PIPELINE_XCOM_SIDECAR_IMAGE", pinned and mode != "local"),
        require_image_digest=pinned,
    )
    tracking_default = f"sqlite:///{state_dir / 'mlflow' / 'mlflow.db'}" if mode == "local" else "http://mlflow:5000"
    # In the cluster both live on the shared artifact volume, so the ingest pod and the training pods see them.
    data_home = str(state_dir) if mode == "local" else artifact_root
    landing_dir = env.get("PIPELINE_LANDING_DIR", f"{data_home}/landing").rstrip("/")
    dataset_store = env.get("PIPELINE_DATASET_STORE", f"{data_home}/datasets").rstrip("/")
    roots, schemes = data_allowlist(env, (landing_dir, dataset_store, artifact_root, str(SAMPLES_DIR)))
    return PipelineSettings(mode, state_dir, artifact_root, env.get("PIPELINE_SERVING_ROOT", serving_default),
                            env.get("MLFLOW_TRACKING_URI", tracking_default), kubernetes,
                            landing_dir=landing_dir, dataset_store=dataset_store,
                            retrain_cron=env.get("PIPELINE_RETRAIN_CRON", "").strip() or DEFAULT_RETRAIN_CRON,
                            allowed_data_roots=roots, allowed_data_schemes=schemes,
                            serving_url=env.get("PIPELINE_SERVING_URL", "").strip().rstrip("/") or DEFAULT_SERVING_URL,
                            feedback_db_url=env.get("PIPELINE_FEEDBACK_DB_URL", "").strip()
                            or f"sqlite:///{state_dir / 'feedback' / 'feedback.db'}",
                            monitor_cron=env.get("PIPELINE_MONITOR_CRON", "").strip() or DEFAULT_MONITOR_CRON)


def data_allowlist(env: Mapping[str, str], own: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Roots and remote schemes a run may read: the pipeline's own folders plus ``PIPELINE_ALLOWED_DATA_ROOTS``.

    ``PIPELINE_ALLOWED_DATA_ROOTS`` is comma-separated local folders and remote prefixes
    (``s3://bucket/prefix``, ``https://host/path``); it adds to the landing folder and the
    dataset store, which a run must always reach. Remote schemes are those of the configured
    prefixes unless ``PIPELINE_ALLOWED_DATA_SCHEMES`` narrows them; ``embedded://`` needs no root.
    """
    extra = tuple(r.strip().rstrip("/") or "/" for r in env.get("PIPELINE_ALLOWED_DATA_ROOTS", "").split(",")
                  if r.strip())
    roots = tuple(dict.fromkeys((*own, *extra)))
    remote = {r.split("://", 1)[0].lower() for r in roots if "://" in r and not r.startswith("file://")}
    narrowed = {s.strip().lower() for s in env.get("PIPELINE_ALLOWED_DATA_SCHEMES", "").split(",") if s.strip()}
    return roots, tuple(sorted(remote & narrowed if narrowed else remote))
