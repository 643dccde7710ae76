"""The feedback pages: send an image, see what the served model says, confirm or correct its label.

Plain HTML forms, no script: the pages' policy (``FEEDBACK_CSP``) allows form posts to this origin only
(``form-action 'self'``) and still no script, plugin or outside resource. Every value shown (categories,
versions, user names, refusal lines) is escaped; the uploaded image is shown from its decoded pixels,
re-encoded by us as a ``data:`` PNG, never from the bytes the user sent.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

import numpy as np

from run_report.page import STYLE

# As the report's policy, but forms may post here (no sandbox token would let a script run: none is allowed).
FEEDBACK_CSP = ("sandbox allow-forms allow-same-origin allow-popups allow-popups-to-escape-sandbox; "
                "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'self'")
PAGE_STYLE = "form{margin:10px 0}textarea{width:100%;height:60px}.top td{text-align:left}img.sent{width:112px;" \
             "image-rendering:pixelated;border:1px solid #ccc}"


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}{PAGE_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")


def _hidden(name: str, value: Any) -> str:
    return f"<input type='hidden' name='{escape(name)}' value='{escape(str(value))}'>"


def upload_page(model_name: str, token: str, history_url: str, problem: str = "") -> str:
    """The form: a PNG file or a CSV row, and the CSRF token that proves the post came from this page."""
    refused = f"<p class='bad' id='refused'>Refused: {escape(problem)}</p>" if problem else ""
    return _page(f"Feedback: {model_name}", refused + (
        "<p>Send one 28x28 grey image (a PNG file, or a CSV row <code>label,pixel1..pixel784</code>); the served "
        "model answers, and you can confirm or correct its label. Everything you send is stored with your user "
        "name.</p><form id='upload' method='post' action='feedback' enctype='multipart/form-data'>"
        + _hidden("csrf", token)
        + "<p><label>PNG image <input type='file' name='image' accept='image/png'></label></p>"
        "<p><label>or a CSV row<br><textarea name='csv'></textarea></label></p>"
        "<p><button type='submit' id='send'>Predict</button></p></form>"
        f"<p><a href='{escape(history_url)}'>Model history and live accuracy</a></p>"))


def _png(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def answer_page(model_name: str, answer: dict[str, Any], pixels: np.ndarray, categories: tuple[str, ...], token: str,
                history_url: str, given: int | None = None) -> str:
    """What the model said (class, top 3, version) and the form that confirms or corrects the label."""
    top = "".join(f"<tr><td>{escape(row['category'])}</td><td>{row['probability']:.4f}</td></tr>"
                  for row in answer["top3"])
    chosen = answer["predicted_code"] if given is None else given
    options = "".join(f"<option value='{code}'{' selected' if code == chosen else ''}>{escape(name)}</option>"
                      for code, name in enumerate(categories))
    return _page(f"Feedback: {model_name}", (
        f"<p><img class='sent' src='{_png(pixels)}' alt='the image you sent'></p>"
        f"<p>Version <b id='model-version'>{escape(str(answer['model_version']))}</b> of {escape(model_name)} says: "
        f"<b id='predicted'>{escape(answer['predicted'])}</b> (prediction {int(answer['prediction_id'])}).</p>"
        f"<table class='top' id='top3'><tr><th>category</th><th>probability</th></tr>{top}</table>"
        "<form id='label' method='post' action='feedback/label'>" + _hidden("csrf", token)
        + _hidden("prediction_id", answer["prediction_id"])
        + f"<p><label>The right label <select name='label' id='label-choice'>{options}</select></label> "
        "<button type='submit' id='send-label'>Send label</button></p></form>"
        f"<p><a href='feedback'>Send another image</a> &middot; <a href='{escape(history_url)}'>Model history</a></p>"))


def thanks_page(model_name: str, stored: dict[str, Any], categories: tuple[str, ...], history_url: str) -> str:
    """The stored label, whether it confirmed or corrected the model, and where live accuracy shows."""
    verdict = "confirms" if stored["label"] == stored["predicted"] else "corrects"
    return _page(f"Feedback: {model_name}", (
        f"<p id='stored'>Stored: prediction {int(stored['prediction_id'])} is "
        f"<b>{escape(categories[stored['label']])}</b> ({verdict} the model's "
        f"{escape(categories[stored['predicted']])}).</p>"
        f"<p><a href='../feedback'>Send another image</a> &middot; <a id='history' href='{escape(history_url)}'>"
        "Model history and live accuracy</a></p>"))
