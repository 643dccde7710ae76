"""The trigger form offers exactly the choices the steps accept.

The lists live twice on purpose: the form runs in Airflow (plugins/), the checks in the
step images (tasks/), and neither imports the other. This test keeps them in step.
"""

from __future__ import annotations

from mlops_pipeline import params as form
from tasks.build_model import MODEL_TYPES
from tasks.data.sources import EMBEDDED_URI
from tasks.data.encoding import LOSS_ENCODINGS
from tasks.model.model_io import HIDDEN_ACTIVATIONS, OPTIMIZERS, OUTPUT_ACTIVATIONS


def test_every_choice_in_the_form_is_one_a_step_accepts_and_vice_versa():
    assert form.HIDDEN_ACTIVATIONS == list(HIDDEN_ACTIVATIONS)
    assert form.OUTPUT_ACTIVATIONS == list(OUTPUT_ACTIVATIONS)
    assert form.OPTIMIZERS == list(OPTIMIZERS)
    assert form.LOSSES == list(LOSS_ENCODINGS)
    assert form.MODEL_TYPES == list(MODEL_TYPES)


def test_the_default_dataset_is_the_one_fetch_builds_offline():
    assert form.EMBEDDED_DATASET == EMBEDDED_URI
    assert form.training_params()["dataset_uri"].value == EMBEDDED_URI
