"""Who may see a page of the run report, and which DAG a model's history belongs to.

A plugin's FastAPI app is not behind Airflow's login on its own: every route depends on
``require_dag_read``, which resolves the caller from the UI's session cookie or a Bearer
token with Airflow's own ``get_user`` and asks the configured auth manager whether that
user may read the DAG named in the URL and its runs (per DAG where the auth manager has
per-DAG permissions, as FAB and Keycloak do). A refused user gets 403 before anything
is looked up, so the answer never tells whether a DAG, run or model exists.

A person whose browser is not logged in is sent to Airflow's login page (and back here
after it); an API client gets 401 JSON. Airflow is imported when a request arrives, not
when the plugin is loaded, so other Airflow processes never pay for it.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

MODEL_NAME_PARAM = "model_name"


async def require_dag_read(request: Request, dag_id: str) -> None:
    """Refuse anyone who is not logged in to Airflow (401), or may not read this DAG or its runs (403)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
    from airflow.models.dag import DagModel

    credentials = await bearer_scheme(request)
    user = await get_user(request, _oauth_token=None, bearer_credentials=credentials)
    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    manager = get_auth_manager()
    if not all(manager.is_authorized_dag(method="GET", access_entity=entity, details=details, user=user)
               for entity in (None, DagAccessEntity.RUN)):
        raise HTTPException(status_code=403, detail="Forbidden: you may not read this DAG's runs")


async def current_user(request: Request) -> str:
    """The logged-in caller's name (recorded with each prediction and label); 401 when nobody is logged in."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    user = await get_user(request, _oauth_token=None, bearer_credentials=await bearer_scheme(request))
    return str(user.get_name())


def wants_html(request: Request) -> bool:
    """A browser navigating (it accepts HTML), not an API client asking for JSON."""
    return "text/html" in request.headers.get("accept", "")


async def refusal(request: Request, err: StarletteHTTPException) -> Response:
    """401 to a browser: a redirect to Airflow's login page that comes back here; anything else as JSON."""
    if err.status_code == 401 and wants_html(request):
        from airflow.api_fastapi.app import get_auth_manager

        raw = request.scope.get("raw_path")  # as the browser sent it: a run id's "%2B" must stay encoded
        here = request.url.replace(path=raw.decode("latin-1")) if raw else request.url
        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(here)), status_code=303)
    return await http_exception_handler(request, err)


def dag_models(dag_id: str) -> set[str] | None:
    """The model name a DAG registers by default (its ``model_name`` Param); ``None`` if Airflow has no such DAG."""
    from airflow.models.dag import DagModel
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        if session.get(DagModel, dag_id) is None:
            return None
        dag = SerializedDagModel.get_dag(dag_id, session=session)
    params = dict(dag.params.dump()) if dag is not None else {}
    default = params.get(MODEL_NAME_PARAM)
    return {default} if isinstance(default, str) and default else set()


def owns_model(dag_id: str, defaults: set[str], model_name: str, history: dict[str, Any]) -> bool:
    """The DAG trains the model: its default model name, or a version registered by one of its runs."""
    return model_name in defaults or any(v.get("dag_id") == dag_id for v in history.get("versions", []))
