"""Split the features into stratified train, validation and test bundles.

The validation share feeds early stopping; the test share is touched only by
``evaluate``, so the reported accuracy is on data no training decision saw.
"""

from __future__ import annotations

from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.data.arrays import Bundle, load_bundle, save_bundle
from tasks.data.encoding import class_indices
from tasks.data.stratified import stratified_split

CONTRACT = CONTRACTS["split"]


def _divide(bundle: Bundle, share: float, seed: int) -> tuple[Bundle, Bundle]:
    keep, held = stratified_split(class_indices(bundle.y), share, seed)
    pick = lambda idx: Bundle(bundle.x[idx], bundle.y[idx], bundle.classes, bundle.encoding)  # noqa: E731
    return pick(keep), pick(held)


def split(input: str, output: Path, test_size: float, validation_size: float, random_state: int) -> dict:
    """Write ``train.npz``, ``val.npz`` and ``test.npz``; shares are of the whole dataset."""
    input_uri = input
    # The declared bounds (tasks/core/parameters.py: test <= 0.5, validation <= 0.4) leave training rows.
    CONTRACT.setting("test_size").check(test_size)
    CONTRACT.setting("validation_size").check(validation_size)
    bundle = load_bundle(input_uri, scaled=False)  # pixels stay as features wrote them (uint8)
    try:
        rest, test = _divide(bundle, test_size, random_state)
        del bundle  # peak memory: the whole set and its parts, never two generations of copies
        train, val = _divide(rest, validation_size / (1 - test_size), random_state)
    except ValueError as err:
        raise StepError(f"{input_uri}: cannot stratify ({err})") from err
    result: dict = {}
    for name, part in (("train", train), ("val", val), ("test", test)):
        target = CONTRACT.output_path(output, name)
        save_bundle(target, part)
        result[name] = str(target)
        result[f"{name}_rows"] = len(part)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, split)


if __name__ == "__main__":
    raise SystemExit(main())
