"""The training DAG as the scheduler reads it: unpausing it (the trigger form's default) starts no run.

The scheduler stores the DAG's next run when it parses the file and creates it as soon as the
DAG is unpaused if that time has passed; so the first scheduled run of a DAG that never ran
must lie in the future.
"""

from __future__ import annotations

import pendulum

from tests.conftest import ROOT

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
