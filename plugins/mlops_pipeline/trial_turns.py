"""A tuning trial takes its turn: it runs only while fewer than the run's ``tuning_parallelism`` trials run.

Both runners' trial operators (a local subprocess, a pod) wrap their run in :class:`TakesTurns`;
it lives apart from :mod:`mlops_pipeline.tuning`, which builds those operators, so the
imports run one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _option(arguments: Sequence[str], flag: str) -> str:
    return next(str(a).split("=", 1)[1] for a in arguments if str(a).startswith(flag + "="))


class TakesTurns:
    """Runs a trial only while fewer than ``tuning_parallelism`` trials run (the study keeps the count)."""

    def run_trial(self, context: Any, arguments: Sequence[str], run: Any) -> Any:
        from tasks.model.tuning import mark_turn, wait_for_turn

        url, number = _option(arguments, "--trial-study"), int(_option(arguments, "--trial-number"))
        wait_for_turn(url, number, int(context["params"]["tuning_parallelism"]))
        try:
            return run()
        finally:
            mark_turn(url, number, "done")
