"""The MLflow tracking store and model registry, as the model steps use them.

The embedded default is a SQLite store (``sqlite:///<state>/mlflow/mlflow.db``) with
artifacts in a folder beside it, created on first use; in production the tracking
URI points at an MLflow server. The champion is the registered model's
``champion`` alias; every promotion and rollback is appended to a history kept in
a registered-model tag, and stamped on the promoted version's tags.

A server that does not answer costs at most ``PIPELINE_MLFLOW_TIMEOUT_S`` seconds (default 30)
before the step fails in one line naming it (exit 2): MLflow's own client would retry each
request 7 times with backoff, ~4 minutes, then print a traceback, and Airflow would retry that.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tasks.core.common import StepError

CHAMPION = "champion"
HISTORY_TAG = "promotion_history"
HISTORY_LIMIT = 25
EXPERIMENT = "fashion_mnist_training"
URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
TIMEOUT_ENV = "PIPELINE_MLFLOW_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 30
_answered: set[str] = set()


def mlflow_timeout_s() -> int:
    """How long a step waits for the MLflow server (``PIPELINE_MLFLOW_TIMEOUT_S``), in whole seconds."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    if not raw.isdigit() or int(raw) <= 0:
        raise StepError(f"{TIMEOUT_ENV} must be a positive whole number of seconds, got {raw!r}")
    return int(raw)


def _bound_mlflow_http(timeout_s: int) -> None:
    """Bound MLflow's own HTTP retries for this process, unless the deployment set them itself.

    Its defaults (120 s per request, 7 retries with backoff) keep a step waiting for minutes
    on a server that went away mid-step; with these a request gives up within ~3 timeouts.
    """
    for name, value in (("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s)), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"), ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")):
        os.environ.setdefault(name, value)


def require_reachable(tracking_uri: str) -> None:
    """Fail in one line if an MLflow server at ``tracking_uri`` gives no HTTP answer within the timeout.

    Any answer (even 401 or 404) means the server is there; only a refused, unresolved or
    silent connection fails. Local stores (``sqlite:``, paths) are not checked.
    """
    if not tracking_uri.startswith(("http://", "https://")) or tracking_uri in _answered:
        return
    timeout = mlflow_timeout_s()
    _bound_mlflow_http(timeout)
    try:
        urllib.request.urlopen(tracking_uri.rstrip("/") + "/health", timeout=timeout).close()  # noqa: S310 - http(s) only
    except urllib.error.HTTPError:
        pass
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise StepError(f"MLflow at {tracking_uri} did not answer within {timeout} s ({reason}): check "
                        f"MLFLOW_TRACKING_URI and that the server runs ({TIMEOUT_ENV} sets the wait)") from err
    _answered.add(tracking_uri)


def _local_store(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///"):]).parent
    return None


def client(tracking_uri: str) -> Any:
    """An MLflow client for ``tracking_uri`` (the registry lives in the same store), once its server answers."""
    require_reachable(tracking_uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    import mlflow
    from mlflow import MlflowClient

    store = _local_store(tracking_uri)
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    # The fluent API (start_run, log_model, register_model) reads these globals, but MLflow also
    # exports them as MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI "so that subprocesses inherit them":
    # a caller running in-process (the gate, a test) would then send every later step it starts
    # to this store. The globals stay; the environment is put back as it was.
    saved = {name: os.environ.get(name) for name in URI_ENV}
    try:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return MlflowClient(tracking_uri, tracking_uri)


def experiment_id(mlflow_client: Any, tracking_uri: str, name: str = EXPERIMENT) -> str:
    """The experiment's id, creating it (with artifacts beside a local store) on first use."""
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    store = _local_store(tracking_uri)
    location = (store / "artifacts").as_uri() if store is not None else None
    return mlflow_client.create_experiment(name, artifact_location=location)


def champion_version(mlflow_client: Any, model_name: str) -> Any | None:
    """The version the champion alias points at, or None (no such model or alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def get_version(mlflow_client: Any, model_name: str, version: int | str) -> Any:
    """A registered version, or a one-line error saying it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version(model_name, str(version))
    except MlflowException as err:
        raise StepError(f"model {model_name!r} has no version {version} in the registry") from err


def download_model(model_uri: str, tracking_uri: str, into: Path) -> Path:
    """Fetch a model's ``model.keras`` from ``models:/...``, ``runs:/...`` or a path."""
    if not model_uri.startswith(("models:/", "runs:/")):
        return Path(model_uri.removeprefix("file://"))
    client(tracking_uri)
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        folder = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(into))
    except MlflowException as err:
        raise StepError(f"{model_uri}: cannot load from the registry ({str(err).splitlines()[0]})") from err
    found = sorted(Path(folder).rglob("model.keras"))
    if not found:
        raise StepError(f"{model_uri}: no model.keras among the registered artifacts")
    return found[0]


def read_history(mlflow_client: Any, model_name: str) -> list[dict]:
    """The promotion and rollback history, oldest first."""
    tags = mlflow_client.get_registered_model(model_name).tags
    return json.loads(tags.get(HISTORY_TAG, "[]"))


def record_promotion(mlflow_client: Any, model_name: str, version: int, previous: int | None, action: str,
                     reason: str, by: str, forced: dict | None = None) -> dict:
    """Append a promotion/rollback to the history and stamp it on the version's tags.

    ``forced`` (e.g. ``{"replace_incompatible_champion": True, "forced_over": why}``) is kept
    in the entry, so a replacement nobody could compare stays visible.
    """
    entry = {"action": action, "version": int(version), "previous_version": previous, "reason": reason,
             "by": by, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(forced or {})}
    history = (read_history(mlflow_client, model_name) + [entry])[-HISTORY_LIMIT:]
    mlflow_client.set_registered_model_tag(model_name, HISTORY_TAG, json.dumps(history))
    for key, value in (("promoted_at", entry["at"]), ("promoted_by", by), ("promotion_reason", reason),
                       ("promotion_action", action), ("previous_champion", str(previous or "")),
                       ("promotion_forced", "true" if forced else "false")):
        mlflow_client.set_model_version_tag(model_name, str(version), key, value)
    return entry
