"""The run report's pieces: safe paths, curves, task links and the plugin's registration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlops_pipeline import links
from mlops_pipeline.settings import load_settings
from run_report.artifacts import UnsafePath, file_in, load_run, run_folder
from run_report.curves import history_charts

ROOT = Path(__file__).resolve().parents[3]


def test_run_folder_is_where_the_steps_write(tmp_path):
    folder = run_folder(tmp_path, "fashion_mnist_training", "manual__2026-11-24T19:56:22+00:00")
    assert folder == (tmp_path / "fashion_mnist_training" / "manual__2026-11-24T19_56_22_00_00-e40e24135685").resolve()


@pytest.mark.parametrize("dag_id,run_id", [("d", "../../etc"), ("d", ".."), ("..", "r"), ("d", "a/b"),
                                           ("d", "..\\x"), ("a b", "r"), ("d", "")])
def test_ids_that_are_paths_are_refused(tmp_path, dag_id, run_id):
    with pytest.raises(UnsafePath):
        run_folder(tmp_path, dag_id, run_id)


def test_files_outside_the_run_are_refused_even_through_a_symlink(tmp_path):
    run = tmp_path / "root" / "d" / "r"
    run.mkdir(parents=True)
    (tmp_path / "secret").write_text("x")
    (run / "escape").symlink_to(tmp_path / "secret")
    for name in ("../../../secret", "/etc/passwd", "escape"):
        with pytest.raises(UnsafePath):
            file_in(run, name)
    assert file_in(run, "sub/../ok.html") == (run / "ok.html").resolve()


def test_missing_report_files_read_as_none(tmp_path):
    assert set(load_run(tmp_path).values()) == {None}


def test_history_becomes_two_svg_charts_with_train_and_validation_lines():
    charts = history_charts({"accuracy": [0.5, 0.7, 0.9], "val_accuracy": [0.4, 0.6, 0.8], "loss": [1.0, 0.5, 0.2],
                             "val_loss": [1.1, 0.7, 0.4]})
    assert len(charts) == 2
    assert all(chart.startswith("<svg") and chart.count("<polyline") == 2 for chart in charts)
    assert history_charts(None) == [] and history_charts({"loss": []}) == []


def test_links_point_to_the_report_of_the_tasks_own_run():
    ti = SimpleNamespace(dag_id="fashion_mnist_training", run_id="manual__2026-01-01T00:00:00+00:00",
                         task_id="validate_raw")
    data_docs, report = links.links_for("validate_raw")
    assert data_docs.name == "Data Docs"
    assert data_docs.get_link(None, ti_key=ti) == ("/run-report/dags/fashion_mnist_training/runs/"
                                                   "manual__2026-01-01T00%3A00%3A00%2B00%3A00/data-docs/validate_raw/"
                                                   "index.html")
    assert report.get_link(None, ti_key=ti).endswith("%2B00%3A00/")
    assert [link.name for link in links.links_for("deploy")] == ["MLflow model version", "Run report"]
    assert [link.name for link in links.links_for("train")] == ["MLflow run", "Run report"]
    assert links.links_for("fetch") == []


def test_mlflow_ui_url_comes_from_the_environment():
    assert links.mlflow_ui_url({}) == "http://localhost:5000"
    assert links.mlflow_ui_url({"PIPELINE_MLFLOW_UI_URL": "https://mlflow.corp/"}) == "https://mlflow.corp"


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_both_runners_give_steps_their_links(mode):
    from mlops_pipeline.runners import step_operator
    from mlops_pipeline.steps import StepSpec

    op = step_operator(StepSpec("deploy", "deploy"), load_settings({"PIPELINE_MODE": mode}))
    assert {"MLflow model version", "Run report"} <= {link.name for link in op.operator_extra_links}


@pytest.mark.integration  # a fresh interpreter loads the plugins as Airflow does
def test_plugin_registers_the_run_tab_without_importing_fastapi():
    code = ("import sys; from airflow import plugins_manager as pm; plugins = pm._get_plugins()[0]; "
            "print(sorted(p.name for p in plugins), 'fastapi' in sys.modules, 'run_report.app' in sys.modules); "
            "print(pm._get_ui_plugins()[0]); print([a['url_prefix'] for a in pm.get_fastapi_plugins()[0]])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    names, views, prefixes = out.strip().splitlines()[-3:]
    assert names == "['conf_guard', 'run_report'] False False"  # starlette is imported per request only
    assert "'href': '/run-report/dags/{DAG_ID}/runs/{RUN_ID}/'" in views and "'destination': 'dag_run'" in views
    assert prefixes == f"['{links.URL_PREFIX}']"


@pytest.mark.integration  # a fresh interpreter loads the plugins as Airflow does
def test_loading_the_plugins_imports_no_pipeline_module_and_not_the_kubernetes_provider():
    from mlops_pipeline import __file__ as package_file

    bare_names = sorted(p.stem for p in Path(package_file).parent.glob("*.py") if p.stem != "__init__")
    code = ("import sys, json; from airflow import plugins_manager as pm; pm._get_plugins(); "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    assert "airflow.providers.cncf.kubernetes.operators.pod" not in loaded  # ~1 s in every process loading plugins
    assert not loaded & set(bare_names), sorted(loaded & set(bare_names))  # no module imported twice, by bare name
    assert "pod_operator" in bare_names and "mlops_pipeline.conf_check" in loaded  # what is checked exists


def test_a_champion_that_could_not_be_compared_is_named_with_its_problem_and_escaped():
    from run_report.page import gate_section

    registration = {"model_name": "m", "version": 4, "champion_version": 3,
                    "champion": {"version": 3, "table": None, "problem": "it takes other input: <8x8>"}}
    html = gate_section({"deploy": False, "reason": "not deploying"}, registration, "http://mlflow")

    assert "Could not compare with champion <b>v3</b>: it takes other input: &lt;8x8&gt;" in html
    assert "replace_incompatible_champion" in html and '<table id="comparison">' not in html
