"""Is a dataset there yet? The check behind the training DAG's wait-for-data sensor.

Only a remote source can appear later (an upload still running); a local path or
``file://`` URI that is absent now was mistyped, and a malformed URI never becomes
valid. Those fail the task at once with one line naming the URI, instead of holding
the DAG's single active run for hours. A remote source is waited for until
``timeout`` (the ``data_wait_timeout_minutes`` Param) has passed since the wait began,
and every poke logs what it is waiting for. A URI is quoted with its credentials masked
(``uri_policy.masked``), in failures and in the log alike.

What kind of source a URI is (embedded, local, remote, malformed) is the allowlist's own
reading (``tasks/data/uri_policy.py``: ``EMBEDDED``, ``local_path``), the one ``resolve_dataset``
checked the URI with, so the scheduler parses a dataset URI by one policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tasks.core.common import StepError
from tasks.data.uri_policy import EMBEDDED, local_path, masked

WAIT_PARAM = "data_wait_timeout_minutes"
log = logging.getLogger(__name__)


def _fail(message: str) -> Exception:
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(masked(message)[:240])


def _local_path(uri: str) -> str | None:
    """The local path ``uri`` names, ``None`` for a remote URI; fails for one no reader understands.

    The allowlist's own reading of the URI (``uri_policy.local_path``), so the sensor and the
    policy never disagree on what is local, remote or malformed.
    """
    try:
        return local_path(uri)
    except StepError as err:
        raise _fail(str(err)) from None


def dataset_available(uri: str, *, waiting_since: datetime | None = None, timeout: timedelta | None = None,
                      now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> bool:
    """True when ``uri`` exists; embedded data always exists.

    Raises (``AirflowFailException``, no retry) at once for a missing local file or a
    malformed URI, and for a remote one once ``timeout`` has passed since ``waiting_since``.
    """
    uri = (uri or "").strip()
    if EMBEDDED.match(uri):
        return True
    if not uri:
        raise _fail("dataset_uri is empty; set it to a path, file://, s3:// or https:// URI, or embedded://digits")
    local = _local_path(uri)
    if local is not None:
        from pathlib import Path

        if Path(local).exists():
            return True
        raise _fail(f"{uri!r}: no such file or folder; check the path (a local dataset is never waited for)")
    return _remote_exists(uri, waiting_since, timeout, now())


def _remote_exists(uri: str, since: datetime | None, timeout: timedelta | None, now: datetime) -> bool:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(uri)
        if fs.exists(path):
            return True
        problem = "not there yet"
    except (OSError, ValueError, ImportError) as err:
        problem = f"cannot be checked ({type(err).__name__})"
    waited = now - since if since else timedelta(0)
    if timeout is not None and waited >= timeout:
        minutes = int(timeout.total_seconds() // 60)
        raise _fail(f"{uri!r}: {problem} after waiting {minutes} min; upload it and trigger again, "
                    f"or raise {WAIT_PARAM}")
    left = f", {int((timeout - waited).total_seconds() // 60)} min left" if timeout is not None else ""
    log.info("waiting for %s: %s (waited %d min%s)", masked(uri), problem, int(waited.total_seconds() // 60), left)
    return False
