"""The serving manifest deploy writes (pinned, canary stages) and the canary's complete/rollback decision."""

from __future__ import annotations

import pytest
import yaml

from tasks.feedback.stats import wilson_interval
from tasks.model.canary import Live, decide
from tasks.model.manifest import app_name, keep_previous, write_manifests


@pytest.mark.parametrize("canary,stable,action", [
    ((0, 0), (95, 100), "wait"),  # nothing labelled on the canary yet
    ((50, 99), (95, 100), "wait"),  # one label short
    ((95, 100), (40, 99), "wait"),  # the stable has too few to compare with
    ((90, 100), (95, 100), "promote"),  # 0.90 is below 0.95 - 0.02, but inside the noise of 100 labels
    ((96, 100), (95, 100), "promote"),
    ((80, 100), (95, 100), "rollback"),  # even its interval's top (0.87) is below 0.93
    ((180, 200), (950, 1000), "promote"),  # 0.90 on 200: its top 0.934 is still above 0.93
    ((170, 200), (950, 1000), "rollback"),  # 0.85 on 200: top 0.891
])
def test_the_canary_is_rolled_back_only_when_its_live_accuracy_is_worse_beyond_its_interval(canary, stable, action):
    verdict = decide(Live(*canary), Live(*stable), max_drop=0.02, min_labelled=100)
    assert verdict.action == action and "\n" not in verdict.reason


def test_the_verdict_states_both_figures_and_what_is_missing():
    rolled = decide(Live(50, 100), Live(95, 100))
    low, high = wilson_interval(50, 100)
    assert rolled.reason.startswith(f"canary 0.5000 (95% CI {low:.3f}-{high:.3f}) on 100 labelled vs stable 0.9500")
    waiting = decide(Live(3, 10), Live(95, 100), min_labelled=100)
    assert waiting.reason == "too few labelled answers to judge: canary has 10, 100 needed each"


def test_each_verdict_names_the_manifest_to_apply(tmp_path):
    assert decide(Live(99, 100), Live(90, 100)).manifest(tmp_path) == tmp_path / "serving-complete.yaml"
    assert decide(Live(10, 100), Live(90, 100)).manifest(tmp_path) == tmp_path / "serving-rollback.yaml"
    assert decide(Live(1, 5), Live(90, 100)).manifest(tmp_path) is None


def test_counts_that_are_not_counts_and_drops_that_are_not_shares_are_refused():
    with pytest.raises(ValueError, match="not a count"):
        Live(11, 10)
    with pytest.raises(ValueError, match="share"):
        decide(Live(9, 10), Live(9, 10), max_drop=2)


def served_folder(root, model, *versions):
    for version in versions:
        (root / model / str(version)).mkdir(parents=True)
        (root / model / str(version) / "saved_model.pb").write_bytes(b"pb")
    return root


def objects(path):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(path.read_text())}


def test_without_a_canary_the_manifest_pins_all_traffic_to_the_deployed_version(tmp_path):
    serving = served_folder(tmp_path / "serving", "fashion_mnist", 3)
    output = tmp_path / "artifacts" / "fashion_mnist_training" / "run1" / "deploy"
    written = write_manifests(output, "fashion_mnist", 3, 2, serving, 0, "tf/serving@sha256:abc")

    found = objects(output / "serving.yaml")
    deployment = found[("Deployment", "fashion-mnist-serving-stable")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert set(written) == {"serving"} and deployment["metadata"]["labels"]["model-version"] == "3"
    assert container["image"] == "tf/serving@sha256:abc"
    assert container["volumeMounts"][0]["subPath"] == "fashion_mnist_training/run1/deploy/model-stable"
    assert (output / "model-stable" / "fashion_mnist" / "3" / "saved_model.pb").is_file()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    route = found[("HTTPRoute", "fashion-mnist-serving")]["spec"]["rules"][0]["backendRefs"]
    assert route == [{"name": "fashion-mnist-serving-stable", "port": 8501, "weight": 100}]


def test_a_canary_sends_its_share_to_the_new_version_and_the_rest_to_the_previous_champion(tmp_path):
    serving = served_folder(tmp_path / "serving", "fashion_mnist", 2, 3)
    output = tmp_path / "artifacts" / "dag" / "run2" / "deploy"
    assert keep_previous(output, serving, "fashion_mnist", 2, 3)
    written = write_manifests(output, "fashion_mnist", 3, 2, serving, 25, "tf/serving:2.21.0")

    stage = objects(output / "serving.yaml")
    weights = {r["name"]: r["weight"] for r in stage[("HTTPRoute", "fashion-mnist-serving")]["spec"]["rules"][0][
        "backendRefs"]}
    assert weights == {"fashion-mnist-serving-stable": 75, "fashion-mnist-serving-canary": 25}
    versions = {name: d["metadata"]["labels"]["model-version"] for (kind, name), d in stage.items()
                if kind == "Deployment"}
    assert versions == {"fashion-mnist-serving-stable": "2", "fashion-mnist-serving-canary": "3"}
    complete, back = objects(output / "serving-complete.yaml"), objects(output / "serving-rollback.yaml")
    assert complete[("Deployment", "fashion-mnist-serving-stable")]["metadata"]["labels"]["model-version"] == "3"
    assert back[("Deployment", "fashion-mnist-serving-stable")]["metadata"]["labels"]["model-version"] == "2"
    assert set(written) == {"serving", "serving_complete", "serving_rollback"}


def test_there_is_no_canary_without_a_previous_champion_to_share_with(tmp_path):
    serving = served_folder(tmp_path / "serving", "m", 1)
    assert not keep_previous(tmp_path / "out", serving, "m", None, 1)
    assert not keep_previous(tmp_path / "out", serving, "m", 1, 1)


def test_object_names_are_dns_labels_whatever_the_model_name():
    assert app_name("Fashion_MNIST.v2") == "fashion-mnist-v2-serving"
