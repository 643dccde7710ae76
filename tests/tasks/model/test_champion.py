"""Champion lookup: "there is no champion" only when the registry says so; any other failure is an error."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.model.champion import ChampionStatus, champion_status, champion_status_at

MODEL = "champion_test"


def mlflow_client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(uri, uri)


@pytest.fixture(scope="module")
def registry_uri(tmp_path_factory):
    """A real MLflow SQLite registry (created once: migrating one takes seconds); tests use their own model names."""
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture
def registry(registry_uri):
    return mlflow_client(registry_uri)


@pytest.fixture
def no_retries(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


def test_a_store_without_the_model_has_no_champion(registry):
    assert champion_status(registry, "never_registered") == ChampionStatus(version=None, error=None)


def test_a_model_without_the_alias_has_no_champion_and_an_alias_names_it(registry, tmp_path):
    # Given a registered model with one version and no alias
    registry.create_registered_model(MODEL)
    created = registry.create_model_version(MODEL, source=str(tmp_path / "model"))
    assert champion_status(registry, MODEL) == ChampionStatus()

    # When the alias is set, the status names the version; when that version is deleted, there is none again
    registry.set_registered_model_alias(MODEL, "champion", created.version)
    found = champion_status(registry, MODEL)
    assert (found.version, found.error, found.known) == (1, None, True)
    registry.delete_model_version(MODEL, created.version)
    assert champion_status(registry, MODEL) == ChampionStatus()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_tracking_server_is_an_error_not_no_champion(no_retries):
    status = champion_status(mlflow_client(f"http://127.0.0.1:{closed_port()}"), MODEL)

    assert status.version is None and not status.known
    assert status.error.startswith("registry error: MlflowException: ") and "\n" not in status.error
    assert len(status.error) <= 200


def test_a_tracking_uri_that_is_not_a_database_is_an_error(tmp_path):
    (tmp_path / "mlflow.db").write_text("this is not sqlite\n" * 100)

    status = champion_status_at(f"sqlite:///{tmp_path / 'mlflow.db'}", MODEL)

    assert status.version is None and "file is not a database" in status.error and "\n" not in status.error


def test_a_healthy_uri_gives_the_same_answer_as_a_client(registry, registry_uri):
    registry.create_registered_model("no_alias_yet")

    assert champion_status_at(registry_uri, "no_alias_yet") == champion_status(registry, "no_alias_yet")
    assert champion_status_at(registry_uri, "no_alias_yet") == ChampionStatus()


class StubRegistry(BaseHTTPRequestHandler):
    """Answers every call with one canned MLflow REST error."""

    reply: tuple[int, dict] = (500, {})

    def do_GET(self):  # noqa: N802 - the http.server API
        code, body = self.reply
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server(no_retries):
    """A local MLflow REST stand-in, stopped after the test; set ``StubRegistry.reply`` to choose its answer."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("reply, error", [
    ((404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Registered Model with name={MODEL} not found"}),
     None),
    ((400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."}), None),
    ((403, {"error_code": "PERMISSION_DENIED", "message": "User lacks permission on model"}), "PERMISSION_DENIED"),
    ((400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid model name ''"}), "Invalid model name"),
    ((503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"}), "failed"),  # retried, then gives up
])
def test_over_rest_only_missing_model_or_alias_reads_as_no_champion(stub_server, monkeypatch, reply, error):
    # Given a tracking server that answers the alias lookup with an error
    monkeypatch.setattr(StubRegistry, "reply", reply)

    # When the champion is looked up
    status = champion_status(mlflow_client(stub_server), MODEL)

    # Then only "no such model" and "no such alias" mean no champion; anything else is a one-line error
    assert status.version is None
    if error is None:
        assert status == ChampionStatus()
    else:
        assert status.error.startswith("registry error: ") and error in status.error and "\n" not in status.error
