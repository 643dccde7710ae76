"""What the pipeline's DAGs share: settings, step specs, runners, branch and gate rules.

Airflow puts ``plugins/`` on ``sys.path``, so DAGs import ``mlops_pipeline``. Nothing
here holds step logic (that is ``tasks/``) or imports heavy libraries at import time.
The step contracts come from the installed ``tasks`` package (``make install`` installs
the project; the images put it on ``PYTHONPATH``), never from a ``sys.path`` edit.
"""
