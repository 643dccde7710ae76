"""Put an earlier, proven version back in production in one step.

The target defaults to the previous champion (from the promotion history). A
target that does not exist, or no previous champion, fails with one line and
changes nothing; otherwise the alias moves, the serving folder follows, and the
rollback is recorded in the history with its reason.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tasks.common import StepError, run_cli
from tasks.promotion import promote
from tasks.registry import champion_version, client, get_version, read_history


def previous_champion(mlflow_client, model_name: str) -> int:
    """The version that was champion before the current one."""
    current = champion_version(mlflow_client, model_name)
    if current is None:
        raise StepError(f"model {model_name!r} has no champion: nothing to roll back")
    for entry in reversed(read_history(mlflow_client, model_name)):
        if entry["version"] == int(current.version) and entry.get("previous_version"):
            return int(entry["previous_version"])
    raise StepError(f"model {model_name!r} version {current.version} has no previous champion to roll back to")


def rollback(tracking_uri: str, model_name: str, target: int | None, serving_root: Path, reason: str,
             by: str) -> dict:
    """Make ``target`` (default: the previous champion) the champion and the served model again."""
    mlflow_client = client(tracking_uri)
    if not mlflow_client.search_registered_models(filter_string=f"name = '{model_name}'"):
        raise StepError(f"no registered model {model_name!r}")
    version = target if target else previous_champion(mlflow_client, model_name)
    get_version(mlflow_client, model_name, version)
    current = champion_version(mlflow_client, model_name)
    if current is not None and int(current.version) == version:
        raise StepError(f"model {model_name!r} version {version} is already the champion")
    return promote(mlflow_client, tracking_uri, model_name, version, serving_root, "rollback", reason, by)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks rollback", description=__doc__)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--target-version", type=int, default=0, help="version to restore; 0 = previous champion")
    parser.add_argument("--serving-root", required=True, type=Path)
    parser.add_argument("--reason", required=True)
    parser.add_argument("--by", default="unknown")
    a = parser.parse_args(argv)
    return run_cli("rollback", lambda: rollback(a.tracking_uri, a.model_name, a.target_version or None,
                                                a.serving_root, a.reason, a.by))


if __name__ == "__main__":
    raise SystemExit(main())
