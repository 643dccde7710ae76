"""The training DAG as the scheduler reads it: unpausing it (the trigger form's default) starts no run.

The scheduler stores the DAG's next run when it parses the file and creates it as soon as the
DAG is unpaused if that time has passed; so the first scheduled run of a DAG that never ran
must lie in the future.
"""

from __future__ import annotations

import pendulum

from tests.support.steps import ROOT

DAG_ID = "fashion_mnist_training"
NOW = pendulum.datetime(2026, 11, 25, 12, 0, tz="UTC")  # a Wednesday; the cron is Mondays 03:00


def test_unpausing_the_never_run_training_dag_schedules_nothing_before_the_next_cron_time(monkeypatch):
    import airflow.timetables.trigger as trigger
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    # Given the training DAG as serialized for the scheduler, never run
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fashion_mnist_training"]
    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    monkeypatch.setattr(trigger, "utcnow", lambda: NOW)

    # When the scheduler computes its first automated run
    first = serialized.next_dagrun_info(last_automated_run_info=None)

    # Then it is the next Monday's cron time, not the past one (which unpausing would start at once)
    assert first.run_after == pendulum.datetime(2026, 11, 30, 3, 0, tz="UTC")


def test_a_manual_trigger_that_unpauses_a_fresh_install_makes_exactly_one_run(airflow_db):
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit
    from airflow.utils.types import DagRunTriggeredByType
    from sqlalchemy import select

    def runs() -> list[tuple[str, str]]:
        with create_session() as session:
            rows = session.execute(select(DagRun.run_id, DagRun.run_type).where(DagRun.dag_id == DAG_ID)).all()
        return [(run_id, str(getattr(kind, "value", kind))) for run_id, kind in rows]

    # Given the training DAG as the DAG processor stores it (paused on creation), and the runs so far
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(DagBag(dag_folder=str(ROOT / "dags")), "dags-folder", None)
    before = set(runs())

    # When a person triggers it from the form with "Unpause on trigger" ticked
    with create_session() as session:
        session.get(DagModel, DAG_ID).is_paused = False
    trigger_dag(DAG_ID, triggered_by=DagRunTriggeredByType.UI, run_id="manual__unpause_test", conf={})
    # and the scheduler then makes the runs that are due (its run-creation pass)
    runner = SchedulerJobRunner(job=Job())
    with create_session() as session, prohibit_commit(session) as guard:
        runner._create_dagruns_for_dags(guard, session)
        guard.commit()

    # Then exactly one run exists beyond those before: the requested one
    assert sorted(set(runs()) - before) == [("manual__unpause_test", "manual")]
