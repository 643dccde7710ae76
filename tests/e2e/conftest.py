"""The end-to-end tier's shared champion: ``make demo``'s first run, trained once per session.

Training is what an end-to-end run spends its minutes on, so the tier trains the digits' champion once and
every module that needs "a model in production" builds on it, in its own state folder. A module that moves
the alias must put it back (the lifecycle ends with a rollback to version 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dag_runs import champion as champion_version
from tests.support.dag_runs import run_dag, served

MODEL = "fashion_mnist_8x8"  # the name the default 8x8 digits derive (model_name left empty)


@dataclass(frozen=True)
class Champion:
    state: Path  # PIPELINE_STATE_DIR of the runs that build on it
    model: str
    run: dict  # the first run's summary (scripts/run_dag.py --json)
    served: list[str]  # the serving folder and the alias right after the first run
    alias: str | None


@pytest.fixture(scope="session")
def champion(airflow_db, tmp_path_factory) -> Champion:
    """What ``make demo`` runs (no conf), on a fresh registry: version 1 of the digits' model, deployed."""
    state = tmp_path_factory.mktemp("champion-state")
    run = run_dag(state, {})
    alias = champion_version(state, MODEL) if run.get("state") == "success" else None
    return Champion(state, MODEL, run, served(state, MODEL), alias)
