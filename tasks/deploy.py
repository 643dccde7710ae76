"""Deploy a registered version the gate approved: champion alias, history, serving folder.

Layout of the serving folder: ``<serving_root>/<model_name>/<version>/`` holding a
TensorFlow SavedModel, which TensorFlow Serving picks up without a restart.

Before anything moves, the version's input signature (image shape, category names,
label encoding) is checked against the served champion's: a version that takes other
input, or a champion whose signature or registry entry cannot be read, is refused
with one line (exit 2, nothing touched) unless ``replace_incompatible_champion`` is set,
which the promotion history then records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.model.champion import champion_status, version_signature
from tasks.model.comparison import OTHER_INPUT_HINT, signature_mismatch
from tasks.model.naming import required_model_name
from tasks.model.promotion import promote
from tasks.model.registry import client, get_version

CONTRACT = CONTRACTS["deploy"]


def incompatibility(mlflow_client: Any, model_name: str, version: int) -> tuple[str, str] | None:
    """Why ``version`` may not replace what is served and what to do, in one line each; None when it may."""
    status = champion_status(mlflow_client, model_name)
    replace = "set replace_incompatible_champion=true to replace it"
    if status.error is not None:
        return f"cannot tell what is served ({status.error})", replace
    if status.version is None or status.version == int(version):
        return None
    candidate = version_signature(get_version(mlflow_client, model_name, version).tags)
    served = version_signature(get_version(mlflow_client, model_name, status.version).tags)
    if candidate is None or served is None:
        which = f"version {version}" if candidate is None else f"served champion v{status.version}"
        return f"{which} records no input signature", replace
    mismatch = signature_mismatch(served, candidate)
    if not mismatch:
        return None
    return f"version {version} takes other input than served v{status.version}: {mismatch}", OTHER_INPUT_HINT


def deploy(tracking_uri: str, model_name: str | None, version: int, serving_root: str, reason: str, by: str,
           replace_incompatible_champion: bool = False) -> dict:
    """Promote ``version`` to champion and serve it, if its input matches what is served (or that is forced)."""
    model_name = required_model_name(model_name, "deploy")
    mlflow_client = client(tracking_uri)
    problem, hint = incompatibility(mlflow_client, model_name, version) or (None, "")
    if problem and not replace_incompatible_champion:
        raise StepError(f"not deploying {model_name} v{version}: {problem}; {hint}")
    # Recorded whenever it is set: the gate may have forced past a champion it could not score (its reason says so).
    forced = {"replace_incompatible_champion": True, "forced_over": problem} if replace_incompatible_champion else None
    return promote(mlflow_client, tracking_uri, model_name, version, Path(serving_root), "deploy", reason, by,
                   forced=forced)


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, deploy)


if __name__ == "__main__":
    raise SystemExit(main())
