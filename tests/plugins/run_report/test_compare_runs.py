"""Comparing two runs (or a run and its champion): Params diff, metrics, curves overlaid, confusion matrices."""

from __future__ import annotations

from urllib.parse import quote

import pytest

import tests.plugins.report_app as app_tests
from mlops_pipeline.run_keys import run_key
from run_report.compare import params_diff
from tests.plugins.report_app import DAG, KNOWN_RUNS, PNG, RUN, _write

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app

XSS = "<img src=x onerror=alert(1)>"
OTHER = "manual__2026-11-25T10:03:39.389771+00:00"
URL = f"/dags/{DAG}/compare"


def _other_run(artifact_root):
    folder = artifact_root / DAG / run_key(OTHER)
    _write(folder / "train" / "history.json", {"val_accuracy": [0.4, 0.7, 0.8], "val_loss": [1.5, 0.9, 0.7]})
    _write(folder / "evaluate" / "metrics.json", {"accuracy": 0.8125, "loss": 0.6, "macro_f1": 0.8, "test_rows": 176,
                                                  "classes": [XSS], "per_class": {XSS: {"f1": 0.5}}})
    _write(folder / "evaluate" / "confusion_matrix.png", PNG + b"2")


def _facts(conf_of):
    return lambda: lambda dag_id, run_id: {"conf": conf_of[run_id], "defaults": {"epochs": 100, "units": 128},
                                           "failed": [], "xcoms": {}}


def test_params_diff_lists_only_what_differs_escaped():
    html = params_diff({"epochs": 3, "units": 128, "dataset_uri": XSS}, {"epochs": 100, "units": 128})
    assert "2 differ." in html and "units" not in html and "<img" not in html and "&lt;img" in html


def test_two_runs_side_by_side(viewer, artifact_root, monkeypatch):
    from run_report import app as report_app

    _other_run(artifact_root)
    monkeypatch.setattr(app_tests, "KNOWN_RUNS", KNOWN_RUNS | {OTHER})
    viewer.app.dependency_overrides[report_app.facts_reader] = _facts({RUN: {"epochs": 3}, OTHER: {"units": XSS}})
    page = viewer.get(f"{URL}?a={quote(RUN)}&b={quote(OTHER)}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "2 differ." in html and "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<td>0.9688</td><td>0.8125</td><td>-0.1562</td>" in html  # accuracy A, B, B - A
    assert html.count("<svg") == 2 and html.count("<polyline") == 4  # both runs' curves in each chart
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in html and html.count('alt="confusion matrix of run') == 2
    assert "sandbox" in page.headers["content-security-policy"]


def test_a_run_against_the_champion_it_was_judged_against(viewer, artifact_root, monkeypatch):
    _other_run(artifact_root)  # the fixture's run registered v2 against champion v1: OTHER is v1's run
    monkeypatch.setattr(app_tests, "KNOWN_RUNS", KNOWN_RUNS | {OTHER})
    monkeypatch.setattr(app_tests, "HISTORY", {"model_name": "fashion_mnist", "champion": 1, "history": [],
                                               "versions": [{"version": 1, "airflow_run_id": OTHER}]})
    html = viewer.get(f"{URL}?a={quote(RUN)}").text
    assert f"<code>{OTHER}</code> (champion v1 when A was judged)" in html and "0.8125" in html
    report = viewer.get(f"/dags/{DAG}/runs/{quote(RUN, safe='')}/").text
    assert f'href="../../compare?a={quote(RUN, safe="")}"' in report


def test_unknown_runs_and_anonymous_callers_are_refused(viewer, client):
    assert viewer.get(f"{URL}?a={quote(RUN)}&b=manual__1999").status_code == 404
    assert viewer.get(f"{URL}?a=manual__1999&b={quote(RUN)}").status_code == 404
    assert viewer.get(f"{URL}?a={quote(RUN)}").status_code == 404  # HISTORY knows no champion run
    assert viewer.get(f"{URL}?a=..%2F..&b={quote(RUN)}").status_code in (400, 404)
    client.cookies.clear()
    assert client.get(f"{URL}?a={quote(RUN)}&b={quote(RUN)}").status_code == 401
