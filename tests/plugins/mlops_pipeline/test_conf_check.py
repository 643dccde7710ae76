"""A conf the DAG's Params do not allow is refused in one line: unknown keys with the Param meant,
out-of-range or wrong-type values with the Param's rule, repeated category names with the step's own rule."""

from __future__ import annotations

import functools
import json

import pytest
from airflow.sdk.exceptions import AirflowFailException
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mlops_pipeline import conf_check
from mlops_pipeline.conf_check import RefuseBadConf, check_conf, conf_problem, refusal, unknown_conf_keys
from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tests.dags.dag_loading import dag_module, training_dag

DAG_ID = "fashion_mnist_training"
PARAMS = list(training_dag().params)
FORM = dag_module().FORM  # the DAG file's {name: Param}, as its first task holds them
NAMES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
REPEATED = ",".join(["bag", *NAMES[1:8], "bag", "boot"])  # ten names, 'bag' twice: the form's pattern passes it
BAD_CONFS = [({"epochs": 5000}, "Invalid input for param epochs: 5000 is greater than the maximum of 1000"),
             ({"learning_rate": 0}, "param learning_rate: 0 is less than or equal to the minimum of 0"),
             ({"epochs": "ten"}, "param epochs: 'ten' is not of type 'integer'"),
             ({"model_type": "rnn"}, "param model_type: 'rnn' is not one of ['mlp', 'cnn']"),
             ({"categories": REPEATED}, "category names must be distinct ('bag' is repeated)")]


@functools.cache
def serialized_params():
    """The training DAG's Params as the API server reads them from the database (merging copies them)."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(training_dag())).params


def test_a_typo_is_named_with_the_param_it_was_meant_for():
    unknown = unknown_conf_keys({"epoch": 5, "epochs": 3, "dataset_url": "x"}, PARAMS)
    assert unknown == ["dataset_url", "epoch"]
    message = refusal("fashion_mnist_training", unknown, PARAMS)
    assert "'epoch' (did you mean 'epochs'?)" in message and "'dataset_url' (did you mean 'dataset_uri'?)" in message
    assert "\n" not in message and len(message) <= 240


def test_known_keys_no_conf_and_dags_without_params_pass():
    assert unknown_conf_keys({"epochs": 5}, PARAMS) == [] and unknown_conf_keys(None, PARAMS) == []
    assert unknown_conf_keys({"anything": 1}, []) == []
    check_conf("d", {"epochs": 5}, FORM)


def test_the_first_task_fails_the_run_without_retry():
    with pytest.raises(AirflowFailException, match="unknown conf key"):
        check_conf(DAG_ID, {"epoch": 5}, FORM)


def test_many_unknown_keys_are_cut_short():
    message = refusal("d", [f"k{i}" * 30 for i in range(50)], PARAMS)
    assert "and 45 more" in message and len(message) <= 400


@pytest.fixture()
def api(monkeypatch):
    """An app standing in for the API server's trigger route, wrapped by the middleware."""
    params = serialized_params()
    monkeypatch.setattr(conf_check, "_dag_params", lambda dag: params if dag == DAG_ID else None)
    app = FastAPI()
    created = []

    @app.post("/api/v2/dags/{dag_id}/dagRuns")
    async def trigger(dag_id: str, body: dict) -> dict:
        created.append(body)
        return {"dag_id": dag_id, "conf": body.get("conf")}

    @app.post("/api/v2/backfills")
    @app.post("/api/v2/backfills/dry_run")
    async def backfill(body: dict) -> dict:
        created.append(body)
        return {"dag_id": body.get("dag_id"), "dag_run_conf": body.get("dag_run_conf")}

    app.add_middleware(RefuseBadConf)
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


@pytest.mark.parametrize(("conf", "named"), BAD_CONFS)
def test_a_value_the_params_refuse_is_named_with_its_param_and_rule_in_one_line(conf, named):
    # Given the training DAG's Params as the API server reads them
    # When a conf breaks one Param's rule
    message = conf_problem(DAG_ID, conf, serialized_params())

    # Then the one line names the DAG, the Param and the rule
    assert message.startswith(f"{DAG_ID}: ") and named in message
    assert "\n" not in message and len(message) <= conf_check.MAX_LINE


@pytest.mark.parametrize(("conf", "named"), BAD_CONFS)
def test_the_first_task_refuses_the_same_confs_with_the_same_line(conf, named):
    # Given the DAG file's Params (what the first task holds for a run the CLI created)
    # When it checks a conf the API server would refuse
    with pytest.raises(AirflowFailException) as refused:
        check_conf(DAG_ID, conf, FORM)

    # Then the run fails with the very line the API server answers
    assert str(refused.value) == conf_problem(DAG_ID, conf, serialized_params())


def test_repeated_category_names_are_refused_by_the_rule_the_steps_apply():
    # Given ten category names with one repeated, which the form's pattern lets through
    # When a step parses them and the conf guard checks them
    with pytest.raises(StepError) as step:
        CONTRACTS["prepare"].parse(["--input=x", "--output=y", f"--categories={REPEATED}"])
    message = conf_problem(DAG_ID, {"categories": REPEATED}, serialized_params())

    # Then both say the same thing: one rule, applied in both places
    assert message == f"{DAG_ID}: conf {step.value}"


def test_good_values_and_the_defaults_pass_both_guards():
    conf = {"epochs": 5, "learning_rate": 0.01, "categories": ", ".join(NAMES), "base_model_uri": None}
    assert conf_problem(DAG_ID, conf, serialized_params()) is None
    check_conf(DAG_ID, conf, FORM)
    check_conf(DAG_ID, {}, FORM)
    assert conf_problem("free", {"anything": "goes"}, {}) is None


@pytest.mark.parametrize("path", ["/api/v2/backfills", "/api/v2/backfills/dry_run"])
def test_the_middleware_refuses_a_backfill_with_a_bad_conf_before_the_route_runs(api, path):
    client, created = api
    window = {"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-20T00:00:00Z"}
    for conf, named in [({"epoch": 5}, "did you mean 'epochs'"), *BAD_CONFS]:
        response = client.post(path, json={"dag_id": DAG_ID, **window, "dag_run_conf": conf})
        assert response.status_code == 400 and named in response.json()["detail"], response.text
    assert created == []


def test_the_middleware_passes_good_backfills_and_those_it_cannot_judge(api):
    client, created = api
    window = {"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-20T00:00:00Z"}
    bodies = [{"dag_id": DAG_ID, **window, "dag_run_conf": {"epochs": 5}},
              {"dag_id": DAG_ID, **window},  # no conf: Airflow's defaults
              {"dag_id": "unknown_dag", **window, "dag_run_conf": {"epoch": 5}},  # Airflow answers 404
              {"dag_id": 7, **window, "dag_run_conf": {"epoch": 5}}]  # Airflow answers 422
    for body in bodies:
        assert client.post("/api/v2/backfills", json=body).status_code == 200
    assert created == bodies
