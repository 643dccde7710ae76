"""The shared DAG helpers: decisions, settings, step specs and the local runner."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from mlops_pipeline.decisions import BUILD_MODEL, LOAD_PRETRAINED, choose_model_source, gate_decision
from mlops_pipeline.local_runner import LocalStepOperator, parse_result
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import StepSpec, run_dir


def test_branch_picks_the_model_source():
    assert choose_model_source(True) == LOAD_PRETRAINED
    assert choose_model_source(False) == BUILD_MODEL


@pytest.mark.parametrize("accuracy, threshold, deploy, words", [
    (0.96, 0.95, True, ">= threshold"),
    (0.95, 0.95, True, ">= threshold"),
    (0.94, 0.95, False, "< threshold"),
    (None, 0.5, False, "no usable test accuracy"),
    (float("nan"), 0.5, False, "no usable test accuracy"),
])
def test_gate_deploys_only_at_or_above_the_threshold_and_says_why(accuracy, threshold, deploy, words):
    decided, reason = gate_decision(accuracy, threshold)
    assert decided is deploy and words in reason


def test_settings_default_to_local_mode_inside_the_state_folder(tmp_path):
    settings = load_settings({"PIPELINE_STATE_DIR": str(tmp_path)})
    assert settings.mode == "local"
    assert settings.artifact_root == str(tmp_path / "artifacts")
    assert not (tmp_path / "artifacts").exists()  # reading settings creates nothing


def test_kubernetes_mode_uses_the_shared_volume_and_rejects_unknown_modes():
    settings = load_settings({"PIPELINE_MODE": "kubernetes", "PIPELINE_TRAIN_IMAGE": "registry/train:1"})
    assert settings.artifact_root == "/artifacts" and settings.kubernetes.train_image == "registry/train:1"
    with pytest.raises(ValueError, match="PIPELINE_MODE"):
        load_settings({"PIPELINE_MODE": "docker"})


def test_run_ids_become_single_safe_path_segments():
    from mlops_pipeline.run_keys import run_key

    assert run_dir("/a", "train") == "/a/{{ dag.dag_id }}/{{ run_id | run_key }}/train"
    for hostile in ("../../etc", "..", "/", "a/b\\c"):
        key = run_key(hostile)
        assert "/" not in key and "\\" not in key and key not in (".", "..")
    assert run_key("manual__2026-11-24T19:56:22.301774+00:00").startswith("manual__2026-11-24T19_56_22.301774_00_00-")


def test_pod_and_local_command_lines_are_the_same_step_invocation():
    spec = StepSpec("validate_raw", "validate", ("--suite", "raw"))
    assert spec.command() == ["python", "-m", "tasks", "validate", "--suite", "raw"]
    assert spec.pod_arguments() == spec.command()[3:]


def test_the_result_is_the_last_json_line():
    assert parse_result('noise\n{"a": 1}\n{"b": 2}\n') == {"b": 2}
    with pytest.raises(AirflowException, match="no JSON result"):
        parse_result("no result here\n")


def test_bad_input_fails_the_task_without_retry_and_names_the_problem(tmp_path):
    op = LocalStepOperator(task_id="prepare", step="prepare",
                           arguments=["--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "p"),
                                      "--image-height", "2", "--image-width", "2"])
    with pytest.raises(AirflowFailException, match="missing.csv: dataset file not found"):
        op.execute(context={})


def test_a_usage_error_is_not_retried():
    op = LocalStepOperator(task_id="prepare", step="prepare", arguments=["--no-such-flag"])
    with pytest.raises(AirflowFailException, match="the following arguments are required"):
        op.execute(context={})


def test_an_unexpected_crash_fails_with_a_retryable_error():
    op = LocalStepOperator(task_id="fetch", step="fetch",
                           arguments=["--source", "embedded://digits", "--output", "/dev/null/cannot-be-a-folder"])
    with pytest.raises(AirflowException) as caught:
        op.execute(context={})
    assert not isinstance(caught.value, AirflowFailException)
