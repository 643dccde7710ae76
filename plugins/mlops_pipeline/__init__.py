"""What the pipeline's DAGs share: settings, step specs, runners, branch and gate rules.

Airflow puts ``plugins/`` on ``sys.path``, so DAGs import ``mlops_pipeline``. Nothing
here holds step logic (that is ``tasks/``) or imports heavy libraries at import time.
"""

import sys
from pathlib import Path

# The step contracts live in ``tasks/`` beside ``plugins/`` (one declaration serves the
# steps and the DAGs). Airflow puts only ``dags/`` and ``plugins/`` on ``sys.path``, so
# the project root is added here, after everything else, when it holds ``tasks/``.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
if (_PROJECT_ROOT / "tasks" / "contracts.py").is_file() and str(_PROJECT_ROOT) not in sys.path:
    sys.path.append(str(_PROJECT_ROOT))
