"""Turn a step spec into a Kubernetes pod task with the same command line, without paying for the provider at parse.

The scheduler parses the DAG file over and over; importing ``KubernetesPodOperator``
(the provider, the Kubernetes client) costs ~0.5 s, more than the whole parse budget
(0.3 s). So the DAG holds a :class:`StepPodTask`, a light operator that keeps the step
spec and the deployment's settings and renders the step's arguments like any templated
field (upstream outputs included); the ``KubernetesPodOperator`` (:mod:`mlops_pipeline.pod_operator`)
is imported and built from the rendered values only when the task runs, or when a
test asks for its pod request. A GPU step's GPU count is its contract setting's value in
the run (``params.gpu_count``), checked by that setting's own rule, the one the trigger
form's Param was made from. The pod, its security contexts, volumes and GPU placement are
described in :mod:`mlops_pipeline.pod_operator`; this module depends on it, never the reverse.
"""

from __future__ import annotations

from argparse import ArgumentTypeError
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from mlops_pipeline.settings import PipelineSettings
from mlops_pipeline.steps import StepSpec
from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.provenance import DAG_COMMIT_ENV, dag_commit_env

if TYPE_CHECKING:
    from mlops_pipeline.pod_operator import StepPodOperator


def gpu_request(spec: StepSpec, params: Any) -> int | None:
    """The GPUs the pod asks for in this run: its GPU setting's value, read as a step reads it; ``None``: a CPU step.

    The setting's own ``parse`` and ``check`` (the rules its form Param was made from), so a value
    a CLI trigger slipped past the form (``9``, ``1.5``) fails the task without a retry.
    """
    if spec.gpu_setting is None:
        return None
    setting = CONTRACTS[spec.step].setting(spec.gpu_setting)
    value = (params or {}).get(setting.name, setting.default)
    try:
        return setting.check(setting.parse(str(value)))
    except StepError as exc:
        raise AirflowFailException(str(exc)) from None
    except ArgumentTypeError as exc:
        raise AirflowFailException(f"{setting.name}={value!r}: {exc}") from None


def pod_operator(spec: StepSpec, settings: PipelineSettings, **kwargs: Any) -> StepPodOperator:
    """The ``KubernetesPodOperator`` that runs ``spec`` in the cluster (imports the provider)."""
    from mlops_pipeline.pod_operator import pod_operator as build

    return build(spec, settings, **kwargs)


class StepPodTask(BaseOperator):
    """A step that runs as a pod; the pod operator is built from the rendered arguments when the task runs.

    ``arguments`` are the pod's (``<step> <arguments...>``, after the image's ENTRYPOINT),
    ``image`` the image it runs in: both readable at parse time without the provider.
    """

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e6eefa"

    def __init__(self, *, spec: StepSpec, settings: PipelineSettings, **kwargs: Any) -> None:
        super().__init__(task_id=spec.task_id, multiple_outputs=True, **kwargs)
        self.spec, self.settings, self.step = spec, settings, spec.step
        self.arguments = spec.pod_arguments()
        self.image = settings.kubernetes.image_for(spec.image)
        self._pod: Any = None

    def pod(self, context: Any = None) -> StepPodOperator:
        """The ``KubernetesPodOperator`` for this task's (rendered) arguments and this run's GPU count.

        Built when the task runs, so it may read the DAG file's checkout: the pod's
        ``PIPELINE_DAG_COMMIT`` is the commit the worker's (git-synced) DAG came from.
        """
        params = (context or {}).get("params") or self.params
        rendered = replace(self.spec, arguments=tuple(str(a) for a in self.arguments[1:]),
                           gpus=gpu_request(self.spec, params))
        commit = dag_commit_env(self.dag.fileloc if self.has_dag() else None).get(DAG_COMMIT_ENV)
        self._pod = pod_operator(rendered, self.settings, dag_commit=commit)
        return self._pod

    def build_pod_request_obj(self, context: Any = None, *, dry_run: bool = False) -> Any:
        """The pod the API server would receive (no cluster needed with ``dry_run``)."""
        return self.pod(context).build_pod_request_obj(context, dry_run=dry_run)

    def execute(self, context: Any) -> Any:
        return self.pod(context).execute(context)

    def on_kill(self) -> None:
        if self._pod is not None:
            self._pod.on_kill()


class TrialPodTask(StepPodTask):
    """A tuning trial's pod (mapped: one per trial): the train step with the study's next trial's arguments and GPUs."""

    def __init__(self, *, spec: StepSpec, settings: PipelineSettings, arguments: Sequence[str] = (),
                 **kwargs: Any) -> None:
        kwargs.pop("task_id", None)  # the mapped task's id is the spec's ("trial")
        super().__init__(spec=spec, settings=settings, **kwargs)
        self.arguments = [spec.step, *arguments]

    def execute(self, context: Any) -> Any:
        from mlops_pipeline.trial_turns import TakesTurns

        return TakesTurns().run_trial(context, self.arguments[1:], lambda chosen: self._run(context, chosen))

    def _run(self, context: Any, arguments: list[str]) -> Any:
        self.arguments = [self.spec.step, *arguments]
        return super().execute(context)


def pod_task(spec: StepSpec, settings: PipelineSettings, **kwargs: Any) -> StepPodTask:
    """The DAG's task for ``spec`` in ``kubernetes`` mode (``kwargs``: retries and the like)."""
    return StepPodTask(spec=spec, settings=settings, **kwargs)


def __getattr__(name: str) -> Any:
    """``StepPodOperator`` stays importable from here, loaded on first use."""
    if name == "StepPodOperator":
        from mlops_pipeline.pod_operator import StepPodOperator

        return StepPodOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
