"""A mapped trial task runs the study's next trial, with that trial's arguments from plan_trials' list."""

from __future__ import annotations

from mlops_pipeline.trial_turns import TakesTurns
from tasks.core import parameters as p
from tasks.core.search_space import parse_space
from tasks.model import tuning


class _MappedTask:
    """What run_trial reads of the running task instance: its map index and plan_trials' result."""

    def __init__(self, map_index: int, planned: list[list[str]]) -> None:
        self.map_index, self.planned = map_index, planned

    def xcom_pull(self, task_ids: str, map_indexes: object) -> list[list[str]]:
        assert task_ids == "plan_trials" and map_indexes is None  # the unmapped upstream's whole list
        return self.planned


def test_a_mapped_task_runs_the_next_trials_arguments_and_gives_its_slot_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    tuning.plan(url, parse_space("units: 8..16", p.SEARCHABLE), 3, "val_accuracy", seed=0)
    planned = [[f"--output=/runs/trial/{n}", f"--trial-study={url}", f"--trial-number={n}"] for n in range(3)]
    ran: list[list[str]] = []

    def context(map_index: int) -> dict:
        return {"ti": _MappedTask(map_index, planned), "params": {"tuning_parallelism": 1}}

    first = TakesTurns().run_trial(context(2), planned[2], lambda arguments: ran.append(arguments) or "told")
    TakesTurns().run_trial(context(0), planned[0], ran.append)  # one slot: free again once the first gave it back

    assert first == "told"
    assert ran == [planned[0], planned[1]]  # mapped tasks 2 then 0 ran trials 0 then 1
