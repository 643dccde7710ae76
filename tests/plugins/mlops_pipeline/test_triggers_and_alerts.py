"""Which data a run trains on, where new data lands, and how a failure is reported."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from mlops_pipeline.alerts import failure_summary, load_hook, on_failure
from mlops_pipeline.settings import DEFAULT_RETRAIN_CRON, load_settings
from mlops_pipeline.triggers import NoStoredDataset, choose_dataset, latest_version

LATEST = {"status": "new", "uri": "/store/bbb/b.csv", "sha256": "bbb"}
EVENTS = [{"uri": "/store/aaa/a.csv", "sha256": "aaa"}, {"uri": "/store/ccc/c.csv", "sha256": "ccc"}]


def test_an_asset_triggered_run_trains_on_the_newest_triggering_event():
    assert choose_dataset("asset_triggered", EVENTS, LATEST, "embedded://digits") == {
        "uri": "/store/ccc/c.csv", "trigger": "asset_event", "version": "ccc"}


def test_an_asset_triggered_run_without_a_usable_event_falls_back_to_the_latest_version():
    assert choose_dataset("asset_triggered", [{}], LATEST, "p")["trigger"] == "latest_version"


def test_a_scheduled_run_trains_on_the_latest_stored_version():
    assert choose_dataset("scheduled", [], LATEST, "p") == {"uri": "/store/bbb/b.csv", "trigger": "latest_version",
                                                            "version": "bbb"}


@pytest.mark.parametrize("run_type, events", [("scheduled", []), ("asset_triggered", [{}])])
def test_an_automated_run_with_an_empty_store_never_falls_back_to_the_demo_dataset(run_type, events):
    # Given an empty dataset store and the Param's default (the embedded demo dataset)
    # When an automated run resolves its data
    with pytest.raises(NoStoredDataset) as raised:
        choose_dataset(run_type, events, None, "embedded://digits")

    # Then it gets a one-line reason to skip, naming what it refused to train on
    reason = str(raised.value)
    assert "\n" not in reason and "no stored version" in reason and "embedded://digits" in reason


def test_a_manual_run_trains_on_its_param_even_with_data_in_the_store():
    assert choose_dataset("manual", EVENTS, LATEST, "s3://b/f.csv") == {"uri": "s3://b/f.csv", "trigger": "param",
                                                                         "version": ""}


def test_the_latest_version_is_the_last_new_entry_of_the_index(tmp_path):
    assert latest_version(str(tmp_path / "missing")) is None
    lines = [{"status": "new", "sha256": "a", "uri": "/a"}, {"status": "new", "sha256": "b", "uri": "/b"},
             {"status": "duplicate", "sha256": "a", "uri": "/a"}]
    (tmp_path / "index.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))

    assert latest_version(str(tmp_path))["sha256"] == "b"


def test_landing_folder_store_and_cron_default_under_the_state_folder(tmp_path):
    local = load_settings({"PIPELINE_STATE_DIR": str(tmp_path)})
    assert local.landing_dir == str(tmp_path / "landing") and local.dataset_store == str(tmp_path / "datasets")
    assert local.retrain_cron == DEFAULT_RETRAIN_CRON == "0 3 * * 1"
    assert not (tmp_path / "landing").exists()
    cluster = load_settings({"PIPELINE_MODE": "kubernetes", "PIPELINE_RETRAIN_CRON": "0 * * * *",
                             "PIPELINE_LANDING_DIR": "/data/in/"})
    assert cluster.landing_dir == "/data/in" and cluster.dataset_store == "/artifacts/datasets"
    assert cluster.retrain_cron == "0 * * * *"


CALLS: list[tuple[str, object]] = []


def record_alert(summary: str, context: object) -> None:
    """A stand-in alert hook (``tests.plugins.mlops_pipeline.test_triggers_and_alerts:record_alert``)."""
    CALLS.append((summary, context))


def explode(summary: str, context: object) -> None:
    raise RuntimeError("pager down")


def fake_context(error: Exception | None) -> dict:
    ti = SimpleNamespace(dag_id="dataset_ingest", task_id="ingest", run_id="r1", try_number=2)
    return {"ti": ti, "dag_run": SimpleNamespace(dag_id="dataset_ingest", run_id="scheduled__1"), "exception": error}


def test_a_failure_is_logged_in_one_line_and_handed_to_the_configured_hook(monkeypatch, caplog):
    monkeypatch.setenv("PIPELINE_ALERT_HOOK", "tests.plugins.mlops_pipeline.test_triggers_and_alerts:record_alert")
    CALLS.clear()
    context = fake_context(ValueError("step ingest failed (exit 2): error: ingest: x.csv: file is empty\nmore"))

    with caplog.at_level(logging.ERROR, logger="mlops_pipeline.alerts"):
        summary = on_failure(context)

    assert summary == ("pipeline failure: dag=dataset_ingest task=ingest run=scheduled__1 try=2 "
                       "reason=step ingest failed (exit 2): error: ingest: x.csv: file is empty")
    assert CALLS == [(summary, context)] and summary in caplog.text


def test_a_broken_hook_is_logged_and_never_hides_the_failure(monkeypatch, caplog):
    monkeypatch.setenv("PIPELINE_ALERT_HOOK", "tests.plugins.mlops_pipeline.test_triggers_and_alerts:explode")
    with caplog.at_level(logging.ERROR, logger="mlops_pipeline.alerts"):
        summary = on_failure(fake_context(None))

    assert "reason=no exception recorded" in summary and "pager down" in caplog.text


def test_no_hook_configured_means_log_only_and_a_bad_spec_names_the_variable(monkeypatch):
    monkeypatch.delenv("PIPELINE_ALERT_HOOK", raising=False)
    assert load_hook(None) is None and "task=ingest" in failure_summary(fake_context(None))
    with pytest.raises(ValueError, match="PIPELINE_ALERT_HOOK"):
        load_hook("no_colon_here")


def test_a_run_for_a_stored_version_reads_images_of_that_versions_shape_not_the_forms(tmp_path):
    from mlops_pipeline.triggers import resolve_for_run

    # Given the form's 8x8 defaults (a run the scheduler starts has no conf) and a stored 28x28 version
    params = {"dataset_uri": "embedded://digits", "image_height": 8, "image_width": 8}
    event = [{"uri": f"{tmp_path}/datasets/abc/new.csv", "sha256": "abc", "image_height": 28, "image_width": 28}]
    store = tmp_path / "datasets"
    store.mkdir()
    (store / "index.jsonl").write_text(json.dumps({"status": "new", "uri": f"{store}/old/o.csv", "sha256": "old",
                                                   "image_height": 3, "image_width": 3}) + "\n")

    # When an asset-triggered, a scheduled and a manual run resolve their data
    by_event = resolve_for_run("asset_triggered", event, str(store), params)
    by_cron = resolve_for_run("scheduled", [], str(store), params)
    by_hand = resolve_for_run("manual", [], str(store), params)

    # Then the first two take the version's shape, the manual run the form's
    assert (by_event["image_height"], by_event["image_width"], by_event["version"]) == (28, 28, "abc")
    assert (by_cron["image_height"], by_cron["image_width"], by_cron["version"]) == (3, 3, "old")
    assert (by_hand["image_height"], by_hand["image_width"], by_hand["trigger"]) == (8, 8, "param")
