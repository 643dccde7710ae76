"""The pipeline's two decisions as plain functions: which model to start from, and whether to deploy."""

from __future__ import annotations

import math

BUILD_MODEL = "build_model"
LOAD_PRETRAINED = "load_pretrained"


def choose_model_source(use_pretrained_model: bool) -> str:
    """The task that provides the model to train: fine-tune a pretrained one, or build one."""
    return LOAD_PRETRAINED if use_pretrained_model else BUILD_MODEL


def gate_decision(accuracy: float | None, threshold: float) -> tuple[bool, str]:
    """Deploy only if the test accuracy clears the threshold; say why either way."""
    if accuracy is None or not math.isfinite(accuracy):
        return False, f"no usable test accuracy ({accuracy!r}): not deploying"
    if accuracy >= threshold:
        return True, f"accuracy {accuracy:.4f} >= threshold {threshold:.4f}: deploying"
    return False, f"accuracy {accuracy:.4f} < threshold {threshold:.4f}: not deploying, the served model stays"
