"""Write the embedded digits dataset (with its faults) as a Fashion-MNIST-layout CSV.

Used to seed a landing folder or to produce test data; the training DAG's ``fetch``
step builds the same frame itself for the ``embedded://digits`` source.
"""

from __future__ import annotations

from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_file, sha256_file
from tasks.core.contract import run_step
from tasks.data.sources import build_digits_frame

CONTRACT = CONTRACTS["make_dataset"]


def make_dataset(output: Path, invalid_label_rate: float, empty_cell_rate: float, fault_seed: int) -> dict:
    """Build the digits frame and write it to the ``output`` file atomically."""
    target = output
    try:
        frame = build_digits_frame(invalid_label_rate, empty_cell_rate, fault_seed)
    except ValueError as err:
        raise StepError(str(err)) from err
    with atomic_file(target) as tmp:
        frame.to_csv(tmp, index=False)
    return {"dataset": str(target), "rows": len(frame), "sha256": sha256_file(target)}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, make_dataset)


if __name__ == "__main__":
    raise SystemExit(main())
