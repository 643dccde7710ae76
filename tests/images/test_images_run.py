"""The step images, built with podman and run as a restricted pod would run them.

Given the images built from this checkout (``scripts/images.sh``: stand-ins for the
base images, TensorFlow CPU), when every step of one training run is executed, in
order, in the image its ``StepSpec`` names, under uid 50000 with a read-only root,
no capabilities, no privilege escalation and no network, with a shared folder as the
artifacts PVC, then every step succeeds, the model is registered with the image and
commit as lineage and deployed, and bad input still exits 2 (no retry).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.images import podman

pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(3600)]
ROOT = Path(__file__).resolve().parents[2]
CONF = {"epochs": 3, "model_type": "mlp"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Any]:
    """Build the step images; the build's seconds and the commit it baked in (HEAD when it started)."""
    reason = podman.unusable_reason()
    if reason:
        pytest.skip(reason)
    commit = _git_commit()
    seconds = podman.build_images(tmp_path_factory.mktemp("images") / "build.log")
    sizes = {image: podman.image_size(image) for image in podman.STEP_IMAGES}
    print(f"\nimages built in {seconds:.0f} s; sizes: " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sizes.items()))
    return {"build_s": seconds, "commit": commit}


@pytest.fixture()
def volume() -> Path:
    """The PVC stand-in; outside /tmp, which is the container's own tmpfs."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="pipeline-pvc-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


@pytest.mark.parametrize("image", podman.STEP_IMAGES)
def test_image_is_the_step_cli_and_records_its_commit(built, image, volume):
    done = podman.run_in_image(image, ["--help"], volume)

    assert done.returncode == 0, done.stderr
    assert "usage: python -m tasks" in done.stdout
    assert podman.image_env(image)["GIT_COMMIT"] == built["commit"] != "unknown"


def test_bad_input_exits_2_in_the_image(built, volume):
    bad = volume / "bad.csv"
    bad.write_text("label,pixel1\nshirt,oops\n")

    done = podman.run_in_image("data", ["prepare", "--input", str(bad), "--output", str(volume / "out")], volume)

    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:")


def test_the_root_filesystem_is_read_only_to_a_step(built, volume):
    done = podman.run_in_image("data", ["fetch", "--source", "embedded://digits", "--output", "/opt/pipeline/out"],
                               volume)

    assert done.returncode != 0
    assert not list(volume.rglob("raw.csv"))


def test_the_whole_training_run_runs_step_by_step_in_the_images(built, volume, monkeypatch):
    from benchmarks.step_plan import run_steps

    for name in ("PIPELINE_ARTIFACT_ROOT", "PIPELINE_SERVING_ROOT", "MLFLOW_TRACKING_URI", "PIPELINE_DATASET_STORE",
                 "PIPELINE_LANDING_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINE_STATE_DIR", str(volume))
    ran: list[tuple[str, str]] = []

    def execute(spec, argv: list[str]) -> dict:
        done = podman.run_in_image(spec.image, argv, volume)
        assert done.returncode == 0, f"{spec.task_id} in {spec.image}: {done.stderr[-2000:]}"
        ran.append((spec.task_id, spec.image))
        return podman.last_json_line(done.stdout)

    started = time.perf_counter()
    run = run_steps(CONF, volume, execute)
    print(f"\nwhole run in the images: {time.perf_counter() - started:.0f} s; per step: "
          + json.dumps({k: round(v, 1) for k, v in run["seconds"].items()}))

    images = dict(ran)
    assert [t for t, _ in ran][:6] == ["fetch", "validate_raw", "prepare", "validate_prepared", "features", "split"]
    assert {images[t] for t in ("build_model", "train", "evaluate", "register")} == {"train"}
    assert images["fetch"] == "data"
    results = run["results"]
    assert results["register"]["version"] == 1
    assert "deploy" in results, run["gate"]
    assert any((volume / "serving").rglob("saved_model.pb"))
    tags = _lineage(volume, results["register"])
    assert tags["git_commit"] == built["commit"]
    assert tags["image"] == podman.image_ref("train")


def _lineage(volume: Path, registered: dict) -> dict[str, str]:
    """The tags of the MLflow run behind the registered version (read from the shared volume)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{volume / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)  # both: MLflow's process-wide registry URI may name another store
    name = registered["model_uri"].split("/")[1]
    version = client.get_model_version(name, str(registered["version"]))
    return client.get_run(version.run_id).data.tags


PARSE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder="/opt/airflow/dags")
print(json.dumps({"dags": sorted(bag.dags), "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()}}))
"""


@pytest.fixture(scope="module")
def airflow_built(built, tmp_path_factory) -> float:
    seconds = podman.build_images(tmp_path_factory.mktemp("images") / "build-airflow.log", ("airflow",))
    print(f"\nairflow image built in {seconds:.0f} s, {podman.image_size('airflow') / 1e9:.2f} GB")
    return seconds


@pytest.mark.parametrize("mode", ["kubernetes", "local"])
def test_the_airflow_image_parses_every_dag(airflow_built, mode):
    done = podman.run_airflow_python(PARSE, {"PIPELINE_MODE": mode, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})

    assert done.returncode == 0, done.stderr[-2000:]
    bag = podman.last_json_line(done.stdout)
    assert bag["errors"] == {}
    assert {"fashion_mnist_training", "dataset_ingest", "fashion_mnist_rollback"} <= set(bag["dags"])
