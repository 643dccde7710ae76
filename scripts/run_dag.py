"""Run a DAG once, in this process, on the embedded default and print what happened.

``make demo`` calls this: it loads the DAG folder, runs ``dag.test()`` with an
optional conf (validated against the DAG's Params first), then prints the run's
state, each task's state, the test accuracy, where the report is, which model the run
registered and the gate's decision. It exits
non-zero unless the run succeeded. ``--json`` prints the summary as one JSON line
(the end-to-end tests read it). ``--asset-triggered`` runs it as the scheduler runs a DAG whose
Asset was updated: an ``asset_triggered`` run consuming the Asset events queued for it (refused when
none is queued), so the run sees ``triggering_asset_events`` exactly as in production.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags")))
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"import error in {path}: {error.strip().splitlines()[-1]}", file=sys.stderr)
        raise SystemExit(2)
    if dag_id not in bag.dags:
        raise SystemExit(f"error: no DAG {dag_id!r} in {bag.dag_folder}")
    return bag.dags[dag_id]


def gate_reason(dag_id: str, run_id: str) -> str | None:
    """The gate's one-line decision for this run (its ``reason`` XCom); None if the gate did not run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids="gate", key="reason")).first()
        return XComModel.deserialize_value(row) if row is not None else None


def queued_asset_events(dag_id: str, session) -> list:
    """The events the scheduler hands an asset-triggered run of ``dag_id``; its queue is emptied as it does.

    Same window as ``SchedulerJobRunner._create_dag_runs_asset_triggered``: events of the DAG's Assets
    after its previous asset-triggered run (or after it started scheduling on them) up to the newest queued update.
    """
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, DagScheduleAssetReference
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType
    from sqlalchemy import delete, func, select

    queued = session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)).all()
    if not queued:
        raise SystemExit(f"error: no Asset update is queued for {dag_id} (paused, or nothing published?)")
    previous = session.scalar(select(func.max(DagRun.run_after)).where(
        DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED))
    assets = select(DagScheduleAssetReference.asset_id).where(DagScheduleAssetReference.dag_id == dag_id)
    floor = previous or session.scalar(select(func.min(DagScheduleAssetReference.created_at))
                                       .where(DagScheduleAssetReference.dag_id == dag_id))
    events = session.scalars(select(AssetEvent).where(
        AssetEvent.asset_id.in_(assets), AssetEvent.timestamp <= max(q.created_at for q in queued),
        AssetEvent.timestamp > floor).order_by(AssetEvent.timestamp, AssetEvent.id)).all()
    session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))
    return list(events)


@contextlib.contextmanager
def asset_triggered():
    """Make ``dag.test()`` create an asset-triggered run that consumed the queued events (it creates a manual one)."""
    from unittest import mock

    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    def create(*, dag, run_after, conf, start_date, session, **_unused):
        events = queued_asset_events(dag.dag_id, session)
        run = dag.create_dagrun(
            run_id=DagRun.generate_run_id(run_type=DagRunType.ASSET_TRIGGERED, logical_date=None,
                                          run_after=run_after),
            logical_date=None, data_interval=None, run_after=run_after, conf=conf,
            run_type=DagRunType.ASSET_TRIGGERED, triggered_by=DagRunTriggeredByType.ASSET,
            state=DagRunState.RUNNING, start_date=start_date, session=session)
        run.consumed_asset_events.extend(events)
        session.commit()
        return run

    with mock.patch("airflow.models.dagrun.get_or_create_dagrun", create):
        yield


