"""The monitoring statistics on tiny data: the Wilson interval of a live accuracy, and PSI drift."""

from __future__ import annotations

import pytest

from tasks.feedback.stats import class_psi, intensity_psi, psi, wilson_interval


def test_the_wilson_interval_matches_the_textbook_figures_and_stays_inside_0_1():
    # 8 of 10 correct: the Wilson 95% interval is 0.490-0.943 (the normal approximation would say 0.552-1.048)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing observed: nothing known


def test_more_labelled_rows_narrow_the_interval_around_the_same_accuracy():
    small, large = wilson_interval(8, 10), wilson_interval(800, 1000)
    assert small[0] < large[0] < 0.8 < large[1] < small[1]


def test_a_count_that_is_not_a_count_is_refused():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift():
    assert psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    # (0.5-0.2)ln(0.5/0.2) + (0.3-0.3)*0 + (0.2-0.5)ln(0.2/0.5) = 0.6 ln 2.5
    assert psi([2, 3, 5], [5, 3, 2]) == pytest.approx(0.6 * 0.916290731874155)
    assert psi([1, 1], [1, 0]) > 1  # an empty bin counts as 0.01%, not infinity


def test_psi_refuses_histograms_of_different_bins():
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])


def test_class_psi_sees_a_model_that_predicts_one_class_only():
    train = [0, 1, 2, 3] * 25
    assert class_psi(train, [0, 1, 2, 3] * 5, classes=4) == pytest.approx(0.0)
    assert class_psi(train, [2] * 20, classes=4) > 0.25


def test_intensity_psi_sees_brighter_images_but_not_a_sample_of_the_same_ones():
    train = [float(v) for v in range(100)]
    assert intensity_psi(train, train[::3]) < 0.1
    assert intensity_psi(train, [v + 60 for v in train]) > 0.25
