"""A data scientist's path through the real Airflow UI, in Debian's Chromium driven by Playwright.

Given ``airflow standalone`` on the embedded default and a champion trained for 2 epochs on
the real Fashion-MNIST sample, when a person logs in with the generated admin password, fills
the trigger form (a refused value first, then the real 28x28 sample, 15 epochs and a 0.5
threshold) and triggers, then the run succeeds with that conf; its "Run report" tab shows the
test accuracy, the confusion matrix, the Params the form changed, the pictures and the gate
decision the gate actually took; the comparison with the champion shows the epochs that
differ and draws both runs' curves on one epoch axis; a logged-out browser opening a report page
is sent to the login page; the model history marks the champion the gate left; the model card opens.
Then, with ``make serve``'s server serving that champion, the person sends two of the sample's images
through the feedback page, confirms the first answer and corrects the second, and the champion's live
accuracy on the model history page goes from "no feedback yet" to 1 of 1 to 1 of 2 labelled, with the
Wilson interval of exactly those labels.
Screenshots go to ``$PIPELINE_UI_SCREENSHOTS`` (default ``tests/artifacts/``, git-ignored;
``docs/screenshots/`` holds the README's copies).
"""

from __future__ import annotations

import io
import time
from urllib.parse import quote

import pytest

from tests.support.airflow_server import ROOT, Standalone, free_port
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, SHOTS, log_in
from tests.support.serving import local_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DAG = "fashion_mnist_training"
# The real 999-image sample (28x28); empty cells are a share of cells, so 784-pixel rows need a low rate.
FASHION = {"dataset_uri": "embedded://fashion-mnist-sample", "image_height": 28, "image_width": 28,
           "empty_cell_rate": 0.0001}


SAMPLE = ROOT / "tasks" / "data" / "samples" / "fashion-mnist-sample.csv.gz"


@pytest.fixture(scope="module")
def serving_port() -> int:
    """The port ``make serve``'s server will use; the API server's feedback page is told it up front."""
    return free_port()


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, serving_port):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    server = Standalone(tmp_path_factory.mktemp("standalone"),
                        env={"PIPELINE_SERVING_URL": f"http://127.0.0.1:{serving_port}"}).start()
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(airflow):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            browser.close()


