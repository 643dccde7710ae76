"""Turn step contracts into what Airflow needs: a step's templated arguments and the trigger form.

The DAG says only what the contracts cannot know: which upstream result feeds each
input, and which settings this DAG fixes itself (a tracking URI, a suite name). An input
without a fixed value, and a setting fixed to :data:`FROM_UPSTREAM`, is a slot that the DAG
fills with a task output when it builds the task (``StepSpec.wire``). A step whose contract
has the ``gpu_count`` setting is a GPU step: its pod's GPU request is that setting's value in
the run, checked by the setting's own rule (``kubernetes_runner``). Every
form setting of a step becomes ``--<setting>={{ params.<setting> }}`` (the others keep
their declared default, which the step applies itself), and the set of
those settings, over all the DAG's steps and decision tasks, is the DAG's trigger form.
Arguments are rendered as ``--flag=value``, so a value that starts with ``-`` (a free
text reason, say) can never be read as an option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlops_pipeline.steps import DATA_RESOURCES, TRAIN_RESOURCES, StepSpec, Wired, run_dir
from tasks.contracts import CONTRACTS
from tasks.core import parameters
from tasks.core.contract import Setting, StepContract
from tasks.core.parameters import DATA, DEPLOYMENT, GPU_COUNT, MODEL, TRAINING
from tasks.core.reuse import INDEX_FOLDER

SECTIONS = (DATA, MODEL, TRAINING, DEPLOYMENT)


class _FromUpstream:
    """A fixed setting whose value a task output gives (``StepSpec.wire``), so it is not on the form."""

    def __repr__(self) -> str:
        return "FROM_UPSTREAM"


FROM_UPSTREAM = _FromUpstream()


def param_template(setting: Setting) -> str:
    """Jinja for a setting's value in this run (a nullable one renders ``None`` as empty)."""
    if setting.nullable:
        return f"{{{{ params.{setting.name} if params.{setting.name} is not none else '' }}}}"
    return f"{{{{ params.{setting.name} }}}}"


def step_spec(task_id: str, step: str, artifact_root: str, inputs: Mapping[str, str] | None = None,
              fixed: Mapping[str, str | _FromUpstream] | None = None,
              wired: Iterable[str] = ()) -> StepSpec:
    """The spec of task ``task_id`` running ``step``: fixed settings set, the rest from the form.

    ``inputs`` gives fixed values (a folder of this deployment); every other input of the
    contract is a slot for an upstream output, as is a setting fixed to :data:`FROM_UPSTREAM`.
    ``wired`` names form settings whose value in the run an upstream task gives (a tuning search's
    pick, a stored version's image shape; the form's value without one): slots like
    :data:`FROM_UPSTREAM` settings, but they stay on the form.
    Raises ValueError at parse time for an input or setting the contract does not have, or a
    setting with no default left off the form, so a wiring mistake is a DAG import error.
    """
    contract = CONTRACTS[step]
    inputs, fixed = dict(inputs or {}), dict(fixed or {})
    declared_inputs = {item.name: item for item in contract.inputs}
    unknown = (set(inputs) - set(declared_inputs)) | (set(fixed) - {s.name for s in contract.settings})
    if unknown:
        raise ValueError(f"{task_id}: {step} contract has no {sorted(unknown)}")
    arguments: list[str | Wired] = [f"{item.flag}={inputs[item.name]}" if item.name in inputs
                                    else Wired(item.name, item.flag, required=item.required)
                                    for item in contract.inputs]
    if contract.output_folder:
        arguments.append(f"--output={run_dir(artifact_root, task_id)}")
    for setting in contract.cli_settings():
        if fixed.get(setting.name) is FROM_UPSTREAM:
            arguments.append(Wired(setting.name, setting.flag))
        elif setting.name in fixed:
            arguments.append(f"{setting.flag}={fixed[setting.name]}")
        elif setting is parameters.REUSE_INDEX:  # the data steps' content-keyed index lies in the artifact root
            arguments.append(f"{setting.flag}={artifact_root}/{INDEX_FOLDER}")
        elif setting.form:
            arguments.append(Wired(setting.name, setting.flag) if setting.name in wired
                             else f"{setting.flag}={param_template(setting)}")
        elif setting.default is None:
            raise ValueError(f"{task_id}: setting {setting.name} has no default and is not on the form: fix it")
    gpu_setting = GPU_COUNT.name if any(s.name == GPU_COUNT.name for s in contract.settings) else None
    resources = TRAIN_RESOURCES if gpu_setting else DATA_RESOURCES
    return StepSpec(task_id, step, tuple(arguments), image=contract.image, resources=resources,
                    gpu_setting=gpu_setting, fixed=frozenset(fixed))


def form_settings(specs: Iterable[StepSpec], deciders: Iterable[str] = ()) -> list[Setting]:
    """The settings a person sets for a run of these steps and decision tasks, in form order.

    A setting is on the form when a step or decider takes it, it is a form setting, and
    no spec fixes it; it appears once however many steps share it.
    """
    chosen: dict[str, Setting] = {}
    contracts: list[tuple[StepContract, frozenset[str]]] = [(CONTRACTS[s.step], s.fixed) for s in specs]
    contracts += [(CONTRACTS[name], frozenset()) for name in deciders]
    for contract, fixed in contracts:
        for setting in contract.settings:
            if setting.form and setting.name not in fixed:
                chosen.setdefault(setting.name, setting)
    return sorted(chosen.values(), key=_form_order)


def _form_order(setting: Setting) -> tuple[int, int]:
    """Sections in form order; within one, the order of the parameters catalog."""
    catalog = [value.name for value in vars(parameters).values() if isinstance(value, Setting)]
    section = SECTIONS.index(setting.section) if setting.section in SECTIONS else len(SECTIONS)
    return section, catalog.index(setting.name) if setting.name in catalog else len(catalog)


def form_params(specs: Iterable[StepSpec], deciders: Iterable[str] = ()) -> dict[str, Any]:
    """The trigger form: one typed, bounded, documented ``Param`` per form setting."""
    from airflow.sdk import Param

    return {s.name: Param(s.default, title=s.title, description=s.description, section=s.section, **s.json_schema())
            for s in form_settings(specs, deciders)}


def checked(params: Mapping[str, Any], decider: str) -> dict[str, Any]:
    """A decision task's settings from the run's params, checked by the same rules as a step's."""
    return {s.name: s.check(params[s.name]) for s in CONTRACTS[decider].settings}
