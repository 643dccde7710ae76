"""The test images with their true and predicted labels, mistakes first, drawn in the API server.

Each image becomes a tiny grayscale PNG (written with ``zlib``, no Pillow or matplotlib in
the API server) inlined as a ``data:`` URI: the report's sandbox allows no other image
source that would carry the login. Labels are category names from the run's data
(attacker text), so every one is escaped.
"""

from __future__ import annotations

import base64
import struct
import zlib
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.model.scoring import read_classes

GRID_LIMIT = 60  # images shown: enough to see the mistakes, small enough to render per view
SCALE = 3  # CSS upscaling of each pixel (image-rendering: pixelated)


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a 2-D array: uint8 pixels as they are (the split's bundles keep them so),
    floats read as [0, 1] (values outside are clipped)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        pixels = image
    else:
        pixels = np.clip(np.rint(np.asarray(image, dtype="float64") * 255), 0, 255).astype(np.uint8)
    height, width = pixels.shape
    rows = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_data_uri(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def load_test_predictions(folder: Path) -> dict[str, Any] | None:
    """The test split's images, true codes, class names and the evaluate step's predictions; ``None`` if absent."""
    test = CONTRACTS["split"].output_path(folder / "split", "test")
    predictions = CONTRACTS["evaluate"].output_path(folder / "evaluate", "predictions")
    try:
        with np.load(test, allow_pickle=False) as bundle:
            y = bundle["y"]
            truth = y.argmax(axis=1) if y.ndim == 2 else y
            data = {"x": bundle["x"], "truth": truth.astype(int), "predicted": read_classes(predictions).astype(int),
                    "classes": [str(c) for c in bundle["classes"]]}
    except (OSError, KeyError, ValueError, StepError):
        return None
    if len(data["x"]) != len(data["predicted"]) or data["x"].ndim != 3:
        return None
    return data


def _name(classes: list[str], code: int) -> str:
    return classes[code] if 0 <= code < len(classes) else f"code {code}"


def picture_grid(data: dict[str, Any] | None, limit: int = GRID_LIMIT, unavailable: str = "") -> str:
    """A grid of test images captioned true/predicted, misclassified ones first (in test-split order).

    ``unavailable`` is the (escaped) note shown without data, e.g. that a failed step stopped the run.
    """
    if not data:
        return "<h2>Test images</h2>" + (
            unavailable or "<p class='muted'>Not available: the run has no test split or predictions (yet).</p>")
    truth, predicted, classes = data["truth"], data["predicted"], data["classes"]
    wrong = np.flatnonzero(truth != predicted)
    order = np.concatenate([wrong, np.flatnonzero(truth == predicted)])[:limit]
    height, width = data["x"].shape[1:]
    cells = []
    for i in order:
        miss = truth[i] != predicted[i]
        true_name, predicted_name = escape(_name(classes, int(truth[i]))), escape(_name(classes, int(predicted[i])))
        cells.append(f'<figure class="{"miss" if miss else "hit"}"><img src="{png_data_uri(data["x"][i])}" '
                     f'width="{width * SCALE}" height="{height * SCALE}" alt="test image {int(i)}">'
                     f'<figcaption><span title="{true_name}">true: {true_name}</span>'
                     f'<span title="{predicted_name}">predicted: {predicted_name}</span></figcaption></figure>')
    return (f"<h2>Test images</h2><p id='mistakes'>{len(wrong)} of {len(truth)} test images misclassified; "
            f"showing {len(order)}, mistakes first (red).</p><div class='grid'>{''.join(cells)}</div>")


GRID_STYLE = (".grid{display:flex;flex-wrap:wrap;gap:6px}.grid figure{margin:0;padding:3px;border:2px solid #cdc;"
              "font-size:11px;width:96px;text-align:center}.grid figure.miss{border-color:#c33;background:#fee}"
              ".grid img{image-rendering:pixelated;max-width:none}"
              # a long category name ends in an ellipsis inside its cell (the full name is the span's title)
              ".grid figcaption span{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}")
