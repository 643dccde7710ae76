"""A tuning trial takes its turn: it runs only while fewer than the run's ``tuning_parallelism`` trials run.

Both runners' trial operators (a local subprocess, a pod) wrap their run in :class:`TakesTurns`;
it lives apart from :mod:`mlops_pipeline.tuning`, which builds those operators, so the
imports run one way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _option(arguments: Sequence[str], flag: str) -> str:
    return next(str(a).split("=", 1)[1] for a in arguments if str(a).startswith(flag + "="))


class TakesTurns:
    """Runs the study's next trial once fewer than ``tuning_parallelism`` trials run (the study keeps the count).

    A mapped trial task runs whichever trial is next in the study's order, not the one of its own map
    index: ``run`` gets that trial's arguments (plan_trials' list, which holds every trial's).
    """

    def run_trial(self, context: Any, arguments: Sequence[str], run: Callable[[list[str]], Any]) -> Any:
        from tasks.model.tuning import mark_turn, take_turn

        url = _option(arguments, "--trial-study")
        number = take_turn(url, int(context["ti"].map_index), int(context["params"]["tuning_parallelism"]))
        planned = context["ti"].xcom_pull(task_ids="plan_trials", map_indexes=None)
        chosen = next(a for a in planned if int(_option(a, "--trial-number")) == number)
        print(f"trial {number}: the study's next trial (this is mapped task {context['ti'].map_index})")
        try:
            return run([str(a) for a in chosen])
        finally:
            mark_turn(url, number, "done")
