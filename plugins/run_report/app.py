"""The run report's web app, mounted by the API server under ``/run-report``.

A plugin's FastAPI app is not behind Airflow's login on its own: every route here
depends on ``access.require_dag_read`` (the caller must be logged in and may read the
DAG in the URL and its runs; a logged-out browser is sent to the login page). A model's
history is served only under a DAG that exists and trains that model.

Only runs that exist in Airflow's database are served (``require_existing_run``, an exact
match on the run id), and their files are found with ``run_key`` (a hash of that exact id),
so an alias id that ``path_safe`` would have folded onto another run gets a 404.
Everything served carries a sandboxing Content-Security-Policy: the pages show text
derived from datasets, and no script in them may run with the Airflow origin's rights
(the report is an opaque-origin document even inside the UI's iframe). Data Docs are
our own escaped rendering of ``validation.json`` (``tasks/data/validation_page.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlops_pipeline.links import URL_PREFIX, VALIDATION_STEPS, mlflow_ui_url
from mlops_pipeline.settings import load_settings
from run_report.access import dag_models, owns_model, refusal, require_dag_read
from run_report.artifacts import (
    CONFUSION_MATRIX,
    UnsafePath,
    file_in,
    load_model_card,
    load_run,
    load_trials,
    run_folder,
)
from run_report.compare import compare_page
from run_report.facts import facts_reader, failures, history_reader, models_reader, run_facts
from run_report.feedback import checked_model, live_reader
from run_report.feedback import router as feedback_router
from run_report.header import effective_params, failure_section, form_defaults, lineage_section, params_section
from run_report.ingest_page import ingest_page
from run_report.mlflow_ui import local_ui_down, start_hint_page
from run_report.model_card_page import model_card_page
from run_report.models import history_page, live_cell, models_page, superseded_note
from run_report.page import absent, render
from run_report.pictures import load_test_predictions, picture_grid
from run_report.reuse import reuse_section
from run_report.skew import skew_section
from run_report.trials import trials_section
from tasks.data.validation_page import render_validation_page

# No script, no plugin, no form, nothing fetched but this origin's images; links may open new tabs
# (the new tab gets this same header from us). frame-ancestors keeps other sites from framing it.
CONTENT_SECURITY_POLICY = ("sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
                           "img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cross-Origin-Resource-Policy": "same-origin"}


def artifact_root() -> str:
    """Where the steps wrote (read per request, so a test or a redeploy can change it)."""
    return load_settings().artifact_root


def gate_outcome(dag_id: str, run_id: str) -> dict[str, Any]:
    """The gate task's XComs of this run: its branch (``deploy`` or none) and its ``reason``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids="gate")).all()
        values = {row.key: XComModel.deserialize_value(row) for row in rows}
    if "reason" not in values:
        return {"deploy": None, "reason": None}
    return {"deploy": values.get("return_value") == "deploy", "reason": values["reason"]}


