"""Deploy a registered version the gate approved: champion alias, history, serving folder.

Layout of the serving folder: ``<serving_root>/<model_name>/<version>/`` holding a
TensorFlow SavedModel, which TensorFlow Serving picks up without a restart.
"""

from __future__ import annotations

from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.contract import run_step
from tasks.model.promotion import promote
from tasks.model.registry import client

CONTRACT = CONTRACTS["deploy"]


def deploy(tracking_uri: str, model_name: str, version: int, serving_root: str, reason: str, by: str) -> dict:
    """Promote ``version`` to champion and serve it."""
    return promote(client(tracking_uri), tracking_uri, model_name, version, Path(serving_root), "deploy", reason, by)


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, deploy)


if __name__ == "__main__":
    raise SystemExit(main())
