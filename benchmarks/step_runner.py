"""Run one step's CLI with its libraries imported first, and say how long the work itself took.

``python -m benchmarks.step_runner REPORT STEP ARGS...`` imports what the step will
import (that is start-up, the same whatever the data size), then calls
``tasks.steps.<STEP>.main(ARGS)`` (what ``python -m tasks STEP ARGS`` calls) and writes
``{"startup_s", "work_s", "peak_rss_mb", "code"}`` to REPORT. The peak RSS is the
kernel's ``VmHWM`` of this process: ``ru_maxrss`` would not do, since Linux carries
the forking parent's RSS over ``exec`` into it.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

PRELOAD = {
    "fetch": ("pyarrow.csv", "pyarrow.compute"),  # fsspec only for remote or gzipped sources
    "validate": ("great_expectations", "pandas", "pyarrow.compute"),
    "prepare": ("pyarrow.compute",),
    "features": ("pyarrow.compute",),
}


def peak_rss_mb() -> float:
    """This process's high-water RSS in MB (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    report, step, args = Path(argv[0]), argv[1], argv[2:]
    started = time.perf_counter()
    for name in (f"tasks.steps.{step}", *PRELOAD.get(step, ())):
        importlib.import_module(name)
    loaded = time.perf_counter()
    code = importlib.import_module(f"tasks.steps.{step}").main(args)
    done = time.perf_counter()
    report.write_text(json.dumps({"startup_s": loaded - started, "work_s": done - loaded,
                                  "peak_rss_mb": peak_rss_mb(), "code": code}))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
