"""Publish an approved model as the next version under a versioned serving path.

Layout: ``<serving_root>/<model_name>/<version>/`` holding a TensorFlow SavedModel
(what TensorFlow Serving loads; it picks up a new numbered folder without a
restart), the ``.keras`` file and ``deployment.json``. A version is built in a
temporary folder and renamed into place, so a crash never leaves half a version,
and earlier versions are never touched, so rolling back is choosing one.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

from tasks.common import StepError, atomic_dir, require_file, run_cli, sha256_file
from tasks.model_io import load_model

log = logging.getLogger("tasks.deploy")


def existing_versions(model_dir: Path) -> list[int]:
    """Version numbers already published for a model, ascending."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def deploy(model_uri: str, metrics_uri: str, serving_root: Path, model_name: str) -> dict:
    """Export the model as version ``max + 1`` and return where it went."""
    metrics = json.loads(require_file(metrics_uri, "metrics").read_text())
    if "accuracy" not in metrics:
        raise StepError(f"{metrics_uri}: no 'accuracy' in metrics")
    model = load_model(model_uri)
    model_dir = serving_root / model_name
    version = (existing_versions(model_dir) or [0])[-1] + 1
    target = model_dir / str(version)
    with atomic_dir(target) as tmp:
        model.export(str(tmp), format="tf_saved_model", verbose=False)
        shutil.copyfile(model_uri, tmp / "model.keras")
        (tmp / "deployment.json").write_text(json.dumps({
            "model_name": model_name, "version": version, "source_model": model_uri,
            "source_sha256": sha256_file(Path(model_uri)), "accuracy": metrics["accuracy"],
            "metrics": metrics_uri}, indent=2) + "\n")
    log.info("deployed %s version %d (accuracy %.4f) to %s", model_name, version, metrics["accuracy"], target)
    return {"serving_path": str(target), "model_name": model_name, "version": version,
            "accuracy": metrics["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks deploy", description=__doc__)
    parser.add_argument("--model", required=True, help="trained .keras model")
    parser.add_argument("--metrics", required=True, help="metrics.json from evaluate")
    parser.add_argument("--serving-root", required=True, type=Path, help="base folder of served models")
    parser.add_argument("--model-name", default="fashion_mnist")
    a = parser.parse_args(argv)
    return run_cli("deploy", lambda: deploy(a.model, a.metrics, a.serving_root, a.model_name))


if __name__ == "__main__":
    raise SystemExit(main())
