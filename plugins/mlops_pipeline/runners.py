"""Pick the runner for a step from the deployment's mode; the DAG never asks which."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_pipeline.links import links_for
from mlops_pipeline.settings import PipelineSettings, load_settings
from mlops_pipeline.steps import StepSpec, Upstream, UpstreamObject


def step_operator(spec: StepSpec, settings: PipelineSettings | None = None, *,
                  wiring: Mapping[str, Upstream | UpstreamObject] | None = None, **kwargs: Any) -> Any:
    """A task that runs ``spec`` with its slots filled from ``wiring``: a local subprocess, or a pod.

    ``wiring`` maps each upstream slot of the spec (an input, or a setting fixed to
    ``FROM_UPSTREAM``) to a task output (``ops["fetch"].output["profile"]``, ``FirstOf``);
    Airflow makes those tasks upstream of this one. Either kind pushes each field of the
    step's result as its own XCom besides ``return_value`` (``multiple_outputs``), so the
    next task can be handed one field.

    Both kinds get the step's UI links (Data Docs, run report, MLflow) on the built
    operator, next to any the operator class already has, so the buttons do not
    depend on the mode.
    """
    settings = settings or load_settings()
    spec = spec.wire(wiring or {})
    if settings.mode == "kubernetes":
        from mlops_pipeline.kubernetes_runner import pod_task

        operator = pod_task(spec, settings, **kwargs)
    else:
        from mlops_pipeline.local_runner import LocalStepOperator

        operator = LocalStepOperator(task_id=spec.task_id, step=spec.step, arguments=spec.arguments,
                                     multiple_outputs=True, **kwargs)
    extra = links_for(spec.task_id)
    if extra:
        operator.operator_extra_links = [*operator.operator_extra_links, *extra]
    return operator
