"""Airflow's own API server, in process, with our plugins: a bad conf creates no run, whichever way it is posted.

The app is ``airflow.api_fastapi.app.create_app()`` (plugins, middlewares, auth and routes as
``airflow api-server`` builds them) over a migrated SQLite database holding the serialized DAGs,
so the requests reach Airflow's real trigger and backfill routes.
"""

from __future__ import annotations

import pytest

from tests.support.steps import ROOT

pytestmark = pytest.mark.integration  # Airflow's real API server app, its routes and database

DAG_ID = "fashion_mnist_training"
WINDOW = {"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-20T00:00:00Z"}  # three Monday cron times
REPEATED = "bag,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,boot"
BAD_CONFS = [({"epoch": 5}, "unknown conf key(s) 'epoch' (did you mean 'epochs'?)"),
             ({"epochs": 5000}, "param epochs: 5000 is greater than the maximum of 1000"),
             ({"batch_size": "big"}, "param batch_size: 'big' is not of type 'integer'"),
             ({"categories": REPEATED}, "category names must be distinct ('bag' is repeated)")]


@pytest.fixture(scope="module")
def api(airflow_db):
    """A client of the real API server app, logged in as an admin, with the DAGs stored as the processor does."""
    from airflow.api_fastapi.app import create_app, create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from fastapi.testclient import TestClient

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(DagBag(dag_folder=str(ROOT / "dags")), "dags-folder", None)
    app = create_app()
    manager = create_auth_manager()
    manager.init()
    token = manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="ADMIN"))
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def created_rows() -> tuple[int, int]:
    """How many backfills and DAG runs of the training DAG the database holds."""
    from airflow.models.backfill import Backfill
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return (session.scalar(select(func.count()).select_from(Backfill).where(Backfill.dag_id == DAG_ID)),
                session.scalar(select(func.count()).select_from(DagRun).where(DagRun.dag_id == DAG_ID)))


@pytest.mark.parametrize(("conf", "named"), BAD_CONFS)
def test_a_backfill_with_a_bad_conf_is_refused_in_one_line_and_creates_nothing(api, conf, named):
    # Given the training DAG stored by the DAG processor, and what the database holds
    before = created_rows()

    # When its backfill is previewed (the form's Backfill mode does) and created with a bad conf
    preview = api.post("/api/v2/backfills/dry_run", json={"dag_id": DAG_ID, **WINDOW, "dag_run_conf": conf})
    created = api.post("/api/v2/backfills", json={"dag_id": DAG_ID, **WINDOW, "dag_run_conf": conf})

    # Then both answer 400 with the one line a trigger gets, and no backfill or run exists
    for response in (preview, created):
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert detail.startswith(f"{DAG_ID}: ") and named in detail and "\n" not in detail
    assert created_rows() == before


@pytest.mark.parametrize(("conf", "named"), BAD_CONFS)
def test_a_trigger_with_a_bad_conf_gets_the_same_line_and_no_run(api, conf, named):
    before = created_rows()

    response = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf})

    assert response.status_code == 400 and named in response.json()["detail"], response.text
    assert "\n" not in response.json()["detail"]
    assert created_rows() == before


def test_a_backfill_preview_with_a_good_conf_reaches_airflows_route(api):
    # The guard lets a good conf through: Airflow's own route answers with the runs it would create
    response = api.post("/api/v2/backfills/dry_run", json={"dag_id": DAG_ID, **WINDOW, "dag_run_conf": {"epochs": 3}})

    assert response.status_code == 200, response.text
    assert [run["logical_date"] for run in response.json()["backfills"]] == [
        "2026-01-05T03:00:00Z", "2026-01-12T03:00:00Z", "2026-01-19T03:00:00Z"]