def version_gates(dag_id: str, versions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each version's gate outcome, from its Airflow run's gate XComs."""
    return {str(v["airflow_run_id"]): gate_outcome(v.get("dag_id") or dag_id, str(v["airflow_run_id"]))
            for v in versions if v.get("airflow_run_id")}


def run_exists(dag_id: str, run_id: str) -> bool:
    """Whether Airflow's database holds a run with exactly this id (compared in Python: no collation games)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ids = session.scalars(select(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).all()
    return run_id in ids


def safe_run_folder(dag_id: str, run_id: str, root: Annotated[str, Depends(artifact_root)]) -> Path:
    """The run's folder, or 400 for ids that would lead outside the artifact root."""
    try:
        return run_folder(root, dag_id, run_id)
    except UnsafePath as err:
        raise HTTPException(status_code=400, detail="refused: not a DAG or run id of this artifact root") from err


def run_path(folder: Annotated[Path, Depends(safe_run_folder)], exists: Annotated[bool, Depends(run_exists)]) -> Path:
    """The folder of a run Airflow knows; 404 for any other id, whatever folders the artifact root holds."""
    if not exists:
        raise HTTPException(status_code=404, detail="no such run: check the run id (it must match exactly)")
    return folder


def _file(folder: Path, relative: str) -> FileResponse:
    try:
        path = file_in(folder, relative)
    except UnsafePath as err:
        raise HTTPException(status_code=400, detail="refused: the file is outside this run's artifacts") from err
    if not path.is_file():
        raise HTTPException(status_code=404, detail="not written (yet) by this run")
    return FileResponse(path)


def _registration(folder: Path) -> dict[str, Any]:
    registration = load_run(folder).get("register")
    if not registration:
        raise HTTPException(status_code=404, detail="this run has registered no model (yet)")
    return registration


RunDir = Annotated[Path, Depends(run_path)]
# No /docs or /openapi.json: those routes would not carry the access check.
app = FastAPI(title="Run report", dependencies=[Depends(require_dag_read)], docs_url=None, redoc_url=None,
              openapi_url=None)
RUN = "/dags/{dag_id}/runs/{run_id}"


app.add_exception_handler(StarletteHTTPException, refusal)  # a logged-out browser goes to the login page
app.include_router(feedback_router)  # under /dags/{dag_id}/models/{model_name}/feedback: the same access check


@app.middleware("http")
async def security_headers(request: Request, call_next):
    """Every response (pages, images, errors) is sandboxed and never content-sniffed."""
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():  # the feedback pages set their own policy (forms to 'self')
        response.headers.setdefault(name, value)
    return response


def _inline_png(path: Path) -> str | None:
    """The image as a ``data:`` URI: a sandboxed page's own requests carry no login cookie."""
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


@app.get(RUN + "/", response_class=HTMLResponse)
def report(dag_id: str, run_id: str, folder: RunDir, gate: Annotated[dict, Depends(gate_outcome)],
           facts: Annotated[dict, Depends(run_facts)], history: Annotated[Callable, Depends(history_reader)]) -> str:
    """The whole report; the UI shows it as the run's "Run report" tab (an ingest run's: what it did)."""
    found = failures(folder, facts.get("failed") or [])
    if "ingest" in (facts.get("tasks") or {}):
        settings = load_settings()
        return ingest_page(dag_id, run_id, facts, found, Path(settings.dataset_store), Path(settings.landing_dir))
    if not folder.is_dir():
        raise HTTPException(status_code=404, detail=f"no artifacts for run {run_id!r} of {dag_id!r}")
    matrix = _inline_png(folder / CONFUSION_MATRIX)
    defaults = facts.get("defaults") or form_defaults()
    xcoms = facts.get("xcoms") or {}
    artifacts = load_run(folder)
    failed = [str(f.get("task_id")) for f in found]
    header = (_superseded(dag_id, run_id, artifacts.get("register"), history)
              + failure_section(dag_id, run_id, found)
              + params_section(effective_params(facts.get("conf"), defaults), defaults)
              + lineage_section(xcoms.get("fetch"), xcoms.get("resolve_dataset"))
              + reuse_section(facts.get("reused") or {}, set(facts.get("tasks") or {}) or None)
              + skew_section(facts.get("provenance") or {}))
    pictures = picture_grid(load_test_predictions(folder), unavailable=absent("evaluate", failed) if failed else "")
    return render(dag_id, run_id, artifacts, gate, mlflow_ui_url(), confusion_matrix=matrix, header=header,
                  pictures=pictures, failed=failed, tuning=trials_section(load_trials(folder)),
                  deploy_state=((facts.get("tasks") or {}).get("deploy") or {}).get("state"))


def _superseded(dag_id: str, run_id: str, registration: dict[str, Any] | None, history: Callable) -> str:
    from tasks.model.history import superseded

    if not registration or not isinstance(registration.get("version"), int):
        return ""
    name, version = str(registration.get("model_name")), registration["version"]
    url = f"{URL_PREFIX}/dags/{quote(dag_id, safe='')}/models/{quote(name, safe='')}/"
    note = superseded_note(name, version, superseded(history(name), version), url)
    link = (f'<p><a id="model-history" href="{escape(url)}" target="_blank">Model history of {escape(name)}</a> '
            '&middot; <a id="model-card" href="model-card" target="_blank">Model card</a>'
            + (f' &middot; <a id="compare-champion" href="../../compare?a={quote(run_id, safe="")}" target="_blank">'
               'Compare with the champion</a>' if registration.get("champion_version") is not None else "") + "</p>")
    return note or link


@app.get("/dags/{dag_id}/models/", response_class=HTMLResponse)
def models_index_page(dag_id: str, models: Annotated[Callable, Depends(models_reader)],
                      defaults: Annotated[set[str] | None, Depends(dag_models)]) -> str:
    """The models this DAG's runs registered, each linking to its history (the UI navigation's entry)."""
    if defaults is None:
        raise HTTPException(status_code=404, detail="no such DAG: check the DAG id")
    return models_page(dag_id, models(dag_id))


@app.get("/dags/{dag_id}/models/{model_name}/", response_class=HTMLResponse)
def model_history_page(dag_id: str, model_name: str, history: Annotated[Callable, Depends(history_reader)],
                       defaults: Annotated[set[str] | None, Depends(dag_models)],
                       live: Annotated[Callable, Depends(live_reader)]) -> str:
    """Every version of a registered model: run, accuracy, gate decision, promotions and rollbacks, champion.

    Only under a DAG that trains the model (its default model name, or a version one of its runs
    registered); gate decisions are read for this DAG's runs only (the user may not read others).
    """
    checked_model(dag_id, model_name, defaults)
    data = history(model_name)
    if not owns_model(dag_id, defaults, model_name, data):
        raise HTTPException(status_code=404, detail="this DAG trains no model of that name")
    own = [v for v in data.get("versions", []) if v.get("dag_id") in (None, dag_id)]
    return history_page(data, version_gates(dag_id, own), live(model_name))


@app.get(RUN + "/model-card", response_class=HTMLResponse)
def model_card(folder: RunDir, live: Annotated[Callable, Depends(live_reader)]) -> str:
    """The model card of the version this run registered (the same card register stored in MLflow), and how
    the version does on users' labels since it was served."""
    card = load_model_card(folder)
    if not card:
        raise HTTPException(status_code=404, detail="this run has registered no model (yet)")
    model = card.get("model") or {}
    figures = live(str(model.get("name", ""))).get(str(model.get("version"))) if model.get("name") else None
    return model_card_page(card, live_cell(figures))


def run_checker() -> Callable[[str, str], bool]:
    """``run_exists`` for pages that name several runs in their query (the comparison)."""
    return run_exists


def _compared(dag_id: str, run_id: str, root: str, facts: dict[str, Any], note: str = "") -> dict[str, Any]:
    folder = safe_run_folder(dag_id, run_id, root)
    artifacts = load_run(folder)
    defaults = facts.get("defaults") or form_defaults()
    fetched = (facts.get("xcoms") or {}).get("fetch") or {}
    return {"run_id": run_id, "note": note, "params": effective_params(facts.get("conf"), defaults),
            "metrics": artifacts.get("evaluate"), "history": artifacts.get("train"), "dataset": fetched.get("sha256"),
            "matrix": _inline_png(folder / CONFUSION_MATRIX)}


@app.get("/dags/{dag_id}/compare", response_class=HTMLResponse)
def compare(dag_id: str, a: str, root: Annotated[str, Depends(artifact_root)],
            read_facts: Annotated[Callable, Depends(facts_reader)],
            history: Annotated[Callable, Depends(history_reader)], exists: Annotated[Callable, Depends(run_checker)],
            b: str = "") -> str:
    """Runs ``a`` and ``b`` side by side; without ``b``, ``a`` against the champion it was judged against."""
    note = ""
    if not exists(dag_id, a):
        raise HTTPException(status_code=404, detail="no such run: check the run id (it must match exactly)")
    if not b:
        registration = load_run(safe_run_folder(dag_id, a, root)).get("register") or {}
        champion = registration.get("champion_version")
        versions = history(str(registration.get("model_name", ""))).get("versions", []) if champion else []
        b = next((str(v["airflow_run_id"]) for v in versions if v.get("version") == champion
                  and v.get("airflow_run_id")), "")
        if not b:
            raise HTTPException(status_code=404, detail="run a was judged against no champion with an Airflow run")
        note = f" (champion v{champion} when A was judged)"
    if not exists(dag_id, b):
        raise HTTPException(status_code=404, detail="no such run b: check the run id (it must match exactly)")
    runs = [_compared(dag_id, a, root, read_facts(dag_id, a)), _compared(dag_id, b, root, read_facts(dag_id, b), note)]
    return compare_page(dag_id, runs)


@app.get(RUN + "/confusion_matrix.png")
def confusion_matrix(folder: RunDir) -> FileResponse:
    return _file(folder, CONFUSION_MATRIX)


@app.get(RUN + "/data-docs/{step}/{file_path:path}", response_model=None)
def data_docs(step: str, file_path: str, folder: RunDir) -> HTMLResponse | FileResponse:
    """A validation step's Data Docs: ``index.html`` is our escaped page of its ``validation.json``.

    Other files of Great Expectations' own site (older runs) are served as stored, under the
    same sandbox, so nothing in them can run.
    """
    if step not in VALIDATION_STEPS:
        raise HTTPException(status_code=404, detail=f"{step!r} writes no Data Docs")
    if file_path in ("", "index.html"):
        report = load_run(folder).get(step)
        if not isinstance(report, dict):
            raise HTTPException(status_code=404, detail="not written (yet) by this run")
        page = render_validation_page(report, title=f"Data Docs of {step}")
        return HTMLResponse(page)
    return _file(folder / step / "data_docs", file_path)


def _to_mlflow(path: str) -> Response:
    """Redirect into the MLflow UI, or (a local UI that is not running) say how to start it."""
    base = mlflow_ui_url()
    if local_ui_down(base):
        return HTMLResponse(start_hint_page(base, f"{base}/{path}"), status_code=503)
    return RedirectResponse(f"{base}/{path}")


@app.get(RUN + "/mlflow/run")
def mlflow_run(folder: RunDir) -> Response:
    """Jump to the MLflow run ``register`` created (unknown when the train task's link is made)."""
    return _to_mlflow(f"#/runs/{quote(str(_registration(folder)['run_id']))}")


@app.get(RUN + "/mlflow/model-version")
def mlflow_model_version(folder: RunDir) -> Response:
    """Jump to the model version this run registered (and deployed, if the gate let it)."""
    registration = _registration(folder)
    return _to_mlflow(f"#/models/{quote(str(registration['model_name']))}/versions/{registration['version']}")
