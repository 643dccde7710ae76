"""Build the images with ``scripts/images.sh`` and run a step in one the way a restricted pod would.

The runtime flags mirror what the cluster enforces on a step pod
(``pod_operator.py`` + the ``restricted`` namespace): uid 50000 group 0, a
read-only root filesystem with a writable ``/tmp`` only (the pod's ``emptyDir``), every
capability dropped, no privilege escalation, no network. A host folder mounted at the
same path inside plays the artifacts PVC, so the paths the DAG renders are valid inside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "images.sh"
TAG = "ci"
IMAGE_NAMES = {"data": "step-data", "train": "step-train", "airflow": "airflow", "mlflow": "mlflow"}
STEP_IMAGES = ("data", "train")
PYTHON_BASE = "docker.io/library/python:3.11.13-slim-bookworm"
# runc and explicit ulimits: crun and podman's default ulimits fail on our machines (scripts/images.sh).
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
RESTRICTED = ["--user", "50000:0", "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,size=1g,mode=1777",
              "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "none"]
STEP_UID = 50000


def image_ref(image: str) -> str:
    """The local name ``scripts/images.sh`` gives ``image`` (``data`` or ``train``)."""
    return f"localhost/fashion-mlops/{IMAGE_NAMES[image]}:{TAG}"


def unusable_reason() -> str | None:
    """Why images cannot be built and run here, or None when they can."""
    if shutil.which("podman") is None:
        return "podman is not installed (as root: apt-get install podman runc mmdebstrap, as .ci/run does)"
    if shutil.which("runc") is None:
        return "runc is not installed (apt-get install runc): podman's crun fails on hybrid cgroups here"
    if os.geteuid() != 0:
        return "building and running the images needs root here (no subuid mapping for rootless podman)"
    exists = subprocess.run(["podman", "image", "exists", PYTHON_BASE], capture_output=True)
    if exists.returncode != 0 and not (shutil.which("mmdebstrap") or shutil.which("debootstrap")):
        return f"{PYTHON_BASE} is absent and neither mmdebstrap nor debootstrap is installed to make its stand-in"
    return None


def build_images(log: Path, images: tuple[str, ...] = STEP_IMAGES) -> float:
    """Run ``scripts/images.sh all`` (stand-ins + ``images``, TensorFlow CPU); the seconds it took."""
    import time

    env = {**os.environ, "TAG": TAG, "TF_VARIANT": "cpu", "IMAGES": " ".join(IMAGE_NAMES[i] for i in images)}
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(["bash", str(SCRIPT), "all"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=3600)
    if done.returncode != 0:
        raise AssertionError(f"scripts/images.sh failed ({done.returncode}):\n{log.read_text()[-3000:]}")
    return time.perf_counter() - started


def give_to_step_user(volume: Path) -> None:
    """Let uid 50000 write everywhere in the volume, as ``fsGroup: 0`` + group-writable files do in a pod."""
    for path in [volume, *volume.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, STEP_UID, 0)


def run_in_image(image: str, argv: list[str], volume: Path, env: dict[str, str] | None = None,
                 timeout: int = 1800) -> subprocess.CompletedProcess:
    """``<ENTRYPOINT> argv`` in ``image`` under the restricted runtime, ``volume`` mounted at its own path."""
    give_to_step_user(volume)
    values = {"PIPELINE_STATE_DIR": str(volume), "PIPELINE_IMAGE": image_ref(image), "GIT_PYTHON_REFRESH": "quiet",
              "MLFLOW_ENABLE_TELEMETRY": "false", "GX_ANALYTICS_ENABLED": "false", **(env or {})}
    flags = [f for name, value in values.items() for f in ("--env", f"{name}={value}")]
    command = [*PODMAN, "run", "--rm", *ULIMITS, *RESTRICTED, "--volume", f"{volume}:{volume}:rw", *flags,
               image_ref(image), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def run_airflow_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -c code`` in the Airflow image as its uid 50000, no capabilities, no network."""
    flags = [f for name, value in env.items() for f in ("--env", f"{name}={value}")]
    command = [*PODMAN, "run", "--rm", *ULIMITS, "--user", "50000:0", "--cap-drop", "ALL", "--security-opt",
               "no-new-privileges", "--network", "none", *flags, "--entrypoint", "python", image_ref("airflow"),
               "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def last_json_line(stdout: str) -> dict:
    """The step's result: the last stdout line that is a JSON object."""
    for line in reversed(stdout.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise AssertionError(f"the step printed no JSON result line:\n{stdout[-2000:]}")


def image_env(image: str) -> dict[str, str]:
    """The ENV baked into ``image``."""
    done = subprocess.run(["podman", "image", "inspect", "--format", "{{json .Config.Env}}", image_ref(image)],
                          capture_output=True, text=True, check=True)
    return dict(item.split("=", 1) for item in json.loads(done.stdout))


def image_size(image: str) -> int:
    """Bytes of ``image`` as podman stores it."""
    done = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", image_ref(image)],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip())