def _poll(what: str, check, timeout: float, every: float = 5):
    """``check()``'s first truthy result, or a TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"{what} after {timeout}s")


def _dag_ready(airflow: Standalone, token: str) -> bool:
    """The DAG processor has parsed the DAG; unpause it (the form's checkbox would too)."""
    try:
        airflow.api("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False}, token)
        return True
    except OSError:
        return False


def _latest_run(airflow: Standalone, token: str) -> dict | None:
    runs = airflow.api("GET", f"/api/v2/dags/{DAG}/dagRuns?order_by=-run_after&limit=1", token=token)["dag_runs"]
    return runs[0] if runs else None


def _finished_run(airflow: Standalone, token: str, timeout: float = 900, other_than: str = "") -> dict:
    def finished():
        run = _latest_run(airflow, token)
        return run if run and run["dag_run_id"] != other_than and run["state"] in ("success", "failed") else None

    try:
        return _poll("the triggered run did not finish", finished, timeout)
    except TimeoutError as err:
        raise TimeoutError(f"{err}\n{airflow.tail()}") from err


def fill_trigger_form(page, airflow: Standalone) -> None:
    """Open the form, choose the real sample, see out-of-bounds epoch counts refused, then 15 epochs, 0.5."""
    page.goto(f"{airflow.base}/dags/{DAG}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Data", exact=True).click()
    for name, value in FASHION.items():
        dialog.locator(f"input[name=element_{name}]").fill(str(value))
    dialog.get_by_role("button", name="Training").click()
    epochs = dialog.locator("input[name=element_epochs]")
    for typed, kept in (("0", "1"), ("5000", "1000")):  # out of bounds: the form holds the value in bounds
        epochs.fill(typed)
        epochs.press("Tab")
        page.wait_for_function("([el, v]) => el.value === v", arg=[epochs.element_handle(), kept])
    epochs.fill("15")
    trigger = dialog.get_by_role("button", name="Trigger")
    dialog.get_by_role("button", name="Deployment").click()
    dialog.locator("input[name=element_accuracy_threshold]").fill("0.5")
    assert trigger.is_enabled()
    dialog.get_by_role("button", name="Training").click()  # one section open at a time: show the epochs
    epochs.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "trigger-form.png")
    trigger.click()


def assert_one_epoch_axis(page) -> None:
    """Both runs' curves share the x axis of the longer run: the shorter ends at its own last epoch."""
    from run_report.curves import PAD, WIDTH

    lines = page.locator("svg").first.locator("polyline").evaluate_all(
        "lines => lines.map(l => l.getAttribute('points').trim().split(/\\s+/).map(p => parseFloat(p)))")
    (short, long) = sorted(lines, key=len)
    assert len(short) < len(long), [len(x) for x in lines]  # 15 epochs (or fewer, early stopping) against 2
    assert long[-1] == WIDTH - PAD and short[-1] < WIDTH - PAD, (short, long)
    expected = PAD + (len(short) - 1) / (len(long) - 1) * (WIDTH - 2 * PAD)
    assert abs(short[-1] - expected) < 0.5, (short[-1], expected)


def live_cell(page, airflow: Standalone, version: str) -> str:
    page.goto(f"{airflow.base}/run-report/dags/{DAG}/models/fashion_mnist/")
    return page.locator(f"#v{version} td.live").inner_text()


def send_image(page, airflow: Standalone, png: bytes, label_for) -> tuple[int, int, str]:
    """Upload ``png`` on the feedback page, read the answer, send ``label_for(predicted code)`` as its label.

    Returns the predicted code, the label sent and the version that answered.
    """
    from tasks.core.layout import FASHION_MNIST_CATEGORIES

    page.goto(f"{airflow.base}/run-report/dags/{DAG}/models/fashion_mnist/feedback")
    page.locator("input[name=image]").set_input_files({"name": "sent.png", "mimeType": "image/png", "buffer": png})
    page.locator("#send").click()
    predicted = FASHION_MNIST_CATEGORIES.index(page.locator("#predicted").inner_text())
    version = page.locator("#model-version").inner_text()
    assert page.locator("#top3 tr").count() == 4  # a header and the three likeliest classes
    label = label_for(predicted)
    page.locator("#label-choice").select_option(str(label))
    page.locator("#send-label").click()
    stored = page.locator("#stored").inner_text()
    assert ("corrects" if label != predicted else "confirms") in stored, stored
    return predicted, label, version


def sample_pngs(count: int) -> list[bytes]:
    import pandas as pd
    from PIL import Image

    pixels = pd.read_csv(SAMPLE, nrows=count).drop(columns="label").to_numpy("uint8").reshape(-1, 28, 28)
    images = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        images.append(buffer.getvalue())
    return images


def feedback_moves_live_accuracy(page, airflow: Standalone, serving_port: int, champion: str) -> None:
    """Confirm one served answer and correct another: the champion's live accuracy is 1/1, then 1/2."""
    from tasks.feedback.stats import wilson_interval

    serving = airflow.home / "state" / "serving"
    with local_server(serving, "fashion_mnist", airflow.home / "serve.log", port=serving_port):
        assert live_cell(page, airflow, champion) == "no feedback yet"
        first, second = sample_pngs(2)
        _, _, version = send_image(page, airflow, first, lambda predicted: predicted)  # confirms
        assert version == champion  # the served champion answered
        low, high = wilson_interval(1, 1)
        assert live_cell(page, airflow, champion) == (
            f"1.0000 on 1 labelled (95% CI {low:.3f}-{high:.3f}) of 1 answered")
        predicted, label, version = send_image(page, airflow, second, lambda p: (p + 1) % 10)  # corrects
        assert version == champion and label != predicted
        low, high = wilson_interval(1, 2)
        assert live_cell(page, airflow, champion) == (
            f"0.5000 on 2 labelled (95% CI {low:.3f}-{high:.3f}) of 2 answered")
        page.screenshot(path=SHOTS / "model-history-live.png", full_page=True)


def test_trigger_from_the_form_and_read_the_run_report(airflow, page, serving_port):
    SHOTS.mkdir(parents=True, exist_ok=True)
    token = airflow.token()
    _poll("the DAG was not parsed", lambda: _dag_ready(airflow, token), timeout=180)
    first = airflow.api("POST", f"/api/v2/dags/{DAG}/dagRuns", {"logical_date": None, "conf": {
        **FASHION, "epochs": 2, "accuracy_threshold": 0.0}}, token)  # the champion the form's run is judged against
    champion_run = _finished_run(airflow, token)
    assert champion_run["dag_run_id"] == first["dag_run_id"] and champion_run["state"] == "success", airflow.tail()
    page.goto(f"{airflow.base}/run-report/dags/{DAG}/models/fashion_mnist/")  # logged out: to the login page
    page.locator("input[name=username]").wait_for()
    assert "/auth/login" in page.url and "next=" in page.url, page.url
    log_in(page, airflow)
    fill_trigger_form(page, airflow)

    run = _finished_run(airflow, token, other_than=first["dag_run_id"])
    assert run["conf"]["epochs"] == 15 and run["conf"]["accuracy_threshold"] == 0.5
    assert {key: run["conf"][key] for key in FASHION} == FASHION
    assert run["state"] == "success", airflow.tail()

    page.goto(f"{airflow.base}/dags/{DAG}/runs/{quote(run['dag_run_id'], safe='')}")
    page.get_by_role("tab", name="Run report").or_(page.get_by_role("link", name="Run report")).first.click()
    report = page.frame_locator("iframe[title='Run report']")
    accuracy = report.locator("#accuracy")
    accuracy.wait_for()
    assert 0.5 <= float(accuracy.inner_text()) <= 1.0
    image = report.locator("img#confusion-matrix")
    image.scroll_into_view_if_needed()  # the report is sandboxed (an opaque origin): evaluate inside its frame
    _poll("the confusion matrix did not load", lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"),
          timeout=60, every=0.5)
    run_url = f"/api/v2/dags/{DAG}/dagRuns/{quote(run['dag_run_id'], safe='')}"
    deployed = airflow.api("GET", f"{run_url}/taskInstances/deploy", token=token)["state"] == "success"
    shown = report.locator("#gate").inner_text()  # the decision shown is the one the gate took
    assert shown.startswith("Decision: do not deploy") != deployed and ("deploy" in shown.split("—")[0]), shown
    changed = report.locator("#params-changed").inner_text()  # the form changed these from their defaults
    assert "epochs" in changed and "accuracy_threshold" in changed, changed
    assert "misclassified" in report.locator("#mistakes").inner_text() and report.locator(".grid img").count() > 0
    assert report.locator("a#compare-champion").count() == 1  # judged against a champion: the report links to it
    page.screenshot(path=SHOTS / "run-report-tab.png")

    page.goto(f"{airflow.base}/run-report/dags/{DAG}/runs/{quote(run['dag_run_id'], safe='')}/")
    page.locator("#accuracy").wait_for()
    page.screenshot(path=SHOTS / "run-report.png", full_page=True)

    page.goto(f"{airflow.base}/run-report/dags/{DAG}/compare?a={quote(run['dag_run_id'], safe='')}")
    assert "(champion v1 when A was judged)" in page.locator("#runs").inner_text()  # b: the champion, found
    epochs_row = page.locator("table tr.changed", has_text="epochs").inner_text().split()
    assert epochs_row == ["epochs", "15", "2"], epochs_row  # A is the form's run, B the 2-epoch champion
    assert page.locator("#matrices img").count() == 2
    assert_one_epoch_axis(page)
    page.screenshot(path=SHOTS / "compare.png", full_page=True)

    page.goto(f"{airflow.base}/run-report/dags/{DAG}/models/fashion_mnist/")
    champion = page.locator("#champion").inner_text()
    assert champion == ("v2" if deployed else "v1"), champion  # a fresh registry: v1 the API's run, v2 the form's
    assert page.locator("#versions tr.champion, #versions tr.version").count() == 2
    page.screenshot(path=SHOTS / "model-history.png", full_page=True)
    page.goto(f"{airflow.base}/run-report/dags/{DAG}/runs/{quote(run['dag_run_id'], safe='')}/model-card")
    assert "held-out images" in page.locator("#limits").inner_text()
    page.screenshot(path=SHOTS / "model-card.png", full_page=True)

    feedback_moves_live_accuracy(page, airflow, serving_port, champion.removeprefix("v"))
