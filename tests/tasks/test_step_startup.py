"""A step's ``--help`` is cheap: it imports no data or ML library, so it answers in well under a second.

Every step runs in a fresh interpreter (a subprocess or a pod), so what its module
imports at the top is paid on every run and every ``--help``. Given each step, when
its ``--help`` runs in a fresh interpreter, then none of pandas, pyarrow, TensorFlow,
Keras, Great Expectations, MLflow or scikit-learn was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tasks.contracts import STEP_NAMES
from tests.support.steps import ROOT

pytestmark = pytest.mark.integration  # each test starts a fresh interpreter, as a runner does

HEAVY = ("pandas", "pyarrow", "tensorflow", "keras", "great_expectations", "mlflow", "sklearn")
PROBE = """
import contextlib, io, json, sys
from tasks.__main__ import main

with contextlib.redirect_stdout(io.StringIO()) as shown:
    try:
        main([{step!r}, "--help"])
    except SystemExit:
        pass
print(json.dumps({{"heavy": [m for m in {heavy!r} if m in sys.modules], "usage": "usage" in shown.getvalue()}}))
"""


@pytest.mark.parametrize("step", STEP_NAMES)
def test_help_imports_no_heavy_library(step):
    done = subprocess.run([sys.executable, "-c", PROBE.format(step=step, heavy=HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["usage"], f"{step} --help printed no usage"
    assert found["heavy"] == [], f"{step} --help imports {', '.join(found['heavy'])}"
