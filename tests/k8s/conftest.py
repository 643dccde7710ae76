"""Fixtures: the training DAG as the scheduler builds it in each mode (``tests/k8s/pods.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.pods import load_dag


@pytest.fixture(scope="module")
def kubernetes_dag() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield load_dag(mp, "kubernetes")


@pytest.fixture(scope="module")
def local_dag() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        yield load_dag(mp, "local")
