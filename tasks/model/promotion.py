"""Make a registered version the champion and the served model, in an order that fails safe.

The SavedModel is exported first; only then does the ``champion`` alias move (one
atomic registry call) and the history grow; last, the previous served versions are
retired. A failure before the alias moves leaves both the registry and the serving
folder as they were.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tasks.core.common import sha256_file
from tasks.model.model_io import load_model
from tasks.model.registry import CHAMPION, champion_version, download_model, get_version, record_promotion
from tasks.model.serving import export_version, retire_others, versions_served

log = logging.getLogger("tasks.model.promotion")


def promote(mlflow_client: Any, tracking_uri: str, model_name: str, version: int, serving_root: Path,
            action: str, reason: str, by: str, forced: dict | None = None) -> dict:
    """Export ``version`` for serving, point the champion alias at it and record why (and what was forced)."""
    registered = get_version(mlflow_client, model_name, version)
    current = champion_version(mlflow_client, model_name)
    previous = int(current.version) if current else None
    already_served = version in versions_served(serving_root, model_name)
    with tempfile.TemporaryDirectory() as scratch:
        keras_file = download_model(f"models:/{model_name}/{version}", tracking_uri, Path(scratch))
        metadata = {"model_name": model_name, "version": int(version), "run_id": registered.run_id,
                    "source": registered.source, "sha256": sha256_file(keras_file), "action": action,
                    "reason": reason, "by": by}
        target = export_version(load_model(str(keras_file)), keras_file, serving_root, model_name, int(version),
                                metadata)
    try:
        mlflow_client.set_registered_model_alias(model_name, CHAMPION, str(version))
    except Exception:
        if not already_served:
            shutil.rmtree(target, ignore_errors=True)
        raise
    entry = record_promotion(mlflow_client, model_name, int(version), previous, action, reason, by, forced)
    retired = retire_others(serving_root, model_name, int(version))
    log.info("%s: %s version %s is champion (was %s); serving %s; retired %s", action, model_name, version,
             previous, target, retired or "nothing")
    return {"model_name": model_name, "version": int(version), "previous_version": previous,
            "serving_path": str(target), "action": action, "at": entry["at"], "forced": bool(forced)}
