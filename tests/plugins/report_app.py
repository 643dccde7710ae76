"""The run report app's shared test setup: a finished run's artifacts, an auth manager, logged-in clients.

Not a test module: ``conftest.py`` exposes its fixtures and the test modules read its
constants. Tests change ``KNOWN_RUNS``, ``HISTORY``, ``LIVE``, ``RUN_FACTS`` or ``DAG_MODELS`` with
``monkeypatch.setattr`` on this module; the client's overrides read them per request.
Tokens are minted by the simple auth manager's own JWT signer, exactly what the UI's
login puts in the ``_token`` cookie.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlops_pipeline.run_keys import run_key

DAG = "fashion_mnist_training"
RUN = "manual__2026-11-24T20:39:17.712456+00:00"
RUN_URL = f"/dags/{DAG}/runs/manual__2026-11-24T20%3A39%3A17.712456%2B00%3A00/"
PNG = b"\x89PNG\r\n\x1a\nfake"
KNOWN_RUNS = {RUN}  # what Airflow's database holds in these tests
DAG_MODELS: dict = {DAG: {"fashion_mnist"}}  # the DAGs Airflow knows in these tests, and their model_name default
LIVE: dict = {}  # model version -> live figures (run_report.feedback.live_reader)
HISTORY: dict = {"model_name": "fashion_mnist", "champion": None, "versions": [], "history": []}
RUN_FACTS: dict = {"conf": {"epochs": 3}, "defaults": {"epochs": 100, "model_type": "mlp"}, "failed": [],
                   "xcoms": {"fetch": {"source": "embedded://digits", "sha256": "ab12", "rows": 1797},
                             "resolve_dataset": {"trigger": "manual", "version": "", "uri": "embedded://digits"}}}


def _write(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(json.dumps(content))


@pytest.fixture()
def artifact_root(tmp_path: Path) -> Path:
    """A finished run's report files, as the steps write them, plus a secret next to the root."""
    run = tmp_path / "artifacts" / DAG / run_key(RUN)
    _write(run / "validate_raw" / "validation.json", {"suite": "raw", "success": True, "expectations": [],
                                                     "summary": {"evaluated": 9, "successful": 9, "failed": 0}})
    _write(run / "validate_raw" / "data_docs" / "index.html", b"<h1>GX Data Docs</h1>")
    _write(run / "prepare" / "prepare_report.json", {"rows_in": 1797, "dropped_empty_cells": 114,
                                                     "dropped_invalid_label": 84, "rows_out": 1599})
    _write(run / "train" / "history.json", {"accuracy": [0.5, 0.9], "val_accuracy": [0.6, 0.8],
                                            "loss": [1.2, 0.3], "val_loss": [1.0, 0.5]})
    _write(run / "evaluate" / "metrics.json", {"accuracy": 0.96875, "loss": 0.22, "macro_f1": 0.97, "test_rows": 320,
                                               "per_class": {"<b>Bag</b>": {"precision": 1, "recall": 1, "f1": 1,
                                                                            "support": 32}}})
    _write(run / "evaluate" / "confusion_matrix.png", PNG)
    _write(run / "register" / "registration.json", {"run_id": "abc123", "model_name": "fashion_mnist", "version": 2,
                                                    "accuracy": 0.96875, "champion_version": 1,
                                                    "champion_accuracy": 0.95,
                                                    "champion": {"version": 1, "problem": None, "table": {
                                                        "rows": 300, "test_rows": 320, "champion_accuracy": 0.95,
                                                        "challenger_accuracy": 0.97, "difference": 0.02,
                                                        "p_value": 0.0123,
                                                        "champion_accuracy_all_test_rows": 0.99}}})
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return tmp_path / "artifacts"


@pytest.fixture()
def auth_manager(airflow_db):
    """The configured (simple) auth manager, initialised as the API server does at start."""
    from airflow.api_fastapi.app import create_auth_manager

    manager = create_auth_manager()
    manager.init()
    return manager


def _token(auth_manager, role: str | None) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="ds", role=role))


@pytest.fixture()
def client(artifact_root: Path, auth_manager):
    from run_report import app as report_app

    report_app.app.dependency_overrides[report_app.artifact_root] = lambda: str(artifact_root)
    report_app.app.dependency_overrides[report_app.run_exists] = lambda dag_id, run_id: run_id in KNOWN_RUNS
    report_app.app.dependency_overrides[report_app.gate_outcome] = lambda: {
        "deploy": True, "reason": "accuracy 0.9688 >= threshold 0.5000 and beats champion v1"}
    report_app.app.dependency_overrides[report_app.run_facts] = lambda: RUN_FACTS
    report_app.app.dependency_overrides[report_app.history_reader] = lambda: lambda name: HISTORY
    report_app.app.dependency_overrides[report_app.dag_models] = lambda dag_id: DAG_MODELS.get(dag_id)
    report_app.app.dependency_overrides[report_app.run_checker] = lambda: lambda dag_id, run_id: run_id in KNOWN_RUNS
    report_app.app.dependency_overrides[report_app.facts_reader] = lambda: lambda dag_id, run_id: RUN_FACTS
    report_app.app.dependency_overrides[report_app.live_reader] = lambda: lambda name: LIVE
    yield TestClient(report_app.app)
    report_app.app.dependency_overrides.clear()


@pytest.fixture()
def viewer(client, auth_manager) -> TestClient:
    """A logged-in user with read access, carrying the UI's session cookie."""
    client.cookies.set("_token", _token(auth_manager, "VIEWER"))
    return client
