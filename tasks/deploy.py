"""Deploy a registered version the gate approved: champion alias, history, serving folder.

Layout of the serving folder: ``<serving_root>/<model_name>/<version>/`` holding a
TensorFlow SavedModel, which TensorFlow Serving picks up without a restart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tasks.common import run_cli
from tasks.promotion import promote
from tasks.registry import client


def deploy(tracking_uri: str, model_name: str, version: int, serving_root: Path, reason: str, by: str) -> dict:
    """Promote ``version`` to champion and serve it."""
    return promote(client(tracking_uri), tracking_uri, model_name, version, serving_root, "deploy", reason, by)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks deploy", description=__doc__)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--version", required=True, type=int, help="registered version to deploy")
    parser.add_argument("--serving-root", required=True, type=Path, help="base folder of served models")
    parser.add_argument("--reason", default="approved by the gate")
    parser.add_argument("--by", default="unknown", help="who or what deployed (e.g. the Airflow run)")
    a = parser.parse_args(argv)
    return run_cli("deploy", lambda: deploy(a.tracking_uri, a.model_name, a.version, a.serving_root, a.reason,
                                            a.by))


if __name__ == "__main__":
    raise SystemExit(main())
