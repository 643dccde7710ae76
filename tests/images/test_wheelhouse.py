"""``scripts/images.sh wheels``: one download of every wheel the four images install, once per lock.

Given a stand-in for the host's Python that records what pip is asked for, when ``wheels`` runs twice, then
pip is asked once, for every image's requirements, the TensorFlow of the variant and the Airflow of the
stand-in, pinned by the lock; and a Python that is not the images' 3.11 makes no wheelhouse at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.images.podman import ROOT, SCRIPT

pytestmark = pytest.mark.integration

FAKE_PYTHON = """#!/bin/sh
# -c: the version check ($CHECK decides); -m pip download ...: record the request and its requirements file
if [ "$1" = -c ]; then exit "${CHECK:-0}"; fi
echo "$@" >> "$LOG"
while [ $# -gt 0 ]; do [ "$1" = -r ] && cat "$2" >> "$LOG.requirements"; shift; done
"""


def wheels(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    values = {"HOST_PYTHON": str(python), "WHEELHOUSE": str(tmp_path / "wheels"), "LOG": str(tmp_path / "pip.log"),
              "TF_VARIANT": "cpu", **env}
    return subprocess.run(["bash", str(SCRIPT), "wheels"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **values})


def test_every_images_wheels_are_asked_for_once_per_lock(tmp_path):
    assert wheels(tmp_path).returncode == 0
    again = wheels(tmp_path)
    assert again.returncode == 0 and "complete for this lock" in again.stderr
    calls = (tmp_path / "pip.log").read_text().splitlines()
    assert len(calls) == 1 and "download" in calls[0] and "-c constraints.txt" in calls[0]
    asked = set((tmp_path / "pip.log.requirements").read_text().split())
    for requirements in ROOT.glob("images/*/requirements.txt"):
        named = {line.strip() for line in requirements.read_text().splitlines() if line and not line.startswith("#")}
        assert named <= asked, requirements
    locked = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    assert {f"tensorflow-cpu=={locked['tensorflow_cpu']}", "apache-airflow==3.3.2"} <= asked


def test_a_host_python_other_than_the_images_makes_no_wheelhouse(tmp_path):
    done = wheels(tmp_path, CHECK="1")
    assert done.returncode == 0 and "no wheelhouse" in done.stderr
    assert not (tmp_path / "pip.log").exists() and not (tmp_path / "wheels").exists()
