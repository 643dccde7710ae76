"""Who sees which page: a model's history only under the DAG that trains it, per-DAG read on every page,
and a logged-out browser sent to Airflow's login page."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

import tests.plugins.report_app as app_tests
from tests.plugins.report_app import DAG, RUN, RUN_URL

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app

OTHER_DAG = "fashion_mnist_rollback"
HISTORY_URL = f"/dags/{DAG}/models/fashion_mnist/"
VERSIONS = {"model_name": "fashion_mnist", "champion": 1, "history": [],
            "versions": [{"version": 1, "dag_id": DAG, "airflow_run_id": RUN, "accuracy": 0.9}]}
# Every route of the plugin that serves something of a DAG's runs
DAG_PAGES = [RUN_URL, RUN_URL + "model-card", RUN_URL + "confusion_matrix.png",
             RUN_URL + "data-docs/validate_raw/index.html", RUN_URL + "mlflow/run", RUN_URL + "mlflow/model-version",
             f"/dags/{DAG}/compare?a={quote(RUN)}&b={quote(RUN)}", HISTORY_URL]


def test_a_models_history_is_not_served_under_a_dag_that_does_not_exist(viewer, monkeypatch):
    monkeypatch.setattr(app_tests, "HISTORY", VERSIONS)
    response = viewer.get("/dags/no_such_dag/models/fashion_mnist/")
    assert response.status_code == 404 and "no such DAG" in response.text and "0.9000" not in response.text
    assert viewer.get(HISTORY_URL).status_code == 200  # the DAG that trains it


def test_a_models_history_is_served_only_under_a_dag_that_trains_it(viewer, monkeypatch):
    # Given a DAG Airflow knows (the rollback DAG) that neither defaults to the model nor registered a version of it
    monkeypatch.setattr(app_tests, "DAG_MODELS", {DAG: {"fashion_mnist"}, OTHER_DAG: set()})
    monkeypatch.setattr(app_tests, "HISTORY", VERSIONS)
    # Then the model's history is not shown under it
    assert viewer.get(f"/dags/{OTHER_DAG}/models/fashion_mnist/").status_code == 404
    # Nor under the training DAG a model that is not its default and that none of its runs registered
    monkeypatch.setattr(app_tests, "HISTORY", {**VERSIONS, "versions": [{**VERSIONS["versions"][0], "dag_id": None}]})
    assert viewer.get(f"/dags/{DAG}/models/someone_elses_model/").status_code == 404
    # But a model one of a DAG's runs registered is, even if it is not the DAG's default name
    monkeypatch.setattr(app_tests, "HISTORY", {**VERSIONS, "versions": [{**VERSIONS["versions"][0],
                                                                          "dag_id": OTHER_DAG}]})
    assert viewer.get(f"/dags/{OTHER_DAG}/models/fashion_mnist/").status_code == 200


def test_every_page_of_a_dag_is_refused_to_a_user_who_may_not_read_that_dag(viewer, auth_manager, monkeypatch):
    seen = []
    allowed = auth_manager.is_authorized_dag

    def per_dag(*, method, details=None, user, access_entity=None):  # an auth manager with per-DAG permissions
        seen.append((method, details.id if details else None, access_entity))
        return details is not None and details.id != DAG and allowed(method=method, details=details, user=user,
                                                                       access_entity=access_entity)

    monkeypatch.setattr(auth_manager, "is_authorized_dag", per_dag)
    for path in DAG_PAGES:
        assert viewer.get(path).status_code == 403, path
    assert ("GET", DAG, None) in seen  # the DAG itself is asked about, not only its runs
    assert viewer.get(f"/dags/{OTHER_DAG}/models/fashion_mnist/").status_code == 404  # readable DAG: on to the checks


def test_dag_models_reads_airflows_dags_and_their_model_name_default(airflow_db):
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from run_report.access import dag_models
    from tests.support.steps import ROOT

    assert dag_models("no_such_dag") is None
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(DagBag(dag_folder=str(ROOT / "dags")), "dags-folder", None)
    assert dag_models(DAG) == set()  # model_name is empty by default: the name follows the data, not the DAG
    assert dag_models("dataset_ingest") == set()


@pytest.mark.parametrize("path", [RUN_URL, HISTORY_URL])
def test_a_logged_out_browser_is_sent_to_the_login_page_and_back(client, path):
    response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                          follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path.endswith("/auth/login")
    assert parse_qs(target.query)["next"] == [f"http://testserver{path}"]


def test_an_api_client_without_a_login_still_gets_401_json(client):
    response = client.get(RUN_URL, headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    assert client.get(RUN_URL).status_code == 401  # no Accept header at all
