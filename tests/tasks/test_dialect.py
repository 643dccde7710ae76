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


@pytest.mark.parametrize("pixels, height, width, expected", [
    (784, 8, 8, "784 pixel columns, image shape 8x8=64; set image_height and image_width to 28"),
    (64, None, None, "64 pixel columns, image shape unset; set image_height and image_width to 8"),
    (300, 28, 28, "set image_height to 15 and image_width to 20"),
])
def test_a_pixel_count_that_does_not_fit_the_shape_names_the_shape_to_set(pixels, height, width, expected):
    message = shape_message(pixels, height, width, USER_FILE)
    assert message.startswith(USER_FILE) and expected in message and len(message) <= 200


def test_no_pixel_columns_at_all_says_what_the_header_must_be():
    assert "label,pixel1..pixelN" in shape_message(0, 28, 28, USER_FILE)
