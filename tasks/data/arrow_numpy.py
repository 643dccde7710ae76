"""NumPy views of Arrow arrays and Arrow arrays over NumPy data, without pyarrow importing pandas.

pyarrow imports pandas, when it is installed, the first time ``pa.array``, ``pa.scalar``
or ``Array.to_numpy`` runs (to ask whether the input is a pandas object): measured on the
2-core machine, 0.33 s of ``prepare``'s 0.73 s of work at 70,000 rows, and again in
``features``, though neither step uses pandas. The data steps move fixed-width numbers,
booleans and a few label names; these functions wrap those as Arrow buffers instead,
zero-copy where the layout allows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_FLOATS = {"halffloat": "float16", "float": "float32", "double": "float64"}
_NUMPY_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64")


def _arrow_type(dtype: np.dtype):
    import pyarrow as pa

    name = np.dtype(dtype).name
    if name not in _NUMPY_TYPES:
        raise TypeError(f"no fixed-width Arrow type for {name}")
    return getattr(pa, name)()


def _bits(buffer, offset: int, length: int) -> np.ndarray:
    """An Arrow bitmap's bits ``offset .. offset + length`` as booleans."""
    packed = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little")[offset:offset + length].view(bool)


def null_mask(array) -> np.ndarray:
    """True where ``array`` (one Arrow array) is null."""
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return ~_bits(array.buffers()[0], array.offset, len(array))


def rows_with_nulls(arrays, length: int) -> np.ndarray:
    """True for each row where any of ``arrays`` (one Arrow array per column, ``length`` rows) is null.

    The validity bitmaps are ANDed as packed bytes and unpacked once: ``prepare`` asks this
    of 784 pixel columns per batch.
    """
    valid, unaligned = None, np.zeros(length, dtype=bool)
    for array in arrays:
        if array.null_count == 0:
            continue
        if array.offset % 8:  # its bits do not start on a byte
            unaligned |= null_mask(array)
            continue
        first = array.offset // 8
        bits = np.frombuffer(array.buffers()[0], dtype=np.uint8, count=(length + 7) // 8, offset=first)
        valid = bits.copy() if valid is None else np.bitwise_and(valid, bits, out=valid)
    if valid is None:
        return unaligned
    return ~np.unpackbits(valid, bitorder="little", count=length).view(bool) | unaligned


def values(array, fill=0) -> np.ndarray:
    """A fixed-width or boolean Arrow array as NumPy, ``fill`` where it is null.

    Without nulls a numeric array comes back as a read-only view of its buffer.
    """
    import pyarrow as pa

    kind = array.type
    if pa.types.is_boolean(kind):
        out = _bits(array.buffers()[1], array.offset, len(array))
    else:
        dtype = np.dtype(_FLOATS.get(str(kind), str(kind)))  # Arrow names ints as NumPy does, floats not
        out = np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    return np.where(null_mask(array), fill, out) if array.null_count else out


def from_numpy(data: np.ndarray):
    """A one-dimensional NumPy array of numbers or booleans as an Arrow array without nulls."""
    import pyarrow as pa

    data = np.ascontiguousarray(data)
    if data.ndim != 1:
        raise ValueError(f"expected one dimension, got {data.ndim}")
    if data.dtype == bool:
        return pa.Array.from_buffers(pa.bool_(), len(data), [None, pa.py_buffer(np.packbits(data, bitorder="little"))])
    return pa.Array.from_buffers(_arrow_type(data.dtype), len(data), [None, pa.py_buffer(data)])


def strings(texts: Sequence[str]):
    """An Arrow string array of ``texts`` (no nulls)."""
    import pyarrow as pa

    encoded = [text.encode() for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(text) for text in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
