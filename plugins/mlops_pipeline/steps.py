"""One spec per step: the step module, its arguments and what it needs to run.

A spec knows nothing about where it runs. ``runners.step_operator`` turns it into a
local subprocess or a Kubernetes pod with exactly the same command line:
``python -m tasks <step> <arguments...>`` (the image's ENTRYPOINT is
``python -m tasks``, so a pod passes ``<step> <arguments...>``).

A value that comes from an upstream task is wired as an object, never as a Jinja
string naming a task id: ``ops["fetch"].output["profile"]`` (an ``XComArg``; both runners
push each field of a step's JSON result as its own XCom, as ``@task(multiple_outputs=True)``
does), or :class:`FirstOf` for the output of whichever branch ran. Airflow resolves it
when it renders the task's ``arguments`` and derives the upstream dependency from it, so
the data flow and the graph are one declaration. A spec holds an upstream value as a
:class:`Wired` argument, ``--flag=<value>``: one token, so a value that starts with ``-``
is never read as an option.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from airflow.sdk.definitions._internal.mixins import ResolveMixin

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import XComArg
    from airflow.sdk.types import Operator

# What feeds a step input or setting from upstream: a task output (XComArg) or FirstOf.
Upstream: TypeAlias = ResolveMixin
# A setting built from several upstream values (a JSON object; str values are Jinja, rendered with the DAG's env).
UpstreamObject: TypeAlias = Mapping[str, "ResolveMixin | str"]


class FirstOf(ResolveMixin):
    """The value of whichever of these task outputs was pushed (a branch skipped the others), else ``default``.

    Like any ``XComArg``, each output's task becomes upstream of the task it feeds, so that task
    needs a trigger rule that lets a skipped branch pass (``none_failed_min_one_success``). A
    mapped task's output resolves to the sequence of its results, so it can be one of them.
    """

    def __init__(self, *outputs: XComArg, default: Any = None) -> None:
        if not outputs:
            raise ValueError("FirstOf needs at least one task output")
        self.outputs, self.default = outputs, default

    def iter_references(self) -> Iterator[tuple[Operator, str]]:
        for output in self.outputs:
            yield from output.iter_references()

    def resolve(self, context: Mapping[str, Any]) -> Any:
        from airflow.sdk.exceptions import XComNotFound

        for output in self.outputs:
            try:
                value = output.resolve(context)
            except XComNotFound:  # an operator without multiple_outputs that did not run
                continue
            if value is not None:
                return value
        return self.default

    def __repr__(self) -> str:
        return f"FirstOf({', '.join(_describe(o) for o in self.outputs)}, default={self.default!r})"


@dataclass(frozen=True)
class Wired(ResolveMixin):
    """One ``--flag=<value>`` argument whose value an upstream task gives, resolved when the task renders.

    ``value`` is ``None`` while the spec is declared (a slot ``StepSpec.wire`` fills); an optional
    slot left unwired is dropped. A mapping value becomes a JSON object (its ``str`` entries are
    Jinja, rendered with the DAG's environment: ``{{ run_id }}``).
    """

    name: str
    flag: str
    value: Upstream | UpstreamObject | None = None
    required: bool = True

    def iter_references(self) -> Iterator[tuple[Operator, str]]:
        values = self.value.values() if isinstance(self.value, Mapping) else [self.value]
        for value in values:
            if isinstance(value, ResolveMixin):
                yield from value.iter_references()

    def resolve(self, context: Mapping[str, Any]) -> str:
        if self.value is None:
            raise ValueError(f"{self.flag}: {self.name} was never wired to an upstream output")
        if isinstance(self.value, Mapping):
            resolved = {key: _resolve_entry(value, context) for key, value in self.value.items()}
            return f"{self.flag}={json.dumps(resolved, sort_keys=True)}"
        value = self.value.resolve(context)
        return f"{self.flag}={'' if value is None else value}"

    def __str__(self) -> str:
        """What the serialized DAG and the UI show before rendering: the flag and where its value comes from."""
        if isinstance(self.value, Mapping):
            shown = "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in self.value.items()) + "}"
        else:
            shown = _describe(self.value)
        return f"{self.flag}=<{shown}>"


def _resolve_entry(value: ResolveMixin | str, context: Mapping[str, Any]) -> Any:
    if isinstance(value, ResolveMixin):
        return value.resolve(context)
    return context["dag"].get_template_env().from_string(value).render(**context)


def _describe(value: Any) -> str:
    """``fetch.output['profile']`` for a task output, the text itself for anything else."""
    operator, key = getattr(value, "operator", None), getattr(value, "key", None)
    if operator is not None:
        return f"{operator.task_id}.output[{key!r}]"
    return "unwired" if value is None else repr(value) if isinstance(value, FirstOf) else str(value)


Argument: TypeAlias = "str | Wired"


@dataclass(frozen=True)
class Resources:
    """CPU and memory requests and limits of a step's pod."""

    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"


DATA_RESOURCES = Resources()
TRAIN_RESOURCES = Resources(cpu_request="2", memory_request="4Gi", cpu_limit="8", memory_limit="16Gi")


@dataclass(frozen=True)
class StepSpec:
    """A pipeline step as data.

    Attributes:
        task_id: the Airflow task id (usually the step name).
        step: the ``tasks.steps.<step>`` module that does the work.
        arguments: CLI arguments: text (may hold Jinja: ``{{ params.epochs }}``) or :class:`Wired` upstream values.
        image: ``data`` or ``train``: which step image runs it.
        resources: pod requests and limits.
        gpu_setting: the contract setting whose value in the run is the pod's ``nvidia.com/gpu`` count
            (``gpu_count``); ``None`` for CPU steps.
        gpus: that count, checked, once a run gives it (what the pod is built from); ``None``: no GPU.
        fixed: settings the DAG fixes for this task (so they are not on its trigger form).
    """

    task_id: str
    step: str
    arguments: tuple[Argument, ...] = ()
    image: str = "data"
    resources: Resources = field(default=DATA_RESOURCES)
    gpu_setting: str | None = None
    gpus: int | None = None
    fixed: frozenset[str] = frozenset()

    def command(self) -> list[Argument]:
        """The full command line (what the local runner executes)."""
        return ["python", "-m", "tasks", self.step, *self.arguments]

    def pod_arguments(self) -> list[Argument]:
        """The pod's arguments: the command line after the image's ``python -m tasks`` ENTRYPOINT."""
        return [self.step, *self.arguments]

    def slots(self) -> dict[str, Wired]:
        """The arguments still waiting for an upstream value, by input or setting name."""
        return {a.name: a for a in self.arguments if isinstance(a, Wired) and a.value is None}

    def wire(self, values: Mapping[str, Upstream | UpstreamObject]) -> StepSpec:
        """This spec with its slots filled from upstream outputs; an optional slot left out is dropped.

        Raises ValueError (a DAG import error) for a name that is not a slot, or a required slot left out.
        """
        slots = self.slots()
        unknown = set(values) - set(slots)
        missing = {name for name, slot in slots.items() if slot.required and name not in values}
        if unknown or missing:
            raise ValueError(f"{self.task_id}: no upstream slot {sorted(unknown)}; unwired {sorted(missing)}")
        arguments = tuple(replace(a, value=values[a.name]) if isinstance(a, Wired) and a.name in values else a
                          for a in self.arguments if not (isinstance(a, Wired) and a.name in slots
                                                          and a.name not in values))
        return replace(self, arguments=arguments)


def run_dir(artifact_root: str, step: str) -> str:
    """Jinja for the run-scoped folder of a step: ``<root>/<dag_id>/<run_id>/<step>``."""
    return f"{artifact_root}/{{{{ dag.dag_id }}}}/{{{{ run_id | run_key }}}}/{step}"


def result_line(stdout: str) -> dict[str, Any] | None:
    """A step's result as both runners read it: the last stdout line that is a JSON object.

    A pod writes the same line to ``/airflow/xcom/return.json``; a local subprocess
    prints it last. ``None`` when the step printed none.
    """
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None
