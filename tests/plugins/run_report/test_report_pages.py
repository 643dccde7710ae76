"""Pages that say what happened: one epoch axis when comparing, the outcome first, why a step did not run,
what an ingest run did, counts as integers and captions that stay in their cell."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import numpy as np

import tests.plugins.report_app as app_tests
from mlops_pipeline.run_keys import run_key
from run_report.curves import PAD, WIDTH, curve_svg
from tests.plugins.report_app import DAG, KNOWN_RUNS, RUN, RUN_FACTS, RUN_URL, _write

XSS = "<img src=x onerror=alert(1)>"
OTHER = "manual__2026-11-25T10:03:39.389771+00:00"
INGEST_RUN = "scheduled__2026-12-01T00:00:00+00:00"
INGEST_URL = f"/dags/dataset_ingest/runs/{quote(INGEST_RUN, safe='')}/"
T0 = datetime(2026, 12, 1, 0, 0, 5, tzinfo=UTC)


def _last_x(points: str) -> float:
    return float(points.split()[-1].split(",")[0])


def _polylines(svg: str) -> dict[str, str]:
    """Each series' ``points``, by its title."""
    return {title: points for points, title in re.findall(r'points="([^"]*)"><title>([^<]*)</title>', svg)}


def test_two_curves_of_different_lengths_share_one_epoch_axis():
    svg = curve_svg("validation accuracy", {"A": [0.5] * 27, "B": [0.6] * 100})
    lines = _polylines(svg)
    assert _last_x(lines["B"]) == WIDTH - PAD  # the longer run spans the axis
    assert abs(_last_x(lines["A"]) - (PAD + 26 / 99 * (WIDTH - 2 * PAD))) < 0.1  # epoch 27 of 100, not the edge
    assert "epoch 100" in svg


def _other_run(artifact_root, metrics: dict) -> None:
    folder = artifact_root / DAG / run_key(OTHER)
    _write(folder / "train" / "history.json", {"val_accuracy": [0.4, 0.7, 0.8, 0.85], "val_loss": [1.5, 0.9, 0.7, 0.6]})
    _write(folder / "evaluate" / "metrics.json", {"accuracy": 0.8125, "loss": 0.6, "macro_f1": 0.8, **metrics})


def _facts(conf_of: dict) -> object:
    return lambda: lambda dag_id, run_id: {"conf": conf_of[run_id], "failed": [], "defaults": {
        "epochs": 100, "image_height": 8, "image_width": 8, "dataset_uri": "embedded://digits"},
        "xcoms": {"fetch": {"sha256": "ab12"}}}


def test_the_compare_page_draws_the_shorter_run_to_its_own_last_epoch(viewer, artifact_root, monkeypatch):
    from run_report import app as report_app

    # Given run A trained 2 epochs and run B 4, on the same data and split
    _other_run(artifact_root, {"test_rows": 320})
    monkeypatch.setattr(app_tests, "KNOWN_RUNS", KNOWN_RUNS | {OTHER})
    viewer.app.dependency_overrides[report_app.facts_reader] = _facts({RUN: {}, OTHER: {}})
    # When both are compared
    html = viewer.get(f"/dags/{DAG}/compare?a={quote(RUN)}&b={quote(OTHER)}").text
    # Then A's last point lies at epoch 2 of 4 on the shared axis, B's at the right edge; no warning
    lines = _polylines(html[html.index("<svg"):html.index("</svg>")])
    assert _last_x(lines["B"]) == WIDTH - PAD
    assert abs(_last_x(lines["A"]) - (PAD + 1 / 3 * (WIDTH - 2 * PAD))) < 0.1
    assert "not-comparable" not in html


def test_comparing_runs_of_different_image_shapes_or_test_sets_says_so_first(viewer, artifact_root, monkeypatch):
    from run_report import app as report_app

    _other_run(artifact_root, {"test_rows": 176})  # A (the fixture's run) was tested on 320 rows
    monkeypatch.setattr(app_tests, "KNOWN_RUNS", KNOWN_RUNS | {OTHER})
    viewer.app.dependency_overrides[report_app.facts_reader] = _facts(
        {RUN: {}, OTHER: {"image_height": 28, "image_width": 28, "dataset_uri": XSS}})
    html = viewer.get(f"/dags/{DAG}/compare?a={quote(RUN)}&b={quote(OTHER)}").text
    warning = html[html.index("id='not-comparable'"):]
    assert html.index("id='not-comparable'") < html.index("<h2>Params</h2>")
    assert "Different image shapes: A saw 8x8 images, B 28x28" in warning
    assert "Different test sets: A was tested on 320 rows" in warning and "B on 176 rows" in warning
    assert "<img src=x" not in html


def test_the_outcome_comes_first_accuracy_gate_and_whether_it_was_deployed(viewer, monkeypatch):
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "tasks": {"deploy": {"state": "success"}}})
    html = viewer.get(RUN_URL).text
    outcome = html[html.index('id="outcome"'):html.index("Settings (Params)")]  # above the Params table
    assert 'id="accuracy">0.9688</span> on 320 test images' in outcome
    assert "Gate: <span class=\"ok\">deploy</span>" in outcome and "beats champion v1" in outcome
    assert "deployed</span>: fashion_mnist v2 was made champion" in outcome
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "tasks": {"deploy": {"state": "failed"}}})
    assert "not deployed</span>: deploy failed" in viewer.get(RUN_URL).text


