"""``make ui`` serves this machine only, on the port asked for.

``make ui`` runs here with a stand-in ``airflow`` in a throwaway venv folder: for
``standalone`` it asks the real Airflow, in the environment ``make`` handed it, what
``airflow api-server`` (the child standalone starts) would bind to and where task
workers would reach the execution API. So the test follows Airflow's own config
lookup, not the Makefile's text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.steps import ROOT

pytestmark = pytest.mark.integration  # runs make, as a user does

ASK_AIRFLOW = (
    "import json\n"
    "from airflow.cli.cli_parser import get_parser\n"
    "from airflow.configuration import conf\n"
    "from airflow.executors.base_executor import get_execution_api_server_url\n"
    "args = get_parser().parse_args(['api-server'])\n"
    "print(json.dumps({'host': args.host, 'port': args.port, 'links': conf.get('api', 'base_url', fallback=None),\n"
    "                  'execution_api': get_execution_api_server_url()}))\n"
)


@pytest.fixture()
def fake_venv(tmp_path: Path) -> Path:
    """A venv folder whose ``airflow`` migrates nothing and, as ``standalone``, reports what it would serve on."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (tmp_path / "state").mkdir()
    (tmp_path / "ask.py").write_text(ASK_AIRFLOW)
    airflow = venv / "bin" / "airflow"
    airflow.write_text(f'#!/bin/sh\n[ "$1" = standalone ] && exec "{sys.executable}" "{tmp_path / "ask.py"}"\n'
                       "exit 0\n")
    airflow.chmod(0o755)
    (venv / ".installed").touch()  # newer than the lock: `install` has nothing to do
    return venv


def make_ui(venv: Path, *variables: str, env: dict[str, str] | None = None) -> dict:
    """What ``make ui VARIABLES`` hands to ``airflow standalone``, as Airflow reads it."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__API__")}
    done = subprocess.run(["make", "--no-print-directory", "ui", f"VENV={venv}", f"STATE={venv.parent / 'state'}",
                           *variables], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**base, **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_make_ui_listens_on_localhost_only_on_the_port_given(fake_venv):
    # When a person starts the UI on another port
    served = make_ui(fake_venv, "PORT=8791")

    # Then the API server binds the loopback address on that port, and links and task workers follow it
    assert served == {"host": "127.0.0.1", "port": 8791, "links": "http://localhost:8791",
                      "execution_api": "http://127.0.0.1:8791/execution/"}


def test_make_ui_defaults_to_8080_on_localhost_whatever_the_shell_exports(fake_venv):
    # Given a shell that exports a PORT for something else and an Airflow host open to every network
    shell = {"PORT": "9999", "AIRFLOW__API__HOST": "0.0.0.0"}

    # When the UI is started without arguments
    served = make_ui(fake_venv, env=shell)

    # Then it still serves this machine only, on the documented default port
    assert (served["host"], served["port"], served["links"]) == ("127.0.0.1", 8080, "http://localhost:8080")


def test_installed_project_runs_steps_and_loads_the_dag_wiring_from_any_folder(tmp_path):
    # Given the project installed by `make install` (pip install -e .), and a shell in some other folder
    # with no PYTHONPATH: only Airflow's own plugins folder on the path, as the scheduler puts it there
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    # When a step CLI is asked for its usage there, and the DAGs' wiring is imported as a DAG file does
    usage = subprocess.run([sys.executable, "-m", "tasks", "--help"], cwd=tmp_path, capture_output=True, text=True,
                           env=env, timeout=120)
    dag_imports = "import mlops_pipeline.contract_wiring, tasks; print(tasks.__file__)"
    wiring = subprocess.run([sys.executable, "-c", dag_imports], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**env, "PYTHONPATH": str(ROOT / "plugins")})

    # Then both find this checkout's `tasks` package (no sys.path edit, no project root on the path)
    assert usage.returncode == 0, usage.stderr[-2000:]
    assert "usage: python -m tasks {" in usage.stdout and "train" in usage.stdout
    assert wiring.returncode == 0, wiring.stderr[-2000:]
    assert Path(wiring.stdout.strip()) == ROOT / "tasks" / "__init__.py"
