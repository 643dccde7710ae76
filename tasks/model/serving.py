"""The serving folder that TensorFlow Serving watches: ``<root>/<model>/<version>/`` SavedModels.

Only the champion's version is kept there. TensorFlow Serving's default policy
serves the highest version present and reacts to folders appearing and
disappearing, so publishing the champion's folder and then removing the others
switches what is served without a restart, forwards (deploy) and backwards
(rollback) alike.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tasks.core.common import atomic_dir


def versions_served(serving_root: Path, model_name: str) -> list[int]:
    """Version folders present for a model, ascending."""
    folder = serving_root / model_name
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def export_version(model: object, keras_file: Path, serving_root: Path, model_name: str, version: int,
                   metadata: dict) -> Path:
    """Write the SavedModel (plus the .keras file and metadata) for ``version``, atomically."""
    target = serving_root / model_name / str(version)
    with atomic_dir(target) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=False)
        shutil.copyfile(keras_file, tmp / "model.keras")
        (tmp / "deployment.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return target


def retire_others(serving_root: Path, model_name: str, keep: int) -> list[int]:
    """Remove every served version but ``keep``; return what was removed."""
    removed = [v for v in versions_served(serving_root, model_name) if v != keep]
    for version in removed:
        shutil.rmtree(serving_root / model_name / str(version), ignore_errors=True)
    return removed
