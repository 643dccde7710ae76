"""The feedback store and the bounded image inputs: append-only rows, and hostile uploads refused unread."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from tasks.core.layout import FASHION_MNIST_CATEGORIES as CATEGORIES
from tasks.feedback.inputs import InputRefused, decode_csv_row, decode_png
from tasks.feedback.store import FeedbackStore, default_url, live_accuracy, shown


def png(pixels: np.ndarray, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` grey pixels: its IDAT would inflate to that many bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # a few rows; the header says what the decoder would do
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def postgres_server():
    """A throwaway PostgreSQL 15 on loopback (the cluster's and compose's backend), started by the test."""
    from tests.support.services import postgres_missing, throwaway_postgres

    reason = postgres_missing()
    if reason:
        pytest.skip(reason)
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request, tmp_path) -> FeedbackStore:
    """The store on SQLite (embedded) and on a real PostgreSQL, each test on a fresh database."""
    if request.param == "sqlite":
        return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    from tests.support.services import create_database

    server = request.getfixturevalue("postgres_server")
    return FeedbackStore(f"{server}/{create_database(server, f'feedback_{tmp_path.name[-12:]}')}")


def test_a_grey_28x28_png_decodes_to_its_pixels_and_a_colour_one_to_grey():
    pixels = np.arange(784).reshape(28, 28) % 256
    assert (decode_png(png(pixels), 28, 28).pixels == pixels).all()
    assert decode_png(png(pixels, "RGB"), 28, 28).pixels.shape == (28, 28)


@pytest.mark.parametrize("data, words", [
    (b"label,1,2,3", "not a PNG"),
    (b"<svg onload=alert(1)>", "not a PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "header chunk"),
    (bomb(100_000, 100_000), "100000x100000 pixels"),
    (bomb(29, 28), "29x28"),
    (b"\x89PNG\r\n\x1a\n" + b"x" * 70_000, "over 65536 bytes"),
])
def test_a_hostile_or_wrong_image_is_refused_in_one_line_quoting_none_of_it(data, words):
    with pytest.raises(InputRefused) as refused:
        decode_png(data, 28, 28)
    assert words in str(refused.value) and "alert" not in str(refused.value)


def test_a_png_bomb_is_refused_by_its_header_before_pillow_opens_it(monkeypatch):
    import PIL.Image

    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: pytest.fail("decompressed a bomb"))
    with pytest.raises(InputRefused):
        decode_png(bomb(50_000, 50_000), 28, 28)


def test_a_csv_row_with_or_without_header_gives_pixels_and_its_label():
    row = "3," + ",".join(["7"] * 784)
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    for body in (row, header + "\n" + row + "\n"):
        image = decode_csv_row(body.encode(), 28, 28, CATEGORIES)
        assert image.label == 3 and image.pixels.shape == (28, 28) and int(image.pixels[5, 5]) == 7
    assert decode_csv_row(("Bag," + ",".join(["0"] * 784)).encode(), 28, 28, CATEGORIES).label == 8
    assert decode_csv_row(("," + ",".join(["0"] * 784)).encode(), 28, 28, CATEGORIES).label is None


@pytest.mark.parametrize("body, words", [
    ("<script>alert(1)</script>," + ",".join(["0"] * 784), "not one of the 10 categories"),
    ("3," + ",".join(["0"] * 783), "785"),
    ("3," + ",".join(["256"] * 784), "0..255"),
    ("3," + ",".join(["0"] * 784) + "\n3," + ",".join(["0"] * 784), "exactly one data row"),
])
def test_a_bad_csv_row_is_refused_without_echoing_it(body, words):
    with pytest.raises(InputRefused) as refused:
        decode_csv_row(body.encode(), 28, 28, CATEGORIES)
    assert words in str(refused.value) and "script" not in str(refused.value)


def test_predictions_and_feedback_are_stored_and_the_newest_label_counts(store):
    pixels = np.zeros((28, 28), np.uint8)
    first = store.record_prediction(user="ann", model_name="m", model_version="1", probabilities=[0.1, 0.9],
                                    pixels=pixels, source="png")
    second = store.record_prediction(user="bob", model_name="m", model_version="2", probabilities=[0.8, 0.2],
                                     pixels=pixels, source="csv")
    store.record_feedback(prediction_id=first, label=0, user="ann")  # a correction...
    store.record_feedback(prediction_id=first, label=1, user="cid")  # ... corrected back: the newest counts
    rows = store.predictions("m")
    assert [(r["username"], r["model_version"], r["predicted"], r["label"]) for r in rows] == [
        ("ann", "1", 1, 1), ("bob", "2", 0, None)]
    live = live_accuracy(rows)
    assert live["1"]["labelled"] == 1 and live["1"]["accuracy"] == 1.0 and live["2"]["accuracy"] is None
    assert store.prediction(second)["source"] == "csv" and store.prediction(999) is None


def test_the_database_refuses_to_change_or_remove_a_row(store):
    pid = store.record_prediction(user="ann", model_name="m", model_version="1", probabilities=[1.0],
                                  pixels=np.zeros((2, 2)), source="png")
    store.record_feedback(prediction_id=pid, label=0, user="ann")
    for statement in ("UPDATE feedback SET label = 3", "DELETE FROM feedback", "DELETE FROM predictions",
                      "UPDATE predictions SET model_version = '9'"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    assert store.predictions("m")[0]["label"] == 0


def test_feedback_must_name_a_stored_prediction(store):
    with pytest.raises(Exception, match="FOREIGN KEY|foreign key"):
        store.record_feedback(prediction_id=12345, label=0, user="ann")


def test_the_default_database_lives_in_the_state_folder_and_a_url_never_shows_its_password(tmp_path):
    assert default_url({"PIPELINE_STATE_DIR": str(tmp_path)}) == f"sqlite:///{tmp_path}/feedback/feedback.db"
    assert default_url({"PIPELINE_FEEDBACK_DB_URL": "postgresql+psycopg2://u:p@db/f"}).endswith("@db/f")
    assert "s3cret" not in shown("postgresql+psycopg2://u:s3cret@db/feedback")
