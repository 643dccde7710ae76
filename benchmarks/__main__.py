"""Run the benchmark suite, print one line per figure, append the records to ``results.jsonl``.

    python -m benchmarks                      # every benchmark, full size (~40 min on 2 cores)
    python -m benchmarks --quick              # tiny sizes: only proves the code still runs
    python -m benchmarks --only data_path training --results /tmp/r.jsonl

Each figure comes with a baseline measured in the same run and the ratio between
them, so a figure from a slower machine is still comparable: the ratio travels.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from benchmarks.record import RESULTS, append, machine

BENCHMARKS = ("dag_parse", "orchestration", "data_reuse", "data_path", "scale", "training", "quality", "serving",
              "feedback", "tuning")
QUIET_ENV = {"GX_ANALYTICS_ENABLED": "false", "MLFLOW_ENABLE_TELEMETRY": "false", "DO_NOT_TRACK": "true",
             "TF_CPP_MIN_LOG_LEVEL": "2", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, targets not judged where meaningless")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), help="benchmarks to run")
    parser.add_argument("--results", type=Path, default=None,
                        help=f"JSON-lines file to append to (default {RESULTS.name}; --quick: none unless given)")
    args = parser.parse_args(argv)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    results = args.results or (None if args.quick else RESULTS)
    print(f"machine: {machine()}", flush=True)
    failed = []
    for name in args.only:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            figures = module.run(quick=args.quick)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            print(f"{name} failed: {err}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        for figure in figures:
            if args.quick:
                figure.target = None  # tiny sizes say nothing about the targets; --quick only keeps the code working
            print(figure.line(), flush=True)
        if results:
            append(figures, results, args.quick)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
