"""Tuning: what a search buys on real images, what a trial costs over a train step, and 4 trials' memory.

On the shipped real Fashion-MNIST sample (999 images, ``tasks/data/samples``), with the
DAG's data steps and its default settings (command lines rendered from the DAG's step
specs by :mod:`benchmarks.plain_steps`):

- **tuned against default test accuracy**: 12 trials of the form's default search space,
  2 at a time, each the train step as the DAG's mapped ``trial`` task runs it (the same
  :func:`mlops_pipeline.tuning.trial_arguments`), then build_model, train and evaluate with
  the best settings; the baseline is the same three steps with the form's defaults. The
  trials' wall time is recorded with it.
- **per-trial overhead**: a trial (builds its model, reports each epoch to the SQLite study)
  against the bare train step (``--model`` from build_model) with the same settings and
  epochs, interleaved; target <= 1.2x.
- **4 parallel trials' peak RSS**: the summed resident memory of 4 trials running at once
  (sampled every 0.1 s), against one train step's; target: below the memory available.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.plain_steps import DATA_STEPS, MODEL_STEPS, run_pipeline
from benchmarks.record import ROOT, Figure, interleaved

SAMPLE = ROOT / "tasks" / "data" / "samples" / "fashion-mnist-sample.csv.gz"
FIXED_SPACE = "model_type: mlp; units: 128; learning_rate: 0.001; batch_size: 32"  # the defaults, as one trial
OVERHEAD_TARGET = 1.2


def _train(args: list[str]) -> tuple[dict, float, float]:
    """Run ``python -m tasks train ARGS``; its result, wall seconds and peak RSS (MB, whole process tree)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tasks", "train", *args], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = _watch([proc])
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"train failed: {err.strip()[-800:]}")
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - started, peak


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _watch(procs: list[subprocess.Popen]) -> float:
    """Peak summed RSS (MB) of ``procs`` and their children until all have exited."""
    import psutil

    peak = 0.0
    while any(p.poll() is None for p in procs):
        total = 0
        for p in procs:
            try:
                parent = psutil.Process(p.pid)
                total += sum(q.memory_info().rss for q in (parent, *parent.children(recursive=True)))
            except psutil.Error:
                continue
        peak = max(peak, total / 2**20)
        time.sleep(0.1)
    return peak


def _params(conf: dict) -> dict:
    from benchmarks.step_plan import load_dag_module, resolve_params

    return dict(resolve_params(load_dag_module(Path(os.environ["PIPELINE_STATE_DIR"])).dag, conf))


def _trials(folder: Path, params: dict, split: dict, space: str, count: int, seed: int = 42) -> list[list[str]]:
    from mlops_pipeline.tuning import trial_arguments
    from tasks.core import parameters as p
    from tasks.core.search_space import parse_space
    from tasks.model.tuning import plan

    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'study.db'}"
    planned = plan(url, parse_space(space, p.SEARCHABLE), count, "val_accuracy", seed)
    return [trial_arguments(params, t, split, url, str(folder / str(t["number"]))) for t in planned]


def _search(folder: Path, params: dict, split: dict, count: int) -> tuple[dict, float, list[dict]]:
    from tasks.core import parameters as p
    from tasks.model.tuning import tell_all

    trials = _trials(folder, params, split, p.SEARCH_SPACE.default, count)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [r for r, _, _ in pool.map(_train, trials)]
    return tell_all(f"sqlite:///{folder / 'study.db'}"), time.perf_counter() - started, results


def run(quick: bool = False) -> list[Figure]:
    """The three figures (``quick``: 3 trials, 2 epochs, one overhead pair)."""
    from tasks.core import parameters as p

    conf = {"dataset_uri": str(SAMPLE), "image_height": 28, "image_width": 28, **({"epochs": 2} if quick else {})}
    count = 3 if quick else 12
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tuning-") as tmp:
            root = Path(tmp)
            default = run_pipeline(root / "default", conf, (*DATA_STEPS, *MODEL_STEPS))
            params, split = _params(conf), default["results"]["split"]
            best, wall, results = _search(root / "search", params, split, count)
            tuned = run_pipeline(root / "tuned", {**conf, **best["settings"]}, (*DATA_STEPS, *MODEL_STEPS))
            model = default["results"]["build_model"]["model"]
            bare = ["--model=" + model, f"--train={split['train']}", f"--validation={split['val']}",
                    f"--epochs={params['epochs']}", "--batch-size=32", "--learning-rate=0.001",
                    f"--early-stopping-patience={params['early_stopping_patience']}"]
            rounds = iter(range(100))
            peaks: list[float] = []
            epochs: dict[str, list[int]] = {"trial": [], "bare": []}

            def one_trial() -> float:
                args = _trials(root / f"overhead-{next(rounds)}", params, split, FIXED_SPACE, 1)[0]
                result, seconds, _ = _train(args)
                epochs["trial"].append(result["epochs_run"])
                return seconds

            def one_train() -> float:
                result, seconds, peak = _train([*bare, f"--output={root / 'bare'}"])
                peaks.append(peak)
                epochs["bare"].append(result["epochs_run"])
                return seconds

            pair = interleaved(one_trial, one_train, repeat=5, smoke=quick)
            pair.epochs = epochs
            parallel = _trials(root / "parallel", params, split, p.SEARCH_SPACE.default, 4)
            procs = [subprocess.Popen([sys.executable, "-m", "tasks", "train", *args], cwd=ROOT, env=_env(),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for args in parallel]
            peak4 = _watch(procs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return _figures(default, tuned, best, wall, results, pair, peaks, peak4, count)


def _figures(default: dict, tuned: dict, best: dict, wall: float, results: list[dict], pair, peaks: list[float],
             peak4: float, count: int) -> list[Figure]:
    import psutil

    pruned = sum(bool(r.get("pruned")) for r in results)
    tuned_acc, default_acc = tuned["results"]["evaluate"]["accuracy"], default["results"]["evaluate"]["accuracy"]
    return [
        Figure("tuning", f"tuned test accuracy, {count} trials, Fashion-MNIST sample", tuned_acc, "accuracy",
               default_acc, "the form's defaults, same split", None, judged_on="value", higher_is_better=True,
               notes={"best": best, "trials_wall_s": round(wall, 1), "pruned": pruned, "parallelism": 2,
                      "trial_seconds": [r.get("seconds") for r in results],
                      "test_rows": tuned["results"]["evaluate"]["test_rows"]}),
        Figure("tuning", "one trial (train step + study), wall", pair.value, "s", pair.baseline,
               "the bare train step, same settings", OVERHEAD_TARGET,
               notes={**pair.notes(), "epochs_run": pair.epochs}, load=pair.load),
        Figure("tuning", "4 parallel trials, peak RSS (sum)", peak4, "MB", max(peaks) if peaks else None,
               "one train step's peak RSS", psutil.virtual_memory().available / 2**20, judged_on="value",
               notes={"cores": os.cpu_count(), "total_mb": round(psutil.virtual_memory().total / 2**20)}),
    ]
