"""A step that cannot write the artifact volume says so at once, in one line, instead of a traceback and retries.

Given a shared volume whose root is root:root 0755 (what a ReadWriteMany class that ignores
``fsGroup`` gives), when ``fetch`` runs on it as the step user (uid 50000, group 0) the kernel
refuses the write, and the step exits 2 with one line naming the folder, its owner and mode, the
user and what to set. Given the same folder prepared the documented way (the script of
``k8s/prepare-artifacts-volume.yaml``), the same step writes its output.

Tests run as root here, so the step runs in a subprocess under ``setpriv`` as uid 50000; run
as another user, the folder is one of ours made read-only (0555), which the kernel refuses too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.support.steps import ROOT

pytestmark = pytest.mark.integration  # the step runs as uid 50000 in its own process

STEP_UID, STEP_GID = 50000, 0
PREPARE_JOB = ROOT / "k8s" / "prepare-artifacts-volume.yaml"


def _interpreter() -> list[str]:
    """A Python the step user can execute: ours, or (ours lives under a private home) the system's on our path."""
    if os.geteuid() != 0:
        return [sys.executable]
    probe = subprocess.run(["setpriv", f"--reuid={STEP_UID}", f"--regid={STEP_GID}", "--clear-groups",
                            sys.executable, "-c", "pass"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable]
    system = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    if system is None:
        pytest.skip("no Python 3.11 that uid 50000 may execute")
    return [system]


def run_step_as_step_user(argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m tasks <argv>`` as uid 50000 gid 0 (as root), else as ourselves."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run the step as uid 50000")
    prefix = ["setpriv", f"--reuid={STEP_UID}", f"--regid={STEP_GID}", "--clear-groups"] if os.geteuid() == 0 else []
    paths = [str(ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)), "HOME": "/tmp",
           "PIPELINE_ALLOWED_DATA_ROOTS": "", "MPLCONFIGDIR": "/tmp/matplotlib"}
    return subprocess.run([*prefix, *_interpreter(), "-m", "tasks", *argv], cwd="/", capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture
def unwritable_volume() -> Path:
    """A volume root the step user may not write: root:root 0755 as root, else ours with 0555.

    Outside pytest's own temporary folder, which only its owner may enter.
    """
    parent = Path(tempfile.mkdtemp(prefix="artifact-volume-"))
    parent.chmod(0o755)
    volume = parent / "artifacts"
    volume.mkdir()
    volume.chmod(0o755 if os.geteuid() == 0 else 0o555)
    yield volume
    volume.chmod(0o755)
    shutil.rmtree(parent)


def _fetch(volume: Path) -> list[str]:
    return ["fetch", "--source", "embedded://digits", "--output", str(volume / "fashion_mnist_training" / "run"
                                                                      / "fetch")]


def test_a_root_owned_volume_fails_the_step_at_once_in_one_line(unwritable_volume):
    started = time.monotonic()
    done = run_step_as_step_user(_fetch(unwritable_volume))
    elapsed = time.monotonic() - started

    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert elapsed < 30
    assert "Traceback" not in done.stderr
    assert lines[-1].startswith(f"error: fetch: {unwritable_volume}: not writable by this step")
    owner = f"{unwritable_volume.stat().st_uid}:{unwritable_volume.stat().st_gid}"
    mode = oct(unwritable_volume.stat().st_mode & 0o777)[2:].zfill(4)
    assert f"owned by {owner} with mode {mode}" in lines[-1]
    assert "fsGroup" in lines[-1] and "k8s/prepare-artifacts-volume.yaml" in lines[-1]
    assert list(unwritable_volume.iterdir()) == []


def _prepare_script() -> tuple[str, dict[str, str]]:
    """The shell script and environment of the documented one-off Job."""
    job = yaml.safe_load(PREPARE_JOB.read_text())
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"]
    return container["args"][0], {e["name"]: e["value"] for e in container["env"]}


@pytest.mark.skipif(os.geteuid() != 0, reason="preparing the volume is the one step that needs root")
def test_the_documented_preparation_makes_the_volume_writable_for_the_step(unwritable_volume):
    script, env = _prepare_script()

    prepared = subprocess.run(["/bin/sh", "-c", script], env={**env, "ARTIFACT_ROOT": str(unwritable_volume),
                                                              "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=60)
    done = run_step_as_step_user(_fetch(unwritable_volume))

    assert prepared.returncode == 0, prepared.stderr
    assert (unwritable_volume.stat().st_uid, unwritable_volume.stat().st_gid) == (STEP_UID, STEP_GID)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (unwritable_volume / "fashion_mnist_training" / "run" / "fetch" / "raw.csv").is_file()


def test_the_check_runs_before_any_work_for_a_step_that_writes_a_serving_root(unwritable_volume):
    done = run_step_as_step_user(["rollback", "--tracking-uri", "http://127.0.0.1:9/", "--model-name", "m",
                                  "--target-version", "1", "--serving-root", str(unwritable_volume / "serving")])

    assert done.returncode == 2, done.stderr[-2000:]
    assert f"error: rollback: {unwritable_volume}: not writable by this step" in done.stderr
