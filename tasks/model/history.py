"""A registered model's life: every version, its run and accuracy, promotions and rollbacks, the champion.

Read from the MLflow registry only (the run report's model history page and its
"superseded" note use it); nothing here writes.
"""

from __future__ import annotations

from typing import Any

from tasks.model.registry import champion_version, read_history


def _accuracy(tags: dict[str, str]) -> float | None:
    try:
        return float(tags["test_accuracy"])
    except (KeyError, ValueError):
        return None


def model_history(mlflow_client: Any, model_name: str) -> dict[str, Any]:
    """Versions (newest first) with run, Airflow run, accuracy and their promotions; the champion; the history."""
    from mlflow.exceptions import MlflowException

    try:
        found = mlflow_client.search_model_versions(f"name='{model_name}'")
        history = read_history(mlflow_client, model_name)
    except MlflowException:
        return {"model_name": model_name, "champion": None, "versions": [], "history": []}
    champion = champion_version(mlflow_client, model_name)
    versions = []
    for item in sorted(found, key=lambda v: -int(v.version)):
        run_tags: dict[str, str] = {}
        try:
            run_tags = dict(mlflow_client.get_run(item.run_id).data.tags) if item.run_id else {}
        except MlflowException:
            pass
        number = int(item.version)
        versions.append({"version": number, "run_id": item.run_id, "accuracy": _accuracy(dict(item.tags or {})),
                         "created": getattr(item, "creation_timestamp", None),
                         "dag_id": run_tags.get("airflow_dag_id"), "airflow_run_id": run_tags.get("airflow_run_id"),
                         "dataset_sha256": run_tags.get("dataset_sha256"),
                         "promotions": [e for e in history if e.get("version") == number]})
    return {"model_name": model_name, "champion": int(champion.version) if champion else None,
            "versions": versions, "history": history}


def superseded(history: dict[str, Any], version: int) -> dict[str, Any] | None:
    """If ``version`` was champion once and is no longer, the promotion that replaced it; else ``None``."""
    entries = history.get("history", [])
    if history.get("champion") == version or not any(e.get("version") == version for e in entries):
        return None
    last = max(i for i, e in enumerate(entries) if e.get("version") == version)
    later = entries[last + 1:]
    return later[0] if later else {"version": history.get("champion"), "action": "?", "reason": "", "by": "", "at": ""}


def models_trained_by(mlflow_client: Any, dag_id: str) -> list[dict[str, Any]]:
    """The registered models some run of ``dag_id`` registered: name, versions, newest version, champion.

    A model name is derived from the data when a run leaves ``model_name`` empty, so the DAG's own
    default names no model; the registry's versions (their runs' ``airflow_dag_id`` tag) do.
    """
    from mlflow.exceptions import MlflowException

    try:
        found = mlflow_client.search_model_versions("")
    except MlflowException:
        return []
    by_model: dict[str, list[Any]] = {}
    for item in found:
        by_model.setdefault(item.name, []).append(item)
    models = []
    for name, items in sorted(by_model.items()):
        try:
            ours = any(mlflow_client.get_run(v.run_id).data.tags.get("airflow_dag_id") == dag_id
                       for v in items if v.run_id)
        except MlflowException:
            ours = False
        if ours:
            champion = champion_version(mlflow_client, name)
            models.append({"model_name": name, "versions": len(items), "newest": max(int(v.version) for v in items),
                           "champion": int(champion.version) if champion else None})
    return models

