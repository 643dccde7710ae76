"""Take one new dataset file from the landing folder into the immutable, versioned dataset store.

Why a store: a training run must name exactly the bytes it trained on, and new data
must trigger training once, never twice. So every file is stored under its content
hash and never overwritten:

    <store>/<sha256>/<filename>        the bytes as they arrived
    <store>/<sha256>/manifest.json     hash, name, size, rows, where it came from, when
    <store>/index.jsonl                one line per ingested file, oldest first:
                                       {"status": "new"|"duplicate", "sha256", "uri", ...}

The latest version is the last ``"new"`` line of the index. Bytes already in the index
are recorded as a ``duplicate`` and create nothing. Each run takes the oldest settled file
(``*.csv`` or ``*.csv.gz``): a file modified less than ``min_age`` seconds ago may still be
copying, so it is waited for (up to ``max_wait``) and never read half-written. Writers that
can should copy to a hidden name (``.x.csv``, as rsync does) and rename, which hides the file
until it is complete. Taken files move to ``<landing>/processed/``; a file that is not a
Fashion-MNIST-layout CSV moves to ``<landing>/rejected/`` (with a ``.reason`` note) and fails
the step with one line, leaving the store unchanged.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_dir, atomic_file, sha256_file
from tasks.core.contract import run_step

CONTRACT = CONTRACTS["ingest"]

DATASET_SUFFIXES = (".csv", ".csv.gz")
INDEX = "index.jsonl"
PROCESSED, REJECTED = "processed", "rejected"


def _landed(landing: Path) -> list[Path]:
    """Visible files in the landing folder that look like data (the sensor's ``*.csv*``), oldest first."""
    if not landing.is_dir():
        return []
    found = [p for p in landing.iterdir() if p.is_file() and not p.name.startswith(".") and ".csv" in p.name]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def _settled(path: Path, min_age: float, now: float) -> bool:
    return now - path.stat().st_mtime >= min_age


def pick_settled(landing: Path, min_age: float, max_wait: float, poll: float = 1.0) -> Path | None:
    """The oldest file that nobody has written to for ``min_age`` seconds, waiting up to ``max_wait``."""
    deadline = time.monotonic() + max_wait
    while True:
        landed = _landed(landing)
        settled = [p for p in landed if _settled(p, min_age, time.time())]
        if settled or not landed or time.monotonic() >= deadline:
            return settled[0] if settled else None
        time.sleep(poll)


def _open_text_lines(path: Path, count: int) -> list[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return [handle.readline() for _ in range(count)]
    except (EOFError, OSError, zlib.error) as err:
        raise StepError(f"{path}: truncated or corrupt gzip ({err})") from err


def check_dataset_file(path: Path) -> int:
    """Fail unless ``path`` is a ``label,pixel1..pixelN`` CSV with data rows; return N."""
    if not path.name.endswith(DATASET_SUFFIXES):
        raise StepError(f"{path}: not a dataset file name (expected {' or '.join(DATASET_SUFFIXES)})")
    from tasks.data.raw_csv import check_layout, read_header

    header = read_header(path)
    pixels = sum(1 for name in header if name != "label")
    if pixels == 0:
        raise StepError(f"{path}: no pixel columns (expected label,pixel1..pixelN)")
    check_layout(path, header, pixels, 1)
    first_row = _open_text_lines(path, 2)[1]
    if not first_row.strip():
        raise StepError(f"{path}: header only, no data rows")
    if first_row.count(b",") + 1 != len(header):
        raise StepError(f"{path}: first data row has {first_row.count(b',') + 1} fields, header {len(header)}")
    return pixels


def read_index(store: Path) -> list[dict]:
    index = store / INDEX
    if not index.is_file():
        return []
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]


def _append_index(store: Path, entry: dict) -> None:
    """One line per file, flushed to disk: the index only ever grows."""
    store.mkdir(parents=True, exist_ok=True)
    with (store / INDEX).open("a") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _move(path: Path, folder: Path, prefix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{prefix}{path.name}"
    os.replace(path, target)
    return target


def _reject(path: Path, landing: Path, reason: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S_")
    moved = _move(path, landing / REJECTED, stamp)
    moved.with_name(moved.name + ".reason").write_text(reason + "\n")


def _count_rows(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b"")) - 1, 0)


def _store_version(path: Path, digest: str, store: Path, pixels: int) -> Path:
    """Copy the bytes into ``<store>/<sha256>/`` unless a crashed run already did (same hash, same bytes)."""
    version = store / digest
    stored = version / path.name
    if not (version / "manifest.json").is_file():
        with atomic_dir(version) as tmp:
            shutil.copyfile(path, tmp / path.name)
            if sha256_file(tmp / path.name) != digest:
                raise StepError(f"{path}: changed while being copied; will retry on the next run")
            manifest = {"sha256": digest, "filename": path.name, "bytes": path.stat().st_size,
                        "rows": _count_rows(tmp / path.name), "pixels": pixels, "source": str(path),
                        "ingested_at": datetime.now(UTC).isoformat()}
            with atomic_file(tmp / "manifest.json") as out:
                out.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    else:
        stored = version / json.loads((version / "manifest.json").read_text())["filename"]
    return stored


def ingest(landing: str | Path, store: str | Path, min_age: float, max_wait: float) -> dict:
    """Ingest the oldest settled file in ``landing``; say whether it was new, a duplicate, or none."""
    landing, store = Path(landing), Path(store)
    path = pick_settled(landing, min_age, max_wait)
    if path is None:
        pending = [p.name for p in _landed(landing)]
        return {"status": "none", "pending": pending}
    try:
        pixels = check_dataset_file(path)
    except StepError as err:
        _reject(path, landing, str(err))
        raise
    digest = sha256_file(path)
    known = {e["sha256"]: e for e in read_index(store) if e.get("status") == "new"}
    entry = {"sha256": digest, "filename": path.name, "source": str(path),
             "at": datetime.now(UTC).isoformat()}
    if digest in known:
        entry.update(status="duplicate", uri=known[digest]["uri"])
    else:
        entry.update(status="new", uri=str(_store_version(path, digest, store, pixels)))
    _append_index(store, entry)
    _move(path, landing / PROCESSED, f"{digest[:12]}_")
    return {"status": entry["status"], "sha256": digest, "uri": entry["uri"], "filename": path.name,
            "remaining": len(_landed(landing))}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, ingest)


if __name__ == "__main__":
    raise SystemExit(main())
