"""What fetch and validate say about a file they refuse: its name and the rule, never its bytes, and hints that work."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.steps import call_step
from tests.tasks.helpers import balanced_rows, result_of, write_csv

SECRET_WORDS = ("hunter2pw", "ADMIN_PASSWORD", "root:x", "/bin/bash", "b'ro'")
NOT_LABEL_CSVS = {
    "passwd.csv": b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin\n",
    "secret.csv": b"ADMIN_PASSWORD=hunter2pw\n",
    "no-label.csv": b"ADMIN_PASSWORD=hunter2pw,pixel1,pixel2,pixel3,pixel4\n1,2,3,4,5\n",
    "spaced.csv": b"ADMIN_PASSWORD=hunter2pw, pixel1\n1, 2\n",
    "not-gzip.csv.gz": b"root:x:0:0:root:/root:/bin/bash\n",
    "ragged.csv": b"label,pixel1,pixel2,pixel3,pixel4\nBag,1,2,3,4\nADMIN_PASSWORD=hunter2pw,root:x\n",
}


def fetch(source: Path | str, out: Path, height: int = 2, width: int = 2):
    return call_step("fetch", "--source", str(source), "--output", str(out), "--image-height", str(height),
                    "--image-width", str(width))


def _assert_nothing_quoted(text: str) -> None:
    leaked = [word for word in SECRET_WORDS if word in text]
    assert not leaked, f"{leaked} leaked into: {text[-400:]}"


@pytest.mark.parametrize("name", sorted(NOT_LABEL_CSVS))
def test_fetch_refuses_a_file_that_is_not_a_label_csv_without_quoting_it(tmp_path, name):
    source = tmp_path / name
    source.write_bytes(NOT_LABEL_CSVS[name])

    done = fetch(source, tmp_path / "f")

    assert done.returncode == 2 and source.name in done.stderr  # a long path is shortened from the left
    _assert_nothing_quoted(done.stdout + done.stderr)


@pytest.mark.parametrize("name", ["no-label.csv", "ragged.csv"])
def test_validate_refuses_a_file_that_is_not_a_label_csv_without_quoting_it_in_message_or_page(tmp_path, name):
    source = tmp_path / name
    source.write_bytes(NOT_LABEL_CSVS[name])

    done = call_step("validate", "--suite", "raw", "--input", str(source), "--output", str(tmp_path / "v"),
                    "--image-height", "2", "--image-width", "2")

    assert done.returncode == 2 and str(source) in done.stderr
    _assert_nothing_quoted(done.stdout + done.stderr)
    pages = [p.read_text() for p in (tmp_path / "v").rglob("*") if p.is_file()] if (tmp_path / "v").exists() else []
    _assert_nothing_quoted("".join(pages))


def _pixels_csv(path: Path, pixels: int, *others: str, rows: int = 10) -> Path:
    header = ["label", *others, *(f"pixel{i}" for i in range(1, pixels + 1))]
    return write_csv(path, [["Bag", *([1] * (len(header) - 1))] for _ in range(rows)], header=header)


def test_65_pixel_columns_get_the_count_and_what_the_shape_needs_but_no_shape(tmp_path):
    done = fetch(_pixels_csv(tmp_path / "raw.csv", 65), tmp_path / "f", 8, 8)

    assert done.returncode == 2
    assert "65 pixel columns" in done.stderr and "8x8 images need pixel1..pixel64" in done.stderr
    assert "set image_height" not in done.stderr


def test_columns_that_are_not_pixels_are_named_instead_of_a_shape_that_would_fail(tmp_path):
    done = fetch(_pixels_csv(tmp_path / "raw.csv", 62, "id", "batch"), tmp_path / "f", 8, 8)

    assert done.returncode == 2
    assert "2 column(s) neither label nor pixelN: 'id', 'batch'" in done.stderr
    assert "set image_height" not in done.stderr and "set 2" not in done.stderr


def test_784_pixel_columns_suggest_28x28_and_following_the_hint_passes_fetch_and_the_layout_check(tmp_path):
    source = write_csv(tmp_path / "raw.csv", balanced_rows(10, pixels=784), 28, 28)

    refused = fetch(source, tmp_path / "f", 8, 8)
    assert refused.returncode == 2 and "set image_height and image_width to 28" in refused.stderr

    done = fetch(source, tmp_path / "f", 28, 28)
    assert done.returncode == 0, done.stderr
    checked = call_step("validate", "--suite", "raw", "--input", result_of(done)["profile"], "--output",
                       str(tmp_path / "v"), "--image-height", "28", "--image-width", "28")
    records = json.loads((tmp_path / "v" / "validation.json").read_text())["expectations"]
    layout = [r for r in records if "pixel1..pixelN" in (r.get("rule") or "")]
    assert layout and all(r["success"] for r in layout), layout
    assert checked.returncode == 0, checked.stderr[-1000:]


def test_an_idx_images_file_alone_names_the_labels_file_looked_for_beside_it(tmp_path):
    images = tmp_path / "truncated-images-idx3-ubyte.gz"
    header = np.array([0x803, 1, 2, 2], dtype=">u4").tobytes()
    images.write_bytes(gzip.compress(header + np.zeros(4, dtype=np.uint8).tobytes()))

    done = fetch(images, tmp_path / "f")

    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert "truncated-images-idx3-ubyte.gz" in line and "truncated-labels-idx1-ubyte.gz" in line
    assert "beside" in line and "dataset not found" not in line


def test_a_labels_file_that_is_not_idx_is_refused_without_quoting_its_first_bytes(tmp_path):
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(np.array([0x803, 1, 2, 2], dtype=">u4").tobytes() + bytes(4))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")

    done = fetch(images, tmp_path / "f")

    assert done.returncode == 2 and "not an IDX labels file" in done.stderr
    assert "0x726f6f74" not in done.stderr  # 'root' read as the magic number
    _assert_nothing_quoted(done.stderr)
