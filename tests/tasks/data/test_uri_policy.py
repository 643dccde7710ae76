"""The dataset allowlist: a hostile or careless URI is refused with one line before anything is read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.core.common import StepError
from tasks.data.uri_policy import check_model_uri, check_source_uri, masked, roots_from_env
from tests.support.steps import call_step

REMOTE_ROOTS = ["s3://fashion-data/datasets", "https://data.example.com/fashion"]


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "good.csv").write_text("label,pixel1\n0,1\n")
    return folder


def _refusal(uri: str, roots: list[str], schemes: tuple[str, ...] = ("s3", "https")) -> str:
    with pytest.raises(StepError) as caught:
        check_source_uri(uri, roots, schemes)
    message = str(caught.value)
    assert "\n" not in message and len(message) <= 220, message
    return message


def test_a_file_in_the_landing_folder_is_allowed_as_a_path_or_file_uri(landing):
    roots = [str(landing)]
    assert check_source_uri(str(landing / "good.csv"), roots, ()) == str(landing / "good.csv")
    assert check_source_uri(f"file://{landing}/good.csv", roots, ()) == str(landing / "good.csv")


@pytest.mark.parametrize("uri", ["/etc/passwd", "/proc/self/environ", "file:///etc/passwd", "file:///proc/self/environ"])
def test_the_workers_secrets_are_refused_naming_the_uri_and_what_to_do(landing, uri):
    message = _refusal(uri, [str(landing)])
    assert repr(uri) in message and "PIPELINE_ALLOWED_DATA_ROOTS" in message


def test_dot_dot_and_symlinks_out_of_a_root_are_followed_and_refused(landing):
    (landing / "sneaky.csv").symlink_to("/etc/passwd")
    assert "/etc/passwd" in _refusal(str(landing / "sneaky.csv"), [str(landing)])
    up = len(landing.parts)  # enough ".." to reach / from any temporary folder's depth
    _refusal(f"{landing}/{'../' * up}etc/passwd", [str(landing)])
    _refusal(f"file://{landing}/{'%2e%2e/' * up}etc/passwd", [str(landing)])
    _refusal("relative/path.csv", [str(landing)])


def test_a_sibling_folder_sharing_the_roots_prefix_is_not_inside_it(tmp_path, landing):
    (tmp_path / "landing-evil").mkdir()
    _refusal(str(tmp_path / "landing-evil" / "x.csv"), [str(landing)])


@pytest.mark.parametrize("uri", ["http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                                 "http://localhost:8080/api/v2/variables", "https://10.0.0.5/fashion/a.csv",
                                 "https://data.example.com.evil.org/fashion/a.csv",
                                 "https://data.example.com@169.254.169.254/fashion/a.csv",
                                 "s3://fashion-data-evil/datasets/a.csv", "s3://fashion-data/other/a.csv",
                                 "https://data.example.com/fashion/../admin", "https://data.example.com/fashion%2F..%2Fx",
                                 "gs://fashion-data/datasets/a.csv", "ftp://data.example.com/fashion/a.csv"])
def test_internal_hosts_and_unlisted_prefixes_are_refused(uri):
    assert repr(masked(uri))[:40] in _refusal(uri, REMOTE_ROOTS)  # a user-info part is shown as ***


def test_a_configured_bucket_prefix_or_host_is_allowed_only_with_its_scheme_enabled():
    assert check_source_uri("s3://fashion-data/datasets/v1/a.csv", REMOTE_ROOTS, ("s3",)) == \
        "s3://fashion-data/datasets/v1/a.csv"
    assert check_source_uri("HTTPS://Data.Example.com:443/fashion/a.csv.gz", REMOTE_ROOTS, ("https",)) == \
        "https://data.example.com/fashion/a.csv.gz"
    refused = _refusal("https://data.example.com/fashion/a.csv", REMOTE_ROOTS, ("s3",))
    assert "https:// sources are not enabled" in refused


def test_an_internal_host_is_allowed_when_the_operator_names_it():
    roots = ["http://minio.internal:9000/fashion"]
    assert check_source_uri("http://minio.internal:9000/fashion/a.csv", roots, ("http",)) == \
        "http://minio.internal:9000/fashion/a.csv"


def test_embedded_data_is_always_allowed_but_only_by_name():
    assert check_source_uri("embedded://digits", [], ()) == "embedded://digits"
    _refusal("embedded://../../etc/passwd", [])


@pytest.mark.parametrize("uri", ["", "   ", "/data/a.csv\n/etc/passwd", "s3://", "https:///nohost"])
def test_malformed_uris_are_refused(landing, uri):
    _refusal(uri, [str(landing)])


def test_a_long_uri_is_shortened_in_the_message():
    assert len(_refusal("/etc/" + "x" * 1500, [])) <= 240


def test_the_step_reads_the_allowlist_from_its_environment(landing):
    roots, schemes = roots_from_env({"PIPELINE_ALLOWED_DATA_ROOTS": f"{landing}, s3://fashion-data/datasets",
                                     "PIPELINE_ALLOWED_DATA_SCHEMES": "s3"})
    assert roots == [str(landing), "s3://fashion-data/datasets"] and schemes == ["s3"]
    assert roots_from_env({}) == ([], [])
    assert os.path.exists(check_source_uri(str(landing / "good.csv"), roots, schemes))


@pytest.mark.parametrize("uri", ["models:/fashion@champion", "models:/fashion/3", "runs:/0a1b2c/model"])
def test_a_registry_model_uri_is_a_base_model_as_it_is(uri):
    assert check_model_uri(uri, [], []) == uri


def test_a_base_model_path_goes_through_the_dataset_allowlist(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"x")
    assert check_model_uri(str(model), [str(tmp_path)], []) == str(model.resolve())
    with pytest.raises(StepError, match="allowed"):
        check_model_uri(str(model), [str(tmp_path / "elsewhere")], [])
    with pytest.raises(StepError, match="not a model"):
        check_model_uri("embedded://digits", [str(tmp_path)], [])


@pytest.mark.parametrize("uri", ["https://user:hunter2pw@host/x.csv", "s3://AKIAX:hunter2pw@bucket/x.csv",
                                 "ftp://user:hunter2pw@host/x.csv", "https://hunter2pw@host/x.csv",
                                 "https://host/x.csv?X-Amz-Signature=hunter2pw&part=1"])
def test_credentials_in_a_refused_uri_are_masked_in_the_refusal(uri):
    message = _refusal(uri, ["s3://bucket", "https://other"])
    assert "hunter2pw" not in message and "***" in message


def test_a_step_that_echoes_a_uri_with_credentials_never_prints_them(tmp_path):
    done = call_step("fetch", "--source", "https://user:hunter2pw@host/x.csv", "--output", str(tmp_path / "f"),
                    env={"PIPELINE_ALLOWED_DATA_ROOTS": "https://host", "PIPELINE_ALLOWED_DATA_SCHEMES": "https"})
    assert done.returncode == 2 and "credentials" in done.stderr
    assert "hunter2pw" not in done.stderr + done.stdout and "https://***@host/x.csv" in done.stderr
