"""The run report: one page per DAG run in the Airflow UI (validation, cleaning, curves, metrics, gate).

``run_report_plugin.py`` registers it with Airflow; ``app`` is the FastAPI app the API
server mounts; ``artifacts`` reads a run's step outputs safely; ``page`` and
``curves`` render them. Listed in ``plugins/.airflowignore`` so that Airflow's plugin
loader does not import these modules (and FastAPI) in every process.
"""
