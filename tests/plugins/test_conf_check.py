"""Unknown conf keys are refused in one line that names them and the Param meant."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mlops_pipeline import conf_check
from mlops_pipeline.conf_check import RefuseUnknownConf, check_conf, refusal, unknown_conf_keys
from tests.dags.dag_loading import training_dag

PARAMS = list(training_dag().params)


def test_a_typo_is_named_with_the_param_it_was_meant_for():
    unknown = unknown_conf_keys({"epoch": 5, "epochs": 3, "dataset_url": "x"}, PARAMS)
    assert unknown == ["dataset_url", "epoch"]
    message = refusal("fashion_mnist_training", unknown, PARAMS)
    assert "'epoch' (did you mean 'epochs'?)" in message and "'dataset_url' (did you mean 'dataset_uri'?)" in message
    assert "\n" not in message and len(message) <= 240


def test_known_keys_no_conf_and_dags_without_params_pass():
    assert unknown_conf_keys({"epochs": 5}, PARAMS) == [] and unknown_conf_keys(None, PARAMS) == []
    assert unknown_conf_keys({"anything": 1}, []) == []
    check_conf("d", {"epochs": 5}, PARAMS)


def test_the_first_task_fails_the_run_without_retry():
    with pytest.raises(AirflowFailException, match="unknown conf key"):
        check_conf("fashion_mnist_training", {"epoch": 5}, PARAMS)


def test_many_unknown_keys_are_cut_short():
    message = refusal("d", [f"k{i}" * 30 for i in range(50)], PARAMS)
    assert "and 45 more" in message and len(message) <= 400


@pytest.fixture()
def api(monkeypatch):
    """An app standing in for the API server's trigger route, wrapped by the middleware."""
    monkeypatch.setattr(conf_check, "_dag_params", lambda dag: PARAMS if dag == "fashion_mnist_training" else None)
    app = FastAPI()
    created = []

    @app.post("/api/v2/dags/{dag_id}/dagRuns")
    async def trigger(dag_id: str, body: dict) -> dict:
        created.append(body)
        return {"dag_id": dag_id, "conf": body.get("conf")}

    app.add_middleware(RefuseUnknownConf)
    return TestClient(app), created


def test_the_middleware_refuses_unknown_keys_before_the_route_runs(api):
    client, created = api
    response = client.post("/api/v2/dags/fashion_mnist_training/dagRuns", json={"conf": {"epoch": 5}})
    assert response.status_code == 400 and "did you mean 'epochs'" in response.json()["detail"]
    assert created == []


def test_the_middleware_passes_good_and_unrelated_requests_with_their_body(api):
    client, created = api
    ok = client.post("/api/v2/dags/fashion_mnist_training/dagRuns", json={"conf": {"epochs": 5}, "note": "n"})
    assert ok.status_code == 200 and ok.json()["conf"] == {"epochs": 5}
    assert client.post("/api/v2/dags/other/dagRuns", json={"conf": {"free": 1}}).status_code == 200
    raw = client.post("/api/v2/dags/fashion_mnist_training/dagRuns", content=b"not json",
                      headers={"content-type": "application/json"})
    assert raw.status_code == 422  # Airflow's own validation answers
    assert [body["conf"] for body in created] == [{"epochs": 5}, {"free": 1}]
    assert json.loads(json.dumps(created[0])) == {"conf": {"epochs": 5}, "note": "n"}
