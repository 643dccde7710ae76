"""The run report's web app: served to a logged-in Airflow user only, never a file outside the artifact root.

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
    report_app.app.dependency_overrides[report_app.run_checker] = lambda: lambda dag_id, run_id: run_id in KNOWN_RUNS
    report_app.app.dependency_overrides[report_app.facts_reader] = lambda: lambda dag_id, run_id: RUN_FACTS
    yield TestClient(report_app.app)
    report_app.app.dependency_overrides.clear()


@pytest.fixture()
def viewer(client, auth_manager) -> TestClient:
    """A logged-in user with read access, carrying the UI's session cookie."""
    client.cookies.set("_token", _token(auth_manager, "VIEWER"))
    return client


def test_anonymous_request_is_refused(client):
    for path in (RUN_URL, RUN_URL + "confusion_matrix.png", RUN_URL + "data-docs/validate_raw/index.html"):
        assert client.get(path).status_code == 401


def test_forged_token_and_user_without_role_are_refused(client, auth_manager):
    assert client.get(RUN_URL, headers={"Authorization": "Bearer not-a-jwt"}).status_code == 403
    no_role = _token(auth_manager, None)
    assert client.get(RUN_URL, headers={"Authorization": f"Bearer {no_role}"}).status_code == 403


def test_logged_in_user_sees_the_whole_report(client, auth_manager):
    token = _token(auth_manager, "VIEWER")
    page = client.get(RUN_URL, headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    html = page.text
    assert "0.9688" in html and 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in html  # inlined: no cookie needed
    assert "1797" in html and "114" in html and "84" in html and "1599" in html
    assert html.count("<svg") == 2 and "<polyline" in html
    assert "beats champion v1" in html and "champion <b>v1</b>" in html and "0.9500" in html
    # the gate's comparison: rows neither model trained on, both accuracies, p-value, the leaky figure, why
    comparison = html[html.index('<table id="comparison">'):]
    assert "300 of 320" in comparison and "0.9700" in comparison and "0.0123" in comparison
    assert "0.9900" in comparison and "keep the champion" not in comparison and "beats champion v1" in comparison
    assert 'href="data-docs/validate_raw/index.html"' in html
    assert "<b>Bag</b>" not in html and "&lt;b&gt;Bag&lt;/b&gt;" in html  # artifact text is escaped


def test_session_cookie_serves_images_and_data_docs(viewer):
    image = viewer.get(RUN_URL + "confusion_matrix.png")
    assert image.status_code == 200 and image.content == PNG
    docs = viewer.get(RUN_URL + "data-docs/validate_raw/index.html")
    assert docs.status_code == 200 and "raw suite" in docs.text and "9 of 9 expectations met" in docs.text
    assert viewer.get(RUN_URL + "data-docs/train/history.json").status_code == 404


@pytest.mark.parametrize("path", [
    f"/dags/{DAG}/runs/%2E%2E/",
    f"/dags/{DAG}/runs/..%5C..%5Csecret.txt/",
    f"/dags/%2E%2E/runs/{DAG}/",
    RUN_URL + "data-docs/validate_raw/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/secret.txt",
    RUN_URL + "data-docs/validate_raw/..%2F..%2F..%2F..%2F..%2Fsecret.txt",
])
def test_paths_leading_outside_the_artifact_root_are_refused(viewer, path):
    response = viewer.get(path)
    assert response.status_code == 400
    assert "TOP SECRET" not in response.text and "/tmp" not in response.text


def test_unknown_run_is_not_found(viewer):
    assert viewer.get(f"/dags/{DAG}/runs/manual__1999/").status_code == 404


def test_mlflow_links_redirect_to_the_registered_run_and_version(viewer, monkeypatch):
    monkeypatch.setenv("PIPELINE_MLFLOW_UI_URL", "http://mlflow.example:5000/")
    run = viewer.get(RUN_URL + "mlflow/run", follow_redirects=False)
    assert run.status_code == 307 and run.headers["location"] == "http://mlflow.example:5000/#/runs/abc123"
    version = viewer.get(RUN_URL + "mlflow/model-version", follow_redirects=False)
    assert version.headers["location"] == "http://mlflow.example:5000/#/models/fashion_mnist/versions/2"


def test_a_local_mlflow_ui_that_is_not_running_gets_a_page_saying_how_to_start_it(viewer, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PIPELINE_MLFLOW_UI_URL", f"http://127.0.0.1:{port}")
    down = viewer.get(RUN_URL + "mlflow/run", follow_redirects=False)
    assert down.status_code == 503 and "make mlflow-ui" in down.text and f"127.0.0.1:{port}/#/runs/abc123" in down.text

    with socket.socket() as server:  # the same URL with a listener: followed
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("PIPELINE_MLFLOW_UI_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
        up = viewer.get(RUN_URL + "mlflow/model-version", follow_redirects=False)
    assert up.status_code == 307 and up.headers["location"].endswith("/#/models/fashion_mnist/versions/2")


def test_gate_outcome_of_a_run_without_a_gate_is_undecided(airflow_db):
    from run_report.app import gate_outcome

    assert gate_outcome(DAG, "manual__never_ran") == {"deploy": None, "reason": None}
