"""The shared DAG helpers: decisions, settings, step specs and the local runner."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from mlops_pipeline.decisions import BUILD_MODEL, LOAD_PRETRAINED, choose_model_source, gate_for
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
    params = {"accuracy_threshold": threshold, "min_improvement": 0.0, "min_comparison_rows": 100,
              "significance": 0.05, "replace_incompatible_champion": False}
    decided, reason, table = gate_for(params, {"accuracy": accuracy, "champion": None})
    assert decided is deploy and words in reason and table["decision"] == ("deploy" if deploy else "keep")


RULES = {"accuracy_threshold": 0.5, "min_improvement": 0.01, "min_comparison_rows": 100, "significance": 0.05,
         "replace_incompatible_champion": False}


@pytest.mark.parametrize("champion, deploy, words", [
    ({"version": 3, "problem": "registry error: ConnectionError: refused"}, False, "registry error"),
    ({"version": None, "problem": "registry error: MlflowException: 500"}, False, "set replace_incompatible"),
    ({"version": 1, "problem": "it takes other input: image shape 28x28 here vs its 8x8", "other_input": True},
     False, "8x8): not deploying; set model_name to register a separate model, or replace_incompatible_champion"),
    ({"version": 3, "table": {"rows": 40, "difference": 0.2, "p_value": 0.001, "champion_accuracy": 0.7,
                              "challenger_accuracy": 0.9}}, False, "only 40 test rows unseen"),
    ({"version": 3, "table": {"rows": 400, "difference": 0.03, "p_value": 0.2, "champion_accuracy": 0.8,
                              "challenger_accuracy": 0.83}}, False, "not significant"),
    ({"version": 3, "table": {"rows": 400, "difference": 0.05, "p_value": 0.001, "champion_accuracy": 0.8,
                              "challenger_accuracy": 0.85}}, True, "significant at 0.05: deploying"),
])
def test_the_gate_reads_register_s_comparison_and_fails_closed(champion, deploy, words):
    # Given register's view of the champion (an error, too few unseen rows, noise, a real gain)
    decided, reason, _ = gate_for(RULES, {"accuracy": 0.9, "champion": champion})

    # Then only a significant gain on enough unseen rows deploys, and the reason says which case it was
    assert decided is deploy and words in reason and "\n" not in reason


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


@pytest.mark.integration  # the local runner starts the step's process
def test_bad_input_fails_the_task_without_retry_and_names_the_problem(tmp_path):
    op = LocalStepOperator(task_id="prepare", step="prepare",
                           arguments=["--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "p"),
                                      "--image-height", "2", "--image-width", "2"])
    with pytest.raises(AirflowFailException, match="missing.csv: dataset file not found"):
        op.execute(context={})


@pytest.mark.integration  # the local runner starts the step's process
def test_a_usage_error_is_not_retried():
    op = LocalStepOperator(task_id="prepare", step="prepare", arguments=["--no-such-flag"])
    with pytest.raises(AirflowFailException, match="the following arguments are required"):
        op.execute(context={})


@pytest.mark.integration  # the local runner starts the step's process
def test_an_unexpected_crash_fails_with_a_retryable_error():
    op = LocalStepOperator(task_id="fetch", step="fetch",
                           arguments=["--source", "embedded://digits", "--output", "/dev/null/cannot-be-a-folder"])
    with pytest.raises(AirflowException) as caught:
        op.execute(context={})
    assert not isinstance(caught.value, AirflowFailException)


def test_the_gate_log_shows_the_comparison_table():
    from mlops_pipeline.decisions import comparison_lines

    champion = {"version": 3, "table": {"rows": 400, "test_rows": 500, "difference": 0.05, "p_value": 0.001,
                                        "champion_accuracy": 0.8, "challenger_accuracy": 0.85}}
    _, reason, table = gate_for(RULES, {"accuracy": 0.9, "champion": champion})

    lines = "\n".join(comparison_lines(table))
    for expected in ("rows", "400", "test_rows", "500", "0.8000", "0.8500", "p_value", "0.0010", "deploy", reason):
        assert expected in lines


def test_the_plugin_modules_import_each_other_without_a_cycle():
    # A cycle (pod_operator <-> kubernetes_runner, once) makes which module loads first decide what works.
    import ast
    from pathlib import Path

    import mlops_pipeline

    folder = Path(mlops_pipeline.__file__).parent
    imports = {}
    for file in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(file.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found |= {n.split(".")[1] for n in names if n.startswith("mlops_pipeline.")}
        imports[file.stem] = found

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(m == target or (m not in seen and reaches(m, target, seen | {m})) for m in imports.get(start, ()))

    assert [m for m in imports if reaches(m, m, {m})] == []
