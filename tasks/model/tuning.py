"""Hyperparameter search with Optuna's ask-and-tell: plan trials, report epochs, prune, tell, pick the best.

The study lives in storage every trial can reach (an SQLite file on the artifact volume),
so the orchestrator asks the trials' settings up front (one mapped task per trial), each
trial's train step reports its validation curve per epoch and stops when the pruner says
so, and ``pick_best`` tells Optuna each trial's outcome and returns the winner. TPE is
seeded; with all trials asked up front in one run it samples as its start-up phase does
(independently), while the median pruner compares trials as they run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.core.search_space import Dimension

STUDY_NAME = "tuning"
TRIALS_FILE = "trials.json"  # pick_best writes the trials table beside the study, for the run report
DIRECTIONS = {"val_accuracy": "maximize", "val_loss": "minimize"}
SQLITE_TIMEOUT_S = 60


def storage(url: str) -> Any:
    """The study's storage; SQLite waits for its lock instead of failing when trials write at once."""
    import optuna

    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def load(url: str) -> Any:
    import optuna

    _quiet()
    return optuna.load_study(study_name=STUDY_NAME, storage=storage(url))


def distribution(dimension: Dimension) -> Any:
    """The Optuna distribution of one searched setting."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if dimension.choices:
        return CategoricalDistribution(dimension.choices)
    if dimension.kind is int:
        return IntDistribution(int(dimension.low), int(dimension.high), log=dimension.log)
    return FloatDistribution(float(dimension.low), float(dimension.high), log=dimension.log)


def plan(url: str, dimensions: Iterable[Dimension], trials: int, metric: str, seed: int) -> list[dict[str, Any]]:
    """Create the study and ask it for ``trials`` settings: ``[{"number": n, "settings": {...}}, ...]``."""
    import optuna

    _quiet()
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage(url), direction=DIRECTIONS[metric],
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    study.set_user_attr("metric", metric)
    space = {d.name: distribution(d) for d in dimensions}
    return [{"number": t.number, "settings": dict(t.params)} for t in (study.ask(space) for _ in range(trials))]


class Reporter:
    """Reports a trial's validation metric per epoch to the study and says when to stop (pruned)."""

    def __init__(self, url: str, number: int) -> None:
        import optuna

        self.study = load(url)
        self.study.pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        frozen = next(t for t in self.study.get_trials(deepcopy=False) if t.number == number)
        self.trial = optuna.trial.Trial(self.study, frozen._trial_id)
        self.metric = self.study.user_attrs["metric"]
        self.pruned = False

    def epoch(self, step: int, logs: dict[str, float]) -> bool:
        """Report epoch ``step``; True when the trial should stop here."""
        value = float(logs.get(self.metric, math.nan))
        if math.isfinite(value):
            self.trial.report(value, step)
        self.pruned = bool(self.pruned or not math.isfinite(value) or self.trial.should_prune())
        return self.pruned

    def finish(self, curves: dict[str, list[float]], seconds: float) -> dict[str, Any]:
        """Record the outcome on the trial and tell the study; return it for the step's result.

        The trial tells its own outcome as it ends, so the pruner can compare the trials
        still running with every finished one.
        """
        values = curves.get(self.metric, [])
        pick = max if self.study.direction.name == "MAXIMIZE" else min
        best = pick(range(len(values)), key=values.__getitem__, default=None)
        outcome = {"value": None if best is None else values[best], "best_epoch": None if best is None else best + 1,
                   "epochs_run": len(values), "pruned": self.pruned, "seconds": round(seconds, 3)}
        for key, value in outcome.items():
            self.study._storage.set_trial_user_attr(self.trial._trial_id, key, value)
        _tell(self.study, self.trial.number, outcome)
        return {"trial": self.trial.number, "metric": self.metric, **outcome}


def _tell(study: Any, number: int, outcome: dict[str, Any]) -> None:
    """Tell one trial's outcome: pruned, its best value, or failed (no finite value)."""
    from optuna.trial import TrialState

    value = outcome.get("value")
    if outcome.get("pruned"):
        study.tell(number, state=TrialState.PRUNED)
    elif value is not None and math.isfinite(value):
        study.tell(number, value)
    else:
        study.tell(number, state=TrialState.FAIL)


def tell_all(url: str) -> dict[str, Any]:
    """Tell the trials that never told their outcome (they crashed: failed) and return the best one's settings.

    A pruned trial counts for nothing. Returns ``{}`` when no trial completed.
    """
    from optuna.trial import TrialState

    study = load(url)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        _tell(study, trial.number, dict(trial.user_attrs))
    return best_settings(url)


