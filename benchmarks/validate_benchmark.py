"""Time the raw validation on a full-size Fashion-MNIST-layout CSV against a bare pyarrow read.

The gate must not be the slow part of a run: on 70,000 x 785 it should take at most
10 s and at most twice what reading the same CSV with ``pyarrow.csv.read_csv`` takes.
The script writes its own CSV (random pixels 0..255, a few invalid labels and empty
cells, as the pipeline meets them) into a temporary folder and prints the figures.
GX's one-off import is timed separately: a step pays it once, whatever the data size.

    python benchmarks/validate_benchmark.py [--rows 70000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def write_dataset(path: Path, rows: int, height: int, width: int, seed: int = 0) -> None:
    """A Fashion-MNIST-layout CSV: integer codes 0..9, 0.5% invalid labels, 0.1% empty cells."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tasks.core.layout import pixel_columns

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, rows).astype(str).astype(object)
    labels[rng.random(rows) < 0.005] = "hat"
    columns = {"label": pa.array(labels, pa.string())}
    for name in pixel_columns(height, width):
        columns[name] = pa.array(rng.integers(0, 256, rows), mask=rng.random(rows) < 0.001)
    pacsv.write_csv(pa.table(columns), path, pacsv.WriteOptions(quoting_style="none"))


def best_of(repeat: int, action) -> float:
    """The fastest of ``repeat`` runs: the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def run(rows: int, height: int, width: int, repeat: int) -> dict:
    """Write the CSV, then time the pyarrow read, GX's import and the step's raw validation."""
    import pyarrow.csv as pacsv

    from tasks.steps.validate import Thresholds, check, suite_values

    with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
        data = Path(tmp) / "raw.csv"
        write_dataset(data, rows, height, width)
        start = time.perf_counter()
        import great_expectations  # noqa: F401

        import_s = time.perf_counter() - start
        values = suite_values(height, width, list(map(str, range(10))), Thresholds(min_valid_label_share=0.9))
        records = check("raw", str(data), values)
        assert all(r["success"] for r in records), [r for r in records if not r["success"]]
        read_s = best_of(repeat, lambda: pacsv.read_csv(data))
        validate_s = best_of(repeat, lambda: check("raw", str(data), values))
        docs_s = best_of(1, lambda: check("raw", str(data), values, Path(tmp) / "docs"))
        return {"rows": rows, "columns": height * width + 1, "mb": data.stat().st_size / 1e6,
                "expectations": len(records), "gx_import_s": import_s, "pyarrow_read_s": read_s,
                "validate_s": validate_s, "validate_with_docs_s": docs_s, "ratio": validate_s / read_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70_000, help="data rows (Fashion-MNIST has 70,000)")
    parser.add_argument("--height", type=int, default=28)
    parser.add_argument("--width", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    args = parser.parse_args(argv)
    f = run(args.rows, args.height, args.width, args.repeat)
    print(f"dataset: {f['rows']} rows x {f['columns']} columns, {f['mb']:.1f} MB CSV; {f['expectations']} expectations")
    print(f"pyarrow.csv.read_csv:       {f['pyarrow_read_s']:.2f} s ({f['rows'] / f['pyarrow_read_s']:,.0f} rows/s)")
    print(f"raw validation:             {f['validate_s']:.2f} s ({f['rows'] / f['validate_s']:,.0f} rows/s)")
    print(f"raw validation + Data Docs: {f['validate_with_docs_s']:.2f} s")
    print(f"great_expectations import:  {f['gx_import_s']:.2f} s (once per step)")
    print(f"ratio validation / read:    {f['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
