"""Refuse a run's conf keys that are not Params of its DAG: ``{"epoch": 5}`` is a typo, not a wish.

Airflow 3.3 accepts any conf key: ``SerializedParamsDict.deep_merge`` turns an unknown
key into a new schema-less Param, so the trigger form's JSON, ``POST
/api/v2/dags/{dag_id}/dagRuns`` and ``airflow dags trigger -c`` all start a run that
silently uses the defaults. Two guards close that, with the same one-line message:

- :class:`RefuseUnknownConf`, a root middleware of the API server (the plugin's
  ``fastapi_root_middlewares``): a trigger through the REST API or the UI form (which
  posts to the same endpoint) with unknown keys gets ``400`` and no run is created;
- :func:`check_conf`, for the DAG's first task, catches what does not pass the API
  server (the CLI writes to the database directly): it fails the run before anything is read.

Only DAGs that declare Params are policed; a DAG without any keeps Airflow's free-form conf.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

TRIGGER_PATH = re.compile(r"/api/v2/dags/([^/]+)/dagRuns/?$")
MAX_SHOWN = 5


def unknown_conf_keys(conf: Mapping[str, Any] | None, params: Iterable[str]) -> list[str]:
    """Keys of ``conf`` that are not Params, sorted; none when the DAG declares no Params."""
    known = set(params)
    if not known or not conf:
        return []
    return sorted(str(key) for key in conf if key not in known)


def refusal(dag_id: str, unknown: list[str], params: Iterable[str]) -> str:
    """One line naming the unknown keys, the closest Param for each typo and what to do."""
    known = sorted(set(params))
    hints = []
    for key in unknown[:MAX_SHOWN]:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hints.append(f"{key[:40]!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    more = f" and {len(unknown) - MAX_SHOWN} more" if len(unknown) > MAX_SHOWN else ""
    return (f"{dag_id}: unknown conf key(s) {', '.join(hints)}{more}; remove them or use the names of the "
            "trigger form's fields")


def check_conf(dag_id: str, conf: Mapping[str, Any] | None, params: Iterable[str]) -> None:
    """Fail the run (no retry) if its conf holds keys that are not Params; call it in the first task."""
    params = list(params)
    unknown = unknown_conf_keys(conf, params)
    if unknown:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(refusal(dag_id, unknown, params))


def _dag_params(dag_id: str) -> list[str] | None:
    """The Param names of the DAG's latest serialized version; ``None`` if Airflow does not know the DAG."""
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        return None if dag is None else list(dag.params)


def trigger_refusal(dag_id: str, body: bytes) -> str | None:
    """The refusal for a trigger request's body, or ``None`` to let Airflow handle it (bad JSON included)."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    conf = payload.get("conf") if isinstance(payload, dict) else None
    if not isinstance(conf, dict) or not conf:
        return None
    params = _dag_params(dag_id)
    unknown = unknown_conf_keys(conf, params or [])
    return refusal(dag_id, unknown, params or []) if unknown else None


class RefuseUnknownConf:
    """ASGI middleware: ``400`` for a trigger whose conf has keys that are not the DAG's Params."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        match = TRIGGER_PATH.search(scope.get("path", "")) if scope.get("type") == "http" else None
        if match is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await _read_body(receive)
        message = await run_in_threadpool(trigger_refusal, unquote(match.group(1)), body)
        if message:
            await JSONResponse({"detail": message}, status_code=400)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the already-read body to the app once, then defers to the real one."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
