"""A JSON object from a setting's text: the register step's lineage and run parameters, the scheduler's placement."""

from __future__ import annotations

import pytest

from tasks.core.common import StepError, json_object


def test_an_object_is_returned_as_it_was_written():
    assert json_object("lineage", '{"dataset_sha256": "ab", "rows": 3}') == {"dataset_sha256": "ab", "rows": 3}


@pytest.mark.parametrize(("text", "words"), [("{not json", "lineage is not valid JSON ("),
                                             ("[1, 2]", "lineage must be a JSON object, got list"),
                                             ("", "lineage is not valid JSON (")])
def test_anything_else_is_one_line_naming_the_setting_in_the_callers_error_type(text, words):
    with pytest.raises(StepError) as refused:
        json_object("lineage", text)
    assert str(refused.value).startswith(words) and "\n" not in str(refused.value)
    with pytest.raises(ValueError, match="PIPELINE_TRAIN_AFFINITY must be a JSON object"):
        json_object("PIPELINE_TRAIN_AFFINITY", '"a string"', ValueError)
