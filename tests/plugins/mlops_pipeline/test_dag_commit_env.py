"""The local runner tells each step which commit its DAG came from, read when the task runs.

Given a DAG file inside a git checkout (written by hand: HEAD and a branch ref), when the
local runner builds the step's environment, then ``PIPELINE_DAG_COMMIT`` is that checkout's
commit; outside a checkout it is absent, even if the scheduler's own environment had one.
"""

from __future__ import annotations

from airflow.sdk import DAG

from mlops_pipeline.local_runner import LocalStepOperator
from tasks.core.provenance import DAG_COMMIT_ENV

COMMIT = "d" * 40


def _operator(dag_file) -> LocalStepOperator:
    with DAG("skew_check", schedule=None) as dag:
        op = LocalStepOperator(task_id="prepare", step="prepare")
    dag.fileloc = str(dag_file)
    return op


def test_the_step_env_carries_the_commit_of_the_dag_files_checkout(tmp_path):
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    (tmp_path / "repo" / "dags").mkdir()

    env = _operator(tmp_path / "repo" / "dags" / "training.py").step_env()

    assert env[DAG_COMMIT_ENV] == COMMIT


def test_a_dag_outside_git_sends_no_commit_not_an_inherited_one(tmp_path, monkeypatch):
    monkeypatch.setenv(DAG_COMMIT_ENV, "e" * 40)

    env = _operator(tmp_path / "training.py").step_env()

    assert DAG_COMMIT_ENV not in env
    assert "PIPELINE_ALLOWED_DATA_ROOTS" in env  # the rest of the step's env is still there
