"""Which dataset URIs a run may read: one allowlist, checked before any byte is read.

A ``dataset_uri`` (or ``base_model_uri``) is typed by a person or comes from an
event, and the worker that reads it can see its own secrets (``/proc/self/environ``),
the host's files and the cluster's internal network. So a source is read only when
it lies under a configured root:

- a local path or ``file://`` URI after resolving ``..`` and symlinks, under a local root;
- an ``http(s)://`` or ``s3://`` URI whose scheme is allowed AND which starts with a
  configured root of that scheme and host or bucket (``s3://fashion-data/datasets``),
  compared segment by segment, so ``s3://fashion-data-evil`` does not match;
- ``embedded://<name>``, built offline by the step itself, always.

Internal hosts (``localhost``, ``169.254.169.254``, private ranges) need no special
case: no host is reachable unless a root names it, and a URI carrying a user name or
password is refused outright, and no message ever shows one: :func:`masked` replaces the
user name and password of any URI it quotes (and the value of a signature/token query
parameter) with ``***``. Pure and stdlib-only: the plugins and the steps share it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tasks.core.common import StepError

EMBEDDED = re.compile(r"^embedded://[A-Za-z0-9_-]+$")
# A model in the tracking server (``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``runs:/<id>/<path>``):
# read through MLflow's own access control, not from the worker's filesystem or network.
REGISTRY_MODEL = re.compile(r"^(models|runs):/[A-Za-z0-9_.@/-]+$")
REMOTE_SCHEMES = ("http", "https", "s3")
ENV_ROOTS = "PIPELINE_ALLOWED_DATA_ROOTS"
ENV_SCHEMES = "PIPELINE_ALLOWED_DATA_SCHEMES"
HINT = f"move it under an allowed folder or add one to {ENV_ROOTS}"
USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")
SECRET_QUERY = re.compile(r"(?P<key>[?&][^=&#\s]*(?:sig|signature|token|secret|password|passwd|credential|key)"
                          r"[^=&#\s]*=)[^&#\s]*", re.IGNORECASE)


def masked(text: str) -> str:
    """``text`` with every URI's ``user:password@`` and secret-looking query values replaced by ``***``.

    Works on any text (a URI, or an error message quoting one), so a message can always pass through it.
    """
    text = USERINFO.sub(lambda m: f"{m.group('scheme')}***@", str(text))
    return SECRET_QUERY.sub(lambda m: f"{m.group('key')}***", text)


def _refuse(uri: str, why: str, hint: str = HINT) -> StepError:
    shown = _short(masked(uri or ""))
    return StepError(f"{shown!r}: {why}; {hint}")


def _short(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _local_roots(roots: Iterable[str]) -> list[Path]:
    found = []
    for root in roots:
        if root.startswith("file://"):
            root = root[len("file://"):]
        if root and "://" not in root:
            found.append(Path(root).resolve())
    return found


def _check_local(uri: str, path_text: str, roots: Iterable[str]) -> str:
    if not path_text.startswith("/"):
        raise _refuse(uri, "a local dataset path must be absolute")
    resolved = Path(path_text).resolve()  # follows symlinks and '..': the file that would really be read
    for root in _local_roots(roots):
        if resolved == root or resolved.is_relative_to(root):
            return str(resolved)
    where = f"resolves to {_short(masked(str(resolved)), 40)}, " if str(resolved) != path_text else ""
    raise _refuse(uri, f"{where}outside the allowed folders")


def _split_remote(uri: str) -> tuple[str, str, list[str]]:
    """Scheme, host (lower case, default port dropped) and the decoded path segments; refuses tricks."""
    parts = urlsplit(uri)
    if parts.username is not None or parts.password is not None:
        raise _refuse(uri, "credentials in a URI are not accepted", "configure them as a connection or secret")
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    if not host:
        raise _refuse(uri, "no host or bucket in the URI", "write it as s3://bucket/key or https://host/path")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if any(s in (".", "..") or "/" in s or "\\" in s for s in segments):
        raise _refuse(uri, "'..' or an encoded '/' in the path is not accepted", "write the plain path")
    return parts.scheme.lower(), host + (f":{port}" if port else ""), segments


def _check_remote(uri: str, roots: Iterable[str], schemes: Iterable[str]) -> str:
    scheme, host, segments = _split_remote(uri)
    if scheme not in {s.lower() for s in schemes}:
        raise _refuse(uri, f"{scheme}:// sources are not enabled", f"ask the operator to set {ENV_SCHEMES}")
    for root in roots:
        if "://" not in root or root.startswith(("file://", "embedded://")):
            continue
        r_scheme, r_host, r_segments = _split_remote(root)
        if (r_scheme, r_host) == (scheme, host) and segments[:len(r_segments)] == r_segments:
            query = urlsplit(uri).query
            return f"{scheme}://{host}/" + "/".join(segments) + (f"?{query}" if query else "")
    raise _refuse(uri, f"{scheme}://{host} is not under an allowed root")


def check_source_uri(uri: str, allowed_roots: Iterable[str], allowed_schemes: Iterable[str]) -> str:
    """The normalised URI if a run may read it, else :class:`StepError` with one line naming it.

    Args:
        uri: what the user or the event named: a path, ``file://``, ``http(s)://``, ``s3://`` or ``embedded://``.
        allowed_roots: local folders and/or remote prefixes (``s3://bucket/prefix``, ``https://host/path``).
        allowed_schemes: remote schemes that may be read at all (e.g. ``("s3",)``); local paths need none.

    Returns:
        a local path (resolved: symlinks and ``..`` followed), the remote URI with its host lower-cased
        and default port dropped, or the ``embedded://`` URI unchanged.
    """
    text = (uri or "").strip()
    roots = [r.strip() for r in allowed_roots if r and r.strip()]
    if not text or "\x00" in text or any(ch in text for ch in "\r\n"):
        raise _refuse(uri, "empty or not a single-line URI", "set dataset_uri to a path or URI")
    if text.startswith("embedded://"):
        if EMBEDDED.match(text):
            return text
        raise _refuse(uri, "not an embedded dataset name", "use embedded://digits")
    local = local_path(text)
    return _check_remote(text, roots, allowed_schemes) if local is None else _check_local(uri, local, roots)


def local_path(uri: str) -> str | None:
    """The local path a source URI names (a path or ``file://``), ``None`` for a remote one.

    The one reading of what kind of source a URI is, shared by the allowlist above and the
    training DAG's wait-for-data sensor (``plugins/mlops_pipeline/datasets.py``). Raises
    :class:`StepError` for a scheme no reader understands (``embedded://`` included: callers
    take it first) or a remote URI without a host or bucket.
    """
    text = uri.strip()
    if text.startswith("file://"):
        return unquote(urlsplit(text).path) if text.startswith("file:///") else text[7:]
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not scheme:
        return text
    if scheme not in REMOTE_SCHEMES:
        raise _refuse(uri, f"{scheme}:// is not a supported source", "use a path, file://, s3:// or https://")
    if not urlsplit(text).netloc:
        raise _refuse(uri, "no host or bucket in the URI", "write it as s3://bucket/key or https://host/path")
    return None


def check_model_uri(uri: str, allowed_roots: Iterable[str], allowed_schemes: Iterable[str]) -> str:
    """A ``base_model_uri``: a registry/run model URI as it is, any other location through the dataset allowlist."""
    text = (uri or "").strip()
    if REGISTRY_MODEL.match(text) and ".." not in text.split("/"):
        return text
    if text.startswith("embedded://"):
        raise _refuse(uri, "an embedded dataset is not a model", "use models:/<name>@champion or a model path")
    return check_source_uri(text, allowed_roots, allowed_schemes)


def roots_from_env(environ: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """The allowlist a step reads from its environment (set by the runner from the deployment settings)."""
    env = os.environ if environ is None else environ
    roots = [r.strip() for r in env.get(ENV_ROOTS, "").split(",") if r.strip()]
    schemes = [s.strip().lower() for s in env.get(ENV_SCHEMES, "").split(",") if s.strip()]
    return roots, schemes
