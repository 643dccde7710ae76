"""The trigger form explains itself: every field has a title, a description and a section, and bounds hold."""

from __future__ import annotations

import pytest
from airflow.sdk import Param

from mlops_pipeline.params import training_params

SECTIONS = ("Data", "Model", "Training", "Deployment")


@pytest.mark.parametrize("name,param", list(training_params().items()))
def test_every_field_has_a_title_description_and_section(name: str, param: Param):
    schema = param.schema
    assert schema.get("title"), f"{name} has no title"
    assert len(param.description or "") >= 10, f"{name} has no useful description"
    assert schema.get("section") in SECTIONS, f"{name} is in no known section"


@pytest.mark.parametrize("name,value", [("epochs", 0), ("epochs", 1001), ("accuracy_threshold", 1.5),
                                        ("model_type", "transformer"), ("test_size", 0), ("model_name", "a/b")])
def test_values_out_of_bounds_or_enum_are_refused(name: str, value: object):
    param = training_params()[name]
    with pytest.raises(Exception, match="(?i)valid|less|greater|not one of|match|minimum|maximum"):
        param.resolve(value)


def test_numbers_a_person_would_type_are_accepted():
    params = training_params()
    assert params["epochs"].resolve(15) == 15 and params["accuracy_threshold"].resolve(0.5) == 0.5


def test_an_emptied_base_model_field_is_accepted():
    """The UI sends an emptied text field as null; that must not lock the Trigger button."""
    assert training_params()["base_model_uri"].resolve(None) is None
