"""Follow the serving folder: whichever version it holds is served, switched blue/green.

The rule is TensorFlow Serving's own (its default version policy): the highest version folder
present is served. ``deploy`` and ``rollback`` publish the champion's folder and then remove
the others, so the folder, and with it this server and the cluster's, always end on the
registry's champion; there is no second record of what is served.

A switch starts the new version's server, waits for its ``/ping``, points new requests at it,
lets the old one finish what it has in flight and only then stops it: no request fails or
waits for a model to load. A version whose server does not come up is left (the old one keeps
serving) and retried after ``retry_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from tasks.model.serving import versions_served
from tasks.serve.backends import Backend

log = logging.getLogger("tasks.serve")


def wanted_version(serving_root: Path, model_name: str) -> int | None:
    """The version to serve: the highest complete SavedModel folder (None: nothing deployed yet)."""
    complete = [v for v in versions_served(serving_root, model_name)
                if (serving_root / model_name / str(v) / "saved_model.pb").is_file()]
    return complete[-1] if complete else None


class ServedModel:
    """The backend serving ``model_name`` now, kept in step with the serving folder by a poller thread."""

    def __init__(self, serving_root: Path, model_name: str, poll_s: float = 0.5, start_timeout_s: float = 180,
                 retry_s: float = 30, log_file: Path | None = None) -> None:
        self.serving_root, self.model_name = Path(serving_root), model_name
        self.poll_s, self.start_timeout_s, self.retry_s, self.log_file = poll_s, start_timeout_s, retry_s, log_file
        self._active: Backend | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failed: dict[int, float] = {}
        self._thread = threading.Thread(target=self._follow, name="serving-folder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def acquire(self) -> Backend | None:
        """The active backend, counted as in use until :meth:`Backend.leave` (None: nothing served yet)."""
        with self._lock:
            backend = self._active
            if backend is not None:
                backend.enter()
            return backend

    @property
    def version(self) -> int | None:
        with self._lock:
            return self._active.version if self._active else None

    def sync(self) -> None:
        """Switch to the wanted version if it differs from the served one (one poll of the folder)."""
        wanted = wanted_version(self.serving_root, self.model_name)
        if wanted is None or wanted == self.version or time.monotonic() < self._failed.get(wanted, 0):
            return
        log.info("serving folder holds v%s (serving v%s): starting it", wanted, self.version)
        try:
            backend = Backend.start(self.serving_root / self.model_name / str(wanted), wanted, self.log_file)
        except Exception as err:  # noqa: BLE001 - a folder retired mid-copy or a broken model: keep serving the old
            log.warning("v%s could not be prepared (%s); still serving v%s", wanted, err, self.version)
            self._failed[wanted] = time.monotonic() + self.retry_s
            return
        if not backend.wait_ready(self.start_timeout_s):
            log.warning("v%s did not become ready; still serving v%s", wanted, self.version)
            backend.stop()
            self._failed[wanted] = time.monotonic() + self.retry_s
            return
        with self._lock:
            old, self._active = self._active, backend
        log.info("serving v%s", wanted)
        if old is not None:
            old.drain_and_stop()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - the poller must outlive any one bad poll
                log.exception("serving-folder poll failed")
            self._stop.wait(self.poll_s)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.start_timeout_s + 30)
        with self._lock:
            old, self._active = self._active, None
        if old is not None:
            old.drain_and_stop(timeout=10)
