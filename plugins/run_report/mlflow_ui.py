"""Where a report's MLflow link goes: the MLflow UI, or a page saying how to start it.

In the embedded default the UI (``make mlflow-ui``) is a separate process that is often
not running, and a redirect to a dead ``localhost:5000`` is a browser error page with no
hint. Only a UI on this machine (``localhost``, ``127.0.0.1``, ``::1``) can be checked from
here: a cluster's MLflow URL is the one the person's browser reaches, which the API
server may not, so it is always followed.
"""

from __future__ import annotations

import socket
from html import escape
from urllib.parse import urlsplit

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
PROBE_SECONDS = 0.5


def local_ui_down(url: str, timeout: float = PROBE_SECONDS) -> bool:
    """True when ``url`` names this machine and nothing listens on its port."""
    parts = urlsplit(url)
    if (parts.hostname or "") not in LOCAL_HOSTS:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return False
    except OSError:
        return True


def start_hint_page(url: str, target: str) -> str:
    """A plain page: the MLflow UI at ``url`` is not running, how to start it, and where the link goes."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>MLflow UI not running</title></head>"
            f"<body><h1>The MLflow UI is not running</h1>"
            f"<p id='mlflow-down'>Nothing answers at <code>{escape(url)}</code>. Start it from the project folder "
            f"with <code>make mlflow-ui</code> (the local tracking store and registry), or set "
            f"<code>PIPELINE_MLFLOW_UI_URL</code> to where your MLflow UI runs, then open this link again.</p>"
            f"<p>It leads to <code>{escape(target)}</code>.</p></body></html>")
