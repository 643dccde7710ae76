"""The run report's web app: served to a logged-in Airflow user only, never a file outside the artifact root."""

from __future__ import annotations

import pytest

from tests.plugins.report_app import DAG, PNG, RUN_URL, _token

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app


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
