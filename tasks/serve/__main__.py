"""``python -m tasks.serve``: serve the deployed champion on loopback until interrupted (``make serve``).

    python -m tasks.serve --port 8501 [--host 127.0.0.1] [--serving-root DIR] [--model-name fashion_mnist]

The serving root defaults to ``$PIPELINE_SERVING_ROOT``, else ``<PIPELINE_STATE_DIR or .state>/serving``:
the folder ``deploy`` and ``rollback`` write.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from tasks.core.common import StepError
from tasks.core.parameters import MODEL_NAME
from tasks.serve.backends import ROOT
from tasks.serve.front import make_server
from tasks.serve.switch import ServedModel


def default_serving_root() -> Path:
    if os.environ.get("PIPELINE_SERVING_ROOT"):
        return Path(os.environ["PIPELINE_SERVING_ROOT"])
    return Path(os.environ.get("PIPELINE_STATE_DIR") or ROOT / ".state") / "serving"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does: backends drained and stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501, help="port of the TF Serving REST API [8501]")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind [127.0.0.1: this machine only]")
    parser.add_argument("--serving-root", type=Path, default=None, help="serving folder (see above)")
    parser.add_argument("--model-name", default=MODEL_NAME.default, help=f"served model [{MODEL_NAME.default}]")
    args = parser.parse_args(argv)
    try:
        MODEL_NAME.check(args.model_name)
    except StepError as err:
        print(f"error: serve: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="[serve] %(message)s", stream=sys.stderr)
    served = ServedModel(args.serving_root or default_serving_root(), args.model_name)
    server = make_server(served, args.host, args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    served.start()
    logging.getLogger("tasks.serve").info(
        "POST http://%s:%s/v1/models/%s:predict serves %s", args.host, server.server_port, args.model_name,
        served.serving_root / args.model_name)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        served.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
