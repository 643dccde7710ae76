"""Parse the raw CSV once into a columnar copy and its raw profile, in bounded memory.

One pass reads the CSV in chunks of whole lines (``CHUNK_BYTES``; gzip is read as a
stream) and writes ``raw.arrow`` (an Arrow IPC file, :mod:`tasks.data.table_file`): the
label as read (text), every other column as uint8, null where the cell was empty or was
not a whole number in 0..255. The same pass tallies what raw validation must see (empty
cells, null tokens, non-numeric, fractional and out-of-range cells, per column) into
``raw_profile.json``, from which
:func:`raw_frames` rebuilds the very frames ``column_profile.profile_raw`` makes, so
the raw Great Expectations suite runs unchanged. ``prepare`` reads the copy, not the CSV.

A chunk is first parsed with the pixel columns typed uint8 (pyarrow's fastest path,
clean data); only a chunk where that fails is parsed again as text and its faulty
columns classified cell by cell (see :mod:`tasks.data.raw_stats`). Memory is a few
chunks, whatever the file size; the label column is the only per-row state kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tasks.core.common import StepError, atomic_file, require_file, write_json
from tasks.data.raw_csv import _read_error, read_header, require_label
from tasks.data.raw_stats import ColumnTally, tally_text
from tasks.data.safe_text import gzip_reason
from tasks.data.table_file import TableFile, table_writer

CHUNK_BYTES = 1 << 25  # ~11,000 rows of 28x28: one record batch
PARSE_BLOCK_BYTES = 1 << 22  # pyarrow parses blocks in parallel; 4 MB measured fastest (1 MB: 1.5x slower)
COPY_NAME, PROFILE_NAME = "raw.arrow", "raw_profile.json"


def _line_chunks(path: Path, size: int, digest=None) -> Iterator[memoryview]:
    """The file's data lines in chunks of about ``size`` bytes, each ending at a line end; header dropped.

    Blocks are read into one reused buffer, behind the partial line the last block left
    (a line is copied, not a block): fresh 32 MB blocks, and the join that glued a partial
    line to each, cost 0.2 s of fetch's work at 70,000 rows in page faults and copies. A
    chunk is a view of that buffer, valid until the next one is asked for. ``digest`` (a
    ``hashlib`` object) is fed every byte read, in a thread while the caller parses the chunk.
    """
    import pyarrow as pa

    buffer, held, header_done = bytearray(size), 0, False
    hashing = _Hashing(digest)
    try:
        with pa.input_stream(str(path)) as stream, hashing:  # decompresses .gz on the fly
            while True:
                if held == len(buffer):  # a line longer than the buffer: a bigger one (old views stay valid)
                    buffer = buffer[:held] + bytearray(len(buffer))
                read = stream.readinto(memoryview(buffer)[held:])
                hashing.feed(memoryview(buffer)[held:held + read])
                held += read
                start = 0
                if not header_done:
                    start = buffer.find(b"\n", 0, held) + 1
                    if start == 0:
                        if read:
                            continue
                        return  # no line end at all: a header only, or nothing
                    header_done = True
                cut = held if not read else buffer.rfind(b"\n", start, held) + 1
                if cut > start:
                    chunk = memoryview(buffer)[start:cut]
                    if not _blank(chunk):
                        yield chunk
                    del chunk
                else:
                    cut = start  # no whole line yet: keep what follows the header
                if not read:
                    return
                hashing.wait()  # the bytes about to move are hashed
                rest = held - cut
                buffer[:rest] = buffer[cut:held]  # the partial line, to the front
                held = rest
    except (EOFError, OSError) as err:
        raise StepError(f"{path}: truncated or corrupt gzip ({gzip_reason(err)})") from err


class _Hashing:
    """Feeds a digest the blocks read, one at a time, in a thread (``hashlib`` releases the GIL)."""

    def __init__(self, digest) -> None:
        self.digest, self.pool, self.pending = digest, None, None

    def __enter__(self) -> _Hashing:
        if self.digest is not None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        return self

    def feed(self, block: memoryview) -> None:
        if self.pool is not None and len(block):
            self.wait()
            self.pending = self.pool.submit(self.digest.update, block)

    def wait(self) -> None:
        if self.pending is not None:
            self.pending.result()
            self.pending = None

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.wait()
            self.pool.shutdown()


def _blank(chunk) -> bool:
    """Whether ``chunk`` is only whitespace; looks past its first bytes only when those are blank."""
    return not bytes(chunk[:64]).strip() and not bytes(chunk).strip()


def _parse(path: Path, chunk: bytes, names: list[str], label: str | None, as_text: bool):
    """One chunk as a pyarrow table: the label as text, other columns uint8 (or text when ``as_text``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    kind = pa.string() if as_text else pa.uint8()
    types = {name: (pa.string() if name == label else kind) for name in names}
    # An empty label stays "" (an invalid label, as read_table reads it); an empty uint8 cell is null.
    convert = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False)
    read = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=PARSE_BLOCK_BYTES)
    # One array per column: a column in ~30 pieces made every later compute call and the write 3-8x slower.
    return pacsv.read_csv(pa.py_buffer(chunk), read_options=read, convert_options=convert).combine_chunks()


