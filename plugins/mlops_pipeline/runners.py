"""Pick the runner for a step from the deployment's mode; the DAG never asks which."""

from __future__ import annotations

from typing import Any

from mlops_pipeline.links import links_for
from mlops_pipeline.settings import PipelineSettings, load_settings
from mlops_pipeline.steps import StepSpec


def step_operator(spec: StepSpec, settings: PipelineSettings | None = None, **kwargs: Any) -> Any:
    """A task that runs ``spec``: a local subprocess, or a pod in ``kubernetes`` mode.

    Both kinds get the step's UI links (Data Docs, run report, MLflow) on the built
    operator, next to any the operator class already has, so the buttons do not
    depend on the mode.
    """
    settings = settings or load_settings()
    if settings.mode == "kubernetes":
        from mlops_pipeline.kubernetes_runner import pod_task

        operator = pod_task(spec, settings, **kwargs)
    else:
        from mlops_pipeline.local_runner import LocalStepOperator

        operator = LocalStepOperator(task_id=spec.task_id, step=spec.step, arguments=spec.arguments, **kwargs)
    extra = links_for(spec.task_id)
    if extra:
        operator.operator_extra_links = [*operator.operator_extra_links, *extra]
    return operator
