"""Run a Great Expectations suite from ``expectations/`` against a few small frames.

The suites are JSON in GX 1.x's ExpectationSuite form. Values written as
``"$name"`` are placeholders that the run's parameters fill in (pixel count,
categories, thresholds), so one suite serves every image size. Each expectation's
``meta.batch`` names the frame it runs on: the data is reduced to per-column
aggregates first, because one GX expectation per pixel column is ~300x slower.

GX runs in an ephemeral context (nothing written outside the run's folder) and is
imported lazily: importing it costs seconds and a step that fails early needs none.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.common import StepError

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
HIDDEN_KWARGS = ("column", "column_list", "value_set", "batch_id")  # long or internal; the suite JSON has them
RESULT_KEYS = ("observed_value", "unexpected_count", "unexpected_percent", "element_count", "missing_count")


def load_suite(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Read ``expectations/<name>.json`` and replace each ``"$key"`` kwarg with ``values[key]``."""
    path = SUITES_DIR / f"{name}.json"
    suite = json.loads(path.read_text())
    for expectation in suite["expectations"]:
        for key, value in expectation["kwargs"].items():
            if isinstance(value, str) and value.startswith("$"):
                if value[1:] not in values:
                    raise StepError(f"{path}: placeholder {value} has no value for this run")
                expectation["kwargs"][key] = values[value[1:]]
    return suite


def _quiet_context(docs_dir: Path):
    """An ephemeral GX context whose only Data Docs site is ``docs_dir``, without progress bars."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines drown the step's log
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(site_name="run", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


def _run_batch(context, suite_name: str, batch: str, frame: pd.DataFrame, expectations: list[dict]):
    """Validate one frame with the expectations meant for it; return GX's validation result."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    # The constructor takes the whole list at once; add_expectation() one by one is O(n^2).
    domain = [ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})).to_domain_obj()
              for e in expectations]
    suite = context.suites.add(ExpectationSuite(name=f"{suite_name}.{batch}", expectations=domain))
    source = context.data_sources.add_pandas(f"{suite_name}-{batch}")
    definition = source.add_dataframe_asset(batch).add_batch_definition_whole_dataframe(batch)
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=batch, data=definition, suite=suite))
    result_format = {"result_format": "COMPLETE"}
    if "column" in frame.columns and batch != "header":
        result_format["unexpected_index_column_names"] = ["column"]
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=f"{suite_name}-{batch}", result_format=result_format,
                                                       validation_definitions=[validation], actions=[]))
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    return next(iter(run.run_results.values()))


def run_suite(suite: dict[str, Any], frames: dict[str, pd.DataFrame], docs_dir: Path | None) -> list[dict]:
    """Run every expectation on its frame; build Data Docs into ``docs_dir`` if given."""
    context = _quiet_context(docs_dir or Path("/nonexistent-docs"))
    records = []
    for batch, frame in frames.items():
        expectations = [e for e in suite["expectations"] if e.get("meta", {}).get("batch") == batch]
        if expectations:
            result = _run_batch(context, suite["name"], batch, frame, expectations)
            records.extend(_record(r, len(frame)) for r in result.results)
    if docs_dir is not None:
        context.build_data_docs(site_names=["run"])
    return records


def _record(result, rows: int) -> dict[str, Any]:
    """One expectation's outcome as plain JSON: what was checked, where, and how far off it was."""
    config = result.expectation_config
    details = result.result or {}
    record: dict[str, Any] = {
        "type": config.type,
        "rule": config.meta.get("rule", config.type),
        "batch": config.meta.get("batch"),
        "column": config.kwargs.get("column"),
        "kwargs": {k: v for k, v in config.kwargs.items() if k not in HIDDEN_KWARGS},
        "success": bool(result.success),
    }
    record.update({key: _plain(details[key]) for key in RESULT_KEYS if key in details})
    observed = record.get("observed_value")
    if isinstance(observed, list) and len(observed) > 10:  # a header: keep the report readable
        record["observed_value"] = f"{len(observed)} columns: {', '.join(map(str, observed[:3]))} ... {observed[-1]}"
    if "unexpected_percent" in details and details["unexpected_percent"] is not None:
        record["unexpected_share"] = round(float(details["unexpected_percent"]) / 100.0, 6)
    index = details.get("unexpected_index_list") or []
    if index and isinstance(index[0], dict) and "column" in index[0]:
        record["failing_columns"] = sorted({str(item["column"]) for item in index}, key=_natural)
    elif details.get("partial_unexpected_list"):
        record["examples"] = sorted({str(v) for v in details["partial_unexpected_list"]})[:10]
    if details.get("details", {}).get("mismatched"):
        record["mismatched"] = _plain(details["details"]["mismatched"][:5])
    info = result.exception_info or {}
    if info.get("raised_exception"):
        record["exception"] = str(info.get("exception_message", "")).splitlines()[0][:200]
    return record


def _natural(name: str) -> tuple[int, str]:
    """Sort pixel2 before pixel10."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else -1, name)


def _plain(value: Any) -> Any:
    """numpy scalars and nested containers as JSON-safe Python values."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def describe(record: dict[str, Any]) -> str:
    """One short line for a failed expectation: the rule, where it broke and by how much."""
    where = f" [{record['column']}]" if record.get("column") and "failing_columns" not in record else ""
    text = f"{record['rule']}{where}"
    if record.get("exception"):
        return f"{text}: could not be checked ({record['exception']})"
    if "failing_columns" in record:
        cols = record["failing_columns"]
        return f"{text}: broken in {len(cols)} column(s): {', '.join(cols[:5])}{', ...' if len(cols) > 5 else ''}"
    if record.get("unexpected_share") is not None:
        examples = f", e.g. {', '.join(record['examples'][:3])}" if record.get("examples") else ""
        return f"{text}: {record['unexpected_share']:.1%} of rows unexpected{examples}"
    if record.get("mismatched"):
        first = record["mismatched"][0]
        return f"{text}: at position {first.get('Expected Column Position')} expected {first.get('Expected')!r}, " \
               f"found {first.get('Found')!r}"
    observed = record.get("observed_value")
    shown = f"{observed:.4g}" if isinstance(observed, float) else json.dumps(observed)[:80]
    bounds = {k: v for k, v in record["kwargs"].items() if k in ("min_value", "max_value")}
    return f"{text}: observed {shown}, allowed {bounds}"
