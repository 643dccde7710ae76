"""The client side of the serving protocol: TensorFlow Serving's REST API, spoken to either server.

``POST <endpoint>/v1/models/<name>:predict`` with ``{"instances": images}`` works against the
local front (``make serve``) and the cluster's TF Serving alike. The version that answered is
the response's ``model_version`` (local front; also the ``X-Model-Version`` header); TF Serving's
REST reply has none, so it is then read from ``GET /v1/models/<name>`` (the available version).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from tasks.core.common import StepError


def _call(url: str, body: bytes | None, timeout: float) -> tuple[dict, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"},
                                     method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own endpoint
            return json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:300]
        raise StepError(f"{url}: HTTP {err.code}: {detail}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise StepError(f"{url}: no answer from the model server ({err})") from err


def served_version(endpoint: str, model_name: str, timeout: float = 30) -> str | None:
    """The version TF Serving reports AVAILABLE for ``model_name`` (None if it reports none)."""
    status, _ = _call(f"{endpoint.rstrip('/')}/v1/models/{model_name}", None, timeout)
    available = [s["version"] for s in status.get("model_version_status", []) if s.get("state") == "AVAILABLE"]
    return str(max(available, key=int)) if available else None


def predict_remote(endpoint: str, model_name: str, images: np.ndarray, timeout: float = 60) -> tuple[Any, str]:
    """Class probabilities for ``images`` (n, height, width, floats in [0, 1]) and the version that answered."""
    url = f"{endpoint.rstrip('/')}/v1/models/{model_name}:predict"
    body = json.dumps({"instances": np.asarray(images, dtype=np.float32).tolist()}).encode()
    reply, headers = _call(url, body, timeout)
    if "predictions" not in reply:
        raise StepError(f"{url}: the reply has no predictions ({str(reply)[:200]})")
    version = reply.get("model_version") or headers.get("X-Model-Version") or served_version(endpoint, model_name)
    return np.asarray(reply["predictions"], dtype=np.float32), str(version)
