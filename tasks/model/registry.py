"""The MLflow tracking store and model registry, as the model steps use them.

The embedded default is a SQLite store (``sqlite:///<state>/mlflow/mlflow.db``) with
artifacts in a folder beside it, created on first use; in production the tracking
URI points at an MLflow server. The champion is the registered model's
``champion`` alias; every promotion and rollback is appended to a history kept in
a registered-model tag, and stamped on the promoted version's tags.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tasks.core.common import StepError

CHAMPION = "champion"
HISTORY_TAG = "promotion_history"
HISTORY_LIMIT = 25
EXPERIMENT = "fashion_mnist_training"
URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _local_store(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///"):]).parent
    return None


def client(tracking_uri: str) -> Any:
    """An MLflow client for ``tracking_uri`` (the registry lives in the same store)."""
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
