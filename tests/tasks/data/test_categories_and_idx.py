"""The ``categories`` setting (other label sets) and IDX folders recognised by content, through the CLIs."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest

from tasks.core import parameters as p
from tasks.core.common import StepError
from tests.support.steps import call_step
from tests.tasks.helpers import result_of, write_csv

XSS = "<img src=x onerror=alert(1)>"
NAMES = ["cat", "dog", XSS, "owl", "eel", "ant", "bee", "cow", "elk", "fox"]


@pytest.mark.parametrize("text, problem", [
    ("a,b,c", "10 comma-separated names"),
    ("a,b,c,d,e,f,g,h,i,j,k", "10 comma-separated names"),
    ("a,b,c,d,e,f,g,h,i, ", "non-empty"),
    ("a,b,c,d,e,f,g,h,i,a", "distinct ('a' is repeated)"),
])
def test_categories_must_be_ten_distinct_non_empty_names(text, problem):
    with pytest.raises(StepError, match=re.escape(problem)):
        p.CATEGORIES.check(text)


def test_the_forms_pattern_accepts_ten_names_and_refuses_nine():
    pattern = p.CATEGORIES.json_schema()["pattern"]
    assert re.fullmatch(pattern, p.CATEGORIES.default)
    assert re.fullmatch(pattern, ",".join(NAMES))
    assert not re.fullmatch(pattern, ",".join(NAMES[:9]))
    assert not re.fullmatch(pattern, ",".join(NAMES[:9]) + ",")


def test_a_bad_category_list_fails_the_step_in_one_line(tmp_path):
    csv = write_csv(tmp_path / "d.csv", [[0, 1, 2, 3, 4]])
    done = call_step("prepare", "--input", str(csv), "--output", str(tmp_path / "out"), "--image-height", "2",
                    "--image-width", "2", "--categories", "a,b,a,c,d,e,f,g,h,i")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "'a' is repeated" in done.stderr
    assert not (tmp_path / "out" / "prepared.arrow").exists()


def test_other_category_names_become_the_label_set_of_prepare_and_features(tmp_path):
    # given integer labels, names of the new set, and an old Fashion-MNIST name (now invalid)
    rows = [[code % 10, *[(code * 7 + i) % 256 for i in range(4)]] for code in range(40)]
    rows += [[NAMES[3], 1, 2, 3, 4], ["Trouser", 1, 2, 3, 4]]
    csv = write_csv(tmp_path / "d.csv", rows)
    common = ["--image-height", "2", "--image-width", "2", "--categories", ",".join(NAMES)]
    prepared = call_step("prepare", "--input", str(csv), "--output", str(tmp_path / "prep"), *common)
    assert prepared.returncode == 0, prepared.stderr
    report = result_of(prepared)
    assert (report["rows_out"], report["dropped_invalid_label"]) == (41, 1)
    labels = feather.read_table(tmp_path / "prep" / "prepared.arrow").column("label").to_pylist()
    assert labels[:10] == NAMES and labels[40] == "owl"

    done = call_step("features", "--input", report["prepared"], "--output", str(tmp_path / "feat"), *common)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "feat" / "label_map.json").read_text())["classes"] == NAMES
    with np.load(tmp_path / "feat" / "features.npz") as bundle:
        assert list(bundle["classes"]) == NAMES and bundle["y"][2] == 2
    assert result_of(done)["class_counts"]["owl"] == 5


def _idx(path, magic, shape, body, gz=True):
    payload = np.array([magic, *shape], dtype=">u4").tobytes() + body.tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def test_an_idx_folder_is_recognised_by_content_whatever_its_name(tmp_path):
    # given a folder whose path says nothing of IDX, files named anyhow, two pairs told apart by counts
    folder = tmp_path / "mydata"
    folder.mkdir()
    train, test = np.arange(3 * 4, dtype=np.uint8).reshape(3, 2, 2), np.full((2, 2, 2), 7, dtype=np.uint8)
    _idx(folder / "big-pictures.bin", 0x803, (3, 2, 2), train)
    _idx(folder / "big-answers.bin", 0x801, (3,), np.array([9, 0, 3], dtype=np.uint8), gz=False)
    _idx(folder / "small-x", 0x803, (2, 2, 2), test, gz=False)
    _idx(folder / "small-y.gz", 0x801, (2,), np.array([5, 6], dtype=np.uint8))
    (folder / "README.txt").write_text("not IDX")

    done = call_step("fetch", "--source", str(folder), "--output", str(tmp_path / "f"), "--image-height", "2",
                    "--image-width", "2")

    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "f" / "raw.csv")
    assert frame["label"].tolist() == [9, 0, 3, 5, 6]  # the larger (train) pair first
    assert frame.iloc[1, 1:].tolist() == [4, 5, 6, 7]


def test_a_folder_without_an_idx_pair_fails_in_one_line(tmp_path):
    folder = tmp_path / "idx"  # a name that once made any folder IDX
    folder.mkdir()
    _idx(folder / "images", 0x803, (1, 2, 2), np.zeros((1, 2, 2), dtype=np.uint8))
    done = call_step("fetch", "--source", str(folder), "--output", str(tmp_path / "f"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 2
    assert "without an IDX pair" in done.stderr and len(done.stderr.strip().splitlines()) == 1
