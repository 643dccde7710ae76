"""Driving the registry steps against a test's tracking store (the ``store`` fixture in conftest.py)."""

from __future__ import annotations

import json

from tests.support.steps import call_step
from tests.tasks.helpers import result_of

MODEL = "registry_test"


def register(store, *extra: str):
    done = call_step("register", "--tracking-uri", store["uri"], "--model-name", MODEL, "--model", store["model"],
                    "--history", store["history"], "--metrics", store["metrics"], "--test", store["test"],
                    "--run-params", json.dumps({"epochs": 40, "units": 32}),
                    "--lineage", json.dumps({"dataset_sha256": "abc", "airflow_run_id": "manual__1"}),
                    "--output", str(store["root"] / "register"), *extra)
    assert done.returncode == 0, done.stderr
    return result_of(done)


def promote(store, step: str, *args: str):
    output = ["--output", str(store["root"] / f"{step}-{len(list(store['root'].glob(f'{step}-*')))}")]
    return call_step(step, "--tracking-uri", store["uri"], "--model-name", MODEL, "--serving-root",
                     str(store["serving"]), *(output if step == "deploy" else []), *args)


def served(store) -> list[str]:
    folder = store["serving"] / MODEL
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def client(store):
    from mlflow import MlflowClient

    return MlflowClient(store["uri"], store["uri"])
