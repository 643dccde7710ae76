"""What starts a training run, and which dataset version it trains on.

The training DAG runs on a cron (retrain on the latest data even if nothing arrived) or
when the ingest DAG publishes a new version of the dataset Asset. Both DAGs build the
Asset from the same settings, so the producer and the consumer cannot drift apart.

Which data a run uses is decided by :func:`resolve_dataset`, a plain function:
an Asset-triggered run trains on the version its event names, a scheduled run on the
latest stored version, a manual run on its ``dataset_uri`` Param. The store's index is
written by ``tasks/steps/ingest.py`` (one JSON object per line; ``"new"`` lines are versions).
An automated run never falls back to the Param's default (the embedded demo dataset):
with nothing stored it raises :class:`NoStoredDataset`, which the DAG turns into a skip,
so a demo model can never replace a real champion on a quiet Monday.

The cron never fires because someone unpaused the DAG: ``run_immediately=timedelta(0)``
makes a first run wait for the next cron time. In Airflow 3.3.2 that option is only
consulted when the DAG has no ``start_date`` (``_TriggerTimetable.next_dagrun_info``
schedules the latest past cron time whenever ``start_date`` is set and ``catchup=False``),
so the training DAG must not set one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

DATASET_ASSET_NAME = "fashion_mnist_dataset"
ASSET_TRIGGERED, SCHEDULED, MANUAL = "asset_triggered", "scheduled", "manual"
NEVER_RUN_IMMEDIATELY = timedelta(0)


class NoStoredDataset(Exception):
    """An automated run found no stored dataset version; its message is the one-line skip reason."""


DATASET_ASSET_URI = "fashion-mlops://datasets/fashion_mnist"


def dataset_asset() -> Any:
    """The dataset Asset: one per deployment, named for the data, not for where it is stored.

    Airflow keys an Asset by name and URI and refuses a second URI under a name it
    already holds: a URI built from the store's path would leave the Asset inactive (no
    event, no triggered run) whenever the store moves (a PVC path becomes ``s3://``),
    until every DAG naming the old one is re-parsed. Where a version lies travels in each
    event's ``extra`` (``uri``, ``sha256``), which ``resolve_dataset`` reads.
    """
    from airflow.sdk import Asset

    return Asset(DATASET_ASSET_NAME, uri=DATASET_ASSET_URI)


def training_schedule(cron: str, asset: Any) -> Any:
    """Run on ``cron`` (UTC) or whenever ``asset`` is updated; never just because the DAG was unpaused.

    ``run_immediately=False`` is not enough in Airflow 3.3.2: it still runs the past cron time
    when unpaused within max(10% of the cron period, 5 minutes) of it; ``timedelta(0)`` never does.
    """
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    timetable = CronTriggerTimetable(cron, timezone="UTC", run_immediately=NEVER_RUN_IMMEDIATELY)
    return AssetOrTimeSchedule(timetable=timetable, assets=asset)


SHAPE = ("image_height", "image_width")  # the settings a stored version may fix for the runs that train on it


def latest_version(dataset_store: str) -> dict[str, Any] | None:
    """The newest ``"new"`` entry of the store's index; ``None`` if the store is empty or unreadable here."""
    index = Path(dataset_store) / "index.jsonl"
    try:
        lines = index.read_text().splitlines()
    except OSError:
        return None
    versions = [json.loads(line) for line in lines if line.strip()]
    versions = [v for v in versions if v.get("status") == "new" and v.get("uri")]
    return versions[-1] if versions else None


def resolve_dataset(run_type: str, event_extras: Iterable[Mapping[str, Any]], latest: Mapping[str, Any] | None,
                    param_uri: str, check_uri: Callable[[str], str] | None = None) -> dict[str, str]:
    """The dataset a run may train on: :func:`choose_dataset`'s pick, refused unless the allowlist admits it.

    ``check_uri`` (default: ``uri_check.check_dataset_uri`` with the deployment's settings)
    runs before any byte is read and fails the task with one line naming the URI.
    """
    from mlops_pipeline.uri_check import check_dataset_uri

    chosen = choose_dataset(run_type, event_extras, latest, param_uri)
    return {**chosen, "uri": (check_uri or check_dataset_uri)(chosen["uri"])}


def choose_dataset(run_type: str, event_extras: Iterable[Mapping[str, Any]], latest: Mapping[str, Any] | None,
                   param_uri: str) -> dict[str, str]:
    """The dataset a run trains on, and why.

    Args:
        run_type: the DAG run's type (``asset_triggered``, ``scheduled``, ``manual``, ...).
        event_extras: extras of the Asset events that triggered the run, oldest first.
        latest: the store's latest version (see :func:`latest_version`), or ``None``.
        param_uri: the run's ``dataset_uri`` Param.

    Returns:
        ``uri`` to fetch, ``trigger`` (what decided) and ``version`` (the content hash, or "").

    Raises:
        NoStoredDataset: a scheduled or asset-triggered run with no stored version to train on.
    """
    if run_type == ASSET_TRIGGERED:
        named = [e for e in event_extras if e.get("uri")]
        if named:  # several events queued for one run: the newest data wins, the rest stay in the store
            newest = named[-1]
            return {"uri": str(newest["uri"]), "trigger": "asset_event", "version": str(newest.get("sha256", "")),
                    **_shape(newest)}
    if run_type in (ASSET_TRIGGERED, SCHEDULED) and latest:
        return {"uri": str(latest["uri"]), "trigger": "latest_version", "version": str(latest.get("sha256", "")),
                **_shape(latest)}
    if run_type in (ASSET_TRIGGERED, SCHEDULED):
        from tasks.data.uri_policy import masked

        param_uri = masked(param_uri)
        raise NoStoredDataset(f"{run_type} run: the dataset store has no stored version to train on; "
                              f"not falling back to {param_uri or 'the default dataset'}")
    return {"uri": param_uri, "trigger": "param", "version": ""}


def _shape(version: Mapping[str, Any]) -> dict[str, int]:
    """The image shape a stored version says it has (ingest records a square one), if it says."""
    shape = {key: version.get(key) for key in SHAPE}
    return {key: int(value) for key, value in shape.items()} if all(isinstance(v, int) for v in shape.values()) else {}


def resolve_for_run(run_type: str, event_extras: Iterable[Mapping[str, Any]], dataset_store: str,
                    params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`resolve_dataset` for a run: the store's latest version and the run's checked Params.

    The image shape is the stored version's when it records one (a run the scheduler starts for
    new 28x28 data has only the form's defaults), else the form's; the steps read it from here.
    """
    from mlops_pipeline.contract_wiring import checked

    settings = checked(params, "resolve_dataset")
    chosen = resolve_dataset(run_type, event_extras, latest_version(dataset_store), settings["dataset_uri"])
    return {**{key: settings[key] for key in SHAPE}, **chosen}
