"""The canary step: a roll-out deploy left in progress is completed, rolled back or left, from live feedback.

Given a model with v1 deployed and v2 deployed after it as a 25% canary, and the feedback store holding
users' labels on both versions' answers, when the canary step runs, then: the canary worse beyond its
interval is rolled back (v1 champion and served again, v2 tagged rejected with the reason, the rollback
manifest written for the cluster); a canary as good as the stable is completed (the complete manifest,
a ``canary_complete`` history entry); with too few labels nothing changes; an unreadable record or a deploy
folder without its manifests is one line (exit 2) with nothing touched. Each test uses its own model name.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tasks.feedback.store import FeedbackStore
from tasks.model.canary import CANARY_TAG, REJECTED_TAG, recorded
from tests.support.steps import call_step, run_step
from tests.tasks.helpers import result_of


def mlflow_client(store):
    from mlflow import MlflowClient

    return MlflowClient(store["uri"], store["uri"])


@pytest.fixture()
def roll_out(store, tmp_path, request):
    """v1 deployed, then v2 deployed as a 25% canary beside it, under a model name of this test's own."""
    name = "canary_" + re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[-60:]
    for _ in (1, 2):
        done = call_step("register", "--tracking-uri", store["uri"], "--model-name", name, "--model", store["model"],
                         "--history", store["history"], "--metrics", store["metrics"], "--test", store["test"],
                         "--output", str(tmp_path / "register"))
        assert done.returncode == 0, done.stderr
    for version, extra in (("1", []), ("2", ["--canary-percent", "25"])):
        done = call_step("deploy", "--tracking-uri", store["uri"], "--model-name", name, "--version", version,
                         "--serving-root", str(store["serving"]), "--reason", "test", "--output",
                         str(tmp_path / f"deploy{version}"), *extra)
        assert done.returncode == 0, done.stderr
    return {**store, "name": name, "deploy": tmp_path / "deploy2", "db": f"sqlite:///{tmp_path / 'feedback.db'}",
            "out": tmp_path / "canary"}


def label(world, version: int, correct: int, labelled: int) -> None:
    """``labelled`` answers of ``version``, ``correct`` of them confirmed and the rest corrected."""
    db = FeedbackStore(world["db"])
    for i in range(labelled):
        pid = db.record_prediction(user="ann", model_name=world["name"], model_version=str(version),
                                   probabilities=np.eye(10)[i % 10], pixels=np.zeros((4, 4)), source="png")
        db.record_feedback(prediction_id=pid, label=i % 10 if i < correct else (i + 1) % 10, user="ann")


def canary_args(world) -> list[str]:
    return ["canary", "--tracking-uri", world["uri"], "--serving-root", str(world["serving"]), "--output",
            str(world["out"]), "--feedback-db", world["db"], "--model-name", world["name"], "--min-labelled", "100",
            "--by", "test"]


def state(world) -> dict:
    """What the step may change: the champion, what is served, the history, the canary record, the tags."""
    client = mlflow_client(world)
    model = client.get_registered_model(world["name"])
    served = world["serving"] / world["name"]
    return {"champion": str(client.get_model_version_by_alias(world["name"], "champion").version),
            "served": sorted(p.name for p in served.iterdir()), "tags": dict(model.tags),
            "v2_tags": dict(client.get_model_version(world["name"], "2").tags)}


def test_deploy_records_the_canary_it_starts(roll_out):
    found = recorded(mlflow_client(roll_out), roll_out["name"])

    assert {k: found[k] for k in ("version", "stable", "percent", "folder")} == {
        "version": 2, "stable": 1, "percent": 25, "folder": str(roll_out["deploy"])}


@pytest.mark.integration  # the step's own command line, in its own process, as the monitoring DAG starts it
def test_a_canary_worse_beyond_its_interval_is_rolled_back_to_the_stable_version(roll_out):
    label(roll_out, 1, correct=95, labelled=100)
    label(roll_out, 2, correct=60, labelled=100)

    done = run_step(*canary_args(roll_out))  # the command line the monitoring DAG runs

    assert done.returncode == 0, done.stderr
    decision = result_of(done)["decisions"][roll_out["name"]]
    assert decision.startswith("rollback: canary 0.6000 (95% CI") and "stable 0.9500" in decision
    after = state(roll_out)
    assert after["champion"] == "1" and after["served"] == ["1"] and CANARY_TAG not in after["tags"]
    assert after["v2_tags"][REJECTED_TAG].startswith("canary v2: canary 0.6000")
    history = json.loads(after["tags"]["promotion_history"])
    assert (history[-1]["action"], history[-1]["version"], history[-1]["by"]) == ("canary_rollback", 1, "test")
    written = roll_out["out"] / roll_out["name"] / "serving.yaml"
    assert written.read_bytes() == (roll_out["deploy"] / "serving-rollback.yaml").read_bytes()

    again = run_step(*canary_args(roll_out))
    assert again.returncode == 0 and result_of(again)["why"] == f"no canary in progress for {roll_out['name']}"
    assert state(roll_out) == after


def test_a_canary_as_good_as_the_stable_version_is_completed(roll_out):
    label(roll_out, 1, correct=90, labelled=100)
    label(roll_out, 2, correct=88, labelled=100)

    decision = result_of(call_step(*canary_args(roll_out)))["decisions"][roll_out["name"]]

    assert decision.startswith("promote: canary 0.8800")
    after = state(roll_out)
    assert after["champion"] == "2" and after["served"] == ["2"] and CANARY_TAG not in after["tags"]
    assert REJECTED_TAG not in after["v2_tags"]
    history = json.loads(after["tags"]["promotion_history"])
    assert (history[-1]["action"], history[-1]["version"], history[-1]["previous_version"]) == (
        "canary_complete", 2, 1)
    written = roll_out["out"] / roll_out["name"] / "serving.yaml"
    assert written.read_bytes() == (roll_out["deploy"] / "serving-complete.yaml").read_bytes()


def test_with_too_few_labels_the_canary_waits_and_nothing_changes(roll_out):
    label(roll_out, 1, correct=95, labelled=100)
    label(roll_out, 2, correct=10, labelled=99)
    before = state(roll_out)

    decision = result_of(call_step(*canary_args(roll_out)))["decisions"][roll_out["name"]]

    assert decision == "wait: too few labelled answers to judge: canary has 99, 100 needed each"
    assert state(roll_out) == before and not (roll_out["out"] / roll_out["name"]).exists()


@pytest.mark.parametrize("damage", ["record", "manifests"])
def test_a_bad_record_or_missing_manifests_is_one_line_and_touches_nothing(roll_out, damage):
    label(roll_out, 1, correct=95, labelled=100)
    label(roll_out, 2, correct=10, labelled=100)
    if damage == "record":
        mlflow_client(roll_out).set_registered_model_tag(roll_out["name"], CANARY_TAG, '{"version": "two"}')
    else:
        (roll_out["deploy"] / "serving-rollback.yaml").unlink()
    before = state(roll_out)

    done = call_step(*canary_args(roll_out))

    assert done.returncode == 2 and done.stdout == ""
    message = done.stderr.strip().splitlines()[-1]
    assert ("canary record cannot be read" if damage == "record" else "has no serving-rollback.yaml") in message
    assert state(roll_out) == before and not roll_out["out"].exists()
