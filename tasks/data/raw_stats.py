"""Per-column tallies of a raw CSV, gathered batch by batch, that reproduce ``profile_raw``'s summary.

``profile_raw`` summarises each column after pyarrow has inferred its type from the
whole file: an integer column, a float column, or a text column whose cells pandas
then parses one by one. A streaming pass cannot know the type until the last batch,
so it keeps a tally per cell class (empty, integer, float, null token such as "NA",
other text) and decides the type at the end, exactly as the inference would have.
Cells are classified by pyarrow's own parser (``pc.cast``) and pandas' own
``to_numeric``, applied to the distinct values of a batch only, so the rules match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INT, FLOAT, TOKEN, OTHER = 0, 1, 2, 3
NULL_TOKENS = frozenset(["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                         "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"])  # pyarrow's defaults, less ""
NO_ROW = np.iinfo(np.int64).max


@dataclass
class First:
    """The first data row (0-based) where a fault was seen, and the cell's text."""

    row: int = NO_ROW
    value: str = ""

    def offer(self, row: int, value: str) -> None:
        if row < self.row:
            self.row, self.value = row, value


@dataclass
class ColumnTally:
    """What one column has shown so far; ``summary`` turns it into ``profile_raw``'s row."""

    empty: int = 0
    ints: int = 0
    int_min: int | None = None
    int_max: int | None = None
    floats: int = 0
    float_min: float = np.inf
    float_max: float = -np.inf
    float_nonint: int = 0
    tokens: int = 0
    others: int = 0
    text_numeric: int = 0
    text_min: float = np.inf
    text_max: float = -np.inf
    text_nonint: int = 0
    text_nonnumeric: int = 0
    range_cells: int = 0
    fraction_cells: int = 0
    first: dict[str, First] = field(default_factory=lambda: {k: First() for k in
                                                             ("token", "text", "range", "fraction")})

    def add_ints(self, count: int, low: int, high: int) -> None:
        """A batch of integer cells (the fast path: every cell parsed as 0..255 or was empty)."""
        if count:
            self.ints += count
            self.int_min = low if self.int_min is None else min(self.int_min, low)
            self.int_max = high if self.int_max is None else max(self.int_max, high)

    def kind(self) -> str:
        """The type pyarrow would have inferred for the whole column."""
        if self.others:
            return "string"
        if self.floats:
            return "float"
        return "int" if self.ints else "null"

    def summary(self, name: str, rows: int) -> dict:
        """The row ``column_profile._pixel_row`` writes for this column, with the same Python types."""
        kind = self.kind()
        if kind == "int":
            return {"column": name, "empty_share": (self.empty + self.tokens) / rows, "min": self.int_min,
                    "max": self.int_max, "non_numeric": 0, "non_integer": 0}
        lows, highs = [self.float_min], [self.float_max]
        if self.ints:
            lows.append(self.int_min)
            highs.append(self.int_max)
        present, nonint, nonnumeric = self.ints + self.floats, self.float_nonint, 0
        if kind == "string":
            present += self.text_numeric
            nonint += self.text_nonint
            nonnumeric = self.text_nonnumeric
            lows.append(self.text_min)
            highs.append(self.text_max)
        return {"column": name, "empty_share": (rows - present) / rows,
                "min": float(min(lows)) if present else None, "max": float(max(highs)) if present else None,
                "non_numeric": nonnumeric, "non_integer": nonint}

    def faults(self) -> dict:
        """Cells ``prepare`` cannot turn into uint8 pixels: counts, and the first of each kind (0-based row)."""
        first_text = self.first["text"]
        if self.kind() == "string":  # in a text column a null token such as "NA" is text, not an empty cell
            first_text = min(first_text, self.first["token"], key=lambda f: f.row)
        found: dict = {"non_numeric": self.summary("", 1)["non_numeric"], "out_of_range": self.range_cells,
                       "non_integer": self.fraction_cells}
        for rule, first in (("non_numeric", first_text), ("out_of_range", self.first["range"]),
                            ("non_integer", self.first["fraction"])):
            if found[rule]:
                found[f"first_{rule}"] = {"row": first.row, "value": first.value}
        return found


def classify(value: str) -> tuple[int, float, float]:
    """A cell's class, its value as pyarrow reads it, and its value as pandas reads it (NaN if none)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pd.Series([value.strip()], dtype="string").replace("", pd.NA)
    number = pd.to_numeric(text, errors="coerce").iloc[0]
    as_pandas = np.nan if pd.isna(number) else float(number)
    if value in NULL_TOKENS:
        return TOKEN, np.nan, as_pandas
    for kind, target in ((INT, pa.int64()), (FLOAT, pa.float64())):
        try:
            return kind, float(pc.cast(pa.array([value]), target)[0].as_py()), as_pandas
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            continue
    return OTHER, np.nan, as_pandas


def tally_text(tally: ColumnTally, column, first_row: int) -> np.ndarray:
    """Tally a batch of one column read as text (nulls were empty cells); return its uint8 values, -1 where none."""
    import pyarrow.compute as pc

    distinct = pc.unique(column).drop_null()
    index = pc.index_in(column, value_set=distinct).fill_null(-1).to_numpy(zero_copy_only=False)
    tally.empty += int((index < 0).sum())
    texts = distinct.to_pylist()
    classes = [classify(text) for text in texts]
    counts = np.bincount(index[index >= 0], minlength=len(texts))
    _, first_seen = np.unique(index, return_index=True)
    first_at = dict(zip(np.unique(index).tolist(), first_seen.tolist(), strict=True))
    stored = np.full(len(texts) + 1, -1, dtype=np.int16)  # last slot: empty cells (index -1)
    for i, (text, (kind, arrow, pandas_value), count) in enumerate(zip(texts, classes, counts, strict=True)):
        if not count:
            continue
        row = first_row + first_at[i]
        number = arrow if kind in (INT, FLOAT) else pandas_value
        _tally_one(tally, kind, arrow, pandas_value, int(count), row, text)
        if not np.isnan(number) and number == np.floor(number) and 0 <= number <= 255:
            stored[i] = int(number)
        elif not np.isnan(number):
            in_range = 0 <= number <= 255
            tally.range_cells += int(count) * (not in_range)
            tally.fraction_cells += int(count) * in_range
            tally.first["fraction" if in_range else "range"].offer(row, text)
    return stored[index]


def _tally_one(tally: ColumnTally, kind: int, arrow: float, pandas_value: float, count: int, row: int,
               text: str) -> None:
    """Add ``count`` cells of one distinct text to the tally."""
    if kind == INT:
        tally.add_ints(count, int(arrow), int(arrow))
    elif kind == FLOAT:
        tally.floats += count
        tally.float_min, tally.float_max = min(tally.float_min, arrow), max(tally.float_max, arrow)
        tally.float_nonint += count * int(arrow != np.floor(arrow))
    else:
        tally.tokens += count * (kind == TOKEN)
        tally.others += count * (kind == OTHER)
        if text.strip() == "":
            return
        if np.isnan(pandas_value):
            tally.text_nonnumeric += count
            tally.first["token" if kind == TOKEN else "text"].offer(row, text)
        else:
            tally.text_numeric += count
            tally.text_min, tally.text_max = min(tally.text_min, pandas_value), max(tally.text_max, pandas_value)
            tally.text_nonint += count * int(pandas_value != np.floor(pandas_value))
