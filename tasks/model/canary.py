"""The canary: where a roll-out in progress is recorded, and whether live accuracy completes or ends it.

``deploy`` with ``canary_percent`` > 0 makes the new version the champion (the registry alias and the
serving folder that ``make serve`` follows) and writes three manifests in its output folder
(``serving.yaml``: the cluster's route sends the canary its share, the previous champion the rest;
``serving-complete.yaml``: all traffic to the new version; ``serving-rollback.yaml``: all back to the
previous champion). It records the roll-out as the registered model's ``canary`` tag (:func:`record`), so
the ``canary`` step, run by the monitoring DAG, finds it wherever it runs.

:func:`decide` judges the canary on the labels users sent back (the feedback store): with fewer than
``min_labelled`` labelled answers from the canary or from the stable version, the figures are noise and
the verdict is to wait; otherwise the canary is rolled back when even the top of its Wilson 95% interval
is below the stable version's live accuracy minus ``max_drop`` (it is worse beyond doubt), and completed
otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFESTS = {"promote": "serving-complete.yaml", "rollback": "serving-rollback.yaml"}
CANARY_TAG = "canary"  # on the registered model: the roll-out in progress (JSON), absent when none
REJECTED_TAG = "canary_rejected"  # on a version the canary step rolled back: why


@dataclass(frozen=True)
class Verdict:
    """``promote``, ``rollback`` or ``wait`` (too little feedback yet), and why in one line."""

    action: str
    reason: str

    def manifest(self, deploy_folder: Path) -> Path | None:
        """The manifest to apply for this verdict (None while waiting)."""
        name = MANIFESTS.get(self.action)
        return Path(deploy_folder) / name if name else None


@dataclass(frozen=True)
class Live:
    """One version's labelled feedback: how many answers users labelled, and how many of those were right."""

    correct: int
    labelled: int

    def __post_init__(self) -> None:
        if not 0 <= self.correct <= self.labelled:
            raise ValueError(f"{self.correct} correct out of {self.labelled} labelled is not a count")

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def interval(self) -> tuple[float, float]:
        from tasks.feedback.stats import wilson_interval

        return wilson_interval(self.correct, self.labelled)

    def describe(self) -> str:
        if not self.labelled:
            return "no labelled answers"
        low, high = self.interval()
        return f"{self.accuracy:.4f} (95% CI {low:.3f}-{high:.3f}) on {self.labelled} labelled"


def decide(canary: Live, stable: Live, max_drop: float = 0.02, min_labelled: int = 100) -> Verdict:
    """Complete the canary unless its live accuracy is, beyond its interval, ``max_drop`` below the stable's."""
    if not 0.0 <= max_drop < 1.0:
        raise ValueError(f"max_drop {max_drop!r} is not a share in [0, 1)")
    short = [f"{name} has {live.labelled}" for name, live in (("canary", canary), ("stable", stable))
             if live.labelled < min_labelled]
    if short:
        return Verdict("wait", f"too few labelled answers to judge: {', '.join(short)}, {min_labelled} needed each")
    floor = stable.accuracy - max_drop
    _, high = canary.interval()
    versus = f"canary {canary.describe()} vs stable {stable.describe()}"
    if high < floor:
        return Verdict("rollback", f"{versus}: the canary's upper bound {high:.3f} < {floor:.4f} (stable - {max_drop})")
    return Verdict("promote", f"{versus}: the canary's upper bound {high:.3f} >= {floor:.4f} (stable - {max_drop})")


def live_of(figures: dict[str, dict[str, Any]], version: int) -> Live:
    """A version's :class:`Live` from ``store.live_accuracy``'s figures (none: nothing labelled)."""
    found = figures.get(str(version)) or {}
    return Live(int(found.get("correct", 0)), int(found.get("labelled", 0)))


def record(mlflow_client: Any, model_name: str, canary: dict[str, Any] | None) -> None:
    """Start (a dict: ``version``, ``stable``, ``percent``, ``folder``, ``at``) or end (None) the recorded canary."""
    if canary is not None:
        mlflow_client.set_registered_model_tag(model_name, CANARY_TAG, json.dumps(canary, sort_keys=True))
    elif CANARY_TAG in (mlflow_client.get_registered_model(model_name).tags or {}):
        mlflow_client.delete_registered_model_tag(model_name, CANARY_TAG)


def recorded(mlflow_client: Any, model_name: str) -> dict[str, Any] | None:
    """The model's canary in progress, or None; a record that is not what :func:`record` writes raises ValueError."""
    text = (mlflow_client.get_registered_model(model_name).tags or {}).get(CANARY_TAG)
    if not text:
        return None
    found = json.loads(text)
    if not isinstance(found, dict) or not all(isinstance(found.get(k), int) for k in ("version", "stable")) \
            or not isinstance(found.get("folder"), str):
        raise ValueError("not a canary record (version, stable, folder)")
    return found
