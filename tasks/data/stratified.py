"""A stratified train/test draw in numpy alone: the split step no longer imports scikit-learn.

Importing ``sklearn.model_selection`` took 1.6-1.8 s of the split step's 2 s start-up
(2-core machine) to draw two index lists. This is the same draw as
``train_test_split(np.arange(n), test_size=share, random_state=seed, stratify=labels)``
of the pinned scikit-learn (``StratifiedShuffleSplit``: per-class counts by the
approximate hypergeometric mode, ties broken by the seeded generator, one permutation per
class, then each part permuted): the same rows in the same order for the same seed, so
a run repeats the splits of earlier runs. ``tests/tasks/data/test_stratified.py`` holds the two
equal over many sizes, class balances, shares and seeds.
"""

from __future__ import annotations

import math

import numpy as np


def _approximate_mode(class_counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows to draw per class: the floor of each class's share, the rest to the largest remainders (ties: random)."""
    continuous = class_counts / class_counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


def stratified_split(labels: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(kept, held)``, ``held`` being ``ceil(test_share * rows)`` rows with each class's share.

    Raises ``ValueError`` (one line) when a part would be empty, a class has a single row,
    or a part could not hold one row of every class.
    """
    rows = len(labels)
    if not 0 < test_share < 1:
        raise ValueError(f"test_size={test_share} should be a float in the (0, 1) range")
    n_test = math.ceil(test_share * rows)
    n_train = rows - n_test
    if n_train <= 0:
        raise ValueError(f"With n_samples={rows} and test_size={test_share}, the resulting train set will be empty")
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"The least populated classes in y have only 1 member, which is too few; "
                         f"classes with too few members: {classes[counts < 2].tolist()}")
    for part, size in (("train_size", n_train), ("test_size", n_test)):
        if size < len(classes):
            raise ValueError(f"The {part} = {size} should be greater or equal to the number of classes = "
                             f"{len(classes)}")
    by_class = np.split(np.argsort(codes.ravel(), kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    kept: list[int] = []
    held: list[int] = []
    for i, members in enumerate(by_class):
        shuffled = members.take(rng.permutation(counts[i]), mode="clip")
        kept.extend(shuffled[:train_counts[i]])
        held.extend(shuffled[train_counts[i]:train_counts[i] + test_counts[i]])
    return rng.permutation(kept), rng.permutation(held)
