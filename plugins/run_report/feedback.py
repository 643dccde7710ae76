"""Feedback routes: a user sends an image, sees the served model's answer, and confirms or corrects its label.

Under ``/dags/{dag_id}/models/{model_name}/``, so the app's ``require_dag_read`` guards them as every
other route (anonymous: 401 JSON / a browser to the login page). Two ways in:

- the page ``feedback`` (GET the form; POST it, multipart; POST ``feedback/label``, urlencoded);
- the API ``feedback/api/predictions`` (POST a PNG as ``image/png`` or a CSV row as ``text/csv``) and
  ``feedback/api/predictions/{id}/label`` (POST ``{"label": code or name}`` as ``application/json``).

Cross-site request forgery (the login is a cookie): the API takes only content types a cross-site page
cannot send without a CORS preflight, which this app never grants; the page's forms carry a token, an
HMAC of the user, DAG, model and time under the API server's ``[api] secret_key``, valid for two hours;
both refuse a request the browser marks ``Sec-Fetch-Site: cross-site``/``same-site``. A body is refused
by its ``Content-Length`` before it is read (no length: 411; over the limit: 413), then decoded within
bounds (``tasks/feedback/inputs.py``). Predictions and labels are appended to the feedback store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from mlops_pipeline.links import URL_PREFIX
from mlops_pipeline.settings import load_settings
from run_report.access import current_user, dag_models
from run_report.feedback_page import FEEDBACK_CSP, answer_page, thanks_page, upload_page
from tasks.core.common import StepError
from tasks.core.layout import FASHION_MNIST_CATEGORIES as CATEGORIES
from tasks.core.parameters import MODEL_NAME
from tasks.feedback.inputs import MAX_BODY, InputRefused, UserImage, decode_csv_row, decode_png, parse_label

HEIGHT = WIDTH = 28  # the feedback page serves 28x28 Fashion-MNIST models
TOKEN_AGE_S = 2 * 3600
BASE = "/dags/{dag_id}/models/{model_name}/feedback"
router = APIRouter()
User = Annotated[str, Depends(current_user)]


def feedback_store():
    """The feedback database of this deployment (a dependency: tests swap it)."""
    from tasks.feedback.store import FeedbackStore

    return FeedbackStore(load_settings().feedback_db_url)


def serving_url() -> str:
    return load_settings().serving_url


def checked_model(dag_id: str, model_name: str, defaults: Annotated[set[str] | None, Depends(dag_models)]) -> str:
    """The model name, if it is a valid one under a DAG Airflow knows."""
    try:
        MODEL_NAME.check(model_name)
    except StepError as err:
        raise HTTPException(status_code=400, detail="refused: not a registered model name") from err
    if defaults is None:
        raise HTTPException(status_code=404, detail="no such DAG: check the DAG id")
    return model_name


Model = Annotated[str, Depends(checked_model)]


def _secret() -> bytes:
    from airflow.configuration import conf

    return ("feedback-csrf:" + conf.get("api", "secret_key", fallback="")).encode()


def make_token(user: str, dag_id: str, model_name: str, now: float | None = None) -> str:
    stamp = str(int(time.time() if now is None else now))
    mac = hmac.new(_secret(), f"{user}\n{dag_id}\n{model_name}\n{stamp}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp}.{mac}"


def token_ok(token: str, user: str, dag_id: str, model_name: str) -> bool:
    stamp, _, _ = token.partition(".")
    if not stamp.isdigit() or not 0 <= time.time() - int(stamp) <= TOKEN_AGE_S:
        return False
    return hmac.compare_digest(token, make_token(user, dag_id, model_name, int(stamp)))


def same_site(request: Request) -> None:
    """Refuse what the browser says another site sent (older browsers send no such header: the token decides)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(status_code=403, detail="refused: a cross-site request")


async def bounded_body(request: Request) -> bytes:
    """The body, refused by its declared length before a byte is read (then read only up to it)."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise HTTPException(status_code=411, detail="refused: send a Content-Length")
    if int(declared) > MAX_BODY + 4096:  # room for a multipart form's boundaries and field names
        raise HTTPException(status_code=413, detail=f"refused: the body is over {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > int(declared):
        raise HTTPException(status_code=413, detail="refused: the body is longer than it said")
    return body


def _history_url(dag_id: str, model_name: str) -> str:
    return f"{URL_PREFIX}/dags/{quote(dag_id, safe='')}/models/{quote(model_name, safe='')}/"


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers={"Content-Security-Policy": FEEDBACK_CSP})


def predict_and_store(store: Any, endpoint: str, model_name: str, image: UserImage, user: str) -> dict[str, Any]:
    """Ask the served model, store its answer with the image, and say what it was (class, top 3, version)."""
    from tasks.serve.client import predict_remote

    try:
        scores, version = predict_remote(endpoint, model_name, image.pixels[None] / np.float32(255.0), timeout=20)
    except StepError as err:
        raise HTTPException(status_code=502, detail=f"the model server did not answer: {err}") from err
    probabilities = np.asarray(scores[0], dtype=float)
    if probabilities.shape != (len(CATEGORIES),):
        raise HTTPException(status_code=502, detail=f"{model_name} v{version} is not a Fashion-MNIST classifier")
    pid = store.record_prediction(user=user, model_name=model_name, model_version=version,
                                  probabilities=probabilities, pixels=image.pixels, source=image.source)
    order = np.argsort(-probabilities)[:3]
    return {"prediction_id": pid, "model_name": model_name, "model_version": str(version),
            "predicted": CATEGORIES[int(order[0])], "predicted_code": int(order[0]),
            "top3": [{"category": CATEGORIES[int(c)], "probability": float(probabilities[c])} for c in order],
            "label": image.label}


def store_label(store: Any, model_name: str, prediction_id: int, label: int, user: str) -> dict[str, Any]:
    found = store.prediction(prediction_id)
    if found is None or found["model_name"] != model_name:
        raise HTTPException(status_code=404, detail="no such prediction of this model")
    feedback_id = store.record_feedback(prediction_id=prediction_id, label=label, user=user)
    return {"feedback_id": feedback_id, "prediction_id": prediction_id, "label": label,
            "predicted": found["predicted"], "model_version": found["model_version"]}


Store = Annotated[Any, Depends(feedback_store)]
Endpoint = Annotated[str, Depends(serving_url)]


@router.post(BASE + "/api/predictions")
async def api_predict(request: Request, model_name: Model, user: User, store: Store, endpoint: Endpoint,
                      _: Annotated[None, Depends(same_site)]) -> dict[str, Any]:
    """A PNG (``image/png``) or a CSV row (``text/csv``) in, the served answer out (stored)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("image/png", "text/csv"):
        raise HTTPException(status_code=415, detail="send image/png or text/csv")
    body = await bounded_body(request)
    try:
        image = (decode_png(body, HEIGHT, WIDTH) if kind == "image/png"
                 else decode_csv_row(body, HEIGHT, WIDTH, CATEGORIES))
    except InputRefused as err:
        raise HTTPException(status_code=400, detail=f"refused: {err}") from err
    return await run_in_threadpool(predict_and_store, store, endpoint, model_name, image, user)


