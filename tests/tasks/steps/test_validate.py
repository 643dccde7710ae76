"""The validate step as the pipeline runs it: ``python -m tasks validate ...`` in a subprocess.

Given a small Fashion-MNIST-layout file (2x2 images, 100 rows), when the raw or
prepared suite runs, then good data passes with a report, and each kind of bad
batch exits 2 with one line that names the file and the broken rule.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.steps import call_step

CATEGORIES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
              "Ankle boot"]
ROWS = 100


def rows_of(n: int = ROWS, pixels: int = 4) -> list[list[str]]:
    """Valid rows: every category in turn, integer pixels 0..255."""
    rng = np.random.default_rng(0)
    return [[CATEGORIES[i % 10], *map(str, rng.integers(0, 256, pixels))] for i in range(n)]


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    header = header or ["label", "pixel1", "pixel2", "pixel3", "pixel4"]
    path.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n")
    return path


def validate(tmp_path: Path, data: Path, *extra: str, suite: str = "raw"):
    out = tmp_path / "out"
    result = call_step("validate", "--suite", suite, "--input", str(data), "--output", str(out),
                      "--image-height", "2", "--image-width", "2", *extra)
    return result, out


def assert_fails(result, out: Path, *words: str, report: bool) -> str:
    """Exit 2 with one error line naming the problem; a report only when the suite itself ran."""
    assert result.returncode == 2, result.stderr[-2000:]
    line = [text for text in result.stderr.splitlines() if text.startswith("error: validate:")]
    assert len(line) == 1, result.stderr[-2000:]
    for word in words:
        assert word in line[0], line[0]
    files = sorted(p.name for p in out.rglob("*") if p.is_file()) if out.exists() else []
    assert not [name for name in files if name.endswith(".tmp")]
    if report:
        assert json.loads((out / "validation.json").read_text())["success"] is False
        assert (out / "data_docs" / "index.html").is_file()
    else:
        assert files == []
    return line[0]


def test_clean_csv_passes_with_report(tmp_path):
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows_of()))
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["success"] is True and line["failed"] == []
    assert Path(line["data_docs"]).is_file()
    report = json.loads((out / "validation.json").read_text())
    assert report["success"] is True
    assert all(record["success"] for record in report["expectations"])
    assert {"type", "column", "success"} <= set(report["expectations"][0])


def test_integer_label_codes_pass(tmp_path):
    rows = [[str(i % 10), *row[1:]] for i, row in enumerate(rows_of())]
    result, _ = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows))
    assert result.returncode == 0, result.stderr[-2000:]


def test_embedded_digits_with_default_faults_pass_raw(tmp_path):
    data = tmp_path / "digits.csv"
    assert call_step("make_dataset", "--output", str(data)).returncode == 0
    result = call_step("validate", "--suite", "raw", "--input", str(data), "--output", str(tmp_path / "out"),
                      "--image-height", "8", "--image-width", "8", "--min-valid-label-share", "0.9")
    assert result.returncode == 0, result.stderr[-2000:]


def test_prepared_output_passes_prepared(tmp_path):
    data = tmp_path / "digits.csv"
    assert call_step("make_dataset", "--output", str(data)).returncode == 0
    assert call_step("prepare", "--input", str(data), "--output", str(tmp_path / "prep"),
                    "--image-height", "8", "--image-width", "8").returncode == 0
    result = call_step("validate", "--suite", "prepared", "--input", str(tmp_path / "prep" / "prepared.arrow"),
                      "--output", str(tmp_path / "out"), "--image-height", "8", "--image-width", "8")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "validation.json").read_text())["suite"] == "prepared"


def test_prepared_with_missing_class_and_out_of_range_pixels_fails(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"label": ["Trouser"] * 50 + ["Bag"] * 50,
                          **{f"pixel{i}": np.full(100, 0.5, dtype="float32") for i in range(1, 5)}})
    frame.loc[3, "pixel2"] = 1.5
    frame.to_feather(tmp_path / "prepared.arrow")
    result, out = validate(tmp_path, tmp_path / "prepared.arrow", suite="prepared")
    assert_fails(result, out, "prepared.arrow", "every class", "pixel maximum", "pixel2", report=True)


@pytest.mark.parametrize(("name", "content", "words"), [
    ("empty.csv", b"", ("empty.csv", "empty")),
    ("header.csv", b"label,pixel1,pixel2,pixel3,pixel4\n", ("header only",)),
    ("latin1.csv", "label,pixel1,pixel2,pixel3,pixel4\nTrouser,1,2,3,4\nCo\xe9t,1,2,3,4\n".encode("latin-1"),
     ("latin1.csv", "UTF-8")),
])
def test_unreadable_files_fail_before_any_report(tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    result, out = validate(tmp_path, tmp_path / name)
    assert_fails(result, out, *words, report=False)


def test_truncated_gzip_fails(tmp_path):
    whole = gzip.compress(write_csv(tmp_path / "raw.csv", rows_of(200)).read_bytes())
    (tmp_path / "raw.csv.gz").write_bytes(whole[: len(whole) // 2])
    result, out = validate(tmp_path, tmp_path / "raw.csv.gz")
    assert_fails(result, out, "raw.csv.gz", "gzip", report=False)


def test_gzipped_csv_passes(tmp_path):
    (tmp_path / "raw.csv.gz").write_bytes(gzip.compress(write_csv(tmp_path / "raw.csv", rows_of()).read_bytes()))
    result, _ = validate(tmp_path, tmp_path / "raw.csv.gz")
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_label_column_fails(tmp_path):
    rows = [row[1:] + ["0"] for row in rows_of()]
    data = write_csv(tmp_path / "raw.csv", rows, ["pixel1", "pixel2", "pixel3", "pixel4", "pixel5"])
    result, out = validate(tmp_path, data)
    # without a label column the file may be anything: refused naming no column, and no page shows its header
    assert_fails(result, out, "raw.csv", "no 'label' column (5 columns)", report=False)


def test_wrong_number_of_pixel_columns_fails(tmp_path):
    rows = [row[:4] for row in rows_of()]
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows, ["label", "pixel1", "pixel2", "pixel3"]))
    assert_fails(result, out, "raw.csv", "columns are label, pixel1..pixelN", report=True)


def test_duplicated_column_names_fail(tmp_path):
    data = write_csv(tmp_path / "raw.csv", rows_of(), ["label", "pixel1", "pixel2", "pixel2", "pixel4"])
    result, out = validate(tmp_path, data)
    assert_fails(result, out, "no duplicated column names", "pixel2", report=True)


def test_non_numeric_pixels_fail_naming_the_column(tmp_path):
    rows = rows_of()
    rows[7][3] = "dark"
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows))
    assert_fails(result, out, "pixel cells are numbers", "pixel3", report=True)


def test_pixels_out_of_range_and_fractional_fail(tmp_path):
    rows = rows_of()
    rows[5][4], rows[9][1] = "256", "1.5"
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows))
    line = assert_fails(result, out, "pixel maximum within 0..255", "pixel4", "integers", "pixel1", report=True)
    assert "pixel2" not in line


def test_thirty_percent_invalid_labels_fail_with_the_dag_threshold(tmp_path):
    rows = rows_of()
    for row in rows[:30]:
        row[0] = "hat"
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows), "--min-valid-label-share", "0.9")
    assert_fails(result, out, "labels are known categories", "30.0%", "hat", report=True)
    record = next(r for r in json.loads((out / "validation.json").read_text())["expectations"]
                  if r["column"] == "label" and not r["success"])
    assert record["unexpected_share"] == pytest.approx(0.3)


def test_five_percent_empty_cells_fail(tmp_path):
    rows = rows_of()
    for i in range(20):  # 20 of 400 pixel cells: 5%, above the 1% default
        rows[i * 5][1 + i % 4] = ""
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows))
    assert_fails(result, out, "empty pixel cells", "observed 0.05", report=True)


def test_few_empty_cells_and_invalid_labels_pass_as_the_cleaner_handles_them(tmp_path):
    rows = rows_of(200)
    rows[3][2], rows[10][0] = "", "jacket"
    result, _ = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows), "--min-valid-label-share", "0.9")
    assert result.returncode == 0, result.stderr[-2000:]


def test_too_few_rows_fail(tmp_path):
    result, out = validate(tmp_path, write_csv(tmp_path / "raw.csv", rows_of(5)))
    assert_fails(result, out, "minimum number of rows", report=True)


def test_data_docs_show_a_hostile_header_and_label_as_text_and_carry_no_script(tmp_path):
    payload = "<img src=x onerror=alert(1)>"
    rows = [[payload if i == 0 else row[0], *row[1:]] for i, row in enumerate(rows_of())]
    data = write_csv(tmp_path / "hostile.csv", rows, header=["label", "pixel1", "pixel2", "pixel3", payload])
    result = call_step("validate", "--suite", "raw", "--input", str(data), "--output", str(tmp_path / "out"),
                      "--image-height", "2", "--image-width", "2")
    assert result.returncode == 2  # the header breaks the layout rule
    page = (tmp_path / "out" / "data_docs" / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and payload not in page
    assert "<script" not in page.lower() and "http" not in page.lower()
