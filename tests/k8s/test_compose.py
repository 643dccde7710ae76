"""docker-compose.yaml: a valid compose file in the official Airflow 3 shape, with no password in it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-init"}
REQUIRED_ENV = ("POSTGRES_PASSWORD", "MLFLOW_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
                "AIRFLOW_ADMIN_PASSWORD")
MOUNTS = {"./dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins", "./tasks": "/opt/airflow/tasks",
          "./expectations": "/opt/airflow/expectations"}


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)")
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run([*command, "--env-file", str(env_file), "-f", str(COMPOSE), "config"], cwd=ROOT,
                          capture_output=True, text=True, env={"PATH": "/usr/local/bin:/usr/bin:/bin"})


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_config_accepts_the_file_once_env_is_set(tmp_path):
    result = _config(tmp_path, {name: f"test-{name.lower()}" for name in REQUIRED_ENV})

    assert result.returncode == 0, result.stderr
    assert "postgresql+psycopg2://airflow:test-postgres_password@postgres/airflow" in result.stdout


def test_compose_refuses_to_start_without_a_password(tmp_path):
    result = _config(tmp_path, {})

    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_services_are_the_official_airflow_3_shape_plus_mlflow_on_postgres():
    services = _services()
    mlflow = services["mlflow"]

    assert AIRFLOW_SERVICES | {"postgres", "mlflow", "mlflow-postgres"} == set(services)
    assert mlflow["build"]["dockerfile"] == "images/mlflow/Dockerfile"
    assert mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://mlflow:")
    assert "@mlflow-postgres:5432/mlflow" in mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"]
    assert "--artifacts-destination=/mlflow/artifacts" in mlflow["command"]
    assert mlflow["depends_on"]["mlflow-postgres"]["condition"] == "service_healthy"


def test_named_volumes_sit_on_folders_the_images_create_for_uid_50000():
    airflow = (ROOT / "images" / "airflow" / "Dockerfile").read_text()
    mlflow = (ROOT / "images" / "mlflow" / "Dockerfile").read_text()
    mounts = {v.split(":")[0]: v.split(":")[1] for s in _services().values() for v in s.get("volumes", [])}

    assert mounts["pipeline-state"] == "/opt/airflow/state"
    assert airflow.index("USER 50000") < airflow.index("mkdir -p /opt/airflow/state")
    assert mounts["mlflow-artifacts"] == "/mlflow/artifacts"
    assert "mkdir -p /mlflow/artifacts && chown -R 50000:0 /mlflow" in mlflow


def test_airflow_services_run_local_mode_with_our_code_mounted():
    for name in AIRFLOW_SERVICES:
        service = _services()[name]
        env = service["environment"]
        mounts = dict(v.split(":")[:2] for v in service["volumes"])

        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["PIPELINE_MODE"] == "local"
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert MOUNTS.items() <= mounts.items(), name
        assert service["build"]["dockerfile"] == "images/airflow/Dockerfile"


def test_no_password_literal_in_the_file():
    env = {k: str(v) for service in _services().values() for k, v in (service.get("environment") or {}).items()}
    secrets = [v for k, v in env.items() if re.search(r"PASSWORD|FERNET_KEY|JWT_SECRET", k)]
    inline = [m for v in env.values() for m in re.findall(r"://[^:/\s]+:(\$\{[^}]*\}|[^@\s]+)@", v)]

    assert secrets and inline
    assert all(re.fullmatch(r"\$\{\w+:\?[^}]+\}", value) for value in secrets + inline), secrets + inline


def test_env_example_lists_every_required_variable_without_values():
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))

    assert all(example[name] == "" for name in REQUIRED_ENV)
