"""The monitoring statistics: how sure a live accuracy is, and how far live data drifted from training.

- Live accuracy on n labelled rows is a binomial share: :func:`wilson_interval` gives its 95%
  interval, which stays inside [0, 1] and is honest for small n (the normal approximation is not).
- Drift is the population stability index (PSI) between the training rows and the live ones,
  ``sum((live - train) * ln(live / train))`` over bins of shares: 0 when nothing moved, < 0.1 small,
  0.1-0.25 moderate, > 0.25 large (the usual reading). It is computed on the predicted-class shares
  against the training labels' shares, and on the images' mean pixel intensity binned by the training
  rows' deciles (input drift that no label is needed to see).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054
FLOOR = 1e-4  # a share of 0 in either set would make PSI infinite; an empty bin counts as 0.01%


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / n``; (0, 1) when nothing was observed."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"{successes} successes out of {n} is not a count")
    if n == 0:
        return 0.0, 1.0
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no 0.9999999 for "all correct"
    return low, 1.0 if successes == n else min(1.0, centre + half)


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = FLOOR) -> float:
    """Population stability index between two histograms (counts or shares, same bins)."""
    e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.ndim != 1 or e.size == 0:
        raise ValueError(f"histograms of different bins: {e.shape} and {a.shape}")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("an empty histogram has no distribution")
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def class_psi(train_codes: Sequence[int], live_codes: Sequence[int], classes: int) -> float:
    """PSI of the live predicted classes against the training labels."""
    return psi(np.bincount(np.asarray(train_codes, dtype=int), minlength=classes)[:classes],
               np.bincount(np.asarray(live_codes, dtype=int), minlength=classes)[:classes])


def intensity_psi(train_means: Sequence[float], live_means: Sequence[float], bins: int = 10) -> float:
    """PSI of the images' mean intensity, in bins at the training rows' quantiles."""
    train = np.asarray(train_means, dtype=float)
    edges = np.unique(np.quantile(train, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.concatenate(([-np.inf], edges, [np.inf]))
    return psi(np.histogram(train, edges)[0], np.histogram(np.asarray(live_means, dtype=float), edges)[0])
