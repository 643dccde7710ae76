"""Put an earlier, proven version back in production in one step.

The target defaults to the previous champion (from the promotion history). A
target that does not exist, or no previous champion, fails with one line and
changes nothing; otherwise the alias moves, the serving folder follows, and the
rollback is recorded in the history with its reason. The model must be named:
an empty ``model_name`` is refused, since there is no run input to derive it from.
"""

from __future__ import annotations

from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.model.naming import required_model_name
from tasks.model.promotion import promote
from tasks.model.registry import champion_version, client, get_version, read_history

CONTRACT = CONTRACTS["rollback"]


def previous_champion(mlflow_client, model_name: str) -> int:
    """The version that was champion before the current one."""
    current = champion_version(mlflow_client, model_name)
    if current is None:
        raise StepError(f"model {model_name!r} has no champion: nothing to roll back")
    for entry in reversed(read_history(mlflow_client, model_name)):
        if entry["version"] == int(current.version) and entry.get("previous_version"):
            return int(entry["previous_version"])
    raise StepError(f"model {model_name!r} version {current.version} has no previous champion to roll back to")


def rollback(tracking_uri: str, model_name: str | None, target_version: int, serving_root: str | Path, reason: str,
             by: str) -> dict:
    """Make ``target`` (default: the previous champion) the champion and the served model again."""
    model_name = required_model_name(model_name, "roll back")
    mlflow_client = client(tracking_uri)
    if not mlflow_client.search_registered_models(filter_string=f"name = '{model_name}'"):
        raise StepError(f"no registered model {model_name!r}")
    version = target_version or previous_champion(mlflow_client, model_name)
    get_version(mlflow_client, model_name, version)
    current = champion_version(mlflow_client, model_name)
    if current is not None and int(current.version) == version:
        raise StepError(f"model {model_name!r} version {version} is already the champion")
    return promote(mlflow_client, tracking_uri, model_name, version, Path(serving_root), "rollback", reason, by)


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, rollback)


if __name__ == "__main__":
    raise SystemExit(main())
