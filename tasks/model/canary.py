"""The canary's seam: given live accuracy, complete the canary or roll it back.

``deploy`` with ``canary_percent`` > 0 writes three manifests (``serving.yaml``: the canary
stage; ``serving-complete.yaml``: all traffic to the new version; ``serving-rollback.yaml``:
all traffic back to the previous champion). Which one follows is :func:`decide`'s answer on
the canary's live accuracy, from the feedback store (labels users send back, not built yet);
a caller applies the chosen file and, for a rollback, runs the ``rollback`` step too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MANIFESTS = {"promote": "serving-complete.yaml", "rollback": "serving-rollback.yaml"}


@dataclass(frozen=True)
class Verdict:
    """``promote``, ``rollback`` or ``wait`` (too little feedback yet), and why in one line."""

    action: str
    reason: str

    def manifest(self, deploy_folder: Path) -> Path | None:
        """The manifest to apply for this verdict (None while waiting)."""
        name = MANIFESTS.get(self.action)
        return Path(deploy_folder) / name if name else None


def decide(live_accuracy: float | None, labelled_requests: int, champion_accuracy: float,
           max_drop: float = 0.02, min_requests: int = 200) -> Verdict:
    """Promote the canary unless its live accuracy falls more than ``max_drop`` below the champion's.

    ``champion_accuracy`` is the previous champion's accuracy on the same live traffic (or its
    test accuracy where no live figure exists); with fewer than ``min_requests`` labelled
    canary answers the figure is noise, so the verdict is to wait.
    """
    if live_accuracy is None or labelled_requests < min_requests:
        return Verdict("wait", f"{labelled_requests} labelled canary requests, {min_requests} needed")
    if not 0.0 <= live_accuracy <= 1.0:
        raise ValueError(f"live accuracy {live_accuracy!r} is not a share in [0, 1]")
    floor = champion_accuracy - max_drop
    if live_accuracy < floor:
        return Verdict("rollback", f"live accuracy {live_accuracy:.4f} < {floor:.4f} (champion "
                                   f"{champion_accuracy:.4f} - {max_drop})")
    return Verdict("promote", f"live accuracy {live_accuracy:.4f} >= {floor:.4f} over {labelled_requests} requests")
