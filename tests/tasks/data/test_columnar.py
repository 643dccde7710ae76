"""The columnar data path gives the answers the CSV-reading steps gave, one CSV parse and bounded batches later."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from tasks.core.common import StepError
from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.data.column_profile import profile_raw
from tasks.data.columnar import raw_frames, write_columnar
from tasks.data.raw_csv import read_header, read_table
from tasks.data.streaming import (
    prepare_columnar,
    prepared_frames_columnar,
)
from tasks.steps.validate import prepared_frames
from tests.tasks.helpers import balanced_rows, write_csv

SAMPLE = Path("/work/shared/data/fashion-mnist-sample.csv.gz")


def todays_raw_frames(path: Path) -> dict:
    header = read_header(path)
    return profile_raw(path, read_table(path, header), header)


def assert_same_frames(mine: dict, today: dict) -> None:
    assert mine.keys() == today.keys()
    for name in today:
        pd.testing.assert_frame_equal(mine[name], today[name], obj=name)


def columnar(csv: Path, out: Path, chunk_bytes: int = 1 << 25) -> dict:
    return write_columnar(str(csv), out, chunk_bytes=chunk_bytes)


def faulty_rows() -> list[list[object]]:
    """Clean rows plus every fault prepare cleans: empty cells, invalid labels, names, codes, padded codes."""
    rows = balanced_rows(per_class=6)
    rows[0][2] = None
    rows[7][4] = None
    rows[3][0] = "tshirt"
    rows[9][0] = ""
    rows[11][0] = " 3 "
    rows[13][0] = "7"
    rows[20][0] = "hat"
    return rows


@pytest.mark.parametrize("chunk_bytes", [1 << 25, 64, 8])  # one chunk, a line or two, lines > a chunk
def test_profile_of_a_file_with_every_fault_equals_todays_profile(tmp_path, chunk_bytes):
    lines = ["label,pixel1,pixel2,pixel3,pixel4"]
    cells = [("0", "1", "", "NA", "1.5"), ("Trouser", "2", "7", "abc", "3.0"), ("tshirt", "300", "", " 12", ""),
             ("", "-1", "9", "nan", "4"), (" 3 ", "5", "8", " ", "255")]
    lines += [",".join(row) for row in cells]
    csv = tmp_path / "raw.csv"
    csv.write_text("\n".join(lines))  # no trailing newline
    result = columnar(csv, tmp_path / "c", chunk_bytes)
    assert result["rows"] == 5
    assert_same_frames(raw_frames(result["profile"]), todays_raw_frames(csv))
    faults = json.loads(Path(result["profile"]).read_text())["faults"]
    assert faults["pixel3"]["non_numeric"] == 3  # "NA", "abc", "nan": text in a text column
    assert faults["pixel1"]["out_of_range"] == 2 and faults["pixel4"]["first_non_integer"]["value"] == "1.5"


def test_columnar_copy_keeps_labels_as_text_and_pixels_as_uint8_with_nulls(tmp_path):
    csv = write_csv(tmp_path / "raw.csv", [["tshirt", 1, None, 3, 4], ["Coat", 0, 255, "x", 2]])
    copy = feather.read_table(columnar(csv, tmp_path / "c")["columnar"])
    assert copy.column("label").to_pylist() == ["tshirt", "Coat"]
    assert str(copy.schema.field("pixel1").type) == "uint8"
    assert copy.column("pixel2").to_pylist() == [None, 255] and copy.column("pixel3").to_pylist() == [3, None]


def test_wrong_header_is_profiled_so_the_suite_can_report_it(tmp_path):
    csv = write_csv(tmp_path / "raw.csv", [["0", 1, 2, 3, 4]], header=["label", "pixel1", "pixel1", "px3", "pixel4"])
    frames = raw_frames(columnar(csv, tmp_path / "c")["profile"])
    assert list(frames["header"].columns) == ["label", "pixel1", "pixel1", "px3", "pixel4"]
    assert_same_frames(frames, todays_raw_frames(csv))


def test_unreadable_files_fail_with_one_line(tmp_path):
    with pytest.raises(StepError, match="file not found") as missing:
        columnar(tmp_path / "absent.csv", tmp_path / "c")
    assert "\n" not in str(missing.value)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"label,pixel1\n0,1\n\xff\xfe,2\n")
    with pytest.raises(StepError, match="not UTF-8") as broken:
        columnar(bad, tmp_path / "c")
    assert "\n" not in str(broken.value)
    ragged = write_csv(tmp_path / "ragged.csv", [["0", 1, 2, 3, 4]])
    ragged.write_text(ragged.read_text() + "1,2\n")
    with pytest.raises(StepError, match="not a readable CSV"):
        columnar(ragged, tmp_path / "c")
    header_only = tmp_path / "header.csv"
    header_only.write_text("label,pixel1,pixel2,pixel3,pixel4\n")
    with pytest.raises(StepError, match="header only"):
        columnar(header_only, tmp_path / "c")
    assert not (tmp_path / "c" / "raw.arrow").exists()


def test_prepare_keeps_and_drops_the_rows_the_cleaning_rules_say_with_uint8_pixels(tmp_path):
    rows = faulty_rows()
    csv = write_csv(tmp_path / "raw.csv", rows)
    mine = prepare_columnar(columnar(csv, tmp_path / "c", 64)["profile"], tmp_path / "mine", 2, 2)
    assert (mine["rows_in"], mine["dropped_empty_cells"], mine["dropped_invalid_label"], mine["rows_out"]) == \
        (60, 2, 3, 55)
    kept = [row for i, row in enumerate(rows) if i not in (0, 7, 3, 9, 20)]
    ours = feather.read_table(mine["prepared"]).to_pandas()
    expected_labels = [FASHION_MNIST_CATEGORIES[int(str(r[0]).strip())] if str(r[0]).strip().isdigit() else r[0]
                       for r in kept]
    assert ours["label"].tolist() == expected_labels
    pixels = [c for c in ours.columns if c != "label"]
    assert (ours[pixels].dtypes == "uint8").all()
    np.testing.assert_array_equal(ours[pixels].to_numpy(), np.array([r[1:] for r in kept], dtype=np.uint8))
    scaled = tmp_path / "float.arrow"  # the prepared suite sees the same frames as on float pixels in [0, 1]
    feather.write_feather(pa.table({"label": ours["label"].tolist(),
                             **{c: ours[c].to_numpy(np.float32) / np.float32(255) for c in pixels}}), scaled)
    assert_same_frames(prepared_frames_columnar(mine["prepared"], list(FASHION_MNIST_CATEGORIES)),
                       prepared_frames(str(scaled), list(FASHION_MNIST_CATEGORIES)))


@pytest.mark.parametrize(("cell", "message"), [("abc", "non-numeric pixel 'abc' in column pixel2, row 3"),
                                               ("256", "pixel 256 outside 0..255 in column pixel2, row 3"),
                                               ("2.5", "pixel 2.5 is not a whole number in column pixel2, row 3")])
def test_prepare_fails_on_a_pixel_it_cannot_clean_naming_column_and_row(tmp_path, cell, message):
    rows = balanced_rows(per_class=1)
    rows[2][2] = cell
    csv = write_csv(tmp_path / "raw.csv", rows)
    with pytest.raises(StepError, match=message.replace("(", r"\(").replace(".", r"\.")):
        prepare_columnar(columnar(csv, tmp_path / "c")["profile"], tmp_path / "mine", 2, 2)


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"{SAMPLE} (999 real Fashion-MNIST images) is not on this machine")
def test_real_images_give_todays_profile_and_prepared_data(tmp_path):
    result = columnar(SAMPLE, tmp_path / "c", 1 << 20)
    assert result["rows"] == 999
    assert_same_frames(raw_frames(result["profile"]), todays_raw_frames(SAMPLE))
    mine = prepare_columnar(result["profile"], tmp_path / "mine", 28, 28)
    assert mine["rows_out"] == 999
    ours, csv = feather.read_table(mine["prepared"]), pd.read_csv(SAMPLE)
    codes = [FASHION_MNIST_CATEGORIES.index(label) for label in ours.column("label").to_pylist()]
    assert codes == csv["label"].tolist()
    np.testing.assert_array_equal(ours.column("pixel400").to_numpy(), csv["pixel400"].to_numpy())


@pytest.mark.parametrize("chunk_bytes", [1 << 25, 64, 8])
@pytest.mark.parametrize("text", ["label,pixel1\n0,1\n1,2\n\n", "label,pixel1\n0,1\n1,2", "label,pixel1\n",
                                  "label,pixel1"], ids=["trailing blank", "no final newline", "header", "no newline"])
def test_the_digest_fed_by_the_parse_is_the_files_sha256(tmp_path, chunk_bytes, text):
    """fetch's lineage hash comes from the parse's own reads: every byte, once, in order, whatever the chunking."""
    csv = tmp_path / "raw.csv"
    csv.write_text(text)
    digest = hashlib.sha256()
    try:
        write_columnar(str(csv), tmp_path / "c", chunk_bytes=chunk_bytes, digest=digest)
    except StepError:
        assert text.count("\n") <= 1  # a header only: refused, after reading it all
    assert digest.hexdigest() == hashlib.sha256(text.encode()).hexdigest()
