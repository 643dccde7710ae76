"""The pipeline's two decisions as plain functions: which model to start from, and whether to deploy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BUILD_MODEL = "build_model"
LOAD_PRETRAINED = "load_pretrained"


def choose_model_source(use_pretrained_model: bool) -> str:
    """The task that provides the model to train: fine-tune a pretrained one, or build one."""
    return LOAD_PRETRAINED if use_pretrained_model else BUILD_MODEL


def champion_state(registration: Mapping[str, Any]) -> Any:
    """The champion as ``register`` found it: none, compared on unseen rows, or not comparable (and why)."""
    from tasks.model.comparison import ChampionState

    found = registration.get("champion") or {}
    if found.get("problem"):
        return ChampionState.unscorable(found["problem"], found.get("version"), bool(found.get("other_input")))
    if found.get("version") is not None:
        return ChampionState.scored(found["version"], found.get("table") or {})
    return ChampionState()


def gate_for(params: Mapping[str, Any], registration: Mapping[str, Any]) -> tuple[bool, str, dict]:
    """The gate's decision for a run, one line saying why, and the comparison table behind it.

    The rule (``tasks.model.comparison.decide_promotion``): the challenger must clear the
    accuracy threshold; with a champion, it must also beat it on at least ``min_comparison_rows``
    test rows neither trained on, by ``min_improvement`` and with McNemar p < ``significance``.
    A champion that cannot be compared blocks it unless ``replace_incompatible_champion``.
    """
    from mlops_pipeline.contract_wiring import checked
    from tasks.model.comparison import decide_promotion

    rules = checked(params, "gate")
    return decide_promotion(registration.get("accuracy"), rules["accuracy_threshold"], champion_state(registration),
                            min_comparison_rows=rules["min_comparison_rows"], min_improvement=rules["min_improvement"],
                            significance=rules["significance"],
                            replace_incompatible_champion=rules["replace_incompatible_champion"])


def comparison_lines(table: Mapping[str, Any]) -> list[str]:
    """The comparison table as log lines: what the gate compared and what it decided."""
    def text(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    keys = ("champion_version", "rows", "test_rows", "champion_accuracy", "challenger_accuracy", "difference",
            "p_value", "champion_accuracy_all_test_rows", "champion_problem", "decision", "reason")
    return [f"  {key:<32} {text(table[key])}" for key in keys if table.get(key) is not None]
