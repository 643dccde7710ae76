"""One declaration per step: the CLI, the trigger form and the DAG's arguments agree by construction."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

import pytest

from tasks.contracts import CONTRACTS, STEP_NAMES
from tasks.core.common import StepError
from tasks.core.contract import Setting, StepContract, run_step
from tests.dags.dag_loading import dag_module
from tests.support.steps import call_step as run_cli_step


def step_function(step: str):
    """The function a step's ``main`` hands to ``run_step``."""
    module = importlib.import_module(f"tasks.steps.{step}")
    seen = []
    original = module.run_step
    module.run_step = lambda contract, argv, body, **hooks: seen.append(body) or 0
    try:
        module.main([])
    finally:
        module.run_step = original
    return seen[0]


@pytest.mark.parametrize("step", STEP_NAMES)
def test_each_step_function_takes_exactly_what_its_contract_declares(step: str):
    parameters = inspect.signature(step_function(step)).parameters
    required = {name for name, p in parameters.items() if p.default is inspect.Parameter.empty}
    declared = set(CONTRACTS[step].parameter_names())
    assert required <= declared <= set(parameters)


@pytest.mark.parametrize("step", STEP_NAMES)
def test_each_cli_offers_every_declared_setting_with_its_one_default(step: str):
    contract = CONTRACTS[step]
    actions = {a.dest: a for a in contract.parser()._actions}
    for setting in contract.cli_settings():
        assert actions[setting.name].default == setting.default
        assert actions[setting.name].option_strings == [setting.flag]


def test_a_setting_shared_by_steps_is_one_object_with_one_default():
    seen: dict[str, Setting] = {}
    for contract in CONTRACTS.values():
        for setting in contract.settings:
            assert seen.setdefault(setting.name, setting) is setting, setting.name


def test_the_form_offers_the_settings_own_default_bounds_and_choices():
    params = dag_module().dag.params
    for contract in CONTRACTS.values():
        for setting in contract.settings:
            if setting.name in params:
                param = params.get_param(setting.name)
                assert param.value == setting.default, setting.name
                assert param.schema.get("enum") == (list(setting.choices) if setting.choices else None)
                assert param.schema.get("maximum") == setting.maximum


@pytest.mark.parametrize("step,argument,words", [
    ("split", "--test-size=0.9", "test_size=0.9.*<= 0.5"),
    ("build_model", "--hidden-activation=swish", "hidden_activation.*one of relu"),
    ("train", "--epochs=5000", "epochs=5000.*<= 1000"),
    ("deploy", "--model-name=..", "model_name='..'.*must match"),
])
def test_the_step_refuses_what_the_form_refuses_with_one_line(tmp_path, step, argument, words):
    done = run_cli_step(step, *REQUIRED[step](tmp_path), argument)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert re.search(words, done.stderr), done.stderr


REQUIRED = {
    "split": lambda tmp: ["--input", str(tmp / "f.npz"), "--output", str(tmp / "o")],
    "build_model": lambda tmp: ["--output", str(tmp / "o")],
    "train": lambda tmp: ["--model", "m", "--train", "t", "--validation", "v", "--output", str(tmp / "o")],
    "deploy": lambda tmp: ["--version=1", f"--serving-root={tmp}", "--output", str(tmp / "o")],
}


def test_a_free_text_value_that_starts_with_a_dash_stays_a_value():
    values = CONTRACTS["rollback"].parse(["--serving-root=/srv", "--reason=--target-version=9 because"])
    assert values["reason"] == "--target-version=9 because" and values["target_version"] == 0


def test_a_missing_setting_without_default_is_one_line_not_a_traceback():
    with pytest.raises(StepError, match="suite: a value is required"):
        CONTRACTS["validate"].parse(["--input=x.csv", "--output=o", "--image-height=8", "--image-width=8"])


def test_a_function_that_does_not_match_its_contract_is_refused_before_anything_runs():
    contract = StepContract("demo", "a demo", settings=(CONTRACTS["train"].setting("epochs"),))

    def body(output, batch_size):  # takes an undeclared setting and lacks epochs
        return {}

    with pytest.raises(TypeError, match="lacks \\['epochs'\\].*undeclared \\['batch_size'\\]"):
        run_step(contract, ["--output=o"], body)


def test_a_new_setting_is_one_edit_and_reaches_cli_form_and_dag(monkeypatch):
    """Declare a setting on a contract: the CLI, the trigger form and the DAG's arguments all carry it."""
    from mlops_pipeline.contract_wiring import form_params, step_spec

    dropout = Setting("dropout", float, 0.25, "Dropout", "Share of units dropped while training.", "Model",
                      minimum=0, maximum=0.9)
    extended = dataclasses.replace(CONTRACTS["build_model"], settings=(*CONTRACTS["build_model"].settings, dropout))
    monkeypatch.setitem(CONTRACTS, "build_model", extended)
    spec = step_spec("build_model", "build_model", "/artifacts")
    assert "--dropout={{ params.dropout }}" in spec.arguments
    assert form_params([spec])["dropout"].value == 0.25
    assert extended.parse(["--output=o", "--dropout=0.5"])["dropout"] == 0.5


def test_every_form_setting_is_documented_in_the_readme_parameters_table():
    from tests.support.steps import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Parameters (the trigger form)", 1)[1].split("\n## ", 1)[0]
    for name in dag_module().dag.params:
        assert f"`{name}`" in section, f"{name} is on the trigger form but not in the README's Parameters table"