@router.post(BASE + "/api/predictions/{prediction_id}/label")
async def api_label(request: Request, prediction_id: int, model_name: Model, user: User, store: Store,
                    _: Annotated[None, Depends(same_site)]) -> dict[str, Any]:
    """``{"label": code or category name}`` for a stored prediction (appended; the newest label counts)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status_code=415, detail="send application/json")
    try:
        sent = json.loads(await bounded_body(request))
        label = parse_label(str(sent["label"]), CATEGORIES)
    except (ValueError, KeyError, TypeError) as err:
        why = str(err) if isinstance(err, InputRefused) else "send a JSON object with a label"
        raise HTTPException(status_code=400, detail=f"refused: {why}") from err
    return await run_in_threadpool(store_label, store, model_name, prediction_id, label, user)


@router.get(BASE, response_class=HTMLResponse)
def feedback_form(dag_id: str, model_name: Model, user: User) -> HTMLResponse:
    return _html(upload_page(model_name, make_token(user, dag_id, model_name), _history_url(dag_id, model_name)))


async def _form(request: Request, user: str, dag_id: str, model_name: str) -> Any:
    await bounded_body(request)
    form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_BODY)
    if not token_ok(str(form.get("csrf") or ""), user, dag_id, model_name):
        raise HTTPException(status_code=403, detail="refused: the form is stale or not from this site; reload it")
    return form


@router.post(BASE, response_class=HTMLResponse)
async def feedback_send(request: Request, dag_id: str, model_name: Model, user: User, store: Store,
                        endpoint: Endpoint, _: Annotated[None, Depends(same_site)]) -> HTMLResponse:
    """The form's image in, the answer page (class, top 3, version, the label form) out."""
    form = await _form(request, user, dag_id, model_name)
    token, history = make_token(user, dag_id, model_name), _history_url(dag_id, model_name)
    upload, row = form.get("image"), str(form.get("csv") or "").strip()
    try:
        if upload is not None and not isinstance(upload, str) and upload.filename:
            image = decode_png(await upload.read(MAX_BODY + 1), HEIGHT, WIDTH)
        elif row:
            image = decode_csv_row(row.encode(), HEIGHT, WIDTH, CATEGORIES)
        else:
            raise InputRefused("choose a PNG file or paste a CSV row")
    except InputRefused as err:
        return _html(upload_page(model_name, token, history, str(err)), 400)
    answer = await run_in_threadpool(predict_and_store, store, endpoint, model_name, image, user)
    return _html(answer_page(model_name, answer, image.pixels, CATEGORIES, token, history, image.label))


@router.post(BASE + "/label", response_class=HTMLResponse)
async def feedback_label(request: Request, dag_id: str, model_name: Model, user: User, store: Store,
                         _: Annotated[None, Depends(same_site)]) -> HTMLResponse:
    form = await _form(request, user, dag_id, model_name)
    try:
        label = parse_label(str(form.get("label") or ""), CATEGORIES)
        prediction_id = int(str(form.get("prediction_id") or ""))
    except ValueError as err:
        why = str(err) if isinstance(err, InputRefused) else "no such prediction"
        raise HTTPException(status_code=400, detail=f"refused: {why}") from err
    stored = await run_in_threadpool(store_label, store, model_name, prediction_id, label, user)
    return _html(thanks_page(model_name, stored, CATEGORIES, _history_url(dag_id, model_name)))


def live_reader():
    """Reads a model's live figures per version: labelled feedback now, drift as the last monitoring run saw it.

    An unreachable feedback database reads as none: the history page must render without it.
    """
    def read(model_name: str) -> dict[str, dict[str, Any]]:
        from tasks.feedback.store import live_accuracy

        try:
            store = feedback_store()
            live, checks = live_accuracy(store.predictions(model_name)), store.latest_checks(model_name)
        except Exception:  # noqa: BLE001 - a page aid, never a reason for the page to fail
            return {}
        return {version: {**live.get(version, {}), "check": checks.get(version)} for version in {*live, *checks}}

    return read
