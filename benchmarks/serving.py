"""Served latency and throughput: the local endpoint (``make serve``) against the Keras model in process.

A 28x28 MLP (the thesis' model, 128 units) is exported as ``deploy`` exports it and served by
``python -m tasks.serve`` (TF Serving's REST protocol, MLflow's scoring server behind it), on
loopback, the server pinned to two cores. Each figure is requests of one image and of a batch of
32 sent one after another on a keep-alive connection, against ``predict_on_batch`` of the same
images on the same Keras model in this process (``Model.predict`` costs ~200 ms a call here,
so it would flatter the server). Rounds alternate served and in-process calls; p50 and p99
are over every call of every round, requests/s is the median round's.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.record import ROOT, Figure, load_now

MODEL = "fashion_mnist"
CORES = {0, 1}


def _pin() -> None:
    if len(os.sched_getaffinity(0)) > len(CORES):
        os.sched_setaffinity(0, CORES)


def _export(folder: Path):
    import keras

    from tasks.model.serving import export_version

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.save(folder / "model.keras")
    export_version(model, folder / "model.keras", folder / "serving", MODEL, 1, {"benchmark": True})
    return model


def _start(serving: Path, log: Path) -> tuple[subprocess.Popen, int]:
    from tasks.serve.backends import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tasks.serve", "--port", str(port), "--serving-root",
                                str(serving), "--model-name", MODEL], cwd=ROOT, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, preexec_fn=_pin)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the server did not come up: {log.read_text()[-1000:]}")


def _served(port: int, images: np.ndarray) -> Callable[[], float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"instances": images.tolist()}).encode()

    def call() -> float:
        started = time.perf_counter()
        conn.request("POST", f"/v1/models/{MODEL}:predict", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
        return time.perf_counter() - started
    return call


def _in_process(model, images: np.ndarray) -> Callable[[], float]:
    def call() -> float:
        started = time.perf_counter()
        model.predict_on_batch(images)
        return time.perf_counter() - started
    return call


def _rounds(sides: dict[str, Callable[[], float]], calls: int, rounds: int) -> dict[str, dict]:
    found = {name: {"latencies": [], "rates": []} for name in sides}
    loads = []
    for _ in range(rounds):
        for name, call in sides.items():
            call()  # warm: first call on a connection / a shape
            loads.append(os.getloadavg()[0])
            times = [call() for _ in range(calls)]
            found[name]["latencies"] += times
            found[name]["rates"].append(calls / sum(times))
    for side in found.values():
        ordered = sorted(side["latencies"])
        side.update(p50=ordered[len(ordered) // 2], p99=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
                    rate=statistics.median(side["rates"]), load=load_now(loads))
    return found


def run(quick: bool = False) -> list[Figure]:
    calls, rounds = (20, 3) if quick else (300, 3)
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        folder = Path(scratch)
        model = _export(folder)
        process, port = _start(folder / "serving", folder / "serve.log")
        _pin()
        try:
            pixels = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
            for batch in (1, 32):
                images = pixels[:batch]
                found = _rounds({"served": _served(port, images), "keras": _in_process(model, images)}, calls, rounds)
                served, keras = found["served"], found["keras"]
                notes = {"batch": batch, "calls_per_side": calls * rounds, "cores": sorted(os.sched_getaffinity(0))}
                for stat in ("p50", "p99"):
                    figures.append(Figure("serving", f"served latency {stat}, batch {batch}", served[stat] * 1000,
                                          "ms", keras[stat] * 1000, f"Keras predict_on_batch in process {stat}",
                                          notes=notes, load=served["load"]))
                figures.append(Figure("serving", f"served requests/s, batch {batch}", served["rate"], "req/s",
                                      keras["rate"], "Keras predict_on_batch calls/s in process", higher_is_better=True,
                                      notes={**notes, "images_per_s": served["rate"] * batch}, load=served["load"]))
        finally:
            process.terminate()
            process.wait(timeout=60)
    return figures


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(figure.line())
