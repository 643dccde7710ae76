"""A model card for each registered version: data, metrics, per-class results, training settings, use and limits.

``register`` builds it from what the run already knows (its Params, lineage tags,
metrics and history), stores it with the version's MLflow run (``model_card/``
``model_card.json`` and ``model_card.md``) and beside its registration for the run report.
"""

from __future__ import annotations

from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.parameters import MODEL, TRAINING

CARD_DIR = "model_card"
MODEL_STEPS = ("split", "choose_model", "build_model", "load_pretrained", "train")
# The form settings of the steps that make the model, from their contracts: the split's shares and seed, and
# every Model or Training setting (the image shape and categories are the card's data section).
TRAINING_SETTINGS = tuple(dict.fromkeys(
    s.name for step in MODEL_STEPS for s in CONTRACTS[step].settings
    if s.form and s.step_body and (step == "split" or s.section in (MODEL, TRAINING))))
DATA_TAGS = ("dataset_uri", "dataset_sha256", "dataset_version", "dataset_trigger", "data_reused_from")


def _limits(metrics: dict[str, Any], shape: str, classes: list[str]) -> list[str]:
    per_class = metrics.get("per_class", {})
    weakest = sorted(per_class, key=lambda name: per_class[name].get("recall", 0))[:3]
    limits = [f"Scored on {metrics.get('test_rows', '?')} held-out images of the same dataset only: accuracy on "
              "other sources (photos, other scanners, other preprocessing) is unknown.",
              f"Takes {shape} grayscale images scaled to [0, 1]; other sizes are refused, not resized.",
              f"Always answers one of the {len(classes)} categories: there is no 'none of these' answer.",
              "The pipeline injects faults (invalid labels, empty cells) into the embedded datasets and drops those "
              "rows; real labelling errors it cannot see remain in the training data."]
    if weakest:
        limits.append("Weakest classes by recall: " + ", ".join(
            f"{name} ({per_class[name].get('recall', 0):.2f})" for name in weakest) + ".")
    return limits


def build_model_card(model_name: str, version: int, run_id: str, params: dict[str, Any], tags: dict[str, str],
                     metrics: dict[str, Any], history: dict[str, Any], parent: str | None) -> dict[str, Any]:
    """The card as a JSON-ready dict (every value a plain string, number, list or dict)."""
    classes = list(metrics.get("classes") or metrics.get("per_class", {}))
    shape = f"{params.get('image_height', '?')}x{params.get('image_width', '?')}"
    per_class = metrics.get("per_class", {})
    return {
        "model": {"name": model_name, "version": int(version), "mlflow_run_id": run_id, "parent_model": parent or "",
                  "airflow_dag_id": tags.get("airflow_dag_id", ""), "airflow_run_id": tags.get("airflow_run_id", ""),
                  "git_commit": tags.get("git_commit", ""), "image": tags.get("image", "")},
        "intended_use": (f"Sort {shape} grayscale images of clothing-like items into the {len(classes)} categories "
                         "below, in the Fashion-MNIST layout; a demonstration of an audited training and delivery "
                         "pipeline, not a product decision system."),
        "limits": _limits(metrics, shape, classes),
        "data": {**{key: tags.get(key, "") for key in DATA_TAGS}, "image_shape": shape, "categories": classes},
        "metrics": {key: metrics.get(key) for key in ("accuracy", "loss", "macro_f1", "test_rows")},
        "per_class": [{"class": name, **per_class.get(name, {})} for name in classes],
        "training": {**{key: params[key] for key in TRAINING_SETTINGS if key in params},
                     "epochs_run": len(history.get("loss", []))},
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown, for people browsing the MLflow artifacts."""
    model, data, figures = card["model"], card["data"], card["metrics"]
    lines = [f"# Model card: {model['name']} v{model['version']}", "", "## Intended use", card["intended_use"], "",
             "## Limits", *(f"- {item}" for item in card["limits"]), "", "## Data",
             *(f"- {key}: {value}" for key, value in data.items()), "", "## Metrics",
             *(f"- {key}: {value}" for key, value in figures.items()), "",
             "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    lines += [f"| {row['class']} | {row.get('precision', 0):.3f} | {row.get('recall', 0):.3f} | {row.get('f1', 0):.3f} "
              f"| {row.get('support', '')} |" for row in card["per_class"]]
    lines += ["", "## Training settings", *(f"- {key}: {value}" for key, value in card["training"].items()), ""]
    if card.get("tuning"):
        tuning = card["tuning"]
        lines += ["## Tuning", f"- chosen by trial {tuning['trial']} of {tuning['trials']} "
                  f"({tuning['pruned']} pruned): {tuning['metric']} {tuning['value']:.4f}",
                  *(f"- {key}: {value}" for key, value in tuning["settings"].items()), ""]
    lines += ["## Provenance", *(f"- {key}: {value}" for key, value in model.items()), ""]
    return "\n".join(lines)


def log_model_card(mlflow_client: Any, card: dict[str, Any]) -> None:
    """Store the card with the version's run in MLflow (JSON for programs, Markdown for people)."""
    run_id = card["model"]["mlflow_run_id"]
    mlflow_client.log_dict(run_id, card, f"{CARD_DIR}/model_card.json")
    mlflow_client.log_text(run_id, card_markdown(card), f"{CARD_DIR}/model_card.md")
