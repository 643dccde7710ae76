"""The step images, built with podman, as a restricted container runs them.

Given the images built from this checkout (``scripts/images.sh``: stand-ins for the
base images, TensorFlow CPU), when a step runs in its image under uid 50000 with a
read-only root, no capabilities, no privilege escalation and no network, then the image
is the step CLI and records its commit, the root filesystem refuses writes, bad input
still exits 2 (no retry), and the Airflow image parses every DAG. The whole run, every
step pod as the DAG submits it, is ``test_kube_play.py``'s.
"""

from __future__ import annotations

import subprocess
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
