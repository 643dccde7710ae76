"""Tuning: the search space read from the form's text, Optuna's ask/tell/prune, and a trial as a train step."""

from __future__ import annotations

import json

import pytest

from tasks.core import parameters as p
from tasks.core.search_space import parse_space, space_text
from tasks.model import tuning
from tests.support.steps import call_step, run_step
from tests.tasks.helpers import make_bundles, result_of


def test_the_default_space_searches_the_four_settings_with_log_scales_where_they_belong():
    dims = {d.name: d for d in parse_space(p.SEARCH_SPACE.default, p.SEARCHABLE)}

    assert set(dims) == {"model_type", "units", "learning_rate", "batch_size"}
    assert dims["model_type"].choices == ("mlp", "cnn") and dims["batch_size"].choices == (16, 32, 64, 128)
    assert dims["learning_rate"].log and (dims["learning_rate"].low, dims["learning_rate"].high) == (0.0001, 0.01)
    assert space_text(tuple(dims.values())) == p.SEARCH_SPACE.default


@pytest.mark.parametrize(("text", "problem"), [
    ("epochs: 1..5", "'epochs' cannot be searched"),
    ("units: 0..64", "units: 0 must be >= 1"),
    ("model_type: mlp|rnn", "model_type: 'rnn' must be one of"),
    ("learning_rate: 0.1..0.01", "must rise"),
    ("model_type: mlp..cnn", "takes choices"),
    ("units 32..64", "expected 'setting: a|b'"),
])
def test_a_space_outside_a_settings_own_rules_is_refused_naming_the_entry(text, problem):
    assert problem in p.SEARCH_SPACE._problem(text)


def _fake_trial(url: str, number: int, curve: list[float]) -> dict:
    """Run a trial's reporting loop on a made-up validation curve, as the train step does per epoch."""
    reporter = tuning.Reporter(url, number)
    ran = []
    for epoch, value in enumerate(curve):
        ran.append(value)
        if reporter.epoch(epoch, {reporter.metric: value}):
            break
    return reporter.finish({reporter.metric: ran}, seconds=0.1)


