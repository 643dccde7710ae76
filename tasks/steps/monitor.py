"""Monitor the served versions on live feedback, and turn the feedback into data when they fall short.

Per served version of each model in the feedback store (or ``--model-name``'s): live accuracy on the
labelled feedback (count, Wilson 95% interval), drift of the predicted classes against the training
labels and of the images' mean intensity against the training rows (PSI, ``tasks/feedback/stats.py``).
The training rows are the current dataset: the dataset store's latest version (``--dataset`` names
another). Each version's figures are stored in the feedback database (the model history page and the
model card show them) and written to ``monitoring.json``; each version that fires is one alert line.

A version fires when its live accuracy is below ``min_live_accuracy`` over at least ``min_labelled``
labelled rows, or a drift passes ``max_drift`` over at least ``min_labelled`` predictions. Then the
labelled feedback becomes a new dataset version that extends the current one: the current file's rows
plus one row per labelled image (its newest label) in the same ``label,pixel1..pixelN`` layout, gzip
with no timestamp, named by its own SHA-256 (``feedback-<hash>.csv.gz``) and renamed into the landing
folder, so it goes through the same ingest and validation as any landing file and its Asset event starts
training. Rows already exported into the current dataset are not added again; with nothing new to add,
nothing is written, and the same bytes are never landed twice.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_file
from tasks.core.contract import run_step
from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.feedback import stats
from tasks.feedback.store import FeedbackStore, live_accuracy, shown

CONTRACT = CONTRACTS["monitor"]
PREFIX = "feedback-"


def current_dataset(store: Path) -> dict[str, str] | None:
    """The store's latest version (its file and hash), as the training DAG would pick it."""
    from tasks.steps.ingest import read_index

    versions = [e for e in read_index(store) if e.get("status") == "new"]
    return {"uri": versions[-1]["uri"], "sha256": versions[-1]["sha256"]} if versions else None


def training_rows(path: str) -> dict[str, Any]:
    """The dataset's label codes, mean intensity per row, pixel count and label style (codes or names)."""
    import pandas as pd

    from tasks.data.cleaning import normalise_labels

    try:
        frame = pd.read_csv(path, dtype={"label": "string"})
    except (OSError, ValueError) as err:
        raise StepError(f"{path}: the current dataset cannot be read ({type(err).__name__})") from err
    names = normalise_labels(frame["label"]).dropna()
    pixels = frame.drop(columns="label").to_numpy(dtype=np.float32, na_value=np.nan)
    return {"codes": names.map(FASHION_MNIST_CATEGORIES.index).to_numpy(int),
            "means": np.nanmean(pixels, axis=1), "pixels": pixels.shape[1],
            "codes_as_numbers": bool(frame["label"].dropna().astype(str).str.strip().str.isdigit().all())}


