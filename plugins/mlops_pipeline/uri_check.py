"""The dataset allowlist as the DAG's tasks apply it: ``tasks/data/uri_policy.py`` with the deployment's roots.

The policy lives in ``tasks/`` because the ``fetch`` step applies it again in its own
container; plugins import it (``mlops_pipeline`` puts the project root on the path). A refusal fails
the task at once (``AirflowFailException``: retrying cannot make a URI allowed).
"""

from __future__ import annotations

from mlops_pipeline.settings import PipelineSettings, load_settings


def check_dataset_uri(uri: str, settings: PipelineSettings | None = None) -> str:
    """The normalised ``uri`` if the deployment allows reading it; else fail the task with the policy's one line."""
    from airflow.sdk.exceptions import AirflowFailException

    from tasks.data import uri_policy as policy
    current = settings or load_settings()
    try:
        return policy.check_source_uri(uri, current.allowed_data_roots, current.allowed_data_schemes)
    except policy.StepError as err:
        raise AirflowFailException(str(err)) from None


def allowlist_env(settings: PipelineSettings | None = None) -> dict[str, str]:
    """The environment a step needs to apply the same allowlist (``uri_policy.roots_from_env`` reads it)."""
    current = settings or load_settings()
    return {"PIPELINE_ALLOWED_DATA_ROOTS": ",".join(current.allowed_data_roots),
            "PIPELINE_ALLOWED_DATA_SCHEMES": ",".join(current.allowed_data_schemes)}