def test_plan_asks_seeded_settings_within_the_space_and_pick_best_tells_and_prunes(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    dims = parse_space(p.SEARCH_SPACE.default, p.SEARCHABLE)

    planned = tuning.plan(url, dims, 4, "val_accuracy", seed=7)
    again = tuning.plan(f"sqlite:///{tmp_path / 'again.db'}", dims, 4, "val_accuracy", seed=7)
    good = _fake_trial(url, 0, [0.5, 0.7, 0.8])
    better = _fake_trial(url, 1, [0.6, 0.8, 0.9])
    bad = _fake_trial(url, 2, [0.1, 0.1, 0.1])
    best = tuning.tell_all(url)

    assert [t["settings"] for t in planned] == [t["settings"] for t in again]
    assert all(32 <= t["settings"]["units"] <= 512 and t["settings"]["model_type"] in ("mlp", "cnn") for t in planned)
    assert not good["pruned"] and not better["pruned"] and bad["pruned"] and bad["epochs_run"] == 2
    assert best["trial"] == 1 and best["value"] == 0.9 and best["settings"] == planned[1]["settings"]
    rows = {r["number"]: r for r in tuning.trials_table(url)["trials"]}
    assert rows[2]["state"] == "pruned" and rows[3]["state"] == "fail" and rows[1]["best_epoch"] == 3


@pytest.mark.integration
def test_a_trial_is_the_train_step_reporting_to_the_study_and_stopped_when_pruned(tmp_path):
    data = make_bundles(tmp_path)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    space = parse_space("units: 8..16; learning_rate: 0.00001..0.00002 log", p.SEARCHABLE)
    tuning.plan(url, space, 3, "val_accuracy", seed=1)
    for number, accuracy in ((0, 0.9), (1, 0.95)):  # two strong finished trials set the median
        _fake_trial(url, number, [accuracy] * 6)
    build = {"model_type": "mlp", "image_height": 4, "image_width": 4, "classes": 10, "units": 8,
             "hidden_activation": "relu", "output_activation": "softmax", "optimizer": "adam",
             "loss": "sparse_categorical_crossentropy", "learning_rate": 0.00001, "random_state": 0}

    done = run_step("train", f"--train={data['train']}", f"--validation={data['val']}", f"--output={tmp_path / 't'}",
                    "--epochs=6", "--batch-size=16", "--learning-rate=0.00001", f"--trial-study={url}",
                    "--trial-number=2", f"--trial-build={json.dumps(build)}")

    assert done.returncode == 0, done.stderr
    result = result_of(done)
    assert result["trial"] == 2 and result["pruned"] and result["epochs_run"] < 6
    assert "trial 2 pruned after epoch 2" in done.stderr
    trial = tuning.load(url).trials[2]
    assert trial.intermediate_values and trial.user_attrs["pruned"]


@pytest.mark.parametrize(("build", "problem"), [
    ('{"units": 8}', "missing"), ('{"units": 0}', "units=0: must be >= 1"), ('{"layers": 3}', "no setting"),
    ("not json", "Expecting value")])
def test_a_trial_with_a_broken_build_fails_in_one_line_naming_it(tmp_path, build, problem):
    data = make_bundles(tmp_path)

    done = call_step("train", f"--train={data['train']}", f"--validation={data['val']}",
                     f"--output={tmp_path / 't'}", f"--trial-build={build}")

    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "--trial-build:" in last and problem in last


def test_trials_take_turns_in_the_studys_order_whichever_mapped_task_starts_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    tuning.plan(url, parse_space("units: 8..16", p.SEARCHABLE), 3, "val_loss", seed=0)

    assert tuning.take_turn(url, task=2, parallelism=1) == 0  # the last mapped task, started first, runs trial 0
    with pytest.raises(TimeoutError, match="task 0 waited"):
        tuning.take_turn(url, task=0, parallelism=1, poll_s=0.05, timeout_s=0.2)
    assert tuning.take_turn(url, task=0, parallelism=2, timeout_s=0.2) == 1  # a second slot is free
    assert tuning.take_turn(url, task=2, parallelism=3, timeout_s=0.2) == 0  # a retried task runs its trial again
    _fake_trial(url, 0, [0.5, 0.4])  # trial 0 ends: its slot is free again
    tuning.mark_turn(url, 0, "done")  # the operator's release after the trial told its outcome: harmless
    assert tuning.take_turn(url, task=1, parallelism=2, timeout_s=0.2) == 2


def test_tasks_claiming_at_once_never_run_the_same_trial(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'study.db'}"
    tuning.plan(url, parse_space("units: 8..16", p.SEARCHABLE), 6, "val_loss", seed=0)

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(lambda task: tuning.take_turn(url, task, parallelism=6, timeout_s=30), range(6)))

    assert sorted(numbers) == list(range(6))


def test_every_trial_becomes_a_nested_mlflow_run_pruned_ones_killed(tmp_path):
    from mlflow import MlflowClient

    url = f"sqlite:///{tmp_path / 'study.db'}"
    tuning.plan(url, parse_space("units: 8..16", p.SEARCHABLE), 3, "val_accuracy", seed=0)
    for number, curve in ((0, [0.8, 0.9]), (1, [0.85, 0.95]), (2, [0.1, 0.1])):
        _fake_trial(url, number, curve)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("e")
    parent = client.create_run(experiment).info.run_id

    table = tuning.log_trials(client, experiment, parent, url)

    children = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    by_trial = {run.data.tags["tuning_trial"]: run for run in children}
    assert sorted(by_trial) == ["0", "1", "2"] and len(table["trials"]) == 3
    assert by_trial["2"].info.status == "KILLED" and by_trial["1"].info.status == "FINISHED"
    assert by_trial["1"].data.metrics["best_val_accuracy"] == 0.95 and "units" in by_trial["1"].data.params
