"""Feedback write throughput: what the feedback page and API store per request, against bare sqlite3 inserts.

A feedback request stores one answered image (its 784 pixels, the ten probabilities, the version
and the user) and, once the user confirms or corrects it, one label: two transactions through
:class:`tasks.feedback.store.FeedbackStore` on the embedded SQLite store (foreign keys on, the
append-only triggers in place, a commit each, as the page makes them). The baseline writes the same
two rows with the same two commits through Python's ``sqlite3`` into bare tables of the same
columns, so the ratio is the store's own cost (SQLAlchemy, JSON, the checks). Rounds alternate the
sides (``benchmarks.record.interleaved``); the figure is writes per second over the median round (one
write = a prediction and its label).
PostgreSQL (the cluster's store) is not measured here: it needs a server this benchmark does not start.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.record import Figure, interleaved

BARE_TABLES = (
    "CREATE TABLE predictions (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT, username TEXT, "
    "model_name TEXT, model_version TEXT, predicted INTEGER, probabilities TEXT, source TEXT, height INTEGER, "
    "width INTEGER, pixels BLOB)",
    "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, prediction_id INTEGER, created_at TEXT, "
    "username TEXT, label INTEGER)")


def _images(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    scores = rng.random((count, 10))
    return pixels, scores / scores.sum(axis=1, keepdims=True)


def _store_side(folder: Path) -> Callable[[np.ndarray, np.ndarray], float]:
    from tasks.feedback.store import FeedbackStore

    store = FeedbackStore(f"sqlite:///{folder / 'feedback.db'}")

    def write(pixels: np.ndarray, scores: np.ndarray) -> float:
        started = time.perf_counter()
        for image, probabilities in zip(pixels, scores, strict=True):
            answered = store.record_prediction(user="bench", model_name="fashion_mnist", model_version="3",
                                               probabilities=probabilities, pixels=image, source="png")
            store.record_feedback(prediction_id=answered, label=int(np.argmax(probabilities)), user="bench")
        return time.perf_counter() - started
    return write


def _bare_side(folder: Path) -> Callable[[np.ndarray, np.ndarray], float]:
    connection = sqlite3.connect(folder / "bare.db")
    for statement in BARE_TABLES:
        connection.execute(statement)
    connection.commit()

    def write(pixels: np.ndarray, scores: np.ndarray) -> float:
        started = time.perf_counter()
        for image, probabilities in zip(pixels, scores, strict=True):
            now = datetime.now(UTC).isoformat()
            values = [float(p) for p in probabilities]
            cursor = connection.execute(
                "INSERT INTO predictions (created_at, username, model_name, model_version, predicted, probabilities, "
                "source, height, width, pixels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, "bench", "fashion_mnist", "3", int(np.argmax(values)), json.dumps(values), "png", 28, 28,
                 image.tobytes()))
            connection.commit()
            connection.execute("INSERT INTO feedback (prediction_id, created_at, username, label) VALUES (?, ?, ?, ?)",
                               (cursor.lastrowid, now, "bench", int(np.argmax(values))))
            connection.commit()
        return time.perf_counter() - started
    return write


def run(quick: bool = False) -> list[Figure]:
    writes = 20 if quick else 500
    pixels, scores = _images(writes)
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as scratch:
        store, bare = _store_side(Path(scratch)), _bare_side(Path(scratch))
        for side in (store, bare):
            side(pixels[:2], scores[:2])  # warm: tables made, first connection open
        pair = interleaved(lambda: store(pixels, scores), lambda: bare(pixels, scores), smoke=quick)
    notes = {**pair.notes(), "writes_per_round": writes, "database": "SQLite (file, one commit per row)"}
    return [Figure("feedback", "feedback writes/s (an answered image and its label, two commits)",
                   writes / pair.value, "writes/s", writes / pair.baseline,
                   "the same rows and commits through sqlite3, bare tables", higher_is_better=True, notes=notes,
                   load=pair.load)]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure.line())
