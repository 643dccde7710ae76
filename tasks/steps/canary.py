"""Complete or roll back each canary in progress, from the live accuracy users' labels give it.

For each registered model with a recorded canary (``deploy`` with ``canary_percent`` > 0; ``--model-name``
narrows it to one), the feedback store's labelled answers of the canary version and of the stable one
(the previous champion) go to ``tasks/model/canary.py``'s ``decide``:

- ``wait``: too few labels on either side; nothing changes, the report says how many are missing;
- ``promote``: the canary stays champion and takes all traffic: ``<model>/serving.yaml`` in the output folder
  is the deploy's ``serving-complete.yaml``, the promotion history gets a ``canary_complete`` entry;
- ``rollback``: the stable version becomes champion and served again (the alias moves back, the serving
  folder follows, as ``rollback`` does), ``<model>/serving.yaml`` is the deploy's ``serving-rollback.yaml``,
  the canary version is tagged ``canary_rejected`` with the reason, and the history gets a
  ``canary_rollback`` entry.

Either verdict ends the recorded canary. A canary whose version is no longer the champion (a deploy or
rollback since) is over: its record is ended and nothing else moves. Everything is read and judged
before anything changes: a registry, database or record that cannot be read, or a deploy folder without
its manifests, is one line (exit 2) with nothing touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_file
from tasks.core.contract import run_step
from tasks.feedback.store import FeedbackStore, live_accuracy, shown
from tasks.model import canary as roll_out
from tasks.model.promotion import promote
from tasks.model.registry import champion_version, client, get_version, record_promotion

CONTRACT = CONTRACTS["canary"]


def canaries(mlflow_client: Any, model_name: str) -> dict[str, dict[str, Any]]:
    """The recorded canaries, by model; a model or record that cannot be read stops the step."""
    from mlflow.exceptions import MlflowException

    names = [model_name] if model_name else [m.name for m in mlflow_client.search_registered_models()]
    found = {}
    for name in names:
        try:
            record = roll_out.recorded(mlflow_client, name)
        except MlflowException as err:
            raise StepError(f"no registered model {name!r} (or the registry cannot read it)") from err
        except ValueError as err:
            raise StepError(f"model {name!r}: its canary record cannot be read ({err})") from err
        if record is not None:
            found[name] = record
    return found


def judge(mlflow_client: Any, db: FeedbackStore, name: str, record: dict[str, Any], max_drop: float,
          min_labelled: int) -> dict[str, Any]:
    """What to do with one model's canary, and the manifest that does it in the cluster; reads only."""
    current = champion_version(mlflow_client, name)
    if current is None or int(current.version) != record["version"]:
        now = f"v{current.version}" if current is not None else "none"
        return {"action": "over", "reason": f"the canary v{record['version']} is no longer the champion ({now} is)"}
    figures = live_accuracy(db.predictions(name))
    verdict = roll_out.decide(roll_out.live_of(figures, record["version"]), roll_out.live_of(figures, record["stable"]),
                              max_drop, min_labelled)
    if verdict.action == "rollback":
        get_version(mlflow_client, name, record["stable"])  # still registered: else one line, nothing touched
    manifest = verdict.manifest(Path(record["folder"]))
    if manifest is not None and not manifest.is_file():
        raise StepError(f"model {name!r}: the canary's deploy folder has no {manifest.name} ({record['folder']})")
    return {"action": verdict.action, "reason": verdict.reason, "manifest": str(manifest) if manifest else None}


def act(mlflow_client: Any, tracking_uri: str, name: str, record: dict[str, Any], decision: dict[str, Any],
        serving_root: Path, output: Path, by: str) -> dict[str, Any]:
    """Carry out a decision (nothing for ``wait``); returns the manifest written for the cluster, if any."""
    if decision["action"] == "wait":
        return {}
    reason = f"canary v{record['version']}: {decision['reason']}"
    if decision["action"] == "rollback":
        promote(mlflow_client, tracking_uri, name, record["stable"], serving_root, "canary_rollback", reason, by)
        mlflow_client.set_model_version_tag(name, str(record["version"]), roll_out.REJECTED_TAG, reason)
    elif decision["action"] == "promote":
        record_promotion(mlflow_client, name, record["version"], record["stable"], "canary_complete", reason, by)
    written = {}
    if decision.get("manifest"):
        target = output / name / "serving.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(target) as tmp:
            shutil.copyfile(decision["manifest"], tmp)
        written = {"serving": str(target)}
    roll_out.record(mlflow_client, name, None)
    return written


def canary(tracking_uri: str, output: Path, serving_root: str, model_name: str | None = "", feedback_db: str = "",
           min_labelled: int = 100, max_drop: float = 0.02, by: str = "unknown") -> dict:
    """Judge every recorded canary, then complete, roll back or leave each one."""
    mlflow_client = client(tracking_uri)
    found = canaries(mlflow_client, model_name or "")
    try:
        db = FeedbackStore(feedback_db or None) if found else None
    except Exception as err:  # noqa: BLE001 - any driver error is one line naming the (masked) URL
        raise StepError(f"feedback database {shown(feedback_db or '')}: cannot open ({type(err).__name__})") from err
    decisions = {name: judge(mlflow_client, db, name, record, max_drop, min_labelled) for name, record in found.items()}
    for name, decision in decisions.items():
        decision.update(act(mlflow_client, tracking_uri, name, found[name], decision, Path(serving_root), output, by))
    report = {"canaries": {name: {**found[name], **decision} for name, decision in decisions.items()}}
    if not found:
        report["why"] = f"no canary in progress{f' for {model_name}' if model_name else ''}"
    path = CONTRACT.output_path(output, "report")
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return {"report": str(path), "decisions": {name: f"{d['action']}: {d['reason']}" for name, d in decisions.items()},
            **({"why": report["why"]} if "why" in report else {})}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, canary)


if __name__ == "__main__":
    raise SystemExit(main())
