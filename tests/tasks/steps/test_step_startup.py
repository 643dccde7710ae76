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


STEPS_PROBE = """
import contextlib, io, json, sys
from tasks.__main__ import main

codes = []
for args in {runs!r}:
    with contextlib.redirect_stdout(io.StringIO()):
        codes.append(main(args))
print(json.dumps({{"codes": codes, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def test_prepare_features_and_split_run_without_importing_pandas(tmp_path):
    """pyarrow imports pandas behind ``pa.array``/``to_numpy`` (0.3 s a process): these steps never need it.

    Given a fetched CSV with empty cells and invalid labels (both dropping paths), when prepare,
    features and split run in one fresh interpreter, then they succeed and none imported pandas.
    """
    from tasks.data.columnar import write_columnar
    from tests.tasks.helpers import balanced_rows, write_csv

    rows = balanced_rows(per_class=20)
    rows[3][2], rows[40][0] = None, "hat"
    write_columnar(str(write_csv(tmp_path / "raw.csv", rows)), tmp_path)
    shape = ["--image-height", "2", "--image-width", "2"]
    runs = [["prepare", "--input", str(tmp_path / "raw_profile.json"), "--output", str(tmp_path / "p"), *shape],
            ["features", "--input", str(tmp_path / "p" / "prepared.arrow"), "--output", str(tmp_path / "f"), *shape],
            ["split", "--input", str(tmp_path / "f" / "features.npz"), "--output", str(tmp_path / "s")]]
    done = subprocess.run([sys.executable, "-c", STEPS_PROBE.format(runs=runs, heavy=HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["codes"] == [0, 0, 0], done.stderr[-2000:]
    assert found["heavy"] == ["pyarrow"]
    report = json.loads((tmp_path / "p" / "prepare_report.json").read_text())
    assert (report["dropped_empty_cells"], report["dropped_invalid_label"], report["rows_out"]) == (1, 1, 198)


MODEL_PROBE = """
import contextlib, io, json, sys
from tasks.__main__ import main

seen = []
for args in {runs!r}:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    seen.append([code, [m for m in ("tensorflow", "sklearn", "matplotlib.pyplot") if m in sys.modules]])
print(json.dumps(seen))
"""


def test_model_steps_load_tensorflow_without_kerass_sklearn_and_pyplot_and_evaluate_still_uses_them(tmp_path):
    """Keras imports scikit-learn and pyplot when installed (1.65 s of its 6 s import): no model step needs them.

    Given tiny bundles, when build_model and train run in one fresh interpreter, then TensorFlow was imported
    but neither scikit-learn nor matplotlib.pyplot; when evaluate then runs in the same interpreter, it imports
    and uses both (its metrics and its confusion-matrix picture) and succeeds.
    """
    from tests.tasks.helpers import make_bundles

    data = make_bundles(tmp_path)
    shape = ["--image-height", "4", "--image-width", "4"]
    runs = [["build_model", "--output", str(tmp_path / "b"), *shape, "--units", "8"],
            ["train", "--model", str(tmp_path / "b" / "model.keras"), "--train", data["train"], "--validation",
             data["val"], "--output", str(tmp_path / "t"), "--epochs", "1"],
            ["evaluate", "--model", str(tmp_path / "t" / "model.keras"), "--test", data["test"], "--output",
             str(tmp_path / "e")]]
    done = subprocess.run([sys.executable, "-c", MODEL_PROBE.format(runs=runs)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    built, trained, evaluated = json.loads(done.stdout.strip().splitlines()[-1])
    assert built == [0, ["tensorflow"]] and trained == [0, ["tensorflow"]], done.stderr[-2000:]
    assert evaluated == [0, ["tensorflow", "sklearn", "matplotlib.pyplot"]], done.stderr[-2000:]
    assert (tmp_path / "e" / "confusion_matrix.png").stat().st_size > 0
