"""The feedback page and API: a logged-in user's image is answered by the served model and stored, and a
label confirms or corrects it; hostile uploads, forged forms and anonymous callers are refused.

The served model is a stand-in (``predict_remote`` answers "Bag" as version 7); the feedback store is a
real SQLite database in the test's folder.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import tests.plugins.report_app as app_tests
from tests.plugins.report_app import DAG

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app

BASE = f"/dags/{DAG}/models/fashion_mnist/feedback"
XSS = "<script>alert(1)</script>"


def png(size: tuple[int, int] = (28, 28)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full(size[::-1], 90, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 60_001 * 16, 9)) + chunk(b"IEND", b""))


@pytest.fixture()
def served(viewer, tmp_path, monkeypatch):
    """The viewer, a real feedback store, and a model server stand-in that says Bag (0.7) as version 7."""
    from run_report import feedback
    from run_report.app import app
    from tasks.feedback.store import FeedbackStore

    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    app.dependency_overrides[feedback.feedback_store] = lambda: store
    calls = []

    def answer(endpoint, model_name, images, timeout=60):
        calls.append((endpoint, model_name, images.shape))
        scores = np.full((1, 10), 0.02, np.float32)
        scores[0, 8], scores[0, 0], scores[0, 6] = 0.7, 0.1, 0.06
        return scores, "7"

    monkeypatch.setattr("tasks.serve.client.predict_remote", answer)
    return {"client": viewer, "store": store, "calls": calls}


def test_an_api_image_is_answered_stored_and_a_label_corrects_it(served):
    client, store = served["client"], served["store"]
    response = client.post(BASE + "/api/predictions", content=png(), headers={"Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["predicted"], answer["model_version"]) == ("Bag", "7")
    assert [row["category"] for row in answer["top3"]] == ["Bag", "T-shirt/top", "Shirt"]
    assert served["calls"][0][1:] == ("fashion_mnist", (1, 28, 28))
    labelled = client.post(f"{BASE}/api/predictions/{answer['prediction_id']}/label", json={"label": "Coat"})
    assert labelled.status_code == 200, labelled.text
    rows = store.predictions("fashion_mnist")
    assert [(r["username"], r["model_version"], r["predicted"], r["label"]) for r in rows] == [("ds", "7", 8, 4)]
    row = "0," + ",".join(["12"] * 784)
    assert client.post(BASE + "/api/predictions", content=row, headers={"Content-Type": "text/csv"}).json()[
        "label"] == 0


@pytest.mark.parametrize("body, kind, status, words", [
    (b"\x89PNG" + b"\x00" * 70_000, "image/png", 413, "over"),
    (b"GIF89a\x01\x00", "image/png", 400, "not a PNG"),
    (bomb(), "image/png", 400, "60000x60000"),
    (png((29, 28)), "image/png", 400, "29x28"),
    (f"{XSS}," + ",".join(["0"] * 784), "text/csv", 400, "not one of the 10 categories"),
    (png(), "text/plain", 415, "image/png"),
    (png(), "application/x-www-form-urlencoded", 415, "image/png"),
])
def test_hostile_uploads_are_refused_before_the_model_is_asked_and_nothing_is_stored(served, body, kind, status,
                                                                                     words):
    response = served["client"].post(BASE + "/api/predictions", content=body, headers={"Content-Type": kind})
    assert response.status_code == status and words in response.text
    assert "script" not in response.text
    assert served["calls"] == [] and served["store"].predictions("fashion_mnist") == []


def test_a_body_without_a_length_is_refused_unread(served):
    def chunks():
        yield png()

    response = served["client"].post(BASE + "/api/predictions", content=chunks(), headers={"Content-Type": "image/png"})
    assert response.status_code == 411 and served["calls"] == []


def test_a_label_with_markup_or_for_an_unknown_prediction_is_refused(served):
    client = served["client"]
    pid = client.post(BASE + "/api/predictions", content=png(), headers={"Content-Type": "image/png"}).json()[
        "prediction_id"]
    refused = client.post(f"{BASE}/api/predictions/{pid}/label", json={"label": XSS})
    assert refused.status_code == 400 and "script" not in refused.text
    assert client.post(f"{BASE}/api/predictions/999/label", json={"label": "Bag"}).status_code == 404
    as_form = client.post(f"{BASE}/api/predictions/{pid}/label", data={"label": "Bag"})
    assert as_form.status_code == 415  # what a cross-site form could send
    assert served["store"].predictions("fashion_mnist")[0]["label"] is None


def test_anonymous_callers_get_401_and_nothing_is_stored(client, served):
    client.cookies.clear()
    sent = client.post(BASE + "/api/predictions", content=png(), headers={"Content-Type": "image/png"})
    assert sent.status_code == 401
    assert client.get(BASE).status_code == 401
    page = client.get(BASE, headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and "login" in page.headers["location"]
    assert served["calls"] == []


def token_of(page: str) -> str:
    return re.search(r"name='csrf' value='([^']+)'", page).group(1)


def test_the_page_sends_an_image_shows_the_answer_and_stores_the_corrected_label(served):
    client = served["client"]
    form = client.get(BASE)
    assert form.status_code == 200 and "form-action 'self'" in form.headers["content-security-policy"]
    assert "script-src" not in form.headers["content-security-policy"] and "<script" not in form.text
    answer = client.post(BASE, data={"csrf": token_of(form.text)}, files={"image": ("x.png", png(), "image/png")})
    assert answer.status_code == 200, answer.text
    assert "id='predicted'>Bag<" in answer.text and "id='model-version'>7<" in answer.text
    pid = re.search(r"name='prediction_id' value='(\d+)'", answer.text).group(1)
    thanks = client.post(BASE + "/label", data={"csrf": token_of(answer.text), "prediction_id": pid, "label": "4"})
    assert thanks.status_code == 200 and "corrects" in thanks.text and "Coat" in thanks.text
    assert served["store"].predictions("fashion_mnist")[0]["label"] == 4


def test_a_form_without_this_users_token_or_from_another_site_is_refused(served, auth_manager):
    from run_report.feedback import make_token

    client = served["client"]
    files = {"image": ("x.png", png(), "image/png")}
    assert client.post(BASE, data={"csrf": ""}, files=files).status_code == 403
    someone_else = make_token("mallory", DAG, "fashion_mnist")
    assert client.post(BASE, data={"csrf": someone_else}, files=files).status_code == 403
    stale = make_token("ds", DAG, "fashion_mnist", now=1_000_000)
    assert client.post(BASE, data={"csrf": stale}, files=files).status_code == 403
    good = token_of(client.get(BASE).text)
    cross = client.post(BASE, data={"csrf": good}, files=files, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert served["calls"] == []


def test_markup_in_a_csv_label_on_the_page_is_refused_and_shown_escaped(served):
    client = served["client"]
    token = token_of(client.get(BASE).text)
    page = client.post(BASE, data={"csrf": token, "csv": f"{XSS}," + ",".join(["0"] * 784)})
    assert page.status_code == 400 and "not one of the 10 categories" in page.text and "<script>" not in page.text


def test_the_history_page_shows_each_versions_live_accuracy_and_drift(viewer, monkeypatch):
    monkeypatch.setattr(app_tests, "HISTORY", {"model_name": "fashion_mnist", "champion": 1, "history": [],
                                               "versions": [{"version": 1, "dag_id": DAG, "accuracy": 0.9}]})
    monkeypatch.setattr(app_tests, "LIVE", {"1": {"predictions": 200, "labelled": 150, "correct": 120,
                                                  "accuracy": 0.8, "interval": [0.729, 0.855],
                                                  "check": {"class_psi": 0.04, "intensity_psi": 0.31,
                                                            "reasons": [f"drift {XSS}"]}}})
    page = viewer.get(f"/dags/{DAG}/models/fashion_mnist/").text
    assert "<b>0.8000</b> on 150 labelled (95% CI 0.729-0.855) of 200 answered" in page
    assert "input PSI 0.310" in page and "<script>" not in page and "href='feedback'" in page
