"""Hostile data and careless input against a real ``airflow standalone``, a real REST client and Chromium.

Given the training DAG (paused, so no run executes) and a run's artifacts written by the real
``validate`` step from a CSV whose last column is ``<img src=x onerror=alert(1)>`` and whose
label is the same text:

- a trigger with an unknown conf key (``{"epoch": 5}``) through ``POST /api/v2/dags/{dag_id}/dagRuns``
  is answered 400 naming the key, and no run is created;
- the run report serves a run only under its exact id: the id ``path_safe`` folded it onto is 404;
- in Chromium, logged in as admin, our Data Docs show the hostile text as text, Great Expectations'
  own page (unescaped) and the report run no script, and the report's image still shows.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from mlops_pipeline.run_keys import run_key
from tests.support.airflow_server import ROOT, Standalone
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, SHOTS, log_in

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DAG = "fashion_mnist_training"
XSS = "<img src=x onerror=alert(1)>"
XSS_LOG = "<img src=x onerror=console.log('XSS-RAN')>"
RUN_ID = "manual__2026-11-25T02:55:55.353611+00:00"
ALIAS = "manual__2026-11-25T02_55_55.353611_00_00"  # what path_safe made of RUN_ID, typed in the form's Run ID
PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                           "awAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    server = Standalone(tmp_path_factory.mktemp("standalone")).start()
    try:
        server.wait_healthy()
        token = server.token()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # the DAG processor has parsed the DAG
            try:
                server.api("GET", f"/api/v2/dags/{DAG}", token=token)
                break
            except urllib.error.HTTPError:
                time.sleep(3)
        yield server
    finally:
        server.stop()


def _post(airflow: Standalone, body: dict) -> tuple[int, dict]:
    try:
        return 200, airflow.api("POST", f"/api/v2/dags/{DAG}/dagRuns", body, airflow.token())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _runs(airflow: Standalone) -> list[str]:
    runs = airflow.api("GET", f"/api/v2/dags/{DAG}/dagRuns", token=airflow.token())["dag_runs"]
    return [run["dag_run_id"] for run in runs]


def test_rest_api_refuses_unknown_conf_keys_and_creates_no_run(airflow):
    before = _runs(airflow)
    status, body = _post(airflow, {"logical_date": None, "conf": {"epoch": 5}})
    assert status == 400, body
    assert "'epoch' (did you mean 'epochs'?)" in body["detail"] and "\n" not in body["detail"]
    assert _runs(airflow) == before

    status, body = _post(airflow, {"logical_date": None, "dag_run_id": "manual__rest_ok", "conf": {"epochs": 5}})
    assert status == 200 and body["conf"] == {"epochs": 5} and body["dag_run_id"] == "manual__rest_ok"


def _hostile_csv(folder: Path) -> Path:
    rows = ["label,pixel1,pixel2,pixel3," + XSS]
    rows += [f"T-shirt/top,{i % 256},1,2,3" for i in range(30)] + [f'"{XSS}",1,2,3,4', f'"{XSS_LOG}",1,2,3,4']
    path = folder / "hostile.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _write_hostile_run(airflow: Standalone, tmp_path: Path) -> Path:
    """What the run's steps would have written: the real validate step's output on the hostile CSV."""
    run = airflow.home / "state" / "artifacts" / DAG / run_key(RUN_ID)
    step = subprocess.run([sys.executable, "-m", "tasks", "validate", "--suite", "raw", "--input",
                           str(_hostile_csv(tmp_path)), "--output", str(run / "validate_raw"), "--image-height", "2",
                           "--image-width", "2", "--min-rows", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300,
                          env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    assert step.returncode == 2, step.stderr[-2000:]  # the suite fails on the hostile header: a one-line refusal
    assert (run / "validate_raw" / "validation.json").is_file()
    (run / "evaluate").mkdir(parents=True)
    (run / "evaluate" / "confusion_matrix.png").write_bytes(PNG_1PX)
    (run / "evaluate" / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "loss": 1.0, "macro_f1": 0.5,
                                                               "test_rows": 4, "per_class": {XSS: {"support": 1}}}))
    (run / "split").mkdir(parents=True)  # a test split whose class names are the payloads, for the picture grid
    classes = np.asarray([XSS, XSS_LOG, *(f"c{i}" for i in range(8))])
    np.savez(run / "split" / "test.npz", x=np.zeros((2, 2, 2), dtype="float32"), y=np.array([0, 1]),
             classes=classes, encoding="integer")
    np.savez(run / "evaluate" / "predictions.npz", predicted=np.array([1, 1], dtype="int16"))
    return run


def _poll_true(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.5)


def test_in_a_real_browser_no_script_from_the_dataset_runs_and_the_results_show(airflow, tmp_path):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    if RUN_ID not in _runs(airflow):
        _post(airflow, {"logical_date": None, "dag_run_id": RUN_ID, "conf": {}})
    run = _write_hostile_run(airflow, tmp_path)
    # An older run's Great Expectations page held the payload unescaped: such pages must run nothing either.
    legacy = run / "validate_raw" / "data_docs" / "expectations" / "legacy.html"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(f"<html><body><table><tr><td>{XSS}</td></tr></table></body></html>")
    gx_pages = [legacy]
    base = f"{airflow.base}/run-report/dags/{DAG}/runs/{quote(RUN_ID, safe='')}/"
    SHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            ran: list[str] = []
            page.on("dialog", lambda dialog: (ran.append(f"dialog {dialog.message}"), dialog.dismiss()))
            page.on("console", lambda msg: ran.append(msg.text) if "XSS-RAN" in msg.text else None)

            page.set_content(f"<p>control</p>{XSS}")  # the detector works: without our headers the payload runs
            page.wait_for_timeout(500)
            assert ran == ["dialog 1"], ran
            ran.clear()

            log_in(page, airflow)
            docs = page.goto(base + "data-docs/validate_raw/index.html")
            assert "sandbox" in docs.headers["content-security-policy"]
            assert docs.headers["x-content-type-options"] == "nosniff"
            page.locator("#verdict").wait_for()
            assert "failed" in page.locator("#verdict").inner_text()
            table = page.locator("#expectations").inner_text()
            assert XSS in table  # shown as text, not as an element
            assert page.locator("img").count() == 0
            page.screenshot(path=SHOTS / "hostile-data-docs.png", full_page=True)

            for gx_page in gx_pages:  # Great Expectations' own pages, unescaped, served under the sandbox
                page.goto(base + "data-docs/validate_raw/" + gx_page.relative_to(run / "validate_raw" / "data_docs")
                          .as_posix())
                page.wait_for_timeout(500)

            page.goto(base)
            page.locator("#accuracy").wait_for()
            image = page.locator("img#confusion-matrix")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            assert XSS in page.locator("table").last.inner_text()
            assert "1 of 2 test images misclassified" in page.locator("#mistakes").inner_text()
            caption = page.locator(".grid figure.miss").inner_text()
            assert f"true: {XSS}" in caption and f"predicted: {XSS_LOG}" in caption  # text, not elements
            assert page.locator(".grid img").count() == 2

            page.goto(f"{airflow.base}/dags/{DAG}/runs/{quote(RUN_ID, safe='')}")
            page.get_by_role("tab", name="Run report").or_(page.get_by_role("link", name="Run report")).first.click()
            framed = page.frame_locator("iframe[title='Run report']")
            framed.locator("#accuracy").wait_for()
            framed_image = framed.locator("img#confusion-matrix")  # evaluated in its own (opaque-origin) frame
            _poll_true(lambda: framed_image.evaluate("img => img.complete && img.naturalWidth > 0"))
            page.wait_for_timeout(500)
            page.screenshot(path=SHOTS / "hostile-run-report-tab.png")
            assert ran == [], ran
            assert page.evaluate("document.title") != "pwned"

            alias = page.goto(f"{airflow.base}/run-report/dags/{DAG}/runs/{ALIAS}/")
            assert alias.status == 404
        finally:
            browser.close()


def test_the_trigger_forms_json_with_an_unknown_key_is_refused_in_the_ui(airflow):
    """A person pastes ``{"epoch": 5}`` into the form's Configuration JSON: the form says why, no run starts."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    before = _runs(airflow)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            log_in(page, airflow)
            page.goto(f"{airflow.base}/dags/{DAG}")
            page.get_by_role("button", name="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            unpause = dialog.get_by_role("checkbox", name=f"Unpause {DAG} on trigger")
            if unpause.is_checked():  # keep the DAG paused: no scheduled run may start behind the test's back
                dialog.get_by_text(f"Unpause {DAG} on trigger").click()
            assert not unpause.is_checked()
            dialog.get_by_text("Advanced Options").click()
            editor = dialog.locator(".monaco-editor").first
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.press("Delete")
            page.keyboard.insert_text('{"epoch": 5}')
            page.keyboard.press("Shift+Control+End")  # the editor auto-closes quotes and braces after the cursor
            page.keyboard.press("Delete")
            page.wait_for_timeout(1000)
            assert "Invalid JSON" not in dialog.inner_text()
            with page.expect_response(lambda r: r.url.endswith(f"/api/v2/dags/{DAG}/dagRuns")
                                      and r.request.method == "POST") as answer:
                dialog.get_by_role("button", name="Trigger").last.click()
            assert answer.value.status == 400
            dialog.get_by_text("did you mean 'epochs'", exact=False).first.wait_for()
            page.screenshot(path=SHOTS / "trigger-form-unknown-key.png")
        finally:
            browser.close()
    assert _runs(airflow) == before


@pytest.mark.parametrize(("dag_id", "first_task", "conf", "hint"), [
    (DAG, "resolve_dataset", {"epoch": 5}, "did you mean 'epochs'"),
    ("fashion_mnist_rollback", "check_conf", {"reasn": "bad model"}, "did you mean 'reason'"),
])  # a value the Params refuse (repeated categories): the same first task,
#     tests/plugins/mlops_pipeline/test_conf_check.py
def test_the_cli_bypasses_the_api_server_so_the_first_task_must_refuse(airflow, dag_id, first_task, conf, hint):
    """``airflow dags trigger -c`` writes the run straight to the database: observed, and caught by check_conf."""
    from tests.support.airflow_server import server_env

    run_id = f"manual__cli_{first_task}_{sorted(conf)[0]}"
    cli = subprocess.run([str(Path(sys.executable).with_name("airflow")), "dags", "trigger", dag_id, "-r",
                          run_id, "-c", json.dumps(conf)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=server_env(airflow.home, airflow.port))
    assert cli.returncode == 0, cli.stderr[-2000:]
    run = airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", token=airflow.token())
    assert run["conf"] == conf  # Airflow 3.3 created it: no hook refuses conf at creation on this path
    first = subprocess.run([str(Path(sys.executable).with_name("airflow")), "tasks", "test", dag_id, first_task,
                            run_id], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=server_env(airflow.home, airflow.port))
    said = first.stdout + first.stderr  # `tasks test` reports a failed task in its log, not in its exit code
    assert "AirflowFailException" in said and hint in said, said[-3000:]
