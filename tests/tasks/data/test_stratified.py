"""The split step's stratified draw is scikit-learn's, row for row, without importing it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from tasks.data.stratified import stratified_split


def _labels(rows: int, classes: int, skew: float, seed: int) -> np.ndarray:
    weights = np.linspace(1, 1 + skew, classes)
    labels = np.random.default_rng(seed).choice(classes, size=rows, p=weights / weights.sum())
    labels[:2 * classes] = np.repeat(np.arange(classes), 2)  # every class at least twice
    return labels


@pytest.mark.parametrize("rows", [23, 100, 999, 1797, 12_000])
@pytest.mark.parametrize("classes", [2, 3, 10])
@pytest.mark.parametrize("skew", [0.0, 4.0])
def test_the_draw_is_train_test_split_row_for_row(rows, classes, skew):
    labels = _labels(rows, classes, skew, rows + classes)
    for share in (0.1, 0.15, 0.2, 1 / 3, 0.5):
        for seed in (0, 1, 42, 2024):
            try:
                expected = train_test_split(np.arange(rows), test_size=share, random_state=seed, stratify=labels)
            except ValueError:
                with pytest.raises(ValueError):
                    stratified_split(labels, share, seed)
                continue
            kept, held = stratified_split(labels, share, seed)
            np.testing.assert_array_equal(kept, expected[0])
            np.testing.assert_array_equal(held, expected[1])


def test_parts_are_disjoint_cover_every_row_and_keep_each_class_share():
    labels = _labels(5_000, 10, 3.0, 7)
    kept, held = stratified_split(labels, 0.2, 3)
    assert len(held) == 1_000 and len(set(kept) | set(held)) == 5_000 and not set(kept) & set(held)
    shares = np.bincount(labels[held], minlength=10) / np.bincount(labels, minlength=10)
    assert np.all(np.abs(shares - 0.2) < 0.01)
    other = stratified_split(labels, 0.2, 4)[1]
    assert not np.array_equal(np.sort(held), np.sort(other))  # the seed decides the draw


@pytest.mark.parametrize(("labels", "share", "words"), [
    (np.array([0, 0, 0, 1]), 0.5, "only 1 member"),
    (np.array([0, 0, 1, 1, 2, 2, 0, 1]), 0.2, "test_size = 2"),
    (np.array([0, 0, 1, 1]), 0.9, "train set will be empty"),
    (np.array([0, 0, 1, 1]), 1.0, "(0, 1)"),
])
def test_a_draw_that_cannot_be_stratified_says_why(labels, share, words):
    with pytest.raises(ValueError) as caught:
        stratified_split(labels, share, 0)
    assert words in str(caught.value)
