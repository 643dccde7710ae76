"""The monitor step on tiny data: live figures per served version, and feedback landed as data when they fall short.

Given a current dataset of 40 rows in the store and 20 answered images of version 1, half of them
labelled wrong, when the monitor runs with a bound they break, then a new dataset file lands: the 40
rows plus the 20 labelled ones, named by its hash; run again, nothing new lands; within bounds, nothing.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from tasks.feedback.store import FeedbackStore
from tests.support.steps import call_step
from tests.tasks.helpers import result_of as step_result


def result_of(done) -> dict:
    assert done.returncode == 0, done.stderr
    return step_result(done)


@pytest.fixture()
def world(tmp_path):
    """A store whose latest version is a 40-row 28x28 CSV, and a feedback database with 20 labelled answers."""
    rng = np.random.default_rng(0)
    rows = ["label," + ",".join(f"pixel{i}" for i in range(1, 785))]
    rows += [f"{i % 10}," + ",".join(map(str, rng.integers(0, 120, 784))) for i in range(40)]
    version = tmp_path / "store" / "abc"
    version.mkdir(parents=True)
    (version / "base.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "store" / "index.jsonl").write_text(json.dumps(
        {"status": "new", "sha256": "abc", "uri": str(version / "base.csv")}) + "\n")
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    db = FeedbackStore(url)
    for i in range(20):
        scores = np.eye(10)[i % 10]
        pid = db.record_prediction(user="ann", model_name="fashion_mnist", model_version="1", probabilities=scores,
                                   pixels=rng.integers(0, 120, (28, 28)), source="png")
        db.record_feedback(prediction_id=pid, label=i % 10 if i % 2 else (i + 1) % 10, user="ann")
    return {"root": tmp_path, "url": url, "landing": tmp_path / "landing", "db": db}


def run_monitor(world, *settings: str):
    return call_step("monitor", "--landing", str(world["landing"]), "--store", str(world["root"] / "store"),
                     "--output", str(world["root"] / "out"), "--feedback-db", world["url"], *settings)


def test_live_accuracy_below_the_bound_lands_the_dataset_plus_the_feedback_once(world):
    result = result_of(run_monitor(world, "--min-labelled", "10", "--min-live-accuracy", "0.9"))

    assert result["fired"] and "live accuracy 0.5000" in result["alerts"][0] and "v1" in result["alerts"][0]
    landed = sorted(world["landing"].iterdir())
    assert [p.name for p in landed] == [result["landed"].rsplit("/", 1)[-1]]
    lines = gzip.decompress(landed[0].read_bytes()).decode().splitlines()
    base = (world["root"] / "store" / "abc" / "base.csv").read_text().splitlines()
    assert lines[:41] == base and len(lines) == 61
    assert [line.split(",")[0] for line in lines[41:43]] == ["1", "1"]  # row 0 was corrected from 0 to 1
    report = json.loads((world["root"] / "out" / "monitoring.json").read_text())
    figures = report["models"]["fashion_mnist"]["1"]
    assert (figures["labelled"], figures["correct"]) == (20, 10)
    assert figures["interval"][0] < 0.5 < figures["interval"][1]
    assert figures["class_psi"] is not None and figures["intensity_psi"] is not None
    assert world["db"].latest_checks("fashion_mnist")["1"]["accuracy"] == 0.5

    again = result_of(run_monitor(world, "--min-labelled", "10", "--min-live-accuracy", "0.9"))
    assert again["fired"] and again["landed"] is None and "already landed" in again["why"]
    assert sorted(world["landing"].iterdir()) == landed


def test_within_bounds_or_on_too_few_rows_nothing_lands(world):
    for settings in (("--min-live-accuracy", "0.4", "--max-drift", "100"),
                     ("--min-labelled", "21", "--max-drift", "100")):
        result = result_of(run_monitor(world, *settings))
        assert not result["fired"] and result["landed"] is None and result["alerts"] == []
    assert not world["landing"].exists()


def test_drift_past_the_bound_fires_even_with_good_accuracy(world):
    result = result_of(run_monitor(world, "--min-live-accuracy", "0", "--min-labelled", "10", "--max-drift", "0.0001"))
    assert result["fired"] and any("drift PSI" in line for line in result["alerts"])


def test_a_database_that_cannot_be_opened_is_one_line_without_its_password(world):
    done = run_monitor(world, "--feedback-db", "postgresql+psycopg2://u:s3cret@127.0.0.1:1/none")
    assert done.returncode == 2 and "s3cret" not in done.stderr and "feedback database" in done.stderr
