"""Step logic of the training pipeline: one module per step, no Airflow imports.

Every step is a typed function plus a thin ``main(argv)`` CLI, so the same command
line runs as a local subprocess (``python -m tasks <step> ...``) or as the
entrypoint of a container in a Kubernetes pod.
"""
