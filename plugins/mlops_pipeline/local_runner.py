"""Run a step as a local subprocess: the embedded default's stand-in for a pod.

It executes exactly the command line the pod would get, streams the step's log
into the task log, and returns the step's JSON result line as the task's XCom,
the way a pod's ``/airflow/xcom/return.json`` becomes one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from mlops_pipeline.settings import PROJECT_ROOT
from mlops_pipeline.steps import result_line
from mlops_pipeline.uri_check import allowlist_env
from tasks.core.common import BAD_INPUT_EXIT_CODE
from tasks.core.provenance import DAG_COMMIT_ENV, dag_commit_env


def parse_result(stdout: str) -> dict[str, Any]:
    """The step's result line (see ``steps.result_line``), or a task failure if it printed none."""
    result = result_line(stdout)
    if result is None:
        raise AirflowException("the step printed no JSON result line")
    return result


class LocalStepOperator(BaseOperator):
    """Run ``python -m tasks <step> <arguments>`` in the project folder."""

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e8f4ea"

    def __init__(self, *, step: str, arguments: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.arguments = list(arguments)

    def command(self) -> list[str]:
        """The command line as run here (the interpreter of this environment)."""
        return [sys.executable, "-m", "tasks", self.step, *(str(a) for a in self.arguments)]

    def step_env(self) -> dict[str, str]:
        """The step's environment: ours, the project on its path, the allowlist and the DAG's commit.

        Built when the task runs (the DAG commit reads the DAG file's checkout); an inherited
        ``PIPELINE_DAG_COMMIT`` is dropped, so a DAG outside git reads as unknown, not as another's.
        """
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                         os.environ.get("PYTHONPATH")]))}
        env.pop("STEP_RESULT_PATH", None)
        env.pop(DAG_COMMIT_ENV, None)
        env.update(allowlist_env())
        env.update(dag_commit_env(self.dag.fileloc if self.has_dag() else None))
        return env

    def execute(self, context: Any) -> dict[str, Any]:
        command = self.command()
        self.log.info("running: %s", " ".join(command))
        env = self.step_env()
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        errors: list[str] = []
        reader = threading.Thread(target=self._relay, args=(proc.stderr, errors), daemon=True)
        reader.start()
        stdout = proc.stdout.read() if proc.stdout else ""
        code = proc.wait()
        reader.join()
        if code != 0:
            reason = next((line for line in reversed(errors) if line.startswith("error:")), None)
            reason = reason or (errors[-1] if errors else f"exit code {code}")
            failure = AirflowFailException if code == BAD_INPUT_EXIT_CODE else AirflowException
            raise failure(f"step {self.step} failed (exit {code}): {reason}")
        result = parse_result(stdout)
        self.log.info("result: %s", json.dumps(result, sort_keys=True))
        return result

    def _relay(self, stream: Any, errors: list[str]) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if line:
                errors.append(line)
                del errors[:-50]
                self.log.info("%s", line)


class TrialStepOperator(LocalStepOperator):
    """A tuning trial: the train step with the study's next trial's arguments, run when the run's parallelism allows."""

    def execute(self, context: Any) -> dict[str, Any]:
        from mlops_pipeline.trial_turns import TakesTurns

        return TakesTurns().run_trial(context, self.arguments, lambda chosen: self._run(context, chosen))

    def _run(self, context: Any, arguments: list[str]) -> dict[str, Any]:
        self.arguments = arguments
        return super().execute(context)
