"""A dataset URI a run cannot or may not read fails its first tasks at once, in one line naming it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException

from mlops_pipeline.datasets import dataset_available
from mlops_pipeline.settings import load_settings
from mlops_pipeline.triggers import resolve_dataset
from mlops_pipeline.uri_check import allowlist_env, check_dataset_uri

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and len(message) <= 240
    return message


@pytest.mark.parametrize("uri", ["/data/missing.csv", "file:///data/missing.csv"])
def test_a_missing_local_dataset_fails_at_once_naming_it(uri):
    with pytest.raises(AirflowFailException) as error:
        dataset_available(uri, waiting_since=T0, timeout=timedelta(hours=6), now=lambda: T0)
    assert repr(uri) in _one_line(error) and "no such file" in str(error.value)


@pytest.mark.parametrize("uri", ["gopher://host/a.csv", "s3://", "https:///a.csv", "   "])
def test_a_malformed_uri_fails_at_once(uri):
    with pytest.raises(AirflowFailException) as error:
        dataset_available(uri)
    _one_line(error)


def test_a_present_local_file_and_embedded_data_are_available(tmp_path):
    (tmp_path / "a.csv").write_text("label\n")
    assert dataset_available(str(tmp_path / "a.csv")) and dataset_available(f"file://{tmp_path}/a.csv")
    assert dataset_available("embedded://digits")


def test_the_sensor_reads_a_file_uri_as_the_allowlist_does(tmp_path):
    # given a file whose name has a space, named as resolve_dataset's policy accepts it (percent-encoded)
    (tmp_path / "a b.csv").write_text("label\n")
    uri = f"file://{tmp_path}/a%20b.csv"
    settings = load_settings({"PIPELINE_ALLOWED_DATA_ROOTS": str(tmp_path)})
    assert check_dataset_uri(uri, settings) == str(tmp_path / "a b.csv")
    # then the wait-for-data sensor finds that same file instead of failing the run "no such file"
    assert dataset_available(uri)


def test_a_remote_dataset_is_waited_for_with_a_log_line_then_fails_after_the_timeout(monkeypatch, caplog):
    import fsspec

    class Absent:
        def exists(self, path):
            return False

    monkeypatch.setattr(fsspec.core, "url_to_fs", lambda uri: (Absent(), uri))
    uri = "s3://fashion-data/datasets/next.csv"
    with caplog.at_level(logging.INFO, logger="mlops_pipeline.datasets"):
        assert dataset_available(uri, waiting_since=T0, timeout=timedelta(minutes=30),
                                 now=lambda: T0 + timedelta(minutes=10)) is False
    assert f"waiting for {uri}: not there yet (waited 10 min, 20 min left)" in caplog.text
    with pytest.raises(AirflowFailException) as error:
        dataset_available(uri, waiting_since=T0, timeout=timedelta(minutes=30), now=lambda: T0 + timedelta(minutes=31))
    assert "after waiting 30 min" in _one_line(error) and "data_wait_timeout_minutes" in str(error.value)


@pytest.mark.parametrize("uri", ["/etc/passwd", "/proc/self/environ", "http://169.254.169.254/latest/meta-data/",
                                 "http://localhost:8080/api/v2/connections"])
def test_resolve_dataset_refuses_the_workers_secrets_and_internal_hosts_before_reading(uri):
    with pytest.raises(AirflowFailException) as error:
        resolve_dataset("manual", [], None, uri)
    assert "PIPELINE_ALLOWED_DATA" in _one_line(error)


def test_resolve_dataset_accepts_the_landing_folder_the_store_and_configured_buckets(tmp_path):
    settings = load_settings({"PIPELINE_STATE_DIR": str(tmp_path),
                              "PIPELINE_ALLOWED_DATA_ROOTS": "s3://fashion-data/datasets/, /mnt/shared"})
    from mlops_pipeline.settings import SAMPLES_DIR

    assert settings.allowed_data_roots == (f"{tmp_path}/landing", f"{tmp_path}/datasets", f"{tmp_path}/artifacts",
                                           str(SAMPLES_DIR), "s3://fashion-data/datasets", "/mnt/shared")
    assert settings.allowed_data_schemes == ("s3",)
    check = lambda uri: check_dataset_uri(uri, settings)  # noqa: E731
    event = [{"uri": f"file://{tmp_path}/datasets/abc/data.csv", "sha256": "abc"}]
    assert resolve_dataset("asset_triggered", event, None, "", check)["uri"] == f"{tmp_path}/datasets/abc/data.csv"
    assert resolve_dataset("manual", [], None, "s3://fashion-data/datasets/v2.csv", check)["uri"] == \
        "s3://fashion-data/datasets/v2.csv"
    with pytest.raises(AirflowFailException):
        resolve_dataset("manual", [], None, "s3://other-bucket/v2.csv", check)
    assert allowlist_env(settings)["PIPELINE_ALLOWED_DATA_SCHEMES"] == "s3"


def test_schemes_can_be_narrowed_but_not_widened_beyond_the_configured_roots():
    settings = load_settings({"PIPELINE_ALLOWED_DATA_ROOTS": "s3://a/x,https://h/y",
                              "PIPELINE_ALLOWED_DATA_SCHEMES": "https,ftp"})
    assert settings.allowed_data_schemes == ("https",)


def test_a_uri_with_credentials_is_masked_in_the_sensors_failure_and_its_log(caplog):
    uri = "https://user:hunter2pw@data.example/x.csv"
    with caplog.at_level(logging.INFO):
        assert not dataset_available(uri, waiting_since=T0, timeout=timedelta(hours=6), now=lambda: T0)
    with pytest.raises(AirflowFailException) as error:
        dataset_available(uri, waiting_since=T0, timeout=timedelta(minutes=1), now=lambda: T0 + timedelta(hours=1))
    assert "hunter2pw" not in str(error.value) and "***@data.example" in str(error.value)
    assert "hunter2pw" not in caplog.text and "***@data.example" in caplog.text
    with pytest.raises(AirflowFailException) as local:
        dataset_available("file://user:hunter2pw@/nowhere/x.csv")
    assert "hunter2pw" not in str(local.value)


def test_a_skipped_run_does_not_print_the_params_credentials():
    from mlops_pipeline.triggers import NoStoredDataset, choose_dataset

    with pytest.raises(NoStoredDataset) as skipped:
        choose_dataset("scheduled", [], None, "https://user:hunter2pw@host/x.csv")
    assert "hunter2pw" not in str(skipped.value)


@pytest.mark.parametrize("uri", ["embedded://../../etc/passwd", "embedded://"])
def test_the_sensor_reads_embedded_names_as_the_allowlist_does(uri):
    # resolve_dataset's policy refuses these; the sensor, reading URIs by the same policy, never waits on one
    from tasks.core.common import StepError
    from tasks.data.uri_policy import check_source_uri

    with pytest.raises(StepError):
        check_source_uri(uri, [], [])
    with pytest.raises(AirflowFailException):
        dataset_available(uri)
