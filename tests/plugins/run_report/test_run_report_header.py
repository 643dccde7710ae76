"""The run report's header (failure first, Params, data lineage), per-class order and the picture grid."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mlops_pipeline.alerts import record_failure
from mlops_pipeline.run_keys import run_key
from run_report.header import failure_section, lineage_section, params_section
from run_report.page import metrics_section
from run_report.pictures import load_test_predictions, picture_grid, png_bytes
from tests.plugins.report_app import DAG, RUN, RUN_URL

XSS = "<img src=x onerror=alert(1)>"
CLASSES = [XSS, "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def test_params_show_the_runs_values_with_the_changed_ones_first_and_highlighted():
    html = params_section({"model_type": "mlp", "epochs": 3, "dataset_uri": XSS},
                          {"model_type": "mlp", "epochs": 100, "dataset_uri": "embedded://digits"})
    assert "2 changed from the default: epochs, dataset_uri" in html
    changed, unchanged = html.index('class="changed"><td>epochs'), html.index('class="default"><td>model_type')
    assert changed < unchanged and "<td><code>100</code></td>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_lineage_names_uri_hash_version_and_trigger_escaped():
    html = lineage_section({"source": XSS, "sha256": "ab" * 32, "rows": 999},
                           {"trigger": "dataset", "version": "ab" * 32, "uri": XSS})
    assert "<img" not in html and html.count("&lt;img") == 1 and html.count("ab" * 32) == 2
    assert "<th>trigger</th><td><code>dataset</code>" in html and "<code>999</code>" in html


def test_failure_summary_gives_step_reason_and_log_link_and_nothing_when_the_run_did_not_fail():
    assert failure_section(DAG, RUN, []) == ""
    html = failure_section(DAG, RUN, [{"task_id": "validate_raw", "try_number": 1,
                                       "reason": f"step validate failed (exit 2): error: {XSS} suite failed"}])
    assert "<b>validate_raw</b> failed" in html and "&lt;img src=x onerror=alert(1)&gt; suite failed" in html
    assert "<img" not in html
    assert f'href="/dags/{DAG}/runs/manual__2026-11-24T20%3A39%3A17.712456%2B00%3A00/tasks/validate_raw' \
           '?try_number=1"' in html


def test_per_class_metrics_follow_label_order_not_file_order():
    per_class = {name: {"precision": 1, "recall": 1, "f1": 1, "support": 1} for name in reversed(CLASSES)}
    html = metrics_section({"accuracy": 1, "classes": CLASSES, "per_class": per_class})
    positions = [html.index(f"<td>{name}</td>") for name in ("&lt;img src=x onerror=alert(1)&gt;", "Trouser", "Bag")]
    assert positions == sorted(positions) and "<img src=x" not in html


def _decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    idat_length = struct.unpack(">I", data[33:37])[0]
    rows = zlib.decompress(data[41:41 + idat_length])
    return np.frombuffer(rows, dtype=np.uint8).reshape(height, width + 1)[:, 1:]


def test_png_encoder_keeps_every_pixel():
    image = np.linspace(0, 1, 28 * 20).reshape(28, 20)
    assert np.array_equal(_decode_png(png_bytes(image)), np.rint(image * 255).astype(np.uint8))


def test_uint8_pixels_as_the_split_stores_them_keep_their_grey_levels():
    image = np.arange(28 * 28, dtype=np.int64).reshape(28, 28).astype(np.uint8)  # every level 0..255 appears
    assert np.array_equal(_decode_png(png_bytes(image)), image)  # not 0 or 255 only, as x * 255 clipped made them


def test_picture_grid_puts_mistakes_first_and_escapes_label_names():
    x = np.random.default_rng(0).random((5, 4, 4))
    data = {"x": x, "truth": np.array([0, 1, 2, 3, 0]), "predicted": np.array([0, 1, 0, 3, 8]), "classes": CLASSES}
    html = picture_grid(data)
    assert "2 of 5 test images misclassified" in html and html.count("<figure") == 5
    first, second = html.index('alt="test image 2"'), html.index('alt="test image 4"')
    assert first < second < html.index('alt="test image 0"')
    assert html.count('class="miss"') == 2 and "predicted: Bag" in html
    assert "<img src=x" not in html and "true: &lt;img src=x onerror=alert(1)&gt;" in html


def _write_test_split(run_folder, truth, predicted, classes):
    x = np.zeros((len(truth), 3, 3), dtype="float32")
    run_folder.joinpath("split").mkdir(parents=True, exist_ok=True)
    run_folder.joinpath("evaluate").mkdir(parents=True, exist_ok=True)
    np.savez(run_folder / "split" / "test.npz", x=x, y=np.asarray(truth), classes=np.asarray(classes),
             encoding="integer")
    np.savez(run_folder / "evaluate" / "predictions.npz", predicted=np.asarray(predicted, dtype="int16"))


def test_the_served_report_shows_params_lineage_and_pictures(viewer, artifact_root):
    _write_test_split(artifact_root / DAG / run_key(RUN), [0, 1, 8], [0, 8, 8], CLASSES)
    html = viewer.get(RUN_URL).text
    assert "1 changed from the default: epochs" in html and "embedded://digits" in html and "ab12" in html
    assert "1 of 3 test images misclassified" in html and html.count('src="data:image/png;base64,') == 4
    assert "<img src=x" not in html and 'id="failure"' not in html


def test_a_failed_run_shows_its_failure_first_with_the_recorded_reason(viewer, artifact_root, monkeypatch):
    from types import SimpleNamespace

    import tests.plugins.report_app as app_tests

    ti = SimpleNamespace(dag_id=DAG, task_id="validate_raw", run_id=RUN, try_number=1)
    context = {"ti": ti, "dag_run": SimpleNamespace(run_id=RUN),
               "exception": RuntimeError(f"step validate failed (exit 2): error: {XSS}.csv: 3 rules broke\nmore")}
    assert record_failure(context, str(artifact_root)) == artifact_root / DAG / run_key(RUN) / "validate_raw" / \
        "failure.json"
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**app_tests.RUN_FACTS,
                                                 "failed": [{"task_id": "validate_raw", "try_number": 1}]})
    html = viewer.get(RUN_URL).text
    assert html.index('id="failure"') < html.index("Settings (Params)") < html.index("Data validation")
    assert "&lt;img src=x onerror=alert(1)&gt;.csv: 3 rules broke" in html and "more" not in html.split("log</a>")[0]
    assert "<img src=x" not in html


def test_load_test_predictions_is_none_until_evaluate_ran(tmp_path):
    assert load_test_predictions(tmp_path) is None
    _write_test_split(tmp_path, [0, 1], [1, 1], CLASSES)
    assert load_test_predictions(tmp_path)["predicted"].tolist() == [1, 1]


def test_run_facts_of_an_unknown_run_are_empty(airflow_db):
    from run_report.app import run_facts

    assert run_facts(DAG, "manual__never_ran") == {"conf": None, "defaults": None, "failed": [], "xcoms": {},
                                                  "tasks": {}, "provenance": {}, "reused": {}}


def test_the_model_card_page_escapes_names_and_is_served_for_a_registered_run(viewer, artifact_root):
    from run_report.model_card_page import model_card_page
    from tests.plugins.report_app import _write

    card = {"model": {"name": "fashion_mnist", "version": 2}, "intended_use": f"use {XSS}", "limits": [XSS],
            "data": {"categories": [XSS, "Bag"]}, "metrics": {"accuracy": 0.8125},
            "per_class": [{"class": XSS, "precision": 0.5, "recall": 0.25, "f1": 0.3, "support": 4}],
            "training": {"epochs": 100}}
    html = model_card_page(card)
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") == 4 and "0.8125" in html
    assert viewer.get(RUN_URL + "model-card").status_code == 404  # the fixture's run wrote no card
    _write(artifact_root / DAG / run_key(RUN) / "register" / "model_card.json", card)
    page = viewer.get(RUN_URL + "model-card")
    assert page.status_code == 200 and "<td>0.250</td>" in page.text and "<img src=x" not in page.text
    assert 'id="model-card" href="model-card"' in viewer.get(RUN_URL).text
