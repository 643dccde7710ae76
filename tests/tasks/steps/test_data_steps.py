"""Behaviour of the data steps (fetch, prepare, features, split) through their CLIs."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest

from tasks.core.layout import FASHION_MNIST_CATEGORIES, THESIS_INVALID_LABELS
from tasks.data.sources import FASHION_SAMPLE_FILE, build_digits_frame, build_fashion_sample_frame
from tests.support.steps import call_step
from tests.tasks.helpers import balanced_rows, result_of, write_csv


def test_embedded_digits_are_real_digits_in_the_csv_layout_with_the_thesis_faults():
    frame = build_digits_frame(invalid_label_rate=0.1, empty_cell_rate=0.01, seed=1)
    assert frame.shape == (1797, 65)
    assert list(frame.columns[:3]) == ["label", "pixel1", "pixel2"]
    pixels = frame.drop(columns="label")
    assert pixels.min().min() >= 0 and pixels.max().max() == 255
    invalid = ~frame["label"].isin(FASHION_MNIST_CATEGORIES)
    assert set(frame["label"][invalid]) <= set(THESIS_INVALID_LABELS)
    assert invalid.sum() == round(0.1 * 1797)
    assert int(pixels.isna().sum().sum()) == round(0.01 * 1797 * 64)


def test_embedded_fashion_sample_is_the_shipped_real_sample_with_the_thesis_faults():
    # The shipped file is the MIT sample its notice names, byte for byte.
    digest = hashlib.sha256(FASHION_SAMPLE_FILE.read_bytes()).hexdigest()
    assert digest == "ba64de253a7c7fb6c88f305ca8c86785a0d69ddaa40993fffd52be77ccf3217d"
    assert "MIT License" in (FASHION_SAMPLE_FILE.parent / "README.md").read_text()
    frame = build_fashion_sample_frame(invalid_label_rate=0.05, empty_cell_rate=0.001, seed=2)
    assert frame.shape == (999, 785)
    invalid = ~frame["label"].isin(FASHION_MNIST_CATEGORIES)
    assert invalid.sum() == round(0.05 * 999)
    counts = frame["label"][~invalid].value_counts()
    assert counts.index[0] in FASHION_MNIST_CATEGORIES and len(counts) == 10
    assert int(frame.drop(columns="label").isna().sum().sum()) == round(0.001 * 999 * 784)


def test_fetch_embedded_fashion_sample_needs_its_28x28_shape(tmp_path):
    done = call_step("fetch", "--source", "embedded://fashion-mnist-sample", "--output", str(tmp_path / "f"))
    assert done.returncode == 2 and "set image_height and image_width to 28" in done.stderr
    assert not (tmp_path / "f" / "raw.csv").exists()
    done = call_step("fetch", "--source", "embedded://fashion-mnist-sample", "--output", str(tmp_path / "g"),
                    "--image-height", "28", "--image-width", "28")
    assert done.returncode == 0, done.stderr
    assert result_of(done)["rows"] == 999


def test_embedded_faults_are_reproducible_by_seed():
    first = build_digits_frame(0.05, 0.01, seed=3)
    assert first.equals(build_digits_frame(0.05, 0.01, seed=3))
    assert not first.equals(build_digits_frame(0.05, 0.01, seed=4))


def test_fetch_embedded_writes_a_snapshot_with_its_hash(tmp_path):
    done = call_step("fetch", "--source", "embedded://digits", "--output", str(tmp_path / "f"))
    assert done.returncode == 0, done.stderr
    result = result_of(done)
    assert result["rows"] == 1797
    assert result["sha256"] == hashlib.sha256(Path(result["raw"]).read_bytes()).hexdigest()  # the snapshot's bytes
    assert pd.read_csv(result["raw"]).shape == (1797, 65)


def test_fetch_copies_a_gzipped_csv_from_a_file_uri(tmp_path):
    source = write_csv(tmp_path / "data.csv", balanced_rows(2))
    packed = tmp_path / "data.csv.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    done = call_step("fetch", "--source", f"file://{packed}", "--output", str(tmp_path / "f"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "f" / "raw.csv").read_bytes() == source.read_bytes()


def test_fetch_reads_over_http(tmp_path):
    import functools
    import http.server
    import threading

    write_csv(tmp_path / "remote.csv", balanced_rows(1))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/remote.csv"
        origin = url.rsplit("/", 1)[0]
        refused = call_step("fetch", "--source", url, "--output", str(tmp_path / "f"))
        assert refused.returncode == 2 and "PIPELINE_ALLOWED_DATA" in refused.stderr  # not on the allowlist yet
        done = call_step("fetch", "--source", url, "--output", str(tmp_path / "f"), "--image-height", "2",
                        "--image-width", "2", env={"PIPELINE_ALLOWED_DATA_ROOTS": origin,
                                                   "PIPELINE_ALLOWED_DATA_SCHEMES": "http"})
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert result_of(done)["rows"] == 10


def test_fetch_converts_the_original_idx_files(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    header = np.array([0x803, 3, 28, 28], dtype=">u4").tobytes()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
    labels = np.array([9, 0, 3], dtype=np.uint8)
    header = np.array([0x801, 3], dtype=">u4").tobytes()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + labels.tobytes()))
    done = call_step("fetch", "--source", str(tmp_path / "train-images-idx3-ubyte.gz"), "--output", str(tmp_path / "f"),
                    "--image-height", "28", "--image-width", "28")
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "f" / "raw.csv")
    assert frame.shape == (3, 785)
    assert frame["label"].tolist() == [9, 0, 3]
    assert frame.iloc[1, 1:].tolist() == images[1].reshape(-1).tolist()


@pytest.mark.parametrize("source, message", [
    ("{tmp}/missing.csv", "not found"),
    ("{tmp}/broken.csv.gz", "truncated or corrupt gzip"),
])
def test_fetch_fails_in_one_line_and_leaves_nothing(tmp_path, source, message):
    (tmp_path / "broken.csv.gz").write_bytes(gzip.compress(b"label,pixel1\n" * 500)[:-30])
    done = call_step("fetch", "--source", source.format(tmp=tmp_path), "--output", str(tmp_path / "f"))
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.strip().count("\n") == 0
    assert not (tmp_path / "f" / "raw.csv").exists()


def test_prepare_drops_empty_and_invalid_rows_and_keeps_pixels_as_uint8(tmp_path):
    rows = balanced_rows(3)
    rows[0][2] = None  # an empty cell
    rows[4][0] = "hat"  # an invalid label
    rows[7][0] = 2  # an integer code is a known category (Pullover)
    source = write_csv(tmp_path / "raw.csv", rows)
    done = call_step("prepare", "--input", str(source), "--output", str(tmp_path / "p"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 0, done.stderr
    report = result_of(done)
    assert (report["rows_in"], report["dropped_empty_cells"], report["dropped_invalid_label"],
            report["rows_out"]) == (30, 1, 1, 28)
    table = feather.read_table(report["prepared"]).to_pandas()
    assert len(table) == 28 and set(table["label"]) <= set(FASHION_MNIST_CATEGORIES)
    assert "Pullover" in table["label"].tolist()
    pixels = table.drop(columns="label").to_numpy()
    assert pixels.dtype == np.uint8  # a quarter of float32 on disk; training scales each batch to [0, 1]


@pytest.mark.parametrize("rows, header, message", [
    ([["Bag", 1, 2, 3, 4]], ["lbl", "pixel1", "pixel2", "pixel3", "pixel4"], "no 'label' column"),
    ([["Bag", 1, "x", 3, 4]], None, "non-numeric pixel 'x' in column pixel2"),
    ([["Bag", 1, 2, 300, 4]], None, "outside 0..255 in column pixel3"),
    ([["hat", 1, 2, 3, 4], ["Bag", None, 2, 3, 4]], None, "no rows left after cleaning"),
    ([["Bag", 1, 2, 3]], ["label", "pixel1", "pixel2", "pixel3"], "3 pixel columns, expected 4"),
])
def test_prepare_rejects_bad_input_in_one_line_without_output(tmp_path, rows, header, message):
    source = write_csv(tmp_path / "raw.csv", rows, header=header)
    done = call_step("prepare", "--input", str(source), "--output", str(tmp_path / "p"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 2
    assert message in done.stderr and str(source) in done.stderr
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_prepare_names_a_missing_file(tmp_path):
    done = call_step("prepare", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "p"),
                    "--image-height", "2", "--image-width", "2")
    assert done.returncode == 2 and "nope.csv: dataset file not found" in done.stderr


def _prepared(tmp_path, per_class=6):
    source = write_csv(tmp_path / "raw.csv", balanced_rows(per_class))
    done = call_step("prepare", "--input", str(source), "--output", str(tmp_path / "p"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 0, done.stderr
    return result_of(done)["prepared"]


@pytest.mark.parametrize("loss, shape", [("sparse_categorical_crossentropy", (60,)),
                                         ("categorical_crossentropy", (60, 10))])
def test_features_encode_labels_for_the_loss_and_keep_the_mapping(tmp_path, loss, shape):
    done = call_step("features", "--input", _prepared(tmp_path), "--output", str(tmp_path / "f"), "--image-height", "2",
                    "--image-width", "2", "--loss", loss)
    assert done.returncode == 0, done.stderr
    result = result_of(done)
    with np.load(result["features"]) as data:
        assert data["x"].shape == (60, 2, 2) and data["y"].shape == shape
        assert list(data["classes"]) == list(FASHION_MNIST_CATEGORIES)
    mapping = json.loads((tmp_path / "f" / "label_map.json").read_text())
    assert mapping["classes"][9] == "Ankle boot"


def test_split_is_stratified_disjoint_and_reproducible(tmp_path):
    done = call_step("features", "--input", _prepared(tmp_path, per_class=10), "--output", str(tmp_path / "f"),
                    "--image-height", "2", "--image-width", "2")
    features = result_of(done)["features"]
    first = result_of(call_step("split", "--input", features, "--output", str(tmp_path / "s1"), "--test-size", "0.2",
                               "--validation-size", "0.1"))
    again = result_of(call_step("split", "--input", features, "--output", str(tmp_path / "s2"), "--test-size", "0.2",
                               "--validation-size", "0.1"))
    assert (first["train_rows"], first["val_rows"], first["test_rows"]) == (70, 10, 20)
    with np.load(first["test"]) as test, np.load(again["test"]) as test_again:
        assert np.bincount(test["y"], minlength=10).tolist() == [2] * 10
        assert np.array_equal(test["x"], test_again["x"])
    with np.load(first["train"]) as train, np.load(first["test"]) as test:
        train_rows = {r.tobytes() for r in train["x"]}
        assert not any(r.tobytes() in train_rows for r in test["x"])


def test_split_rejects_shares_that_leave_no_training_data(tmp_path):
    done = call_step("split", "--input", str(tmp_path / "any.npz"), "--output", str(tmp_path / "s"),
                    "--test-size", "0.6", "--validation-size", "0.3")
    assert done.returncode == 2 and "test_size=0.6: must be <= 0.5" in done.stderr
    assert not (tmp_path / "s").exists()
    from tasks.core.common import StepError
    from tasks.steps.split import split

    with pytest.raises(StepError, match="validation_size=0.5: must be <= 0.4"):  # the CLI's rule, called directly
        split(str(tmp_path / "any.npz"), tmp_path / "s", 0.2, 0.5, 42)


@pytest.mark.parametrize("name,text,words", [
    ("excel.csv", "\ufefflabel,pixel1,pixel2,pixel3,pixel4\nTrouser,1,2,3,4\n", "byte-order mark"),
    ("semicolons.csv", "label;pixel1;pixel2;pixel3;pixel4\nTrouser;1;2;3;4\n", ";"),
    ("spaces.csv", "label, pixel1, pixel2, pixel3, pixel4\nTrouser, 1, 2, 3, 4\n", "space"),
    ("shape.csv", "label,pixel1,pixel2,pixel3\nTrouser,1,2,3\n", "2x2 images need pixel1..pixel4"),
])
def test_fetch_refuses_a_careless_csv_with_the_fix_naming_the_users_file(tmp_path, name, text, words):
    (tmp_path / name).write_text(text, encoding="utf-8")
    done = call_step("fetch", "--source", str(tmp_path / name), "--output", str(tmp_path / "f"),
                    "--image-height", "2", "--image-width", "2")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and len(line) <= 240 and name in line and words in line, line
    assert not (tmp_path / "f" / "raw.csv").exists()


@pytest.mark.parametrize("source", ["/etc/passwd", "/proc/self/environ", "http://169.254.169.254/latest/meta-data/"])
def test_fetch_reads_nothing_outside_the_allowlist(tmp_path, source):
    done = call_step("fetch", "--source", source, "--output", str(tmp_path / "f"))
    assert done.returncode == 2 and "PIPELINE_ALLOWED_DATA" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "f").exists()


def test_fetch_parses_the_snapshot_once_into_a_columnar_copy_that_validate_and_prepare_read(tmp_path):
    rows = balanced_rows(3)
    rows[0][2] = None
    source = write_csv(tmp_path / "source.csv", rows)
    fetched = result_of(call_step("fetch", "--source", str(source), "--output", str(tmp_path / "f"),
                                 "--image-height", "2", "--image-width", "2"))
    assert feather.read_table(fetched["columnar"]).num_rows == 30
    assert json.loads(Path(fetched["profile"]).read_text())["source"] == fetched["raw"]
    shape = ["--image-height", "2", "--image-width", "2"]
    checked = call_step("validate", "--suite", "raw", "--input", fetched["profile"], "--output", str(tmp_path / "v"),
                       "--min-rows", "10", *shape)
    assert checked.returncode == 0, checked.stderr
    prepared = result_of(call_step("prepare", "--input", fetched["profile"], "--output", str(tmp_path / "p"), *shape))
    assert (prepared["rows_in"], prepared["dropped_empty_cells"], prepared["rows_out"]) == (30, 1, 29)


def test_fetch_refuses_a_file_it_cannot_parse_naming_the_source_and_leaves_nothing(tmp_path):
    source = tmp_path / "latin1.csv"
    source.write_bytes("label,pixel1,pixel2,pixel3,pixel4\nTrouser,1,2,3,4\nCo\xe9t,1,2,3,4\n".encode("latin-1"))
    done = call_step("fetch", "--source", str(source), "--output", str(tmp_path / "f"), "--image-height", "2",
                    "--image-width", "2")
    assert done.returncode == 2 and str(source) in done.stderr and "UTF-8" in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert not (tmp_path / "f").exists() or not [p for p in (tmp_path / "f").rglob("*") if p.is_file()]
