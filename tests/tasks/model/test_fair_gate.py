"""The deployment gate on real Fashion-MNIST images: leakage-free, paired, fail-closed.

Scenario (the issue's): model A trains on part of the 999 real images and is deployed;
run B retrains on an overlapping version of the data, so half of B's test split are
images A trained on. The champion must be scored only on the rows neither model saw.
Then a digits (8x8) model arrives after the 28x28 champion: blocked, serving untouched.
The steps' functions run in-process (one TensorFlow import) against a SQLite registry.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.data.arrays import Bundle, save_bundle
from tasks.data.sources import FASHION_SAMPLE_FILE

pytestmark = pytest.mark.slow
MODEL = "fair_gate"
RULE = {"accuracy_threshold": 0.0, "min_improvement": 0.0, "min_comparison_rows": 100, "significance": 0.05,
        "replace_incompatible_champion": False}
# Row ranges of the real sample (0..998). A: train 0-499, val 500-599, test 600-799.
# B (an overlapping version): train 100-399 + 600-799, val 0-99, test 400-599 (A trained on them) + 800-998.
A_ROWS = {"train": range(0, 500), "val": range(500, 600), "test": range(600, 800)}
B_ROWS = {"train": [*range(100, 400), *range(600, 800)], "val": range(0, 100),
          "test": [*range(400, 600), *range(800, 999)]}


def sample() -> tuple[np.ndarray, np.ndarray]:
    """The shipped real sample as (uint8 pixels (999, 28, 28), integer labels)."""
    with gzip.open(FASHION_SAMPLE_FILE, "rt") as handle:
        values = np.loadtxt(handle, delimiter=",", skiprows=1, dtype=np.int64)
    return values[:, 1:].astype(np.uint8).reshape(-1, 28, 28), values[:, 0]


def bundles(folder: Path, x: np.ndarray, y: np.ndarray, rows: dict) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, index in rows.items():
        index = np.asarray(list(index))
        path = folder / f"{name}.npz"
        save_bundle(path, Bundle((x[index] / np.float32(255)).astype(np.float32), y[index],
                                 tuple(FASHION_MNIST_CATEGORIES), "integer"))
        paths[name] = str(path)
    return paths


def train_and_register(root: Path, name: str, data: dict[str, str], uri: str, side: int, epochs: int = 15,
                       model_name: str = MODEL) -> dict:
    """build_model → train → evaluate → register, as the DAG chains them."""
    from tasks.steps.build_model import build_model
    from tasks.steps.evaluate import evaluate
    from tasks.steps.register import register
    from tasks.steps.train import train

    built = build_model(root / name / "build", "mlp", side, side, 10, 64, "relu", "softmax", "adam",
                        "sparse_categorical_crossentropy", 0.002, 42)
    trained = train(built["model"], data["train"], data["val"], root / name / "train", epochs, 32, 0.002, 5, 42)
    evaluated = evaluate(trained["model"], data["test"], root / name / "evaluate")
    return register(uri, model_name, trained["model"], trained["history"], evaluated["metrics"], data["test"],
                    {"epochs": epochs}, {"airflow_run_id": name}, None, root / name / "register")


def served(serving: Path, model_name: str = MODEL) -> dict[str, str]:
    """Each served version folder with its deployment metadata's sha256: changes if anything is touched."""
    folder = serving / model_name
    if not folder.is_dir():
        return {}
    return {p.name: json.loads((p / "deployment.json").read_text())["sha256"] for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def retraining(tmp_path_factory):
    """A deployed champion A, then B registered on an overlapping version of the real images."""
    from tasks.steps.deploy import deploy

    root = tmp_path_factory.mktemp("fair_gate")
    uri, serving = f"sqlite:///{root / 'mlflow.db'}", root / "serving"
    x, y = sample()
    a = train_and_register(root, "a", bundles(root / "data_a", x, y, A_ROWS), uri, 28)
    deploy(uri, MODEL, a["version"], str(serving), "first champion", "test", root / "deploy")
    b = train_and_register(root, "b", bundles(root / "data_b", x, y, B_ROWS), uri, 28)
    return {"root": root, "uri": uri, "serving": serving, "x": x, "y": y, "a": a, "b": b}


def test_the_champion_is_scored_only_on_rows_neither_model_trained_on(retraining):
    # Given B's test split: 200 rows A trained on, 199 rows neither model saw
    x, b = retraining["x"], retraining["b"]
    seen = {x[i].tobytes() for i in [*A_ROWS["train"], *A_ROWS["val"], *B_ROWS["train"], *B_ROWS["val"]]}
    unseen = [i for i in B_ROWS["test"] if x[i].tobytes() not in seen]
    table = b["champion"]["table"]

    # Then the comparison counts exactly those rows, of B's 399 test rows
    assert b["champion"]["version"] == retraining["a"]["version"] and b["champion"]["problem"] is None
    assert table["test_rows"] == 399 and table["rows"] == len(unseen) and 150 < len(unseen) <= 199

    # and the champion's figure is its accuracy on them, recomputed here from the images themselves
    import keras

    model = keras.models.load_model(Path(retraining["root"]) / "a" / "train" / "model.keras")
    predicted = model.predict(x[unseen] / np.float32(255), verbose=0).argmax(axis=1)
    assert table["champion_accuracy"] == pytest.approx(float((predicted == retraining["y"][unseen]).mean()))

    # and it differs from the leaky figure on the whole split, which A had half trained on (and inflates)
    print(f"\nrows compared {table['rows']} of {table['test_rows']}; champion leaky "
          f"{table['champion_accuracy_all_test_rows']:.4f} vs unseen {table['champion_accuracy']:.4f}; "
          f"challenger {table['challenger_accuracy']:.4f}; p={table['p_value']:.4g}")
    assert table["champion_accuracy_all_test_rows"] > table["champion_accuracy"] + 0.02


def test_the_gate_decides_on_the_paired_unseen_rows_and_says_why(retraining):
    from mlops_pipeline.decisions import gate_for

    # When the gate applies its rule to B's registration
    deploy, reason, table = gate_for(RULE, retraining["b"])

    # Then the reason names the rows, both accuracies and the p-value, and the decision follows the rule
    rows, p = table["rows"], table["p_value"]
    assert f"on {rows} unseen rows" in reason and "McNemar p=" in reason
    better = table["difference"] > 0 and p < RULE["significance"]
    assert deploy == better and table["decision"] == ("deploy" if better else "keep")

    # and with fewer unseen rows than required, nothing is promoted, saying why
    deploy, reason, _ = gate_for({**RULE, "min_comparison_rows": rows + 1}, retraining["b"])
    assert not deploy and f"only {rows} test rows unseen" in reason


def test_every_version_records_its_input_signature_and_training_fingerprints(retraining):
    from mlflow import MlflowClient

    from tasks.model.champion import run_fingerprints, version_signature

    client = MlflowClient(retraining["uri"], retraining["uri"])
    a = retraining["a"]
    signature = version_signature(client.get_model_version(MODEL, str(a["version"])).tags)
    assert signature == {"image_shape": [28, 28], "categories": list(FASHION_MNIST_CATEGORIES),
                         "label_encoding": "integer"}
    assert len(run_fingerprints(a["run_id"], retraining["uri"])) == 600  # A's train + validation rows


def register_again(root: Path, run: str, data: str, uri: str, model_name: str) -> dict:
    """Register a trained run's files as a new version of ``model_name`` (no retraining)."""
    from tasks.steps.register import register

    files = root / run
    return register(uri, model_name, str(files / "train" / "model.keras"), str(files / "train" / "history.json"),
                    str(files / "evaluate" / "metrics.json"), str(root / data / "test.npz"), {}, {}, None)


@pytest.fixture(scope="module")
def digits_model(retraining):
    """A model trained on real 8x8 digits (the embedded demo data's images)."""
    from sklearn.datasets import load_digits

    root = retraining["root"]
    digits = load_digits()
    x, y = (digits.images / 16.0 * 255).round().astype(np.uint8), digits.target
    rows = {"train": range(0, 1200), "val": range(1200, 1400), "test": range(1400, 1797)}
    return train_and_register(root, "digits", bundles(root / "data_digits", x, y, rows), retraining["uri"], 8,
                              epochs=5, model_name="fair_gate_digits")


def digits_after_fashion(retraining, name: str) -> dict:
    """A deployed 28x28 champion under ``name``, then the digits run registered against it."""
    from tasks.steps.deploy import deploy

    root, uri, serving = retraining["root"], retraining["uri"], retraining["serving"]
    champion = register_again(root, "a", "data_a", uri, name)
    deploy(uri, name, champion["version"], str(serving), "28x28 champion", "test", root / f"deploy-{name}")
    before = served(serving, name)
    challenger = register_again(root, "digits", "data_digits", uri, name)
    return {**retraining, "name": name, "champion": champion, "challenger": challenger, "before": before}


def test_a_digits_run_after_a_fashion_champion_is_blocked_and_serving_is_untouched(retraining, digits_model):
    from mlops_pipeline.decisions import gate_for
    from tests.support.steps import call_step

    run = digits_after_fashion(retraining, "fair_gate_blocked")
    name, serving = run["name"], run["serving"]
    problem = run["challenger"]["champion"]["problem"]
    assert "image shape 8x8 here vs its 28x28" in problem

    # The gate refuses with one line that says what to do: another model name, or force it
    deploy, reason, table = gate_for(RULE, run["challenger"])
    assert not deploy and "\n" not in reason
    assert reason.endswith("not deploying; set model_name to register a separate model, or "
                           "replace_incompatible_champion=true to replace it"), reason
    assert table["champion_problem"] == problem

    # and deploy itself refuses the version (exit 2, one line), touching nothing
    version = str(run["challenger"]["version"])
    refused = call_step("deploy", "--tracking-uri", run["uri"], "--model-name", name, "--version", version,
                       "--serving-root", str(serving), "--reason", "scheduled", "--by", "test", "--output",
                       str(serving.parent / "deploy"))
    assert refused.returncode == 2 and "takes other input" in refused.stderr
    assert refused.stderr.strip().endswith("image shape 8x8 vs served 28x28; set model_name to register a separate "
                                           "model, or replace_incompatible_champion=true to replace it")
    assert served(serving, name) == run["before"]
    from mlflow import MlflowClient

    client = MlflowClient(run["uri"], run["uri"])
    assert str(client.get_model_version_by_alias(name, "champion").version) == str(run["champion"]["version"])


def test_replacing_an_incompatible_champion_must_be_asked_for_and_is_recorded(retraining, digits_model):
    from mlflow import MlflowClient

    from mlops_pipeline.decisions import gate_for
    from tasks.steps.deploy import deploy as deploy_step

    run = digits_after_fashion(retraining, "fair_gate_forced")
    name = run["name"]
    deploy, reason, table = gate_for({**RULE, "replace_incompatible_champion": True}, run["challenger"])
    assert deploy and table["forced"] and "(forced)" in reason

    deploy_step(run["uri"], name, run["challenger"]["version"], str(run["serving"]), reason, "test",
                replace_incompatible_champion=True)

    client = MlflowClient(run["uri"], run["uri"])
    history = json.loads(client.get_registered_model(name).tags["promotion_history"])
    assert history[-1]["replace_incompatible_champion"] is True and "takes other input" in history[-1]["forced_over"]
    assert list(served(run["serving"], name)) == [str(run["challenger"]["version"])]


def test_a_champion_without_its_training_fingerprints_blocks_promotion(retraining):
    from mlflow import MlflowClient

    from mlops_pipeline.decisions import gate_for
    from tasks.steps.deploy import deploy

    # Given a deployed champion whose fingerprints artifact has gone missing
    root, uri, name = retraining["root"], retraining["uri"], "fair_gate_no_fingerprints"
    champion = register_again(root, "a", "data_a", uri, name)
    deploy(uri, name, champion["version"], str(retraining["serving"]), "first", "test")
    artifacts = MlflowClient(uri, uri).get_run(champion["run_id"]).info.artifact_uri.removeprefix("file://")
    (Path(artifacts) / "training" / "fingerprints.npy").unlink()

    # When a challenger is registered against it
    challenger = register_again(root, "b", "data_b", uri, name)

    # Then the champion cannot be compared, and the gate says so in one line and keeps it
    assert "no row fingerprints artifact" in challenger["champion"]["problem"]
    decided, reason, _ = gate_for(RULE, challenger)
    assert not decided and "no row fingerprints artifact" in reason and "\n" not in reason


class UnreachableRegistry:
    """An MLflow client whose server does not answer."""

    def get_model_version_by_alias(self, name, alias):
        raise ConnectionError("Max retries exceeded with url: /api/2.0/mlflow/registered-models/alias")


def test_a_registry_error_is_not_read_as_no_champion_by_the_gate_or_by_deploy(tmp_path, monkeypatch):
    from mlops_pipeline.decisions import gate_for
    from tasks.core.common import StepError
    from tasks.model.champion import champion_status, score_champion
    from tasks.steps import deploy as deploy_step

    # Given a registry that errors when asked for the champion
    status = champion_status(UnreachableRegistry(), MODEL)
    state = score_champion(status, UnreachableRegistry(), "http://mlflow:5000", MODEL, None, None, None, {})

    # Then register's view is "not comparable", and the gate blocks instead of deploying as on a first run
    assert state.problem.startswith("registry error: ConnectionError")
    registration = {"accuracy": 0.99, "champion": {"version": None, "table": None, "problem": state.problem}}
    decided, reason, _ = gate_for(RULE, registration)
    assert not decided and "registry error" in reason

    # and deploy refuses before touching the serving folder
    monkeypatch.setattr(deploy_step, "client", lambda uri: UnreachableRegistry())
    with pytest.raises(StepError, match="cannot tell what is served"):
        deploy_step.deploy("http://mlflow:5000", MODEL, 2, str(tmp_path / "serving"), "gate", "test")
    assert not (tmp_path / "serving").exists()


def test_a_fine_tuned_version_records_its_parents_rows_as_seen_too(retraining):
    from tasks.model.champion import run_fingerprints
    from tasks.steps.register import register

    # Given B registered as fine-tuned from A (the parent's weights saw A's rows)
    root, uri, x = retraining["root"], retraining["uri"], retraining["x"]
    files = root / "b"
    tuned = register(uri, "fair_gate_tuned", str(files / "train" / "model.keras"),
                     str(files / "train" / "history.json"), str(files / "evaluate" / "metrics.json"),
                     str(root / "data_b" / "test.npz"), {}, {}, f"models:/{MODEL}/{retraining['a']['version']}")

    # Then its recorded rows are A's and B's training rows together
    rows = [*A_ROWS["train"], *A_ROWS["val"], *B_ROWS["train"], *B_ROWS["val"]]
    assert len(run_fingerprints(tuned["run_id"], uri)) == len({x[i].tobytes() for i in rows})
