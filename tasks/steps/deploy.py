"""Deploy a registered version the gate approved: champion alias, history, serving folder.

Layout of the serving folder: ``<serving_root>/<model_name>/<version>/`` holding a
TensorFlow SavedModel, which TensorFlow Serving picks up without a restart.

Before anything moves, the version's input signature (image shape, category names,
label encoding) is checked against the served champion's: a version that takes other
input, or a champion whose signature or registry entry cannot be read, is refused
with one line (exit 2, nothing touched) unless ``replace_incompatible_champion`` is set,
which the promotion history then records.

The step's output folder gets the version's serving manifest (``serving.yaml``, see
``tasks/model/manifest.py``): TF Serving pinned to this version, served from a copy of its
SavedModel in the same folder; with ``canary_percent`` > 0 the previous champion keeps the
rest of the traffic, and ``serving-complete.yaml`` / ``serving-rollback.yaml`` end the canary
(the ``canary`` step decides which, from live feedback accuracy). The canary is recorded on the
registered model (``tasks/model/canary.py``'s ``record``); a deploy without one ends any recorded before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.model.canary import record
from tasks.model.champion import champion_status, version_signature
from tasks.model.comparison import OTHER_INPUT_HINT, signature_mismatch
from tasks.model.manifest import SERVING_IMAGE, keep_previous, write_manifests
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
           output: Path | None = None, replace_incompatible_champion: bool = False, canary_percent: int = 0,
           serving_image: str = SERVING_IMAGE) -> dict:
    """Promote ``version`` to champion and serve it, if its input matches what is served (or that is forced)."""
    model_name = required_model_name(model_name, "deploy")
    mlflow_client = client(tracking_uri)
    problem, hint = incompatibility(mlflow_client, model_name, version) or (None, "")
    if problem and not replace_incompatible_champion:
        raise StepError(f"not deploying {model_name} v{version}: {problem}; {hint}")
    # Recorded whenever it is set: the gate may have forced past a champion it could not score (its reason says so).
    forced = {"replace_incompatible_champion": True, "forced_over": problem} if replace_incompatible_champion else None
    previous = champion_status(mlflow_client, model_name).version
    canary = bool(canary_percent and output) and keep_previous(output, Path(serving_root), model_name, previous,
                                                               version)
    result = promote(mlflow_client, tracking_uri, model_name, version, Path(serving_root), "deploy", reason, by,
                     forced=forced)
    if output is None:  # called in process without an output folder: no manifest
        record(mlflow_client, model_name, None)
        return result
    manifests = write_manifests(output, model_name, version, previous, Path(serving_root),
                                canary_percent if canary else 0, serving_image)
    record(mlflow_client, model_name, {"version": int(version), "stable": previous, "percent": canary_percent,
                                       "folder": str(output), "at": result["at"]} if canary else None)
    return {**result, "canary_percent": canary_percent if canary else 0, "manifest": manifests["serving"],
            "manifests": manifests}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, deploy)


if __name__ == "__main__":
    raise SystemExit(main())