def _fast_columns(table, names: list[str], label: str | None, tallies: list[ColumnTally]) -> list:
    """Tally columns already parsed as uint8: every cell was empty or a whole number 0..255."""
    import pyarrow.compute as pc

    columns = []
    for name, column, tally in zip(names, table.columns, tallies, strict=True):
        if name != label:
            tally.empty += column.null_count
            low_high = pc.min_max(column)
            if low_high["min"].is_valid:
                tally.add_ints(len(column) - column.null_count, low_high["min"].as_py(), low_high["max"].as_py())
        columns.append(column)
    return columns


def _slow_columns(table, names: list[str], label: str | None, tallies: list[ColumnTally], first_row: int) -> list:
    """Tally columns parsed as text: cast what casts cleanly, classify the rest cell by cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, column, tally in zip(names, table.columns, tallies, strict=True):
        if name == label:
            columns.append(column)
            continue
        column = column.combine_chunks()
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)  # empty cell: null
        try:
            fast = pc.cast(column, pa.uint8())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = tally_text(tally, column, first_row)
            fast = pa.array(np.clip(values, 0, 255).astype(np.uint8), mask=values < 0)
        else:
            _fast_columns(pa.table([fast], names=[name]), [name], None, [tally])
        columns.append(fast)
    return columns


def write_columnar(uri: str, output: Path, chunk_bytes: int = CHUNK_BYTES, source: str | None = None,
                   digest=None) -> dict:
    """Write ``<output>/raw.arrow`` and ``<output>/raw_profile.json`` from the raw CSV in one pass.

    ``source`` is the name later steps' messages give the data (default ``uri``): ``fetch``
    parses its snapshot before renaming it into place, and names the snapshot's final path.
    ``digest``, a ``hashlib`` object, is fed the file's bytes as they are read (for a
    ``.gz`` file, its decompressed bytes): ``fetch`` hashes its snapshot without reading it again.
    """
    import pyarrow as pa

    path = require_file(uri, "dataset")
    header = read_header(path)
    unique = len(set(header)) == len(header)
    names = header if unique else [f"c{i}" for i in range(len(header))]  # duplicates are profiled, then reported
    label = names[header.index("label")] if "label" in header else None
    schema = pa.schema([(name, pa.string() if name == label else pa.uint8()) for name in names])
    tallies = [ColumnTally() for _ in names]
    rows = fast_chunks = slow_chunks = 0
    target = output / COPY_NAME
    with atomic_file(target) as tmp, table_writer(tmp, schema) as writer:
        for chunk in _line_chunks(path, chunk_bytes, digest):
            try:
                table = _parse(path, chunk, names, label, as_text=False)
                columns = _fast_columns(table, names, label, tallies)
                fast_chunks += 1
            except (pa.ArrowInvalid, ValueError):
                try:
                    table = _parse(path, chunk, names, label, as_text=True)
                except (pa.ArrowInvalid, ValueError) as err:
                    raise _read_error(path, err) from err
                columns = _slow_columns(table, names, label, tallies, rows)
                slow_chunks += 1
            writer.write_table(pa.table(columns, schema=schema))
            rows += table.num_rows
        if rows == 0:
            raise StepError(f"{path}: header only, no data rows")
    profile = {"source": source or uri, "columnar": str(target), "header": header, "copy_columns": names,
               "label_column": label, "rows": rows, "chunks": {"fast": fast_chunks, "text": slow_chunks},
               "columns": [{"column": h} if n == label else t.summary(h, rows)
                           for h, n, t in zip(header, names, tallies, strict=True)],
               "faults": {h: t.faults() for h, n, t in zip(header, names, tallies, strict=True)
                          if n != label and any(t.faults()[k] for k in ("non_numeric", "out_of_range",
                                                                        "non_integer"))}}
    write_json(output / PROFILE_NAME, profile)
    return {"columnar": str(target), "profile": str(output / PROFILE_NAME), "rows": rows,
            "fault_columns": len(profile["faults"])}


def read_profile(uri: str) -> dict:
    """The sidecar written by :func:`write_columnar`; one line if it is missing or not one."""
    path = require_file(uri, "raw profile")
    try:
        profile = json.loads(path.read_text())
    except ValueError as err:
        raise StepError(f"{path}: not a raw profile ({err})") from err
    missing = {"header", "copy_columns", "label_column", "rows", "columns", "faults"} - set(profile)
    if missing:
        raise StepError(f"{path}: not a raw profile (no {', '.join(sorted(missing))})")
    profile["path"] = str(path)
    return profile


def raw_frames(profile_uri: str) -> dict:
    """The raw suite's frames (``header``, ``labels``, ``columns``), equal to ``profile_raw``'s on the CSV."""
    import pandas as pd

    from tasks.data.column_profile import clean_labels, header_frame

    profile = read_profile(profile_uri)
    require_label(profile.get("source") or profile["path"], profile["header"])
    labels = pd.DataFrame(index=pd.RangeIndex(profile["rows"]))
    if profile["label_column"] is not None:
        copy = Path(profile["path"]).with_name(COPY_NAME)  # the pair travels together
        labels["label"] = clean_labels(TableFile(copy, "columnar").column(profile["label_column"]))
    columns = pd.DataFrame(profile["columns"],
                           columns=["column", "empty_share", "min", "max", "non_numeric", "non_integer"])
    return {"header": header_frame(profile["header"]), "labels": labels, "columns": columns}
