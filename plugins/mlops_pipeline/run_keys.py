"""One artifact folder per DAG run: a readable prefix plus a hash of the exact run id.

``path_safe`` alone maps ``manual__2026-11-25T02:55:55.353611+00:00`` and the id a
person can type in the trigger form, ``manual__2026-11-25T02_55_55.353611_00_00``, to
the same folder, so one run could overwrite another's files. The hash is taken over
the run id exactly as Airflow stores it, so two distinct ids never share a folder
(short of a SHA-256 collision in 48 bits: ~16 million runs per DAG for a 1-in-a-million
chance), while the prefix keeps the folder recognisable in a listing.
"""

from __future__ import annotations

import hashlib
import re

PREFIX_LENGTH = 64
HASH_LENGTH = 12


def run_key(run_id: str) -> str:
    """``<readable prefix>-<12 hex of sha256(run_id)>``: one path segment, unique per exact run id."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._-")[:PREFIX_LENGTH] or "run"
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{readable}-{digest}"
