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

The landing folder is a boundary, like ``dataset_uri``'s allowlist (:mod:`tasks.data.landing`):
only a regular file whose one name is in the folder is taken, and it is checked, hashed and
copied from the descriptor opened without following links. A link, a hard-linked file or a
pipe is moved (the entry itself) to ``rejected/`` with a reason naming the entry and the
rule; no reason quotes a byte of a file that is not a ``label,...`` CSV.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import shutil
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_dir, atomic_file, sha256_file
from tasks.core.contract import run_step
from tasks.data.landing import landed, open_landed, pick_settled, subfolder
from tasks.data.safe_text import gzip_reason

CONTRACT = CONTRACTS["ingest"]

DATASET_SUFFIXES = (".csv", ".csv.gz")
INDEX = "index.jsonl"
PROCESSED, REJECTED = "processed", "rejected"
LINE_LIMIT = 1 << 22  # a 785-column header is ~6 KB; a file without line ends is not read whole to find one


def _data_stream(path: Path, handle: BinaryIO) -> BinaryIO:
    """``handle`` from its start, gzip-decompressed for a ``.gz`` name."""
    handle.seek(0)
    return gzip.GzipFile(fileobj=handle, mode="rb") if path.name.endswith(".gz") else handle


def check_dataset_file(path: Path, handle: BinaryIO) -> int:
    """Fail unless the open ``handle`` (of ``path``) holds a ``label,pixel1..pixelN`` CSV with data rows; return N."""
    if not path.name.endswith(DATASET_SUFFIXES):
        raise StepError(f"{path}: not a dataset file name (expected {' or '.join(DATASET_SUFFIXES)})")
    from tasks.data.raw_csv import check_layout, parse_header, require_label

    try:
        stream = _data_stream(path, handle)
        first, first_row = stream.readline(LINE_LIMIT), stream.readline(LINE_LIMIT)
    except (EOFError, OSError, zlib.error) as err:
        raise StepError(f"{path}: truncated or corrupt gzip ({gzip_reason(err)})") from err
    header = parse_header(path, first)
    require_label(path, header)
    pixels = sum(1 for name in header if name != "label")
    if pixels == 0:
        raise StepError(f"{path}: no pixel columns (expected label,pixel1..pixelN)")
    check_layout(path, header, pixels, 1)
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
    """Rename the entry itself (a link stays a link: its target is not touched)."""
    target = folder / f"{prefix}{path.name}"
    os.replace(path, target)
    return target


def _reject(path: Path, landing: Path, reason: str) -> None:
    """Move the entry to ``rejected/`` with a ``.reason`` note, written by rename (never through a planted link)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S_")
    moved = _move(path, subfolder(landing, REJECTED), stamp)
    with atomic_file(moved.with_name(moved.name + ".reason")) as note:
        note.write_text(reason + "\n")


def _sha256(handle: BinaryIO) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    while block := handle.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def _count_rows(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b"")) - 1, 0)


def _store_version(path: Path, handle: BinaryIO, digest: str, store: Path, pixels: int) -> Path:
    """Copy the open file's bytes into ``<store>/<sha256>/`` unless a crashed run already did (same hash)."""
    version = store / digest
    stored = version / path.name
    if not (version / "manifest.json").is_file():
        with atomic_dir(version) as tmp:
            handle.seek(0)
            with (tmp / path.name).open("wb") as out:
                shutil.copyfileobj(handle, out, 1 << 22)
            if sha256_file(tmp / path.name) != digest:
                raise StepError(f"{path}: changed while being copied; will retry on the next run")
            manifest = {"sha256": digest, "filename": path.name, "bytes": (tmp / path.name).stat().st_size,
                        "rows": _count_rows(tmp / path.name), "pixels": pixels, "source": str(path),
                        "ingested_at": datetime.now(UTC).isoformat()}
            with atomic_file(tmp / "manifest.json") as out:
                out.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    else:
        stored = version / json.loads((version / "manifest.json").read_text())["filename"]
    return stored


def square_shape(pixels: int) -> dict[str, int]:
    """The image shape a version's pixel count gives, when it is square (784: 28x28); ``{}`` otherwise.

    It travels with the version (index entry, Asset event), so a training run the scheduler
    starts for it reads images of that shape, whatever the form's defaults say.
    """
    side = math.isqrt(max(pixels, 0))
    return {"image_height": side, "image_width": side} if side and side * side == pixels else {}


def _take(path: Path, landing: Path) -> tuple[BinaryIO, int]:
    """The entry opened safely and checked as a dataset file; otherwise it is rejected and the step fails."""
    handle = None
    try:
        handle = open_landed(path)
        return handle, check_dataset_file(path, handle)
    except StepError as err:
        if handle is not None:
            handle.close()
        _reject(path, landing, str(err))
        raise


def ingest(landing: str | Path, store: str | Path, min_age: float, max_wait: float) -> dict:
    """Ingest the oldest settled file in ``landing``; say whether it was new, a duplicate, or none."""
    landing, store = Path(landing), Path(store)
    path = pick_settled(landing, min_age, max_wait)
    if path is None:
        return {"status": "none", "pending": [p.name for p in landed(landing)]}
    handle, pixels = _take(path, landing)
    with handle:
        digest = _sha256(handle)
        known = {e["sha256"]: e for e in read_index(store) if e.get("status") == "new"}
        entry = {"sha256": digest, "filename": path.name, "source": str(path), "at": datetime.now(UTC).isoformat()}
        if digest in known:
            entry.update(status="duplicate", uri=known[digest]["uri"])
        else:
            entry.update(status="new", uri=str(_store_version(path, handle, digest, store, pixels)))
    entry.update(square_shape(pixels))
    _append_index(store, entry)
    _move(path, subfolder(landing, PROCESSED), f"{digest[:12]}_")
    return {"status": entry["status"], "sha256": digest, "uri": entry["uri"], "filename": path.name,
            "remaining": len(landed(landing)), **square_shape(pixels)}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, ingest)


if __name__ == "__main__":
    raise SystemExit(main())
