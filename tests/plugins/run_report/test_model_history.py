"""The model history page and the "superseded" note: versions, gate decisions, promotions, rollbacks, champion."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import tests.plugins.report_app as app_tests
from run_report.models import history_page
from tasks.model.history import model_history, superseded
from tests.plugins.report_app import DAG, RUN_URL

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app

XSS = "<img src=x onerror=alert(1)>"
EVENTS = [
    {"action": "deploy", "version": 1, "previous_version": None, "reason": "first", "by": "airflow:a", "at": "T1"},
    {"action": "deploy", "version": 2, "previous_version": 1, "reason": "beats v1", "by": "airflow:b", "at": "T2"},
    {"action": "rollback", "version": 1, "previous_version": 2, "reason": XSS, "by": "alice", "at": "T3"},
]


class FakeRegistry:
    """The few MlflowClient calls ``model_history`` makes, over three versions; v1 is champion again."""

    def search_model_versions(self, query):
        return [SimpleNamespace(version=str(n), run_id=f"r{n}", tags={"test_accuracy": str(0.9 + n / 100)},
                                creation_timestamp=n) for n in (1, 2, 3)]

    def get_registered_model(self, name):
        import json

        return SimpleNamespace(tags={"promotion_history": json.dumps(EVENTS)})

    def get_model_version_by_alias(self, name, alias):
        return SimpleNamespace(version="1")

    def get_run(self, run_id):
        return SimpleNamespace(data=SimpleNamespace(tags={"airflow_dag_id": DAG, "airflow_run_id": f"{run_id}/{XSS}"}))


def test_model_history_reads_every_version_its_run_and_its_promotions():
    data = model_history(FakeRegistry(), "fashion_mnist")
    assert data["champion"] == 1 and [v["version"] for v in data["versions"]] == [3, 2, 1]
    v1 = data["versions"][2]
    assert v1["accuracy"] == pytest.approx(0.91) and v1["airflow_run_id"] == f"r1/{XSS}"
    assert [e["action"] for e in v1["promotions"]] == ["deploy", "rollback"]


def test_superseded_names_the_promotion_that_replaced_a_former_champion():
    data = model_history(FakeRegistry(), "fashion_mnist")
    assert superseded(data, 2)["action"] == "rollback"  # v2 was champion, rolled back to v1
    assert superseded(data, 1) is None  # the champion
    assert superseded(data, 3) is None  # never champion


def test_history_page_marks_the_champion_shows_gates_and_escapes_everything():
    data = model_history(FakeRegistry(), "fashion_mnist")
    gates = {f"r3/{XSS}": {"deploy": False, "reason": f"accuracy below threshold {XSS}"}}
    html = history_page(data, gates)
    assert "<img" not in html and "Current champion: <b id='champion'>v1</b>" in html
    assert 'class="champion" id="v1"><td>v1 &#9733; champion' in html and 'class="version" id="v2"' in html
    assert "do not deploy</span>: accuracy below threshold &lt;img" in html
    assert "rollback by alice at T3: &lt;img src=x onerror=alert(1)&gt;" in html
    assert f'href="/run-report/dags/{DAG}/runs/r1%2F%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/"' in html


def test_the_history_page_is_served_per_model_and_refuses_a_bad_name(viewer, monkeypatch):
    monkeypatch.setattr(app_tests, "HISTORY", model_history(FakeRegistry(), "fashion_mnist"))
    page = viewer.get(f"/dags/{DAG}/models/fashion_mnist/")
    assert page.status_code == 200 and "v1 &#9733; champion" in page.text and "<img src=x" not in page.text
    assert "sandbox" in page.headers["content-security-policy"]
    assert viewer.get(f"/dags/{DAG}/models/%2E%2E/").status_code in (400, 404)
    assert viewer.get(f"/dags/{DAG}/models/a%20b/").status_code == 400


def test_the_history_page_needs_a_login(client):
    assert client.get(f"/dags/{DAG}/models/fashion_mnist/").status_code == 401


def test_a_superseded_champions_report_says_so(viewer, monkeypatch):
    history = model_history(FakeRegistry(), "fashion_mnist")  # the report's run registered v2 (the fixture)
    monkeypatch.setattr(app_tests, "HISTORY", history)
    html = viewer.get(RUN_URL).text
    assert "fashion_mnist v2 was champion and has been superseded: v1 replaced it (rollback by alice" in html
    monkeypatch.setattr(app_tests, "HISTORY", {**history, "champion": 2, "history": EVENTS[:2]})
    html = viewer.get(RUN_URL).text
    assert 'id="superseded"' not in html and f'href="/run-report/dags/{DAG}/models/fashion_mnist/"' in html


class TwoModelRegistry(FakeRegistry):
    """Versions of two models, one registered by this DAG's runs and one by another DAG's."""

    def search_model_versions(self, query):
        return [SimpleNamespace(name=name, version=str(n), run_id=f"{name}-r{n}")
                for name, count in (("fashion_mnist_8x8", 2), ("elsewhere", 1)) for n in range(1, count + 1)]

    def get_run(self, run_id):
        return SimpleNamespace(data=SimpleNamespace(tags={"airflow_dag_id": "other" if run_id.startswith(
            "elsewhere") else DAG}))


def test_the_models_page_lists_the_models_the_dags_runs_registered_with_links_to_their_history(viewer):
    # Given a registry where this DAG's runs registered fashion_mnist_8x8 (twice) and another DAG "elsewhere"
    from tasks.model.history import models_trained_by

    models = models_trained_by(TwoModelRegistry(), DAG)
    assert models == [{"model_name": "fashion_mnist_8x8", "versions": 2, "newest": 2, "champion": 1}]

    # When the navigation's entry page is opened, then it links each of them to its history, escaped
    from run_report.app import app
    from run_report.facts import models_reader

    app.dependency_overrides[models_reader] = lambda: lambda dag_id: [*models, {**models[0], "model_name": XSS}]
    try:
        page = viewer.get(f"/dags/{DAG}/models/")
    finally:
        app.dependency_overrides.pop(models_reader)
    assert page.status_code == 200 and "href='fashion_mnist_8x8/'" in page.text and "<img src=x" not in page.text
    assert viewer.get("/dags/no_such_dag/models/").status_code == 404


def test_the_navigation_opens_the_models_page_of_the_training_dag():
    from run_report_plugin import RunReportPlugin

    nav = next(v for v in RunReportPlugin.external_views if v["destination"] == "nav")
    assert nav["href"].endswith("/dags/fashion_mnist_training/models/")
