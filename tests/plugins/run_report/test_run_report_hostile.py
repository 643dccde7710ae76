"""The run report against hostile data and careless ids: nothing from a dataset runs, no alias reaches a run."""

from __future__ import annotations

import pytest

from mlops_pipeline.run_keys import run_key
from tests.plugins.report_app import DAG, KNOWN_RUNS, RUN, RUN_URL, _write

pytestmark = pytest.mark.integration  # the plugin's routes, served by its FastAPI app

XSS = "<img src=x onerror=alert(1)>"
TYPED_ALIAS = "manual__2026-11-24T20_39_17.712456_00_00"  # what path_safe made of RUN: typed in the form's Run ID


def test_ids_that_path_safe_folded_together_get_different_folders():
    typed, real = "manual__2026-11-25T02_55_55.353611_00_00", "manual__2026-11-25T02:55:55.353611+00:00"
    assert run_key(typed) != run_key(real)
    assert run_key(real).startswith("manual__2026-11-25T02_55_55.353611_00_00-") and "/" not in run_key(real)
    assert run_key(real) == run_key(real) and len(run_key("x" * 500)) <= 64 + 13
    assert run_key("../..") not in ("..", ".", "") and "/" not in run_key("a/b")


def test_a_run_id_airflow_does_not_know_is_not_served_even_if_a_folder_matches(viewer, artifact_root):
    _write(artifact_root / DAG / run_key(TYPED_ALIAS) / "evaluate" / "metrics.json", {"accuracy": 0.1})
    alias_url = f"/dags/{DAG}/runs/{TYPED_ALIAS}/"
    response = viewer.get(alias_url)
    assert response.status_code == 404 and "no such run" in response.text


def test_an_alias_run_that_exists_never_reads_the_other_runs_files(viewer, monkeypatch):
    monkeypatch.setattr("tests.plugins.report_app.KNOWN_RUNS", KNOWN_RUNS | {TYPED_ALIAS})
    response = viewer.get(f"/dags/{DAG}/runs/{TYPED_ALIAS}/")
    assert response.status_code == 404 and "no artifacts" in response.text  # its own (empty) folder
    assert "0.9688" in viewer.get(RUN_URL).text


@pytest.mark.parametrize("path", ["", "confusion_matrix.png", "data-docs/validate_raw/index.html",
                                  "data-docs/validate_raw/missing.html", "data-docs/train/x"])
def test_everything_served_is_sandboxed_and_never_sniffed(viewer, path):
    response = viewer.get(RUN_URL + path)
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox ") and "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_refused_request_is_sandboxed_too(client):
    assert "sandbox" in client.get(RUN_URL).headers["content-security-policy"]


def _hostile_validation(run_folder) -> None:
    _write(run_folder / "validate_raw" / "validation.json", {
        "suite": "raw", "success": False, "input": f"/data/landing/{XSS}.csv",
        "summary": {"evaluated": 2, "successful": 0, "failed": 2},
        "parameters": {"categories": [XSS, "Bag"]},
        "expectations": [
            {"type": "expect_table_columns_to_match_ordered_list", "rule": "layout", "batch": "header",
             "success": False, "observed_value": f"785 columns: label, pixel1, pixel2 ... {XSS}",
             "mismatched": [{"Expected": "pixel784", "Expected Column Position": 784, "Found": XSS}], "kwargs": {}},
            {"type": "expect_column_values_to_be_in_set", "rule": "known labels", "batch": "labels",
             "column": "label", "success": False, "unexpected_share": 0.5, "examples": [XSS], "kwargs": {}}]})


def test_data_docs_show_a_hostile_header_and_label_as_text(viewer, artifact_root):
    _hostile_validation(artifact_root / DAG / run_key(RUN))
    page = viewer.get(RUN_URL + "data-docs/validate_raw/index.html")
    assert page.status_code == 200 and "<img" not in page.text and "<script" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "0 of 2 expectations met" in page.text and "known labels" in page.text
    report = viewer.get(RUN_URL).text
    assert "<img src=x" not in report and "0 of 2 expectations met" in report


def test_data_docs_of_a_step_that_has_not_run_are_not_found(viewer, artifact_root):
    (artifact_root / DAG / run_key(RUN) / "validate_raw" / "validation.json").unlink()
    assert viewer.get(RUN_URL + "data-docs/validate_raw/index.html").status_code == 404


def test_the_validation_page_escapes_every_value_it_shows():
    from tasks.data.validation_page import render_validation_page

    page = render_validation_page({"suite": XSS, "success": True, "summary": {"evaluated": XSS},
                                   "expectations": [{"rule": XSS, "column": XSS, "kwargs": {"x": XSS}, "success": 1,
                                                     "failing_columns": [XSS]}],
                                   "parameters": {XSS: XSS}})
    assert "<img" not in page and page.count("&lt;img") >= 6 and '"x"' not in page  # quotes escaped too


def test_run_exists_asks_airflows_database_for_the_exact_id(airflow_db):
    from run_report.app import run_exists

    assert run_exists(DAG, "manual__never_ran") is False
