"""Shared test setup: an isolated Airflow home and pipeline state per test session.

Environment is set before Airflow is imported anywhere, so tests never touch the
developer's ``.state/`` folder and never need a running scheduler.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.steps import ROOT, run_step  # noqa: F401  (run_step: re-exported for older imports)

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="fashion-mlops-tests-"))

TEST_ENV = {
    "AIRFLOW_HOME": str(_SESSION_DIR / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW_CONN_FS_DEFAULT": "fs://",
    "PIPELINE_MODE": "local",
    "PIPELINE_STATE_DIR": str(_SESSION_DIR / "state"),
    # Tests read datasets they write under the temp folder; the dataset allowlist admits it for them only.
    "PIPELINE_ALLOWED_DATA_ROOTS": tempfile.gettempdir(),
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "DO_NOT_TRACK": "true",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
for _key, _value in TEST_ENV.items():
    os.environ[_key] = _value
for _key in ("PIPELINE_ARTIFACT_ROOT", "PIPELINE_SERVING_ROOT", "MLFLOW_TRACKING_URI"):
    os.environ.pop(_key, None)


# The test tiers (pytest markers, one Make target each). A test's tier is its own marker, else its folder's.
TIERS = ("unit", "integration", "e2e", "images")
FOLDER_TIERS = {"e2e": "e2e", "images": "integration", "dags": "integration", "k8s": "integration",
                "benchmarks": "integration"}


# Parallel runs (pytest-xdist, `make test`'s `-n`): tests that share a fixture wider than a test run on one worker.
# A module is one unit of work (its module fixtures: an end-to-end sequence, a server); the modules built on the
# session's champion are one, so it is trained once; the image tier's modules are one (they build the same images).
# Units start longest first (the collection's order, kept by --no-loadscope-reorder): the champion's modules and the
# image tier (the two longest units: one starts on each worker), then the other end-to-end modules, integration,
# unit; the small units at the end fill the workers evenly. Measured (a fresh clone, 2 cores): images last, 1701 s.
SHARED_GROUPS = {"tests/e2e/test_training_dag.py": "champion", "tests/e2e/test_feedback_loop.py": "champion"}
FIRST_UNITS = ("champion", "images")
TIER_ORDER = ("e2e", "images", "integration", "unit")


def _work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, or the group of modules that share a session fixture."""
    module = nodeid.split("::", 1)[0]
    return "images" if module.startswith("tests/images/") else SHARED_GROUPS.get(module, module)


def _start_rank(item: pytest.Item) -> tuple[int, int]:
    unit = _work_unit(item.nodeid)
    return (FIRST_UNITS.index(unit), 0) if unit in FIRST_UNITS else (len(FIRST_UNITS), TIER_ORDER.index(_tier(item)))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadscope`` with :func:`_work_unit` as the scope (xdist's loadgroup marks do not reach pytest 9's
    node ids, so the grouping is done here, on the ids alone)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return ModuleGroups(config, log)


@pytest.hookimpl(wrapper=True)  # inside pytest-randomly's shuffle, around -m's selection
def pytest_collection_modifyitems(items: list[pytest.Item]):
    """Give every test exactly one tier (an explicit tier marker wins, then the folder's, then ``unit``) before
    ``-m`` selects by it; then order what is selected longest unit first (a stable sort: the shuffled order
    inside each rank stays)."""
    for item in items:
        marked = [name for name in TIERS if item.get_closest_marker(name)]
        if not marked:
            folder = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
            item.add_marker(getattr(pytest.mark, FOLDER_TIERS.get(folder, "unit")))
    result = yield
    items.sort(key=_start_rank)
    return result


# What a unit test may not start: an interpreter (a step CLI, a DAG run) or one of the stack's servers and tools.
# Libraries' own probes (``uname -p`` from ``platform``, ``git`` from GitPython) stay allowed.
NOT_IN_UNIT_TESTS = ("python", "airflow", "mlflow", "podman", "kubectl", "make", "chromium", "docker-compose",
                     "pg_ctl", "initdb", "postgres", "helm")


@pytest.fixture(autouse=True)
def unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The unit tier is in-process: a unit test that starts a step, a DAG run or a server fails and says so."""
    if request.node.get_closest_marker("unit") is None or any(
            request.node.get_closest_marker(name) for name in TIERS[1:]):
        yield
        return
    execute = subprocess.Popen._execute_child

    def refuse(self, args, *rest, **kwargs):
        program = Path(str(args if isinstance(args, (str, bytes)) else args[0]).split()[0]).name
        if program.startswith(NOT_IN_UNIT_TESTS):
            raise AssertionError(f"{request.node.nodeid} starts {program}: mark it `integration` "
                                 "(pytest.mark.integration), or call the function in process (tests/support/steps.py)")
        return execute(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
    yield


@pytest.fixture(autouse=True)
def no_tracking_uri_leaks():
    """No test hands its MLflow store to later ones: MLflow's own setters export MLFLOW_*_URI to the process
    environment, which every DAG run started afterwards would forward to its steps."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module", autouse=True)
def module_state_dir(tmp_path_factory: pytest.TempPathFactory):
    """Each test module gets its own pipeline state (artifacts, registry, dataset store, landing folder).

    A module's tests may build on each other (an end-to-end sequence), but no module
    sees another's datasets or models, so the suite passes in any order.
    """
    previous = os.environ["PIPELINE_STATE_DIR"]
    state = tmp_path_factory.mktemp("state")
    os.environ["PIPELINE_STATE_DIR"] = str(state)
    yield state
    os.environ["PIPELINE_STATE_DIR"] = previous


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """A temporary folder shared by the whole test session."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite Airflow database for tests that run DAGs."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return home


# Seconds spent per tier (setup, call and teardown of its tests; a shared fixture counts where it is first
# set up), printed at the end of a run, so one `make test` shows what each tier costs. Read from the test reports,
# so a parallel run (xdist) counts its workers' tests too: there they are worker-seconds (pytest's own total,
# printed below them, is the wall time).
_TIER_SECONDS: dict[str, float] = {}
_TIER_COUNTS: dict[str, int] = {}


def _tier_of(names) -> str:
    """The tier among a test's marker names (an item's markers, a report's keywords)."""
    return next((name for name in TIERS if name in names), "unit")


def _tier(item: pytest.Item) -> str:
    return _tier_of({mark.name for mark in item.iter_markers()})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if getattr(report, "count_towards_summary", True) is False:
        return
    tier = _tier_of(report.keywords)
    _TIER_SECONDS[tier] = _TIER_SECONDS.get(tier, 0.0) + report.duration
    if report.when == "teardown":
        _TIER_COUNTS[tier] = _TIER_COUNTS.get(tier, 0) + 1


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _TIER_SECONDS:
        workers = getattr(config.option, "numprocesses", None) or 0
        spent = [f"{tier} {_TIER_SECONDS[tier]:.0f} s ({_TIER_COUNTS.get(tier, 0)} tests)"
                 for tier in TIERS if tier in _TIER_SECONDS]
        where = f" ({workers} workers: worker-seconds)" if workers else ""
        terminalreporter.write_line(f"time per tier{where}: " + ", ".join(spent))
