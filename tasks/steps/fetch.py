"""Snapshot the run's dataset into its artifact folder as one Fashion-MNIST-layout CSV, parsed once.

Sources: ``embedded://digits`` or ``embedded://fashion-mnist-sample`` (built offline, with
injected faults), a CSV in the Kaggle layout by local path, ``file://``, ``http(s)://`` or ``s3://`` URI (through
fsspec; ``.gz`` is decompressed), or the original IDX files (an
``*-images-idx3-ubyte[.gz]`` file, or a folder holding the IDX pairs). A CSV is
copied byte for byte, so faults are left for ``validate`` and ``prepare`` to find;
the snapshot's content hash is the run's dataset lineage. The snapshot is then parsed,
once per run, into ``raw.arrow`` + ``raw_profile.json`` (:mod:`tasks.data.columnar`):
raw validation and ``prepare`` read those, never the CSV again. A file that cannot be
parsed at all (not UTF-8, ragged rows, no data rows) fails here, naming the source.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_file, sha256_file
from tasks.core.contract import run_step
from tasks.data.dialect import PIXEL, fix_message, shape_message, sniff
from tasks.data.idx_discovery import idx_pairs
from tasks.data.safe_text import gzip_reason
from tasks.data.sources import EMBEDDED_SOURCES, build_embedded_frame
from tasks.data.uri_policy import check_source_uri, masked, roots_from_env

CONTRACT = CONTRACTS["fetch"]
CHUNK = 1 << 22


@contextlib.contextmanager
def _reading(uri: str, missing: str = "dataset not found") -> Iterator[None]:
    """Turn a failure to open ``uri`` into one line naming it (credentials masked, the library's text cut)."""
    try:
        yield
    except FileNotFoundError as err:
        raise StepError(f"{masked(uri)}: {missing}") from err
    except (OSError, ValueError, ImportError) as err:
        detail = masked(str(err).splitlines()[0] if str(err) else "")[:120]
        raise StepError(f"{masked(uri)}: cannot open dataset ({type(err).__name__}: {detail})") from err


def _open(uri: str, mode: str = "rb", missing: str = "dataset not found"):
    import fsspec

    with _reading(uri, missing):
        return fsspec.open(uri, mode).open()


def _open_allowed(uri: str):
    """Open a file found in a dataset folder only if it is on the allowlist too (no symlink out)."""
    return _open(check_source_uri(uri, *roots_from_env()))


def _open_labels(images_uri: str, labels_uri: str):
    """The labels file that belongs to ``images_uri``, allowlisted too; a miss names both files."""
    images_name, labels_name = images_uri.rsplit("/", 1)[-1], labels_uri.rsplit("/", 1)[-1]
    missing = (f"no labels file {labels_name!r} beside the images file {images_name!r}; an IDX images file "
               "needs its labels file in the same folder: put it there or pass the folder holding both")
    try:
        allowed = check_source_uri(labels_uri, *roots_from_env())
    except StepError as err:
        raise StepError(f"{masked(images_uri)}: its labels file {labels_name!r} is not readable here ({err})") from err
    return _open(allowed, missing=missing)


def _copy_csv(uri: str, target: Path) -> None:
    """Copy a CSV to ``target`` without parsing it: a local file by the kernel, else streamed (gzip decompressed)."""
    if "://" not in uri and not uri.endswith(".gz"):  # check_source_uri resolved it to a local path
        with _reading(uri):
            shutil.copyfile(uri, target)
        return
    with _open(uri) as raw, target.open("wb") as out:
        stream = gzip.GzipFile(fileobj=raw) if uri.endswith(".gz") else raw
        try:
            while block := stream.read(CHUNK):
                out.write(block)
        except (EOFError, OSError, zlib.error) as err:
            raise StepError(f"{masked(uri)}: truncated or corrupt gzip ({gzip_reason(err)})") from err


def _write_idx(uri: str, pairs: list[tuple[str, str]], target: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tasks.core.layout import pixel_columns
    from tasks.data.idx_format import read_idx_pair

    parts = []
    for images_uri, labels_uri in pairs:
        with _open(images_uri) as images, _open_labels(images_uri, labels_uri) as labels:
            parts.append(read_idx_pair(images_uri, images.read(), labels_uri, labels.read()))
    if not parts:
        raise StepError(f"{uri}: no '*-images-idx3-ubyte' files found")
    pixels = np.concatenate([p for p, _ in parts])
    labels = np.concatenate([lab for _, lab in parts])
    side = int(round(pixels.shape[1] ** 0.5))
    columns = {"label": pa.array(labels.astype("int64"))}
    for i, name in enumerate(pixel_columns(side, pixels.shape[1] // side)):
        columns[name] = pa.array(pixels[:, i].astype("int64"))
    pacsv.write_csv(pa.table(columns), target, pacsv.WriteOptions(quoting_style="none"))


def fetch(source: str, output: Path, image_height: int, image_width: int, invalid_label_rate: float,
          empty_cell_rate: float, fault_seed: int) -> dict:
    """Materialise ``source`` as ``<output>/raw.csv`` and return its lineage.

    The source must be on the deployment's allowlist (checked before any byte is read);
    a copy in a CSV dialect the user can fix, or with another image shape, is refused
    naming the user's source, so later steps never report on the run's copy instead.
    """
    source = check_source_uri(source, *roots_from_env())
    target = CONTRACT.output_path(output, "raw")
    with atomic_file(target) as tmp:
        if source in EMBEDDED_SOURCES:
            try:
                build_embedded_frame(source, invalid_label_rate, empty_cell_rate, fault_seed).to_csv(tmp, index=False)
            except ValueError as err:
                raise StepError(str(err)) from err
        elif pairs := idx_pairs(source, _open_allowed):
            _write_idx(source, pairs, tmp)
        else:
            _copy_csv(source, tmp)
        check_layout(tmp, source, image_height, image_width)
        digest = hashlib.sha256()
        columnar = _parse_once(tmp, target, source, output, digest)
    return {"raw": str(target), "source": source, "sha256": digest.hexdigest(), "rows": columnar["rows"],
            "columnar": columnar["columnar"], "profile": columnar["profile"]}


def _parse_once(copy: Path, target: Path, source: str, output: Path, digest) -> dict:
    """The columnar copy and raw profile of the snapshot, named after its final path; nothing left on failure.

    ``digest`` is fed the snapshot's bytes as the parse reads them: its lineage hash, without a second read.
    """
    from tasks.data.columnar import write_columnar

    try:
        return write_columnar(str(copy), output, source=str(target), digest=digest)
    except StepError as err:
        for name in ("columnar", "profile"):
            CONTRACT.output_path(output, name).unlink(missing_ok=True)
        raise StepError(str(err).replace(str(copy), source)) from err


def check_layout(copy: Path, source: str, height: int, width: int) -> None:
    """Refuse a snapshot whose dialect or columns do not fit ``height`` x ``width``, with a fix, naming ``source``.

    A header without ``label`` is refused with a count only (the file may be anything); one with
    other columns than ``label`` and ``pixelN``, or another pixel count, gets :func:`shape_message`.
    """
    dialect = sniff(copy)
    source = masked(source)
    problem = fix_message(dialect, source)
    if problem:
        raise StepError(problem)
    header = list(dialect.header)
    if not any(header):
        return  # an empty file: the parse names it
    pixels = [name for name in header if PIXEL.fullmatch(name)]
    if "label" not in header or len(pixels) != height * width or len(pixels) + 1 < len(header):
        raise StepError(shape_message(header, height, width, source))


def source_digest(arguments: dict) -> str | None:
    """The content key of the run's dataset, for reuse: its bytes hashed (much cheaper than parsing them).

    An embedded source is made by our code from the fault settings, both already in the
    step's key. A folder (IDX pairs) hashes its files by name. ``None`` when the source
    cannot be read: the step then computes and names the problem itself.
    """
    try:
        source = check_source_uri(arguments["source"], *roots_from_env())
    except StepError:
        return None
    if source in EMBEDDED_SOURCES:
        return source
    try:
        if "://" not in source and Path(source).is_dir():
            files = sorted(p for p in Path(source).iterdir() if p.is_file())
            return sha256_text("\n".join(f"{p.name} {sha256_file(p)}" for p in files))
        if "://" not in source:
            return sha256_file(Path(source))
        digest = hashlib.sha256()
        with _open(source) as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        return digest.hexdigest()
    except (OSError, StepError):
        return None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, fetch, content=source_digest)


if __name__ == "__main__":
    raise SystemExit(main())
