"""The pandas-free Arrow/NumPy conversions give what pyarrow's own conversions give.

Given Arrow arrays of every fixed width the data steps meet, sliced (an offset into their
buffers) and with nulls, when read through :mod:`tasks.data.arrow_numpy`, then values,
null masks and round trips equal pyarrow's ``to_numpy``/``to_pylist`` (which this test
process may import pandas for).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tasks.data.arrow_numpy import from_numpy, null_mask, rows_with_nulls, strings, values

pytestmark = pytest.mark.unit

KINDS = [pa.uint8(), pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.bool_()]


def _sample(kind, rows: int = 37):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 200, rows) % 2 == 0 if kind == pa.bool_() else rng.integers(0, 200, rows)
    mask = rng.random(rows) < 0.3
    return pa.array(data, type=kind, mask=mask)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("start", [0, 3, 9])
def test_values_and_null_mask_of_a_sliced_array_with_nulls_match_pyarrow(kind, start):
    array = _sample(kind).slice(start, 20)
    expected_nulls = np.array([value is None for value in array.to_pylist()])
    assert null_mask(array).tolist() == expected_nulls.tolist()
    reference = [7 if value is None else value for value in array.to_pylist()]
    assert values(array, fill=7).tolist() == reference


@pytest.mark.parametrize("kind", KINDS[:-1], ids=str)
def test_values_without_nulls_is_a_view_with_the_arrow_type(kind):
    array = _sample(kind).fill_null(1).slice(5, 10)
    got = values(array)
    assert got.dtype == array.to_numpy().dtype
    assert got.tolist() == array.to_numpy().tolist()


@pytest.mark.parametrize("data", [np.array([3, 0, 255], np.uint8), np.arange(-3, 4, dtype=np.int64),
                                  np.array([True, False, True, True, False, False, True, False, True]),
                                  np.linspace(0, 1, 5, dtype=np.float32)[::2]], ids=["uint8", "int64", "bool", "f32"])
def test_from_numpy_round_trips(data):
    array = from_numpy(data)
    assert array.null_count == 0 and len(array) == len(data)
    assert array.to_pylist() == data.tolist()


def test_from_numpy_refuses_what_has_no_fixed_width_type():
    with pytest.raises(TypeError, match="no fixed-width Arrow type"):
        from_numpy(np.array(["a"]))
    with pytest.raises(ValueError, match="one dimension"):
        from_numpy(np.zeros((2, 2), np.uint8))


def test_strings_keep_text_and_order_including_non_ascii_and_empty():
    texts = ["T-shirt/top", "", "Ankle boot", "Sandale à lacets", "靴"]
    array = strings(texts)
    assert array.type == pa.string() and array.to_pylist() == texts
    assert strings([]).to_pylist() == []


@pytest.mark.parametrize("start", [0, 3, 8, 13])
def test_rows_with_nulls_is_any_null_across_columns_whatever_their_offsets(start):
    columns = [_sample(kind).slice(start, 21) for kind in (pa.uint8(), pa.int64(), pa.float32())]
    columns.append(pa.array(np.arange(21, dtype=np.uint8)))  # no nulls: no bitmap at all
    columns.append(_sample(pa.uint8()).slice(1, 21))  # bits not on a byte boundary unless start is
    expected = [any(column[i].as_py() is None for column in columns) for i in range(21)]
    assert rows_with_nulls(columns, 21).tolist() == expected
    assert rows_with_nulls(columns[3:4], 21).tolist() == [False] * 21
