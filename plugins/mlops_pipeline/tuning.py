"""Hyperparameter tuning in the training DAG: plan_trials → trial (one mapped train task each) → pick_best.

``plan_trials`` creates the run's Optuna study (an SQLite file in the run's ``tuning/``
folder on the artifact volume, which every trial's process or pod reaches) and asks it
for the trials' settings; each trial is one mapped task running the existing ``train``
step with them (a subprocess locally, a pod with its own GPU request in ``kubernetes``
mode); ``pick_best`` tells the study what the trials left untold and returns the best
settings, each its own XCom, which the DAG wires into ``build_model`` and ``train`` (the
searched settings stay on the form: ``step_spec(..., wired=SEARCHED)``). With
``tuning_trials: 0`` plan_trials returns no trials, the mapped task is skipped and pick_best
returns the form's values of the searched settings, so every step reads the form's settings.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_pipeline.run_keys import run_key
from mlops_pipeline.settings import PipelineSettings
from mlops_pipeline.steps import TRAIN_RESOURCES, StepSpec
from mlops_pipeline.triggers import SHAPE
from tasks.contracts import CONTRACTS
from tasks.core import parameters as p

TRIAL_SPEC = StepSpec("trial", "train", image="train", resources=TRAIN_RESOURCES, gpu_setting=p.GPU_COUNT.name)
SEARCHED = tuple(s.name for s in p.SEARCHABLE)
# Trials never run more at once than this, whatever the form asks (Airflow fixes a task's concurrency at parse).
MAX_PARALLEL = int(p.TUNING_PARALLELISM.maximum)




def study_folder(artifact_root: str, dag_id: str, run_id: str) -> str:
    return f"{artifact_root}/{dag_id}/{run_key(run_id)}/tuning"


def trial_arguments(params: dict[str, Any], planned: dict[str, Any], split: dict[str, Any], url: str,
                    output: str) -> list[str]:
    """The train step's arguments for one planned trial: its settings, the study and its number.

    The trial builds its own model from build_model's settings (the form's, with the
    trial's searched ones), so the searched settings are all on its command line.
    """
    settings = {**{name: params[name] for name in SEARCHED}, **planned["settings"]}
    build = {s.name: settings.get(s.name, params.get(s.name, s.default)) for s in CONTRACTS["build_model"].settings}
    return [f"--train={split['train']}", f"--validation={split['val']}", f"--output={output}",
            f"--epochs={params['epochs']}", f"--batch-size={settings['batch_size']}",
            f"--learning-rate={settings['learning_rate']}",
            f"--early-stopping-patience={params['early_stopping_patience']}",
            f"--random-state={params['random_state']}", f"--trial-study={url}", f"--trial-number={planned['number']}",
            f"--trial-build={json.dumps(build, sort_keys=True)}"]


def plan_trials_task(artifact_root: str, split: Any, dataset: Any) -> Any:
    """The ``plan_trials`` task: the study created, its trials asked, their train arguments returned."""
    from airflow.sdk import task

    @task(task_id="plan_trials")
    def plan_trials(params: dict, split: dict, dataset: dict, run_id=None, dag=None) -> list[list[str]]:
        """Create the run's study and ask it for tuning_trials settings; [] when tuning is off."""
        from pathlib import Path

        from mlops_pipeline.contract_wiring import checked
        from tasks.core.search_space import parse_space
        from tasks.model.tuning import plan

        tuning = checked(params, "plan_trials")
        if not tuning["tuning_trials"]:
            print("tuning off (tuning_trials = 0): build_model and train use the form's settings")
            return []
        folder = study_folder(artifact_root, dag.dag_id, run_id)
        Path(folder).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder}/study.db"
        dimensions = parse_space(tuning["search_space"], p.SEARCHABLE)
        planned = plan(url, dimensions, tuning["tuning_trials"], tuning["tuning_metric"], int(params["random_state"]))
        root = f"{artifact_root}/{dag.dag_id}/{run_key(run_id)}/trial"
        for trial in planned:
            print(f"trial {trial['number']}: {json.dumps(trial['settings'], sort_keys=True)}")
        shaped = {**params, **{key: dataset[key] for key in SHAPE}}  # the images' shape is the dataset's
        return [trial_arguments(shaped, t, split, url, f"{root}/{t['number']}") for t in planned]

    return plan_trials(split=split, dataset=dataset)


def untuned(params: dict) -> dict:
    """pick_best's answer for a run that does not tune: the form's searched settings, no study."""
    return {**{name: params[name] for name in SEARCHED}, "settings": {}, "study": ""}


def pick_best_task(artifact_root: str) -> Any:
    """The ``pick_best`` task: every trial told, the best settings returned (``{}`` when tuning is off)."""
    from airflow.sdk import TriggerRule, task

    @task(task_id="pick_best", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, multiple_outputs=True)
    def pick_best(params: dict, run_id=None, dag=None) -> dict:
        """Tell the study the trials' outcomes; the searched settings to train with: the best trial's, or the form's."""
        from pathlib import Path

        from tasks.model.tuning import TRIALS_FILE, tell_all, trials_table

        folder = study_folder(artifact_root, dag.dag_id, run_id)
        if not params["tuning_trials"] or not Path(folder, "study.db").exists():
            return untuned(params)
        url = f"sqlite:///{folder}/study.db"
        best = tell_all(url)
        Path(folder, TRIALS_FILE).write_text(json.dumps(trials_table(url), indent=1))  # the run report's table
        if not best:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException("no tuning trial completed: every trial was pruned or failed")
        print(f"best: trial {best['trial']} {best['metric']}={best['value']:.4f} "
              f"{json.dumps(best['settings'], sort_keys=True)}")
        return {**{name: params[name] for name in SEARCHED}, **best["settings"], **best, "study": f"{folder}/study.db"}

    return pick_best()


def trial_tasks(settings: PipelineSettings, planned: Any) -> Any:
    """One mapped ``train`` task per planned trial, in the deployment's mode."""
    if settings.mode == "kubernetes":
        from mlops_pipeline.kubernetes_runner import TrialPodTask

        partial = TrialPodTask.partial(task_id="trial", spec=TRIAL_SPEC, settings=settings,
                                       max_active_tis_per_dagrun=MAX_PARALLEL)
    else:
        from mlops_pipeline.local_runner import TrialStepOperator

        partial = TrialStepOperator.partial(task_id="trial", step="train", max_active_tis_per_dagrun=MAX_PARALLEL)
    return partial.expand(arguments=planned)


def tuning_tasks(settings: PipelineSettings, split: Any, dataset: Any) -> tuple[Any, Any, Any]:
    """plan_trials (given split's and resolve_dataset's results) → trial (mapped) → pick_best.

    The DAG wires pick_best's settings on."""
    planned = plan_trials_task(settings.artifact_root, split, dataset)
    trials = trial_tasks(settings, planned)
    best = pick_best_task(settings.artifact_root)
    [planned, trials] >> best  # off: no trial ran, and pick_best still runs after plan_trials
    return planned, trials, best
