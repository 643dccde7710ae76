"""CSV dialects a careless export produces: recognised, and each refusal says what to do in one short line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tasks.data.dialect import fix_message, shape_message, sniff

USER_FILE = "/data/landing/exports/fashion-2026-11.csv"


def _csv(tmp_path: Path, content: bytes, name: str = "raw.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    return path


def _header(pixels: int, sep: str = ",") -> str:
    return sep.join(["label", *(f"pixel{i}" for i in range(1, pixels + 1))])


def test_a_plain_csv_is_standard_and_needs_no_fix(tmp_path):
    dialect = sniff(_csv(tmp_path, f"{_header(4)}\nBag,0,1,2,3\n".encode()))
    assert dialect.standard and dialect.header == ("label", "pixel1", "pixel2", "pixel3", "pixel4")
    assert fix_message(dialect, USER_FILE) is None


def test_an_excel_bom_is_detected_and_the_fix_names_the_users_file(tmp_path):
    dialect = sniff(_csv(tmp_path, b"\xef\xbb\xbf" + f"{_header(4)}\nBag,0,1,2,3\n".encode()))
    assert dialect.bom and dialect.header[0] == "label"
    message = fix_message(dialect, USER_FILE)
    assert message.startswith(USER_FILE) and "byte-order mark" in message and "raw.csv" not in message


@pytest.mark.parametrize("sep, named", [(";", "';'"), ("\t", "tabs")])
def test_a_semicolon_or_tab_file_is_refused_without_echoing_its_1500_character_header(tmp_path, sep, named):
    header = _header(784, sep)
    assert len(header) > 1500
    dialect = sniff(_csv(tmp_path, f"{header}\nBag{sep}{sep.join(['0'] * 784)}\n".encode(), "raw.csv.gz"))
    assert dialect.delimiter == sep and len(dialect.header) == 785
    message = fix_message(dialect, USER_FILE)
    assert named in message and "785 found" in message and "comma-separated" in message
    assert len(message) <= 200 and "pixel7" not in message


def test_spaces_after_the_commas_are_detected_in_the_header_or_the_rows(tmp_path):
    in_header = sniff(_csv(tmp_path, b"label, pixel1, pixel2\nBag,1,2\n", "a.csv"))
    in_rows = sniff(_csv(tmp_path, b"label,pixel1,pixel2\nBag, 1, 2\n", "b.csv"))
    assert in_header.space_after_delimiter and in_rows.space_after_delimiter
    assert in_header.header == ("label", "pixel1", "pixel2")
    message = fix_message(in_header, USER_FILE)
    assert "spaces after the commas" in message and "'label, pixel1'" in message


def test_a_long_source_uri_is_shortened_from_the_left_so_the_file_name_stays(tmp_path):
    dialect = sniff(_csv(tmp_path, b"label;pixel1\nBag;1\n"))
    message = fix_message(dialect, "s3://bucket/" + "deep/" * 60 + "export.csv")
    assert len(message) <= 200 and "export.csv" in message


def test_an_empty_or_missing_file_looks_standard_and_leaves_the_error_to_the_reader(tmp_path):
    assert sniff(_csv(tmp_path, b"")).standard
    assert sniff(tmp_path / "absent.csv").standard


def _names(pixels: int, *others: str) -> list[str]:
    return ["label", *others, *(f"pixel{i}" for i in range(1, pixels + 1))]


@pytest.mark.parametrize("pixels, height, width, expected", [
    (784, 8, 8, "784 pixel columns, but 8x8 images need pixel1..pixel64; set image_height and image_width to 28"),
    (64, None, None, "64 pixel columns, but image_height/image_width unset; set image_height and image_width to 8"),
    (100, 28, 28, "set image_height and image_width to 10"),
])
def test_a_known_or_square_pixel_count_names_the_shape_to_set(pixels, height, width, expected):
    message = shape_message(_names(pixels), height, width, USER_FILE)
    assert message.startswith(USER_FILE) and expected in message and len(message) <= 200


@pytest.mark.parametrize("pixels", [65, 300, 62])
def test_a_count_that_is_no_square_and_no_known_size_gets_no_shape_but_the_count_the_shape_needs(pixels):
    message = shape_message(_names(pixels), 8, 8, USER_FILE)
    assert f"{pixels} pixel columns" in message and "8x8 images need pixel1..pixel64" in message
    assert "set image_height" not in message and "image_width to" not in message


def test_columns_that_are_not_pixels_are_named_and_no_shape_is_suggested():
    message = shape_message(_names(62, "id", "row<script>" + "x" * 40), 8, 8, USER_FILE)
    assert "2 column(s) neither label nor pixelN" in message and "'id'" in message
    assert "'row<script>xxxxxxxxxx...'" in message and "x" * 30 not in message  # escaped, cut short
    assert "set image_height" not in message and "pixel1..pixel64" in message


def test_pixel_columns_out_of_order_get_no_shape():
    header = ["label", "pixel2", "pixel1", *(f"pixel{i}" for i in range(3, 65))]
    message = shape_message(header, 28, 28, USER_FILE)
    assert "set image_height" not in message and "label,pixel1..pixel64 in that order" in message


def test_a_header_without_label_is_described_by_its_count_only():
    message = shape_message(["root:x:0:0:root:/root:/bin/bash", "pixel1"], 28, 28, USER_FILE)
    assert "no 'label' column (2 columns)" in message and "root" not in message


def test_spaces_after_the_commas_of_a_file_without_label_quote_nothing(tmp_path):
    dialect = sniff(_csv(tmp_path, b"ADMIN_PASSWORD=hunter2, x\n1, 2\n"))
    message = fix_message(dialect, USER_FILE)
    assert "spaces after the commas" in message and "hunter2" not in message and "ADMIN" not in message


def test_no_pixel_columns_at_all_says_what_the_header_must_be():
    assert "label,pixel1..pixelN" in shape_message(["label"], 28, 28, USER_FILE)
