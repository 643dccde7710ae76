"""The ten Fashion-MNIST categories: the one place their names and order live.

The order is the dataset's own label code (0 = T-shirt/top ... 9 = Ankle boot),
so integer labels from the Kaggle CSV or the IDX files map onto the same names
as the category-name labels of the embedded dataset.
"""

from __future__ import annotations

FASHION_MNIST_CATEGORIES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Label strings the source thesis injected as faults: plausible, but not categories.
THESIS_INVALID_LABELS: tuple[str, ...] = ("tshirt", "hat", "jacket", "accessoire", "facemask")


def category_index() -> dict[str, int]:
    """Map each category name to its label code."""
    return {name: code for code, name in enumerate(FASHION_MNIST_CATEGORIES)}


def pixel_columns(height: int, width: int) -> list[str]:
    """Column names of the CSV layout: ``pixel1 .. pixel{height*width}``."""
    return [f"pixel{i}" for i in range(1, height * width + 1)]
