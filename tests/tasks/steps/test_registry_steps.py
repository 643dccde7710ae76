"""Registry behaviour: register, champion/challenger deploy, rollback, fine-tuning the champion, predict."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.steps import call_step
from tests.tasks.helpers import balanced_rows, result_of, write_csv
from tests.tasks.registry import MODEL, client, promote, register, served


def test_fine_tuning_without_a_champion_fails_and_says_how_to_proceed(store, tmp_path):
    empty_registry = f"sqlite:///{tmp_path / 'empty.db'}"  # the shared store may hold a champion by now
    done = call_step("load_pretrained", "--tracking-uri", empty_registry, "--model-name", MODEL, "--output",
                    str(tmp_path / "l"), "--image-height", "4", "--image-width", "4")
    assert done.returncode == 2
    assert "has no champion" in done.stderr and "use_pretrained_model=false" in done.stderr


def test_register_deploy_rollback_and_fine_tune_the_champion(store, tmp_path):
    # Given a first registered version, the run, its metrics, lineage and the model are tracked.
    first = register(store)
    assert first["version"] == 1 and first["champion_version"] is None
    run = client(store).get_run(first["run_id"])
    assert run.data.params["units"] == "32" and run.data.tags["dataset_sha256"] == "abc"
    assert run.data.metrics["test_accuracy"] == pytest.approx(first["accuracy"])
    assert len(client(store).get_metric_history(first["run_id"], "loss")) >= 2
    assert run.data.tags["git_commit"] and run.data.tags["image"] == "local"

    # When it is deployed, it is champion and the only served version.
    assert promote(store, "deploy", "--version", "1", "--by", "test").returncode == 0
    assert str(client(store).get_model_version_by_alias(MODEL, "champion").version) == "1"
    assert served(store) == ["1"]

    # A second version is scored against the champion on the same test split, then deployed.
    second = register(store)
    assert (second["version"], second["champion_version"]) == (2, 1)
    assert second["champion_accuracy"] == pytest.approx(first["accuracy"])
    assert promote(store, "deploy", "--version", "2", "--reason", "better").returncode == 0
    assert served(store) == ["2"]
    tags = client(store).get_model_version(MODEL, "2").tags
    assert tags["previous_champion"] == "1" and tags["promotion_reason"] == "better"

    # Rolling back to a version that does not exist fails clearly and changes nothing.
    missing = promote(store, "rollback", "--target-version", "9", "--reason", "typo")
    assert missing.returncode == 2 and "has no version 9" in missing.stderr
    assert str(client(store).get_model_version_by_alias(MODEL, "champion").version) == "2" and served(store) == ["2"]

    # Rolling back with no target restores the previous champion, and the serving folder follows.
    back = promote(store, "rollback", "--reason", "regression in production")
    assert back.returncode == 0, back.stderr
    assert result_of(back)["previous_version"] == 2
    assert str(client(store).get_model_version_by_alias(MODEL, "champion").version) == "1" and served(store) == ["1"]
    history = json.loads(client(store).get_registered_model(MODEL).tags["promotion_history"])
    assert [(h["action"], h["version"]) for h in history] == [("deploy", 1), ("deploy", 2), ("rollback", 1)]

    # Fine-tuning defaults to the champion and names its exact version as the parent.
    tuned = call_step("load_pretrained", "--tracking-uri", store["uri"], "--model-name", MODEL, "--output",
                      str(tmp_path / "l"), "--image-height", "4", "--image-width", "4")
    assert tuned.returncode == 0, tuned.stderr
    assert result_of(tuned)["parent"] == f"models:/{MODEL}/1"

    # The serving check: the champion predicts rows of a CSV.
    rows = write_csv(tmp_path / "rows.csv", balanced_rows(1, pixels=16), height=4, width=4)
    predicted = call_step("predict", "--model-uri", f"models:/{MODEL}@champion", "--tracking-uri", store["uri"],
                         "--input", str(rows), "--image-height", "4", "--image-width", "4")
    assert predicted.returncode == 0, predicted.stderr
    assert result_of(predicted)["rows"] == 10
    assert {p["predicted"] for p in result_of(predicted)["predictions"]} <= {r[0] for r in balanced_rows(1)}


def test_an_empty_model_name_registers_under_the_name_the_input_derives_and_says_so(store, tmp_path):
    # Given 4x4 images with the Fashion-MNIST categories, when register runs with model_name left empty
    derived = register(store, "--model-name=")

    # Then it registers them as their own model, and the result and the MLflow run say which
    assert derived["model_name"] == "fashion_mnist_4x4" and derived["model_name_derived"] is True
    assert derived["model_uri"] == f"models:/fashion_mnist_4x4/{derived['version']}"
    tags = client(store).get_run(derived["run_id"]).data.tags
    assert tags["registered_model_name"] == "fashion_mnist_4x4" and tags["model_name_derived"] == "true"
    given = register(store, "--model-name=fashion_mnist")  # a given name is used as given, whatever the input
    assert (given["model_name"], given["model_name_derived"]) == ("fashion_mnist", False)
    assert client(store).get_run(given["run_id"]).data.tags["registered_model_name"] == "fashion_mnist"

    # and deploy, which cannot derive a name, asks for it with one line instead of guessing
    version = str(derived["version"])
    unnamed = promote(store, "deploy", "--version", version, "--model-name=")
    assert unnamed.returncode == 2 and "model_name is empty: name the registered model to deploy" in unnamed.stderr
    assert not (store["serving"] / "fashion_mnist_4x4").exists()

    # Once deployed under its name, fine-tuning with model_name empty starts from that model's champion
    assert promote(store, "deploy", "--version", version, "--model-name=fashion_mnist_4x4").returncode == 0
    tuned = call_step("load_pretrained", "--tracking-uri", store["uri"], "--model-name=", "--output",
                      str(tmp_path / "l"), "--image-height", "4", "--image-width", "4")
    assert tuned.returncode == 0, tuned.stderr
    assert result_of(tuned)["parent"] == f"models:/fashion_mnist_4x4/{version}"


def test_opening_the_registry_in_process_leaves_the_environment_for_later_steps(tmp_path):
    """MLflow exports the URI it is given as MLFLOW_TRACKING_URI; a step started afterwards must not inherit it."""
    import mlflow

    from tasks.model import registry

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ["MLFLOW_REGISTRY_URI"] = "sqlite:////somewhere/else.db"
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    try:
        opened = registry.client(uri)
        assert "MLFLOW_TRACKING_URI" not in os.environ
        assert os.environ["MLFLOW_REGISTRY_URI"] == "sqlite:////somewhere/else.db"
        assert mlflow.get_tracking_uri() == uri == opened._registry_uri  # the fluent API still writes here
    finally:  # the globals back; the environment they export again is put back by tests/conftest.py's guard
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
