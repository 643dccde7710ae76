"""The trigger form explains itself: every field has a title, a description and a section, and bounds hold."""

from __future__ import annotations

import copy

import pytest
from airflow.sdk import Param

from tests.dags.dag_loading import training_dag

SECTIONS = ("Data", "Model", "Training", "Deployment")


def form() -> dict[str, Param]:
    """A copy of the training DAG's form (``Param.resolve`` keeps the value it was given)."""
    return copy.deepcopy(dict(training_dag().params.items()))


@pytest.mark.parametrize("name", list(form()))
def test_every_field_has_a_title_description_and_section(name: str):
    param = form()[name]
    schema = param.schema
    assert schema.get("title"), f"{name} has no title"
    assert len(param.description or "") >= 10, f"{name} has no useful description"
    assert schema.get("section") in SECTIONS, f"{name} is in no known section"


@pytest.mark.parametrize("name,value", [("epochs", 0), ("epochs", 1001), ("accuracy_threshold", 1.5),
                                        ("model_type", "transformer"), ("test_size", 0), ("model_name", "a/b"),
                                        ("model_name", ".."), ("model_name", ".")])
def test_values_out_of_bounds_or_enum_are_refused(name: str, value: object):
    with pytest.raises(Exception, match="(?i)valid|less|greater|not one of|match|minimum|maximum"):
        form()[name].resolve(value)


def test_numbers_a_person_would_type_are_accepted():
    params = form()
    assert params["epochs"].resolve(15) == 15 and params["accuracy_threshold"].resolve(0.5) == 0.5
    assert params["model_name"].resolve("fashion_mnist.v2") == "fashion_mnist.v2"


def test_an_emptied_base_model_field_is_accepted():
    """The UI sends an emptied text field as null; that must not lock the Trigger button."""
    assert form()["base_model_uri"].resolve(None) is None


def test_the_form_keeps_its_sections_in_order():
    sections = [param.schema["section"] for param in form().values()]
    assert sections == sorted(sections, key=SECTIONS.index)
    assert list(form())[:3] == ["dataset_uri", "image_height", "image_width"]


def test_the_model_name_is_empty_by_default_and_the_form_says_what_that_means():
    param = form()["model_name"]
    assert param.value == "" and param.resolve("") == "" and param.resolve(None) is None  # the UI sends null
    assert "fashion_mnist_8x8" in param.description and "fashion_mnist for 28x28" in param.description
