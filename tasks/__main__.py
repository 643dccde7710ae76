"""Dispatch ``python -m tasks <step> [args]`` to ``tasks.steps.<step>.main``.

This is the container ENTRYPOINT: a pod passes only the step name and its
arguments, and the local runner builds exactly the same command line.
"""

from __future__ import annotations

import importlib
import sys

from tasks.contracts import STEP_NAMES as STEPS


def main(argv: list[str] | None = None) -> int:
    """Run the step named by the first argument with the remaining arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print("usage: python -m tasks {" + ",".join(STEPS) + "} [step arguments]")
        return 0 if args else 2
    step, rest = args[0], args[1:]
    if step not in STEPS:
        print(f"error: unknown step {step!r}; expected one of {', '.join(STEPS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"tasks.steps.{step}")
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
