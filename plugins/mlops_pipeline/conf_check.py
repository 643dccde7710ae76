"""Refuse a run's conf that its DAG's Params do not allow: ``{"epoch": 5}`` is a typo, not a wish.

Airflow 3.3 accepts any conf key (``SerializedParamsDict.deep_merge`` turns an unknown key
into a new schema-less Param), so a typo starts a run that silently uses the defaults. It
does validate known keys against their Param's JSON schema, but answers in a multi-line
dump (a trigger: 400; a backfill: 422), and a rule JSON schema cannot say (the ten
``categories`` must be distinct) only fails the step that parses it. :func:`conf_problem`
is the one check: unknown keys (with the Param meant), then the settings' own rules
(``Setting.check``, the very function a step's CLI applies), then Airflow's own
validation of the conf merged into the DAG's Params. Two guards call it:

- :class:`RefuseBadConf`, a root middleware of the API server (the plugin's
  ``fastapi_root_middlewares``): a trigger (``POST /api/v2/dags/{dag_id}/dagRuns``, which
  the UI form also posts) and a backfill (``POST /api/v2/backfills`` and its ``/dry_run``
  preview, which the form's Backfill mode posts) with a bad conf get ``400`` and one line,
  and nothing is created;
- :func:`check_conf`, for the DAG's first task, catches what does not pass the API
  server (the CLI writes to the database directly): it fails the run before anything is read.

Only DAGs that declare Params are policed; a DAG without any keeps Airflow's free-form conf.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

TRIGGER_PATH = re.compile(r"/api/v2/dags/([^/]+)/dagRuns/?$")
BACKFILL_PATH = re.compile(r"/api/v2/backfills(?:/dry_run)?/?$")
MAX_SHOWN = 5
MAX_LINE = 300


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


def conf_problem(dag_id: str, conf: Mapping[str, Any] | None, params: Mapping[str, Any]) -> str | None:
    """One line saying what is wrong with ``conf`` for a DAG with these Params, or ``None`` if nothing is.

    ``params`` is the DAG's ``ParamsDict``: the serialized one in the API server, the DAG
    file's ``{name: Param}`` in a task. The first problem found is the one named.
    """
    names = list(params)
    if not names or not conf:
        return None
    unknown = unknown_conf_keys(conf, names)
    if unknown:
        return refusal(dag_id, unknown, names)
    problem = _rule_problem(conf) or _schema_problem(conf, params)
    return None if problem is None else _one_line(f"{dag_id}: {problem}")


def _rule_problem(conf: Mapping[str, Any]) -> str | None:
    """A setting's own rule that JSON schema cannot say (distinct category names), as its step applies it."""
    from tasks.contracts import CONTRACTS
    from tasks.core.common import StepError

    ruled = {s.name: s for contract in CONTRACTS.values() for s in contract.settings if s.rule is not None}
    for name, value in conf.items():
        setting = ruled.get(name)
        if setting is not None and isinstance(value, setting.kind):  # a wrong type is the schema's to name
            try:
                setting.check(value)
            except StepError as error:
                return f"conf {error}"
    return None


def _schema_problem(conf: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """Airflow's own check of a run's conf: merged into the DAG's Params, every Param validated."""
    try:
        if hasattr(params, "deep_merge"):  # the API server's SerializedParamsDict, as run creation uses it
            params.deep_merge(dict(conf)).validate()
        else:  # the DAG file's Params, in the first task: validated as each is set
            from airflow.sdk.definitions.param import ParamsDict

            merged = ParamsDict(copy.deepcopy(dict(params)))
            merged.update(conf)
            merged.validate()
    except ValueError as error:  # ParamValidationError: "Invalid input for param epochs: 5000 is greater ..."
        return str(error).strip().splitlines()[0]
    return None


def _one_line(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…"


def check_conf(dag_id: str, conf: Mapping[str, Any] | None, params: Mapping[str, Any]) -> None:
    """Fail the run (no retry) if its conf is refused by :func:`conf_problem`; call it in the first task."""
    problem = conf_problem(dag_id, conf, params)
    if problem:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(problem)


def _dag_params(dag_id: str) -> Mapping[str, Any] | None:
    """The Params of the DAG's latest serialized version; ``None`` if Airflow does not know the DAG."""
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        return None if dag is None else dag.params


def request_refusal(path: str, body: bytes) -> str | None:
    """The refusal for a trigger or backfill request, or ``None`` to let Airflow answer (bad JSON included)."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    trigger = TRIGGER_PATH.search(path)
    dag_id = unquote(trigger.group(1)) if trigger else payload.get("dag_id")
    conf = payload.get("conf" if trigger else "dag_run_conf")
    if not isinstance(dag_id, str) or not isinstance(conf, dict) or not conf:
        return None
    params = _dag_params(dag_id)
    return None if params is None else conf_problem(dag_id, conf, params)


class RefuseBadConf:
    """ASGI middleware: ``400`` with one line for a trigger or backfill whose conf the DAG's Params refuse."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if scope.get("method") != "POST" or not (TRIGGER_PATH.search(path) or BACKFILL_PATH.search(path)):
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        body = await _read_body(receive)
        message = await run_in_threadpool(request_refusal, path, body)
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