def task_result(dag_id: str, run_id: str, task_id: str):
    """A task's return value (XCom), or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id,
                                                 key="return_value")).first()
        return XComModel.deserialize_value(row) if row is not None else None


def summarise(dag, run) -> dict:
    from mlops_pipeline.run_keys import run_key
    from mlops_pipeline.settings import load_settings
    from tasks.contracts import CONTRACTS

    run_root = Path(load_settings().artifact_root) / dag.dag_id / run_key(run.run_id)
    instances = run.get_task_instances()
    states = {ti.task_id: str(ti.state.value if hasattr(ti.state, "value") else ti.state) for ti in instances}
    mapped: dict[str, list[str]] = {}  # a mapped task's instances (tuning trials), in map-index order
    for ti in sorted((ti for ti in instances if ti.map_index >= 0), key=lambda ti: ti.map_index):
        mapped.setdefault(ti.task_id, []).append(str(getattr(ti.state, "value", ti.state)))
    summary = {"dag_id": dag.dag_id, "run_id": run.run_id, "state": str(getattr(run.state, "value", run.state)),
               "run_type": str(getattr(run.run_type, "value", run.run_type)), "tasks": states, "mapped": mapped,
               "artifacts": str(run_root)}
    metrics = CONTRACTS["evaluate"].output_path(run_root / "evaluate", "metrics")
    if metrics.is_file():
        summary["accuracy"] = json.loads(metrics.read_text())["accuracy"]
        summary["report"] = str(CONTRACTS["evaluate"].output_path(run_root / "evaluate", "report"))
    registration = CONTRACTS["register"].output_path(run_root / "register", "registration")
    if registration.is_file():
        summary["registration"] = json.loads(registration.read_text())
    prepared = CONTRACTS["prepare"].output_path(run_root / "prepare", "report")
    if prepared.is_file():
        summary["cleaning"] = json.loads(prepared.read_text())
    if (reason := gate_reason(dag.dag_id, run.run_id)) is not None:
        summary["gate_reason"] = reason
    if (dataset := task_result(dag.dag_id, run.run_id, "resolve_dataset")) is not None:
        summary["dataset"] = dataset
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dag_id")
    parser.add_argument("--conf", default="{}", help="JSON conf for the run (the trigger form's fields)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.add_argument("--asset-triggered", action="store_true",
                        help="run as the scheduler does on the DAG's queued Asset events (asset_triggered)")
    args = parser.parse_args(argv)
    try:
        conf = json.loads(args.conf)
    except json.JSONDecodeError as err:
        print(f"error: --conf is not JSON: {err}", file=sys.stderr)
        return 2
    dag = load_dag(args.dag_id)
    unknown = sorted(set(conf) - set(dag.params))
    if unknown:
        print(f"error: invalid conf for {args.dag_id}: unknown field(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        params = copy.deepcopy(dag.params)
        params.update(conf)
        params.validate()
    except Exception as err:  # ParamValidationError names the field and the rule
        print(f"error: invalid conf for {args.dag_id}: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    with asset_triggered() if args.asset_triggered else contextlib.nullcontext():
        run = dag.test(run_conf=conf)
    summary = summarise(dag, run)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(f"\nDAG run {summary['run_id']}: {summary['state']}")
        for task_id, state in summary["tasks"].items():
            print(f"  {task_id:<18} {state}")
        if "cleaning" in summary:
            c = summary["cleaning"]
            print(f"cleaning: {c['rows_in']} rows in, {c['dropped_empty_cells']} dropped for empty cells, "
                  f"{c['dropped_invalid_label']} for invalid labels, {c['rows_out']} out")
        if "accuracy" in summary:
            print(f"test accuracy: {summary['accuracy']:.4f}")
            print(f"report: {summary['report']}")
        if "registration" in summary:
            r = summary["registration"]
            champion = f"v{r['champion_version']} ({r['champion_accuracy']})" if r["champion_version"] else "none"
            verdict = "deployed as champion" if summary["tasks"].get("deploy") == "success" else "not deployed"
            named = ", its name derived from the input" if r.get("model_name_derived") else ""
            print(f"registered {r['model_uri']} (MLflow run {r['run_id']}{named}); champion before: {champion}; "
                  f"{verdict}")
        if "gate_reason" in summary:
            print(f"gate: {summary['gate_reason']}")
    return 0 if summary["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
