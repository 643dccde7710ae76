"""Every step pod runs an image that has what the step's code imports.

Given every DAG parsed with ``PIPELINE_MODE=kubernetes``, each pod task names an image
(``StepSpec.image``) and a step (its first argument). The step's code is followed
through its ``tasks.*`` imports; every third-party module it reaches must be
installed in that image (its ``requirements.txt`` and their dependencies), or the
pod dies with ``ModuleNotFoundError`` in the cluster, which no local run would show.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.imports import closure, distributions_for, image_distributions, step_imports

ROOT = Path(__file__).resolve().parents[2]
IMAGES = {"data": "step-data", "train": "step-train"}


def _pod_steps() -> list[tuple[str, str, str]]:
    """(dag_id.task_id, step, image folder) for every pod task of every DAG in kubernetes mode."""
    from airflow.dag_processing.dagbag import DagBag

    from mlops_pipeline.kubernetes_runner import StepPodTask
    from mlops_pipeline.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_MODE", "kubernetes")
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        kube = load_settings().kubernetes
        bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    folders = {kube.data_image: IMAGES["data"], kube.train_image: IMAGES["train"]}
    return sorted((f"{dag.dag_id}.{task.task_id}", task.arguments[0], folders[task.image])
                  for dag in bag.dags.values() for task in dag.tasks if isinstance(task, StepPodTask))


POD_STEPS = _pod_steps()


def missing_in_image(step: str, image: str) -> list[str]:
    """The third-party modules ``step`` imports that ``image`` does not install."""
    installed = image_distributions(ROOT / "images" / image)
    _, third_party = step_imports(step)
    return sorted(name for name in third_party if not distributions_for(name) & installed)


def test_the_contract_sees_every_pod_step():
    assert {task.split(".", 1)[1] for task, _, _ in POD_STEPS} >= {"fetch", "prepare", "build_model", "train"}


@pytest.mark.parametrize(("task", "step", "image"), POD_STEPS, ids=[t for t, _, _ in POD_STEPS])
def test_step_imports_are_installed_in_its_image(task, step, image):
    assert missing_in_image(step, image) == [], f"{task} runs `{step}` in images/{image}"


def test_every_imported_module_maps_to_a_locked_distribution():
    unknown = {(step, name) for _, step, _ in POD_STEPS for name in step_imports(step)[1]
               if not distributions_for(name)}

    assert unknown == set()


def test_the_contract_catches_a_model_step_in_the_data_image():
    assert "keras" in missing_in_image("build_model", "step-data")
    assert missing_in_image("build_model", "step-train") == []


def test_imports_are_followed_through_task_modules():
    modules, third_party = step_imports("train")

    assert "tasks.steps.train" in modules and len(modules) > 2
    assert {"keras", "numpy"} <= third_party


def test_an_image_holds_the_dependencies_of_what_it_names():
    data_image = image_distributions(ROOT / "images" / "step-data")

    assert {"great-expectations", "ruamel-yaml", "pandas", "numpy"} <= data_image
    assert "keras" not in data_image
    assert closure({("keras", frozenset())}) >= {"keras", "numpy"}
