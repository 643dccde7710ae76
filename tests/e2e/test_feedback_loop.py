"""End to end: users' feedback on the served champion becomes a new dataset version, which the ingest DAG
versions and publishes (the training DAG's Asset event); a monitoring run within bounds changes nothing.

Given a champion trained on the shipped real Fashion-MNIST sample (step CLIs, 3 epochs), deployed and served
(``python -m tasks.serve``), and the sample as the store's current dataset; when 200 of its images go through
the feedback API (150 PNG, 50 CSV rows) and 150 get their true label (some correcting the model), then the
monitoring DAG with a bound that the live accuracy breaks lands the dataset plus those 150 rows, and alerts;
the ingest DAG stores that file as a new version and publishes it; the model history page shows the live
accuracy; the training DAG, unpaused, is queued by that Asset event, and the asset-triggered run the
scheduler would create from it (``scripts/run_dag.py --asset-triggered``: the queued events, consumed as the
scheduler consumes them) trains on exactly that version; a second monitoring run with bounds it keeps lands
nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.data.arrays import Bundle, save_bundle
from tests.support import dag_runs
from tests.support.serving import local_server
from tests.support.steps import ROOT, call_step

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
MODEL, DAG = "fashion_mnist", "fashion_mnist_training"
SAMPLE = ROOT / "tasks" / "data" / "samples" / "fashion-mnist-sample.csv.gz"


def ok(done) -> dict:
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_dag(dag_id: str, conf: dict, sink: Path, *flags: str) -> dict:
    # the hook is the tests' own module, and tests/ is not part of the installed package
    hook = {"PIPELINE_ALERT_HOOK": "tests.support.alert_sink:record", "ALERT_SINK": str(sink),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return dag_runs.run_dag(None, conf, dag_id, 600, flags, hook)


@pytest.fixture(scope="module")
def champion(airflow_db, module_state_dir):
    """The sample as the store's current dataset, and a model trained on it, registered and deployed as v1."""
    state = module_state_dir
    (state / "landing").mkdir()
    shutil.copy(SAMPLE, state / "landing" / SAMPLE.name)
    stored = ok(call_step("ingest", "--landing", str(state / "landing"), "--store", str(state / "datasets"),
                          "--min-age", "0", "--max-wait", "0"))
    frame = pd.read_csv(SAMPLE)
    x = frame.drop(columns="label").to_numpy(np.uint8).reshape(-1, 28, 28)
    y = frame["label"].to_numpy(np.int64)
    for name, rows in (("train", slice(0, 700)), ("val", slice(700, 800)), ("test", slice(800, None))):
        save_bundle(state / f"{name}.npz", Bundle(x[rows], y[rows], FASHION_MNIST_CATEGORIES, "integer"))
    built = ok(call_step("build_model", "--output", str(state / "b"), "--image-height", "28", "--image-width", "28",
                         "--units", "32", "--learning-rate", "0.005"))
    trained = ok(call_step("train", "--model", built["model"], "--train", str(state / "train.npz"), "--validation",
                           str(state / "val.npz"), "--output", str(state / "t"), "--epochs", "3"))
    ok(call_step("evaluate", "--model", trained["model"], "--test", str(state / "test.npz"), "--output",
                 str(state / "e")))
    uri = f"sqlite:///{state / 'mlflow' / 'mlflow.db'}"
    ok(call_step("register", "--tracking-uri", uri, "--model-name", MODEL, "--model", trained["model"], "--history",
                 trained["history"], "--metrics", str(state / "e" / "metrics.json"), "--test", str(state / "test.npz"),
                 "--output", str(state / "r")))
    ok(call_step("deploy", "--tracking-uri", uri, "--model-name", MODEL, "--version", "1", "--serving-root",
                 str(state / "serving"), "--reason", "feedback loop test", "--output", str(state / "d")))
    return {"state": state, "frame": frame, "dataset": stored}


