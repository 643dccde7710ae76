"""Which registered model a run belongs to: a given name as given, an empty one named after the run's input."""

from __future__ import annotations

import re

import pytest

from tasks.core.common import StepError
from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.core.parameters import MODEL_NAME, MODEL_NAME_PATTERN
from tasks.model.naming import derived_model_name, model_name_for, required_model_name

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def test_fashion_mnist_images_keep_the_name_serving_expects():
    assert derived_model_name((28, 28), FASHION_MNIST_CATEGORIES) == "fashion_mnist"


def test_the_embedded_digits_get_a_model_of_their_own():
    # Given the 8x8 digits (which carry the Fashion-MNIST category names), when no name is given
    name, derived = model_name_for("", [8, 8], list(FASHION_MNIST_CATEGORIES))

    # Then they register apart from the 28x28 model
    assert (name, derived) == ("fashion_mnist_8x8", True)
    assert derived_model_name((14, 28), FASHION_MNIST_CATEGORIES) == "fashion_mnist_14x28"


def test_other_categories_get_a_stable_name_that_differs_with_the_names_and_their_order():
    words = derived_model_name((28, 28), DIGIT_WORDS)

    assert re.fullmatch(r"classes_[0-9a-f]{8}_28x28", words)
    assert derived_model_name((28, 28), list(DIGIT_WORDS)) == words  # the same input, the same model
    assert derived_model_name((28, 28), DIGIT_WORDS[::-1]) != words  # label codes mean other things
    assert derived_model_name((8, 8), DIGIT_WORDS) == words.replace("28x28", "8x8")


@pytest.mark.parametrize("shape, categories", [((28, 28), FASHION_MNIST_CATEGORIES), ((512, 1), DIGIT_WORDS),
                                               ((8, 8), ("a/b", "..", "\n") * 3 + ("x",))])
def test_a_derived_name_is_always_a_valid_registered_model_and_folder_name(shape, categories):
    name = derived_model_name(shape, categories)

    assert re.fullmatch(MODEL_NAME_PATTERN, name) and MODEL_NAME.check(name) == name


@pytest.mark.parametrize("given", ["fashion_mnist", "fashion_mnist_28x28", "my.model-v2"])
def test_a_given_name_is_used_exactly_as_given_whatever_the_input(given):
    assert model_name_for(given, (8, 8), DIGIT_WORDS) == (given, False)


def test_the_setting_is_empty_by_default_and_still_refuses_unsafe_names():
    assert MODEL_NAME.default == "" and MODEL_NAME.check("") == "" and MODEL_NAME.check(None) is None
    for bad in ("..", ".", "a/b", "x" * 101):
        with pytest.raises(StepError, match="model_name"):
            MODEL_NAME.check(bad)


@pytest.mark.parametrize("action", ["deploy", "roll back"])
@pytest.mark.parametrize("empty", ["", None])
def test_a_step_on_an_existing_model_needs_its_name(action, empty):
    assert required_model_name("fashion_mnist_8x8", action) == "fashion_mnist_8x8"
    with pytest.raises(StepError, match=f"model_name is empty: name the registered model to {action}"):
        required_model_name(empty, action)


def test_a_null_model_name_is_derived_like_an_empty_one():
    assert model_name_for(None, (28, 28), FASHION_MNIST_CATEGORIES) == ("fashion_mnist", True)
