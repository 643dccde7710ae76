"""Log the evaluated run to MLflow and register its model as a new version.

One MLflow run per training run: every Param, the per-epoch curves, the test
metrics, the confusion matrix and report, the model, the fingerprints of the rows it
trained on, and lineage tags (dataset URI and hash, git commit, Airflow dag and run
ids, images). The model becomes the next version of the registered model, tagged with
its input signature (image shape, category names, label encoding). An empty
``model_name`` is derived from that signature (``tasks/model/naming.py``); the name used
is in the result and on the MLflow run (tag ``registered_model_name``). If a champion
exists, both models are scored on this run's test rows that neither trained on
(``tasks.model.champion.score_champion``); the gate decides on that paired table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core.common import json_object, require_file, write_json
from tasks.core.contract import run_step
from tasks.data.arrays import load_bundle
from tasks.data.encoding import class_indices
from tasks.model.champion import (
    FINGERPRINTS_DIR,
    FINGERPRINTS_FILE,
    SIGNATURE_TAG,
    champion_status,
    run_fingerprints,
    score_champion,
)
from tasks.model.comparison import load_fingerprints, model_signature, save_fingerprints
from tasks.model.model_card import build_model_card, log_model_card
from tasks.model.naming import model_name_for
from tasks.model.registry import EXPERIMENT, client, experiment_id, get_version
from tasks.model.scoring import evaluated_classes
from tasks.model.tuning import best_settings, log_trials

CONTRACT = CONTRACTS["register"]
EVALUATION_FILES = ("confusion_matrix", "report", "summary", "metrics")


def _metric_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _batch_metrics(history: dict[str, list[float]], metrics: dict) -> list[Any]:
    from mlflow.entities import Metric

    now = 0
    rows = [Metric(key, float(value), now, step) for key, values in history.items() for step, value in
            enumerate(values)]
    for key in ("accuracy", "loss", "macro_f1"):
        rows.append(Metric(f"test_{key}", float(metrics[key]), now, 0))
    for name, row in metrics["per_class"].items():
        for key in ("precision", "recall", "f1"):
            rows.append(Metric(f"test_{key}_{_metric_name(name)}", float(row[key]), now, 0))
    return rows


def with_parent_rows(seen: np.ndarray, file: Path, parent: str | None, mlflow_client: Any, tracking_uri: str,
                     scratch: Path) -> tuple[np.ndarray, Path]:
    """A fine-tuned model has also seen its parent's rows: the union, and a file holding it to log.

    The parent's own artifact already holds its ancestors' rows, so one level is enough.
    A parent that is not a registered version (a ``.keras`` path) adds nothing it can name.
    """
    match = re.fullmatch(r"models:/([^/@]+)/(\d+)", parent or "")
    if not match:
        return seen, file
    registered = get_version(mlflow_client, match.group(1), match.group(2))
    union = np.unique(np.concatenate([seen, run_fingerprints(registered.run_id, tracking_uri)]))
    target = scratch / FINGERPRINTS_FILE
    save_fingerprints(target, union)
    return union, target


def register(tracking_uri: str, model_name: str | None, model_uri: str, history_uri: str, metrics_uri: str,
             test_uri: str, params: dict, tags: dict[str, str], parent: str | None, output: Path | None = None,
             fingerprints_uri: str = "", tuning_uri: str = "") -> dict:
    """Log the run, register the version and compare with the champion; return the figures the gate needs.

    The evaluation's report and plot are logged from beside its metrics file, and the
    training rows' fingerprints (default: ``train``'s file beside the model), under the
    names the contracts declare.
    """
    model_file = require_file(model_uri, "trained model")
    metrics_file = require_file(metrics_uri, "metrics")
    history_file = require_file(history_uri, "training history")
    fingerprints_file = require_file(fingerprints_uri or str(CONTRACTS["train"].output_path(model_file.parent,
                                                                                             "fingerprints")),
                                     "training rows' fingerprints")
    mlflow_client = client(tracking_uri)  # before loading anything: an unreachable server fails in seconds
    test = load_bundle(test_uri)
    signature = model_signature(test.x.shape[1:], test.classes, test.encoding)
    model_name, derived = model_name_for(model_name, signature["image_shape"], signature["categories"])
    metrics, history = json.loads(metrics_file.read_text()), json.loads(history_file.read_text())
    predictions = CONTRACTS["evaluate"].output_path(metrics_file.parent, "predictions")
    challenger_correct = evaluated_classes(metrics, predictions, str(model_file), test_uri,
                                           test) == class_indices(test.y)
    evaluation = [CONTRACTS["evaluate"].output_path(metrics_file.parent, name) for name in EVALUATION_FILES]
    import mlflow

    scratch = tempfile.TemporaryDirectory()
    seen, fingerprints_file = with_parent_rows(load_fingerprints(fingerprints_file), fingerprints_file, parent,
                                               mlflow_client, tracking_uri, Path(scratch.name))
    experiment = experiment_id(mlflow_client, tracking_uri)
    run_name = "/".join(filter(None, (tags.get("airflow_dag_id"), tags.get("airflow_run_id")))) or None
    study = f"sqlite:///{require_file(tuning_uri, 'tuning study')}" if tuning_uri else ""
    chosen = best_settings(study) if study else {}
    params = {**params, **chosen.get("settings", {})}  # what made this model: the search's pick over the form's
    with mlflow.start_run(experiment_id=experiment, run_name=run_name) as run:
        mlflow.log_params({key: str(value)[:500] for key, value in params.items()})
        trials = log_trials(mlflow_client, experiment, run.info.run_id, study) if study else None
        mlflow_client.log_batch(run.info.run_id, metrics=_batch_metrics(history, metrics))
        mlflow.set_tags({**tags, "parent_model": parent or "", "registered_model_name": model_name,
                         "model_name_derived": str(derived).lower()})
        for path in evaluation:
            if path.is_file():
                mlflow.log_artifact(str(path), artifact_path="evaluation")
        mlflow.log_artifact(str(history_file), artifact_path="training")
        mlflow.log_artifact(str(fingerprints_file), artifact_path=FINGERPRINTS_DIR)
        mlflow.log_artifact(str(model_file), artifact_path="model")
    scratch.cleanup()
    if not mlflow_client.search_registered_models(filter_string=f"name = '{model_name}'"):
        mlflow_client.create_registered_model(model_name, description="Fashion-MNIST-layout image classifier")
    status = champion_status(mlflow_client, model_name)
    version = mlflow_client.create_model_version(
        model_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
        tags={"test_accuracy": f"{metrics['accuracy']:.6f}", "parent_model": parent or "",
              "dataset_sha256": tags.get("dataset_sha256", ""), SIGNATURE_TAG: json.dumps(signature),
              **({"tuned_settings": json.dumps(chosen["settings"], sort_keys=True)} if chosen else {})})
    champion = score_champion(status, mlflow_client, tracking_uri, model_name, test, challenger_correct, seen,
                              signature)
    table = champion.table or {}
    for key in ("rows", "champion_accuracy", "challenger_accuracy", "p_value"):
        if table.get(key) is not None:
            mlflow_client.log_metric(run.info.run_id, f"comparison_{key}", float(table[key]))
    result = {"run_id": run.info.run_id, "experiment": EXPERIMENT, "model_name": model_name,
              "model_name_derived": derived,
              "version": int(version.version), "model_uri": f"models:/{model_name}/{version.version}",
              "accuracy": float(metrics["accuracy"]), "parent": parent or None, "tracking_uri": tracking_uri,
              "signature": signature, "champion_version": champion.version,
              "champion_accuracy": table.get("champion_accuracy"),
              "champion": {"version": champion.version, "table": champion.table, "problem": champion.problem,
                           "other_input": champion.other_input}}
    card = build_model_card(model_name, int(version.version), run.info.run_id, params, tags, metrics, history, parent)
    if chosen:
        card["tuning"] = {**chosen, "trials": len(trials["trials"]),
                          "pruned": sum(row["state"] == "pruned" for row in trials["trials"])}
        result["tuning"] = card["tuning"]
    log_model_card(mlflow_client, card)
    if output is not None:
        write_json(CONTRACT.output_path(output, "model_card"), card)
        write_json(CONTRACT.output_path(output, "registration"), result)
    return result


def runtime_lineage() -> dict[str, str]:
    """Where this step ran from: the image (set in the pod's env) and the code's git commit."""
    commit = os.environ.get("GIT_COMMIT", "")
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                    cwd=Path(__file__).resolve().parents[2]).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return {"image": os.environ.get("PIPELINE_IMAGE", "local"), "git_commit": commit or "unknown"}


def _tag(value: object) -> str:
    """A lineage value as an MLflow tag: a reuse origin (split's ``reused_from``) by the run it names."""
    if isinstance(value, dict):
        return str(value.get("run", ""))
    return "" if value is None else str(value)


def register_step(model: str, history: str, metrics: str, test: str, parent: str, fingerprints: str, tuning: str,
                  output: Path, tracking_uri: str, model_name: str | None, run_params: str, lineage: str) -> dict:
    """The step as its contract declares it: the results it is given in, the gate's figures out."""
    tags = {key: _tag(value) for key, value in json_object("lineage", lineage).items()}
    return register(tracking_uri, model_name, model, history, metrics, test, json_object("run_params", run_params),
                    {**runtime_lineage(), **tags}, parent or None, output, fingerprints, tuning)


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, register_step)


if __name__ == "__main__":
    raise SystemExit(main())