@pytest.fixture(scope="module")
def server(champion):
    with local_server(champion["state"] / "serving", MODEL, champion["state"] / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def user(server):
    """A logged-in viewer of the training DAG, through the run-report app as the API server mounts it."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from run_report import app as report_app
    from run_report import feedback

    manager = create_auth_manager()
    manager.init()
    report_app.app.dependency_overrides[report_app.dag_models] = lambda dag_id: {MODEL} if dag_id == DAG else None
    report_app.app.dependency_overrides[feedback.serving_url] = lambda: server
    client = TestClient(report_app.app)
    client.cookies.set("_token", manager.generate_jwt(SimpleAuthManagerUser(username="tester", role="VIEWER")))
    yield client
    report_app.app.dependency_overrides.clear()


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.reshape(28, 28).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_feedback_becomes_a_new_dataset_version_and_bounds_kept_change_nothing(champion, user):
    state, frame = champion["state"], champion["frame"]
    base = f"/dags/{DAG}/models/{MODEL}/feedback/api/predictions"
    pixels = frame.drop(columns="label").to_numpy(np.uint8)
    answers = []
    for i in range(200):  # when 200 images are sent, 150 as PNG and 50 as CSV rows
        body, kind = ((png(pixels[i]), "image/png") if i < 150 else
                      (",".join(map(str, frame.iloc[i].tolist())), "text/csv"))
        response = user.post(base, content=body, headers={"Content-Type": kind})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    assert {a["model_version"] for a in answers} == {"1"}
    truth = frame["label"].to_numpy()
    for i, answer in enumerate(answers[:150]):  # and 150 get their true label
        response = user.post(f"{base}/{answer['prediction_id']}/label", json={"label": int(truth[i])})
        assert response.status_code == 200, response.text
    corrected = sum(a["predicted_code"] != truth[i] for i, a in enumerate(answers[:150]))
    assert 0 < corrected < 150  # some labels correct the model

    sink = state / "alerts.log"
    fired = run_dag("model_monitoring", {"min_labelled": 100, "min_live_accuracy": 0.99, "max_drift": 100}, sink)

    assert fired["state"] == "success" and fired["tasks"]["alert"] == "success", fired
    landed = sorted((state / "landing").glob("feedback-*.csv.gz"))
    assert len(landed) == 1
    digest = hashlib.sha256(landed[0].read_bytes()).hexdigest()
    lines = gzip.decompress(landed[0].read_bytes()).decode().splitlines()
    old = gzip.decompress(SAMPLE.read_bytes()).decode().splitlines()
    assert lines[:len(old)] == old and len(lines) == len(old) + 150
    added = [line.split(",") for line in lines[len(old):]]
    assert [int(row[0]) for row in added] == truth[:150].tolist()
    assert np.array_equal(np.array([row[1:] for row in added], dtype=int), pixels[:150])
    alerts = sink.read_text()
    assert f"{MODEL} v1: live accuracy {1 - corrected / 150:.4f}" in alerts and landed[0].name in alerts

    os.utime(landed[0], (time.time() - 120, time.time() - 120))  # settled, as after the ingest DAG's wait
    set_paused(DAG, False)  # the training DAG is live: an Asset update queues a run of it
    ingested = run_dag("dataset_ingest", {}, sink)

    assert ingested["state"] == "success" and ingested["tasks"]["publish"] == "success", ingested
    index = [json.loads(line) for line in (state / "datasets" / "index.jsonl").read_text().splitlines()]
    assert index[-1]["status"] == "new" and index[-1]["sha256"] == digest
    assert digest.startswith(landed[0].name.removeprefix("feedback-").removesuffix(".csv.gz"))
    assert dataset_event_shas()[-1] == digest  # the training DAG's Asset event

    # No image size in the conf: the Params' defaults are the 8x8 digits', the stored version says 28x28
    # (only the epochs are cut, for the test's time; the model's name follows the 28x28 input).
    trained = run_dag(DAG, {"epochs": 2}, sink, "--asset-triggered")

    assert trained["run_type"] == "asset_triggered" and trained["state"] == "success", trained
    assert trained["dataset"] == {"uri": index[-1]["uri"], "trigger": "asset_event", "version": digest,
                                  "image_height": 28, "image_width": 28}
    assert trained["registration"]["model_name"] == MODEL
    assert trained_on(trained["registration"]["run_id"], state) == (index[-1]["uri"], digest)
    set_paused(DAG, True)

    history = user.get(f"/dags/{DAG}/models/{MODEL}/")
    assert history.status_code == 200
    assert "on 150 labelled (95% CI" in history.text and "of 200 answered" in history.text

    kept = run_dag("model_monitoring", {"min_labelled": 100, "min_live_accuracy": 0.0, "max_drift": 100}, sink)

    assert kept["state"] == "success", kept
    assert sorted(p.name for p in (state / "landing").iterdir() if p.is_file()) == []
    assert [json.loads(line) for line in (state / "datasets" / "index.jsonl").read_text().splitlines()] == index


def set_paused(dag_id: str, paused: bool) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = paused


def trained_on(run_id: str, state: Path) -> tuple[str, str]:
    """The dataset URI and version the registered model's MLflow run records (its lineage tags)."""
    from mlflow.tracking import MlflowClient

    tags = MlflowClient(f"sqlite:///{state / 'mlflow' / 'mlflow.db'}").get_run(run_id).data.tags
    return tags["dataset_uri"], tags["dataset_version"]


def dataset_event_shas() -> list[str]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                 .where(AssetModel.name == "fashion_mnist_dataset").order_by(AssetEvent.id))
        return [(event.extra or {}).get("sha256") for event in session.scalars(query)]
