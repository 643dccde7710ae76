"""The training DAG's steps as plain subprocesses, back to back, with no Airflow around them.

This is the baseline the orchestration and quality benchmarks compare against. It is
the pipeline's own runner code (:mod:`benchmarks.step_plan`, which the image test
uses too), not a copy of the DAG's wiring: the DAG file is loaded with this run's state
folder and each step's arguments are rendered with the DAG's own templates.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.record import ROOT

DATA_STEPS = ("fetch", "validate_raw", "prepare", "validate_prepared", "features", "split")
MODEL_STEPS = ("build_model", "train", "evaluate")
REGISTRY_STEPS = ("register", "deploy")


def run_pipeline(state_dir: Path, conf: dict, steps: tuple[str, ...]) -> dict:
    """Run ``steps`` (task ids of the training DAG) in order; the gate decides on deploy as the DAG's does."""
    plugins = str(ROOT / "plugins")
    if plugins not in sys.path:
        sys.path.insert(0, plugins)
    from benchmarks.step_plan import run_steps

    return run_steps(conf, state_dir, task_ids=steps)