def version_figures(rows: list[dict[str, Any]], train: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Live accuracy and drift of each version that answered ``rows``."""
    figures = live_accuracy(rows)
    for version, found in figures.items():
        mine = [r for r in rows if str(r["model_version"]) == version]
        found["class_psi"] = found["intensity_psi"] = None
        if train is not None and mine and mine[0]["height"] * mine[0]["width"] == train["pixels"]:
            means = [np.frombuffer(r["pixels"], dtype=np.uint8).mean() for r in mine]
            found["class_psi"] = stats.class_psi(train["codes"], [r["predicted"] for r in mine],
                                                 len(FASHION_MNIST_CATEGORIES))
            found["intensity_psi"] = stats.intensity_psi(train["means"], means)
    return figures


def reasons(model: str, version: str, f: dict[str, Any], min_labelled: int, min_live_accuracy: float,
            max_drift: float) -> list[str]:
    """Why this version calls for new data (empty: it does not)."""
    found = []
    if f["labelled"] >= min_labelled and f["accuracy"] < min_live_accuracy:
        low, high = f["interval"]
        found.append(f"{model} v{version}: live accuracy {f['accuracy']:.4f} (95% CI {low:.3f}-{high:.3f}) on "
                     f"{f['labelled']} labelled rows < {min_live_accuracy}")
    for name in ("class_psi", "intensity_psi"):
        if f["predictions"] >= min_labelled and f[name] is not None and f[name] > max_drift:
            found.append(f"{model} v{version}: {name.replace('_psi', '')} drift PSI {f[name]:.3f} over "
                         f"{f['predictions']} predictions > {max_drift}")
    return found


def _row(label: int, pixels: bytes, as_number: bool) -> str:
    name = str(label) if as_number else FASHION_MNIST_CATEGORIES[label]
    return ",".join([name, *map(str, np.frombuffer(pixels, dtype=np.uint8).tolist())]) + "\n"


def extend_dataset(base: dict[str, str], train: dict[str, Any], rows: list[dict[str, Any]], landing: Path,
                   db: FeedbackStore) -> dict[str, Any]:
    """Land the current dataset plus the feedback rows it lacks; say what was written (or why nothing)."""
    exported = db.export_of(base["sha256"])
    since = exported["last_feedback_id"] if exported else 0
    new = [r for r in rows if r.get("feedback_id") and r["feedback_id"] > since
           and r["height"] * r["width"] == train["pixels"]]
    if not new:
        return {"landed": None, "why": "no labelled feedback that the current dataset lacks"}
    landed = db.export_of(base["sha256"], "base_sha256")
    if landed and landed["last_feedback_id"] >= max(r["feedback_id"] for r in new):
        return {"landed": None, "why": f"already landed as {Path(landed['path']).name} (not ingested yet?)"}
    landing.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=f".{PREFIX}", suffix=".tmp", dir=landing)
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
            opener = gzip.open if base["uri"].endswith(".gz") else open
            with opener(base["uri"], "rb") as source:
                tail = b"\n"
                while block := source.read(1 << 20):
                    out.write(block)
                    tail = block[-1:]
            out.write(b"" if tail == b"\n" else b"\n")
            for r in new:
                out.write(_row(r["label"], r["pixels"], train["codes_as_numbers"]).encode())
        os.chmod(scratch, 0o644)  # the ingest step (another pod, perhaps) reads it
        digest = hashlib.sha256(Path(scratch).read_bytes()).hexdigest()
        target = landing / f"{PREFIX}{digest[:16]}.csv.gz"
        os.replace(scratch, target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    db.record_export(sha256=digest, path=str(target), base_sha256=base["sha256"],
                     last_feedback_id=max(r["feedback_id"] for r in new), rows=len(new))
    return {"landed": str(target), "sha256": digest, "feedback_rows": len(new), "base": base["uri"]}


def monitor(landing: str, store: str, output: Path, dataset: str = "", feedback_db: str = "",
            model_name: str | None = "", min_labelled: int = 100, min_live_accuracy: float = 0.8,
            max_drift: float = 0.25) -> dict:
    """Check every served version; when one falls short, land its feedback as a new dataset version."""
    try:
        db = FeedbackStore(feedback_db or None)
    except Exception as err:  # noqa: BLE001 - any driver error is one line naming the (masked) URL
        raise StepError(f"feedback database {shown(feedback_db or '')}: cannot open ({type(err).__name__})") from err
    base = ({"uri": dataset, "sha256": hashlib.sha256(Path(dataset).read_bytes()).hexdigest()} if dataset
            else current_dataset(Path(store)))
    train = training_rows(base["uri"]) if base else None
    report: dict[str, Any] = {"dataset": base, "models": {}, "alerts": []}
    fired_rows: list[dict[str, Any]] = []
    for model in [model_name] if model_name else db.model_names():
        rows = db.predictions(model)
        figures = version_figures(rows, train)
        report["models"][model] = figures
        for version, f in figures.items():
            why = reasons(model, version, f, min_labelled, min_live_accuracy, max_drift)
            db.record_check(model, version, {**f, "reasons": why})
            report["alerts"] += why
        if any(reasons(model, v, f, min_labelled, min_live_accuracy, max_drift) for v, f in figures.items()):
            fired_rows += rows
    action = {"landed": None, "why": "every version is within bounds"}
    if fired_rows:
        action = (extend_dataset(base, train, fired_rows, Path(landing), db) if base
                  else {"landed": None, "why": "no current dataset in the store to extend"})
    report["action"] = action
    path = CONTRACT.output_path(output, "report")
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True, default=float) + "\n")
    return {"fired": bool(fired_rows), "alerts": report["alerts"], "landed": action.get("landed"),
            "why": action.get("why", ""), "report": str(path)}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, monitor)


if __name__ == "__main__":
    raise SystemExit(main())
