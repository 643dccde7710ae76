"""The pipeline's two decisions as plain functions: which model to start from, and whether to deploy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

BUILD_MODEL = "build_model"
LOAD_PRETRAINED = "load_pretrained"


def choose_model_source(use_pretrained_model: bool) -> str:
    """The task that provides the model to train: fine-tune a pretrained one, or build one."""
    return LOAD_PRETRAINED if use_pretrained_model else BUILD_MODEL


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def gate_decision(accuracy: float | None, threshold: float, champion_accuracy: float | None = None,
                  min_improvement: float = 0.0, champion_version: int | None = None) -> tuple[bool, str]:
    """Deploy only if the challenger clears the threshold and beats the champion; say why either way.

    The champion's accuracy must come from the same test split as the challenger's.
    With no champion (the first run), or one that cannot be scored on this data, the
    threshold alone decides.
    """
    if not _usable(accuracy):
        return False, f"no usable test accuracy ({accuracy!r}): not deploying"
    if accuracy < threshold:
        return False, f"accuracy {accuracy:.4f} < threshold {threshold:.4f}: not deploying, the champion stays"
    clears = f"accuracy {accuracy:.4f} >= threshold {threshold:.4f}"
    if champion_version is None:
        return True, f"{clears} and there is no champion yet: deploying"
    if not _usable(champion_accuracy):
        return True, f"{clears}; champion v{champion_version} cannot be scored on this data: deploying"
    needed = champion_accuracy + min_improvement
    if accuracy >= needed:
        return True, (f"{clears} and beats champion v{champion_version} ({champion_accuracy:.4f}) by "
                      f"{accuracy - champion_accuracy:+.4f} >= {min_improvement:.4f}: deploying")
    return False, (f"{clears} but does not beat champion v{champion_version} ({champion_accuracy:.4f}) by "
                   f"{min_improvement:.4f}: not deploying, the champion stays")


def gate_for(params: Mapping[str, Any], registration: Mapping[str, Any]) -> tuple[bool, str]:
    """The gate's decision for a run: its form settings (checked) against ``register``'s result."""
    from mlops_pipeline.contract_wiring import checked

    rules = checked(params, "gate")
    return gate_decision(registration.get("accuracy"), rules["accuracy_threshold"],
                         registration.get("champion_accuracy"), rules["min_improvement"],
                         registration.get("champion_version"))
