"""Write the embedded digits dataset (with its faults) as a Fashion-MNIST-layout CSV.

Used to seed a landing folder or to produce test data; the training DAG's ``fetch``
step builds the same frame itself for the ``embedded://digits`` source.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tasks.common import StepError, atomic_file, run_cli, sha256_file
from tasks.embedded_dataset import build_digits_frame


def make_dataset(output: Path, invalid_label_rate: float, empty_cell_rate: float, seed: int) -> dict:
    """Build the digits frame and write it to ``output`` atomically."""
    try:
        frame = build_digits_frame(invalid_label_rate, empty_cell_rate, seed)
    except ValueError as err:
        raise StepError(str(err)) from err
    with atomic_file(output) as tmp:
        frame.to_csv(tmp, index=False)
    return {"dataset": str(output), "rows": len(frame), "sha256": sha256_file(output)}


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """The fault-injection knobs, shared with the fetch step."""
    parser.add_argument("--invalid-label-rate", type=float, default=0.05, help="share of rows with an invalid label")
    parser.add_argument("--empty-cell-rate", type=float, default=0.001, help="share of pixel cells left empty")
    parser.add_argument("--seed", type=int, default=42, help="seed of the fault positions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks make_dataset", description=__doc__)
    parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
    add_fault_arguments(parser)
    args = parser.parse_args(argv)
    return run_cli(
        "make_dataset",
        lambda: make_dataset(args.output, args.invalid_label_rate, args.empty_cell_rate, args.seed),
    )


if __name__ == "__main__":
    raise SystemExit(main())
