"""The Airflow image runs the configuration we ship: Helm values' executor and auth manager on a real PostgreSQL.

Given our airflow image (built as ``make images`` builds it) and a throwaway PostgreSQL 15 on loopback,
when the image runs ``airflow db migrate`` with ``helm-values.yaml``'s executor and ``auth_manager`` (and the
compose file's, the same auth manager with the LocalExecutor), then the metadata database is migrated, and the
image's API server, started with that configuration as uid 50000, answers its health endpoint with a healthy
metadatabase. A provider or driver the values need but the image lacks fails here, not on a team's cluster.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.images import podman
from tests.support.services import free_port, postgres_missing, throwaway_postgres, wait_http

pytestmark = [pytest.mark.images, pytest.mark.timeout(2400)]
ROOT = Path(__file__).resolve().parents[2]


def _values_config() -> dict[str, str]:
    """What the Helm values and the compose file configure Airflow with (executor, auth manager)."""
    values = yaml.safe_load((ROOT / "helm-values.yaml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    compose_env = next(s.get("environment", {}) for s in compose["services"].values()
                       if "AIRFLOW__CORE__AUTH_MANAGER" in (s.get("environment") or {}))
    assert values["config"]["core"]["auth_manager"] == compose_env["AIRFLOW__CORE__AUTH_MANAGER"]
    return {"executor": values["executor"], "auth_manager": values["config"]["core"]["auth_manager"],
            "compose_executor": compose_env["AIRFLOW__CORE__EXECUTOR"]}


@pytest.fixture(scope="module")
def airflow_image(tmp_path_factory) -> str:
    reason = podman.unusable_reason() or postgres_missing()
    if reason:
        pytest.skip(reason)
    podman.build_images(tmp_path_factory.mktemp("images") / "build.log", ("airflow",))
    return podman.image_ref("airflow")


def _airflow(image: str, env: dict[str, str], *args: str, detach: bool = False, timeout: int = 900):
    flags = [f for name, value in env.items() for f in ("--env", f"{name}={value}")]
    command = [*podman.PODMAN, "run", *(["-d"] if detach else ["--rm"]), *podman.ULIMITS, "--user", "50000:0",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "host", *flags,
               "--entrypoint", "airflow", image, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("executor_key", ["executor", "compose_executor"])
def test_the_image_migrates_postgres_and_serves_the_api_with_the_shipped_configuration(airflow_image, executor_key):
    config = _values_config()
    with throwaway_postgres("airflow") as server:
        env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{server}/airflow",
               "AIRFLOW__CORE__EXECUTOR": config[executor_key], "AIRFLOW__CORE__AUTH_MANAGER": config["auth_manager"],
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-secret",
               "AIRFLOW__API__SECRET_KEY": "test-only-secret"}
        migrated = _airflow(airflow_image, env, "db", "migrate")
        assert migrated.returncode == 0, (migrated.stdout + migrated.stderr)[-3000:]

        port = free_port()
        started = _airflow(airflow_image, env, "api-server", "--host", "127.0.0.1", "--port", str(port), detach=True,
                           timeout=120)
        assert started.returncode == 0, started.stderr[-2000:]
        container = started.stdout.strip()
        try:
            health = json.loads(wait_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", 300))
        except OSError as err:
            logs = subprocess.run([*podman.PODMAN, "logs", container], capture_output=True, text=True)
            raise AssertionError(f"the API server did not answer ({err}):\n{logs.stderr[-3000:]}") from err
        finally:
            subprocess.run([*podman.PODMAN, "rm", "-f", container], capture_output=True, timeout=120)
    assert health["metadatabase"]["status"] == "healthy", health