def test_steps_after_a_failure_say_they_did_not_run_because_of_it(viewer, artifact_root, monkeypatch):
    from run_report import app as report_app

    # Given a run whose validate_prepared failed after prepare ran: nothing from train on
    folder = artifact_root / DAG / run_key(RUN)
    for name in ("train/history.json", "evaluate/metrics.json", "register/registration.json"):
        (folder / name).unlink()
    viewer.app.dependency_overrides[report_app.gate_outcome] = lambda: {"deploy": None, "reason": None}
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "failed": [{"task_id": "validate_prepared"}]})
    # When its report is opened
    html = viewer.get(RUN_URL).text
    # Then every later section names the failure instead of "has not run (yet)"
    assert "has not run (yet)" not in html and "has not decided (yet)" not in html and "(yet)" not in html
    assert html.count("Did not run: validate_prepared failed.") >= 4  # curves, metrics, pictures, champion
    assert "validate_prepared failed (the reason is at the top)" in html
    assert "Gate: <span class=\"muted\">undecided</span> &mdash; did not run: validate_prepared failed" in html
    assert "not tested: validate_prepared failed" in html and "1599" in html  # prepare's section still shown


def _ingest_facts(result: dict | None, ingest_state: str = "success", publish: str = "skipped") -> dict:
    tasks = {"wait_for_file": {"state": "success", "start": T0, "end": T0 + timedelta(seconds=30)},
             "ingest": {"state": ingest_state, "start": T0 + timedelta(seconds=31), "end": T0 + timedelta(seconds=40)},
             "publish": {"state": publish, "start": None, "end": None}}
    return {"conf": {}, "defaults": {}, "failed": [{"task_id": "ingest"}] if ingest_state == "failed" else [],
            "tasks": tasks, "xcoms": {"ingest": result} if result else {}}


def _ingest_page(viewer, monkeypatch, facts: dict) -> str:
    monkeypatch.setattr(app_tests, "KNOWN_RUNS", KNOWN_RUNS | {INGEST_RUN})
    monkeypatch.setattr(app_tests, "RUN_FACTS", facts)
    response = viewer.get(INGEST_URL)
    assert response.status_code == 200 and '"detail"' not in response.text, response.text
    assert "<img src=x" not in response.text
    return response.text


def test_an_ingest_runs_report_says_which_file_it_stored_or_found_a_duplicate(viewer, monkeypatch, tmp_path):
    store = tmp_path / "datasets"
    monkeypatch.setenv("PIPELINE_DATASET_STORE", str(store))
    new = {"status": "new", "sha256": "ab" * 32, "uri": f"{store}/{'ab' * 32}/{XSS}.csv", "filename": f"{XSS}.csv",
           "remaining": 2}
    html = _ingest_page(viewer, monkeypatch, _ingest_facts(new, publish="success"))
    assert "Stored a new dataset version" in html and "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert "published to the dataset Asset" in html and "2 file(s) left" in html
    _write(store / "index.jsonl", b"")
    (store / "index.jsonl").write_text(json.dumps({"status": "new", "sha256": "ab" * 32, "filename": "first.csv",
                                                   "at": "2026-11-30T10:00:00+00:00"}) + "\n")
    html = _ingest_page(viewer, monkeypatch, _ingest_facts({**new, "status": "duplicate", "filename": "again.csv"}))
    assert "Duplicate: nothing new" in html and "<code>again.csv</code> has the same bytes" in html
    assert "first stored from <code>first.csv</code> at 2026-11-30T10:00:00+00:00" in html
    html = _ingest_page(viewer, monkeypatch, _ingest_facts({"status": "none", "pending": ["big.csv.gz"]}))
    assert "No file was ready" in html and "big.csv.gz" in html


def test_an_ingest_runs_report_says_which_file_it_rejected_and_why(viewer, monkeypatch, tmp_path):
    landing = tmp_path / "landing"
    monkeypatch.setenv("PIPELINE_LANDING_DIR", str(landing))
    stamp = (T0 + timedelta(seconds=35)).strftime("%Y%m%dT%H%M%S_")
    _write(landing / "rejected" / f"{stamp}{XSS}.csv", b"label,oops\n")
    (landing / "rejected" / f"{stamp}{XSS}.csv.reason").write_text(f"{XSS}.csv: no pixel columns\n")
    _write(landing / "rejected" / "20251231T000000_older.csv.reason", b"another run's file\n")
    html = _ingest_page(viewer, monkeypatch, _ingest_facts(None, ingest_state="failed", publish="upstream_failed"))
    assert "Rejected <code>&lt;img src=x onerror=alert(1)&gt;.csv</code>" in html
    assert "&lt;img src=x onerror=alert(1)&gt;.csv: no pixel columns" in html and "another run" not in html
    assert "<td>ingest</td><td>failed</td>" in html


def test_the_model_card_shows_counts_as_integers():
    from run_report.model_card_page import model_card_page

    html = model_card_page({"metrics": {"accuracy": 0.8125, "test_rows": 176.0},
                            "per_class": [{"class": "Bag", "precision": 1.0, "recall": 0.5, "f1": 0.667,
                                           "support": 32.0}]})
    assert "<code>176</code>" in html and "176.0" not in html and "<td>32</td>" in html and "0.8125" in html


def test_a_long_category_name_ends_in_an_ellipsis_inside_its_caption():
    from run_report.pictures import GRID_STYLE, picture_grid

    long_name = "Sleeveless-knitted-cardigan-with-pockets-" * 3 + XSS
    html = picture_grid({"x": np.zeros((1, 4, 4), dtype=np.uint8), "truth": np.array([0]),
                         "predicted": np.array([1]), "classes": [long_name, "Bag"]})
    escaped = long_name.replace("<", "&lt;").replace(">", "&gt;")
    assert f'<span title="{escaped}">true: {escaped}</span>' in html and "<img src=x" not in html
    assert ".grid figcaption span{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" \
        in GRID_STYLE
