"""The model card: built from the run's facts, stored with the version in MLflow, and beside the registration."""

from __future__ import annotations

import json

from tasks.model.model_card import build_model_card, card_markdown, log_model_card
from tests.tasks.registry import MODEL, client, register

XSS = "<img src=x onerror=alert(1)>"
METRICS = {"accuracy": 0.81, "loss": 0.5, "macro_f1": 0.8, "test_rows": 176, "classes": [XSS, "Bag"],
           "per_class": {"Bag": {"precision": 0.9, "recall": 0.95, "f1": 0.92, "support": 20},
                         XSS: {"precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 18}}}
PARAMS = {"image_height": 28, "image_width": 28, "epochs": 100, "units": 128, "model_type": "mlp", "fault_seed": 1}
TAGS = {"dataset_uri": "embedded://fashion-mnist-sample", "dataset_sha256": "ab12", "airflow_run_id": "manual__1"}


def _card():
    return build_model_card("fashion_mnist", 3, "r3", PARAMS, TAGS, METRICS, {"loss": [1, 0.8, 0.6]}, None)


def test_the_card_holds_data_metrics_per_class_settings_use_and_limits():
    card = _card()
    assert card["model"]["version"] == 3 and card["data"]["dataset_sha256"] == "ab12"
    assert card["data"]["image_shape"] == "28x28" and card["data"]["categories"] == [XSS, "Bag"]
    assert [row["class"] for row in card["per_class"]] == [XSS, "Bag"]  # label order, not file order
    assert card["training"] == {"model_type": "mlp", "units": 128, "epochs": 100, "epochs_run": 3}
    assert "28x28" in card["intended_use"] and any("176 held-out images" in item for item in card["limits"])
    assert any(f"Weakest classes by recall: {XSS} (0.40), Bag (0.95)" in item for item in card["limits"])
    assert "| Bag | 0.900 | 0.950 | 0.920 | 20 |" in card_markdown(card)


def test_the_card_records_every_setting_that_shaped_the_model_and_no_other():
    # given a run's params: every form setting, as the training DAG records them
    from tasks.contracts import CONTRACTS

    params = {s.name: s.default for c in CONTRACTS.values() for s in c.settings if s.form}
    # when its card is built
    training = build_model_card("m", 1, "r1", params, TAGS, METRICS, {}, None)["training"]
    # then it holds the split, model and training settings (the GPU count too), not data faults or deployment
    assert set(training) == {"test_size", "validation_size", "random_state", "use_pretrained_model", "model_type",
                             "units", "hidden_activation", "optimizer", "loss", "learning_rate", "output_activation",
                             "base_model_uri", "epochs", "batch_size", "early_stopping_patience", "gpu_count",
                             "epochs_run"}


def test_log_model_card_stores_json_and_markdown_with_the_versions_run():
    logged = {}

    class Client:
        def log_dict(self, run_id, value, path):
            logged[path] = (run_id, value)

        def log_text(self, run_id, text, path):
            logged[path] = (run_id, text)

    log_model_card(Client(), _card())
    assert logged["model_card/model_card.json"][0] == "r3" and logged["model_card/model_card.md"][1].startswith(
        "# Model card: fashion_mnist v3")


def test_register_stores_the_card_in_mlflow_and_beside_the_registration(store):  # noqa: F811
    registered = register(store)
    beside = json.loads((store["root"] / "register" / "model_card.json").read_text())
    assert beside["model"] == {**beside["model"], "name": MODEL, "version": registered["version"]}
    stored = client(store).download_artifacts(registered["run_id"], "model_card/model_card.json", str(store["root"]))
    assert json.loads(open(stored).read()) == beside
    assert beside["training"]["units"] == 32 and beside["data"]["dataset_sha256"] == "abc"


def test_a_tuned_versions_card_says_which_trial_chose_its_settings():
    from tasks.model.model_card import card_markdown

    card = {"model": {"name": "m", "version": 2}, "intended_use": "u", "limits": [], "data": {}, "metrics": {},
            "per_class": [], "training": {"units": 97},
            "tuning": {"trial": 4, "trials": 6, "pruned": 2, "metric": "val_accuracy", "value": 0.9876,
                       "settings": {"units": 97, "model_type": "cnn"}}}

    text = card_markdown(card)

    assert "## Tuning" in text and "- chosen by trial 4 of 6 (2 pruned): val_accuracy 0.9876" in text
    assert "- model_type: cnn" in text
    assert "## Tuning" not in card_markdown({**card, "tuning": None})
