"""What the deployment files configure, each image installs: no auth manager, executor or database driver missing.

Given helm-values.yaml, docker-compose.yaml, k8s/mlflow.yaml and the metadata connection docs/kubernetes.md
tells you to create, when the distributions their settings need are derived (the auth manager's and the
executor's provider, the driver of each SQLAlchemy URL's scheme), then each is in the requirements of the
image that reads the setting and pinned in constraints.txt: Airflow would otherwise stop at start-up on a
missing module, after the whole stack was deployed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Executors of Airflow core need nothing; the others live in a provider.
EXECUTOR_PROVIDERS = {"LocalExecutor": None, "SequentialExecutor": None,
                      "KubernetesExecutor": "apache-airflow-providers-cncf-kubernetes",
                      "CeleryExecutor": "apache-airflow-providers-celery",
                      "CeleryKubernetesExecutor": "apache-airflow-providers-celery"}
# SQLAlchemy's dialect[+driver] -> the distributions that serve it (for Airflow: the provider as well).
# A bare "postgresql://" means psycopg (3) since SQLAlchemy 2.1 (our lock), not psycopg2.
DRIVERS = {"postgresql": ("psycopg-binary",), "postgresql+psycopg2": ("psycopg2-binary",),
           "postgresql+psycopg": ("psycopg-binary",), "mysql+mysqldb": ("mysqlclient",), "sqlite": ()}
SQL_PROVIDERS = {"postgresql": "apache-airflow-providers-postgres", "mysql": "apache-airflow-providers-mysql"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text.strip()).lower()


def _requirements(image: str) -> set[str]:
    lines = (ROOT / "images" / image / "requirements.txt").read_text().splitlines()
    return {_name(re.split(r"[=<>\[;]", line)[0]) for line in lines if line.strip() and not line.startswith("#")}


def _pinned() -> set[str]:
    return {_name(line.split("==")[0]) for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}


def provider_of(class_path: str) -> str | None:
    """``airflow.providers.fab.auth_manager...`` -> ``apache-airflow-providers-fab``; core classes need none."""
    found = re.match(r"airflow\.providers\.(.+?)\.(?:auth_manager|executors|hooks|operators)\.", class_path)
    if class_path in EXECUTOR_PROVIDERS:
        return EXECUTOR_PROVIDERS[class_path]
    if found:
        return "apache-airflow-providers-" + found.group(1).replace(".", "-").replace("_", "-")
    if class_path.startswith("airflow.") and ".providers." not in class_path:
        return None
    raise ValueError(f"{class_path}: no provider known for it")


def drivers_of(url: str, *, airflow: bool) -> set[str]:
    """The distributions a SQLAlchemy URL needs: its driver, and for Airflow's database the provider too."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in DRIVERS:
        raise ValueError(f"{url.split('://')[0]}: no driver known for this scheme")
    provider = SQL_PROVIDERS.get(scheme.split("+")[0]) if airflow else None
    return {*DRIVERS[scheme], *([provider] if provider else [])}


def missing(needed: set[str], image: str) -> list[str]:
    """What ``image`` lacks of ``needed``: not in its requirements, or not pinned in the lock."""
    have, pinned = _requirements(image), _pinned()
    return sorted({f"{n}: not in images/{image}/requirements.txt" for n in needed if _name(n) not in have}
                  | {f"{n}: not pinned in constraints.txt" for n in needed if _name(n) not in pinned})


def _helm_needs() -> set[str]:
    values = yaml.safe_load((ROOT / "helm-values.yaml").read_text())
    metadata = re.search(r"--from-literal=connection='([^']+)'", (ROOT / "docs" / "kubernetes.md").read_text())
    needs = {provider_of(values["config"]["core"]["auth_manager"]), provider_of(values["executor"]),
             *drivers_of(metadata.group(1), airflow=True)}
    return {n for n in needs if n}


def _compose_needs() -> dict[str, set[str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]
    needs: dict[str, set[str]] = {"airflow": set(), "mlflow": set()}
    for service in services.values():
        dockerfile = (service.get("build") or {}).get("dockerfile", "")
        env = service.get("environment") or {}
        if dockerfile == "images/airflow/Dockerfile":
            needs["airflow"] |= {provider_of(env["AIRFLOW__CORE__AUTH_MANAGER"]),
                                 provider_of(env["AIRFLOW__CORE__EXECUTOR"]),
                                 *drivers_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], airflow=True)} - {None}
        if dockerfile == "images/mlflow/Dockerfile":
            needs["mlflow"] |= drivers_of(env["MLFLOW_BACKEND_STORE_URI"], airflow=False)
    return needs


def _k8s_mlflow_needs() -> set[str]:
    docs = yaml.safe_load_all((ROOT / "k8s" / "mlflow.yaml").read_text())
    server = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "mlflow")
    env = {e["name"]: e.get("value", "") for c in server["spec"]["template"]["spec"]["containers"] for e in c["env"]}
    return drivers_of(env["MLFLOW_BACKEND_STORE_URI"], airflow=False)


def test_the_airflow_image_has_what_helm_values_configure():
    needs = _helm_needs()

    assert {"apache-airflow-providers-fab", "apache-airflow-providers-postgres", "psycopg2-binary"} <= needs
    assert missing(needs, "airflow") == []


def test_the_airflow_image_has_what_docker_compose_configures():
    needs = _compose_needs()["airflow"]

    assert "apache-airflow-providers-fab" in needs
    assert missing(needs, "airflow") == []


def test_the_mlflow_image_has_the_driver_of_its_backend_store():
    needs = _compose_needs()["mlflow"] | _k8s_mlflow_needs()

    assert needs == {"psycopg2-binary"}
    assert missing(needs, "mlflow") == []


def test_the_check_names_what_an_image_lacks():
    needs = {"apache-airflow-providers-fab", "apache-airflow-providers-mysql", "mysqlclient"}

    assert missing(needs, "mlflow") == [
        "apache-airflow-providers-fab: not in images/mlflow/requirements.txt",
        "apache-airflow-providers-mysql: not in images/mlflow/requirements.txt",
        "apache-airflow-providers-mysql: not pinned in constraints.txt",
        "mysqlclient: not in images/mlflow/requirements.txt",
        "mysqlclient: not pinned in constraints.txt",
    ]


def test_a_bare_postgresql_url_needs_the_driver_sqlalchemy_picks_by_default():
    from sqlalchemy.engine import make_url

    default = make_url("postgresql://u@h/db").get_dialect().driver

    assert drivers_of("postgresql://u@h/db", airflow=False) == {f"{default}-binary"}


@pytest.mark.parametrize("unknown", ["oracle+cx_oracle://u@h/db", "mssql+pyodbc://u@h/db"])
def test_an_unknown_database_scheme_is_refused_not_passed(unknown):
    with pytest.raises(ValueError, match="no driver known"):
        drivers_of(unknown, airflow=True)


def test_providers_are_derived_from_class_paths():
    assert provider_of("airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager") == \
        "apache-airflow-providers-fab"
    assert provider_of("airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor") == \
        "apache-airflow-providers-cncf-kubernetes"
    assert provider_of("airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager") is None
    assert provider_of("LocalExecutor") is None