def best_settings(url: str) -> dict[str, Any]:
    """The best completed trial: its settings, number and value (``{}`` when none completed)."""
    from optuna.trial import TrialState

    study = load(url)
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return {}
    return {"settings": dict(study.best_trial.params), "trial": study.best_trial.number,
            "value": study.best_value, "metric": study.user_attrs["metric"]}


def trials_table(url: str) -> dict[str, Any]:
    """Every trial as a row: settings, best epoch, validation metric, pruned or not, duration."""
    study = load(url)
    rows = [{"number": t.number, "settings": dict(t.params), "state": t.state.name.lower(),
             "best_epoch": t.user_attrs.get("best_epoch"), "value": t.user_attrs.get("value"),
             "pruned": bool(t.user_attrs.get("pruned")), "seconds": t.user_attrs.get("seconds")}
            for t in study.get_trials(deepcopy=False)]
    return {"metric": study.user_attrs.get("metric"), "direction": study.direction.name.lower(), "trials": rows}


def take_turn(url: str, task: int, parallelism: int, poll_s: float = 2.0, timeout_s: float = 6 * 3600) -> int:
    """Block until fewer than ``parallelism`` trials run, then claim the next trial and mark it running: its number.

    Airflow cannot take a task's concurrency from a run's Param, and it starts mapped tasks in
    no set order, so the trials share a count and a queue in the study's folder: whichever
    mapped task gets a slot runs the lowest-numbered trial nobody took (Optuna's own workers
    take trials in turn the same way), so the median pruner always has the first trials'
    curves to judge the later ones by. A claim is a file created exclusively, so two tasks
    never run one trial; a retried task (``task``: its map index) runs the trial it took
    before. The count is best effort: two tasks checking at the same instant may both start.
    """
    from optuna.trial import TrialState

    claims = Path(url.removeprefix("sqlite:///")).parent / "claims"
    claims.mkdir(exist_ok=True)
    mine = next((int(c.name) for c in claims.iterdir() if c.read_text() == str(task)), None)
    study = load(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if sum(1 for t in trials if t.user_attrs.get("turn") == "running") < parallelism:
            numbers = [t.number for t in study.get_trials(deepcopy=False)]
            number = mine if mine is not None else _claim(claims, numbers, task)
            mark_turn(url, number, "running")
            return number
        time.sleep(poll_s)
    raise TimeoutError(f"task {task} waited {timeout_s:.0f} s for one of {parallelism} running trials to end")


def _claim(claims: Path, numbers: list[int], task: int) -> int:
    """The lowest trial number whose claim file this call created (holding ``task``)."""
    for number in sorted(numbers):
        try:
            fd = os.open(claims / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as claim:
            claim.write(str(task))
        return number
    raise RuntimeError(f"task {task}: every one of the study's {len(numbers)} trials is taken")


def mark_turn(url: str, number: int, state: str) -> None:
    """Record whether trial ``number`` holds a slot (``running``) or gave it back (``done``).

    A trial that told its outcome holds no slot any more (and cannot be changed): left as it is.
    """
    from optuna.trial import TrialState

    study = load(url)
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    if trial.state == TrialState.RUNNING:
        study._storage.set_trial_user_attr(trial._trial_id, "turn", state)


def log_trials(mlflow_client: Any, experiment_id: str, parent_run_id: str, url: str) -> dict[str, Any]:
    """Log every trial as a nested MLflow run under the run's parent: settings, curve, outcome.

    A pruned trial ends KILLED, a failed one FAILED, so the MLflow UI tells them apart at a glance.
    Returns the trials table (``trials_table``) with each row's MLflow run id.
    """
    from mlflow.entities import Metric, Param

    table = trials_table(url)
    study = load(url)
    curves = {t.number: t.intermediate_values for t in study.get_trials(deepcopy=False)}
    ended = {"complete": "FINISHED", "pruned": "KILLED"}
    for row in table["trials"]:
        run = mlflow_client.create_run(experiment_id, run_name=f"trial {row['number']}",
                                       tags={"mlflow.parentRunId": parent_run_id, "tuning_trial": str(row["number"]),
                                             "tuning_state": row["state"]})
        metrics = [Metric(table["metric"], float(v), 0, int(step)) for step, v in curves[row["number"]].items()]
        metrics += [Metric(f"best_{table['metric']}", float(row["value"]), 0, 0)] if row["value"] is not None else []
        mlflow_client.log_batch(run.info.run_id, metrics=metrics,
                                params=[Param(k, str(v)) for k, v in row["settings"].items()])
        mlflow_client.set_terminated(run.info.run_id, status=ended.get(row["state"], "FAILED"))
        row["mlflow_run_id"] = run.info.run_id
    return table
