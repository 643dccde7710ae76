"""Turn step contracts into what Airflow needs: a step's templated arguments and the trigger form.

The DAG says only what the contracts cannot know: which upstream result feeds each
input, and which settings this DAG fixes itself (a tracking URI, a suite name). Every
form setting of a step becomes ``--<setting>={{ params.<setting> }}`` (the others keep
their declared default, which the step applies itself), and the set of
those settings, over all the DAG's steps and decision tasks, is the DAG's trigger form.
Arguments are rendered as ``--flag=value``, so a value that starts with ``-`` (a free
text reason, say) can never be read as an option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlops_pipeline.steps import DATA_RESOURCES, TRAIN_RESOURCES, StepSpec, run_dir
from tasks.contracts import CONTRACTS
from tasks.core import parameters
from tasks.core.contract import Setting, StepContract
from tasks.core.parameters import DATA, DEPLOYMENT, MODEL, TRAINING

SECTIONS = (DATA, MODEL, TRAINING, DEPLOYMENT)


def param_template(setting: Setting) -> str:
    """Jinja for a setting's value in this run (a nullable one renders ``None`` as empty)."""
    if setting.nullable:
        return f"{{{{ params.{setting.name} if params.{setting.name} is not none else '' }}}}"
    return f"{{{{ params.{setting.name} }}}}"


def step_spec(task_id: str, step: str, artifact_root: str, inputs: Mapping[str, str] | None = None,
              fixed: Mapping[str, str] | None = None, gpus: str | None = None,
              tuned: Mapping[str, str] | None = None) -> StepSpec:
    """The spec of task ``task_id`` running ``step``: inputs wired, fixed settings set, the rest from the form.

    ``tuned`` gives form settings another template (a tuning search's pick, the form's value
    without one): unlike ``fixed`` they stay on the form.

    Raises ValueError at parse time for an input or setting the contract does not have,
    or a required input left unwired, so a wiring mistake is a DAG import error.
    """
    contract = CONTRACTS[step]
    inputs, fixed = dict(inputs or {}), dict(fixed or {})
    declared_inputs = {item.name: item for item in contract.inputs}
    unknown = (set(inputs) - set(declared_inputs)) | (set(fixed) - {s.name for s in contract.settings})
    missing = {name for name, item in declared_inputs.items() if item.required and name not in inputs}
    if unknown or missing:
        raise ValueError(f"{task_id}: {step} contract has no {sorted(unknown)}; unwired inputs {sorted(missing)}")
    arguments = [f"{declared_inputs[name].flag}={value}" for name, value in inputs.items()]
    if contract.output_folder:
        arguments.append(f"--output={run_dir(artifact_root, task_id)}")
    for setting in contract.cli_settings():
        if setting.name in fixed:
            arguments.append(f"{setting.flag}={fixed[setting.name]}")
        elif setting.form:
            arguments.append(f"{setting.flag}={(tuned or {}).get(setting.name) or param_template(setting)}")
        elif setting.default is None:
            raise ValueError(f"{task_id}: setting {setting.name} has no default and is not on the form: fix it")
    resources = TRAIN_RESOURCES if gpus is not None else DATA_RESOURCES
    return StepSpec(task_id, step, tuple(arguments), image=contract.image, resources=resources, gpus=gpus,
                    fixed=frozenset(fixed))


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
