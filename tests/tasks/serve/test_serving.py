"""The served endpoint: a real champion behind ``python -m tasks.serve``, asked over loopback HTTP.

Given a model trained on the shipped real Fashion-MNIST sample, registered twice and deployed
as v1, when the local server (TF Serving's REST protocol, MLflow's scoring server behind it)
is asked, then it answers with the champion's predictions and version; when ``deploy`` and
``rollback`` move the champion under a steady stream of requests, the server follows with no
failed request and every response names the version that answered.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.data.arrays import Bundle, save_bundle
from tests.support.serving import local_server
from tests.support.steps import ROOT, call_step
from tests.tasks.helpers import build_and_train, result_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
MODEL = "served_test"
SAMPLE = ROOT / "tasks" / "data" / "samples" / "fashion-mnist-sample.csv.gz"


def _bundles(folder) -> dict[str, str]:
    frame = pd.read_csv(SAMPLE)
    x = frame.drop(columns="label").to_numpy(np.uint8).reshape(-1, 28, 28)
    y = frame["label"].to_numpy(np.int64)
    paths = {}
    for name, rows in (("train", slice(0, 700)), ("val", slice(700, 800)), ("test", slice(800, None))):
        paths[name] = str(folder / f"{name}.npz")
        save_bundle(folder / f"{name}.npz", Bundle(x[rows], y[rows], FASHION_MNIST_CATEGORIES, "integer"))
    return paths


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Two registered versions of one model trained on the real sample; v1 deployed."""
    root = tmp_path_factory.mktemp("served")
    data = _bundles(root)
    model, _ = build_and_train(root, data, size=28, units=32, learning_rate=0.005, epochs=4, batch_size=32)
    evaluated = call_step("evaluate", "--model", model["model"], "--test", data["test"], "--output", str(root / "e"))
    assert evaluated.returncode == 0, evaluated.stderr
    store = {"uri": f"sqlite:///{root / 'mlflow.db'}", "serving": root / "serving", "root": root}
    for _ in range(2):
        done = call_step("register", "--tracking-uri", store["uri"], "--model-name", MODEL, "--model", model["model"],
                         "--history", model["history"], "--metrics", str(root / "e" / "metrics.json"), "--test",
                         data["test"], "--output", str(root / "r"))
        assert done.returncode == 0, done.stderr
    assert promote(store, "deploy", "--version", "1").returncode == 0
    rows = pd.read_csv(SAMPLE).iloc[800:840]
    rows.to_csv(root / "rows.csv", index=False)
    store["rows"] = str(root / "rows.csv")
    return store


def promote(store, step: str, *args: str):
    output = ["--output", str(store["root"] / f"deploy-{args[-1]}")] if step == "deploy" else []
    return call_step(step, "--tracking-uri", store["uri"], "--model-name", MODEL, "--serving-root",
                     str(store["serving"]), "--reason", "serving test", *output, *args)


def get(url: str, body: dict | None = None) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), dict(err.headers)


@pytest.fixture(scope="module")
def server(registry):
    """``python -m tasks.serve`` on a free loopback port, ready (v1 loaded); stopped with SIGTERM after."""
    with local_server(registry["serving"], MODEL, registry["root"] / "serve.log") as base:
        yield base


def test_the_champion_answers_in_tf_servings_protocol_and_names_its_version(registry, server):
    # When the endpoint is asked through the predict step, then the served v1 answers every row...
    served = call_step("predict", "--endpoint", server, "--model-name", MODEL, "--input", registry["rows"],
                       "--image-height", "28", "--image-width", "28", "--limit", "40")
    assert served.returncode == 0, served.stderr
    remote = result_of(served)
    assert (remote["model_version"], remote["rows"]) == ("1", 40)
    # ... exactly as the registered model does in process, and far better than chance on real images.
    local = result_of(call_step("predict", "--model-uri", f"models:/{MODEL}/1", "--tracking-uri", registry["uri"],
                                "--input", registry["rows"], "--image-height", "28", "--image-width", "28",
                                "--limit", "40"))
    assert [p["predicted"] for p in remote["predictions"]] == [p["predicted"] for p in local["predictions"]]
    assert remote["accuracy"] == local["accuracy"] > 0.4
    # TF Serving's model status and its errors, on the same paths.
    status, body, headers = get(f"{server}/v1/models/{MODEL}")
    assert status == 200 and body["model_version_status"][0] == {
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    assert get(f"{server}/v1/models/other:predict", {"instances": [[[0.0] * 28] * 28]})[0] == 404
    status, body, headers = get(f"{server}/v1/models/{MODEL}:predict", {"instances": [[0.0] * 5]})
    assert status == 400 and body["error"] and headers["X-Model-Version"] == "1"


class RequestLoop(threading.Thread):
    """Predicts one real image over and over until stopped; records the version of each answer or the failure."""

    def __init__(self, url: str, image: list) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, {"instances": [image]}
        self.versions: list[str] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 300  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                status, body, headers = get(self.url, self.body)
            except OSError as err:
                self.failures.append(repr(err))
                continue
            if status != 200 or len(body.get("predictions", [])) != 1:
                self.failures.append(f"{status} {body}")
            else:
                assert body["model_version"] == headers["X-Model-Version"]
                self.versions.append(body["model_version"])

    def wait_for(self, version: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (not self.versions or self.versions[-1] != version):
            time.sleep(0.2)
        assert self.versions and self.versions[-1] == version, f"still v{self.versions[-1:]}, {self.failures[:3]}"


def test_deploy_and_rollback_switch_what_is_served_without_a_failed_request(registry, server):
    image = (pd.read_csv(SAMPLE).iloc[900, 1:].to_numpy(np.float32) / 255).reshape(28, 28).tolist()
    loop = RequestLoop(f"{server}/v1/models/{MODEL}:predict", image)
    loop.start()
    try:
        loop.wait_for("1")
        # When v2 is deployed and then rolled back, while requests keep coming...
        assert promote(registry, "deploy", "--version", "2").returncode == 0
        loop.wait_for("2")
        assert promote(registry, "rollback").returncode == 0
        loop.wait_for("1")
        time.sleep(1)
    finally:
        loop.stop.set()
        loop.join(timeout=60)
    # ... then no request failed, and the answers went v1 -> v2 -> v1, never back and forth.
    assert loop.failures == []
    switches = [v for i, v in enumerate(loop.versions) if i == 0 or v != loop.versions[i - 1]]
    assert switches == ["1", "2", "1"], switches
    assert len(loop.versions) > 20
