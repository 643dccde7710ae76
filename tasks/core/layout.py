"""The dataset layout: the ten Fashion-MNIST categories (the one place their names and order
live), the CSV's pixel column names and the embedded sources' names.

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

# The one home of the embedded sources' names (the trigger form's default and fetch's dispatch); the
# sources themselves are tasks/data/sources.py. Here, in the lowest layer, so the parameter catalog can name
# the default dataset without importing the data library.
EMBEDDED_DIGITS = "embedded://digits"
EMBEDDED_FASHION_SAMPLE = "embedded://fashion-mnist-sample"
EMBEDDED_SOURCES = (EMBEDDED_DIGITS, EMBEDDED_FASHION_SAMPLE)

# Label strings the source thesis injected as faults: plausible, but not categories.
THESIS_INVALID_LABELS: tuple[str, ...] = ("tshirt", "hat", "jacket", "accessoire", "facemask")


def categories_problem(text: str) -> str | None:
    """Why ``text`` is not ten distinct, non-empty, comma-separated category names (``None`` if it is)."""
    names = [name.strip() for name in str(text).split(",")]
    if len(names) != len(FASHION_MNIST_CATEGORIES):
        return f"must be {len(FASHION_MNIST_CATEGORIES)} comma-separated names in label-code order, got {len(names)}"
    if not all(names):
        return "every category name must be non-empty"
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f"category names must be distinct ({repeated[0]!r} is repeated)"
    return None


def parse_categories(text: str) -> tuple[str, ...]:
    """The category names in label-code order, from the ``categories`` setting's text."""
    problem = categories_problem(text)
    if problem:
        raise ValueError(f"categories: {problem}")
    return tuple(name.strip() for name in text.split(","))


def pixel_columns(height: int, width: int) -> list[str]:
    """Column names of the CSV layout: ``pixel1 .. pixel{height*width}``."""
    return [f"pixel{i}" for i in range(1, height * width + 1)]
