"""The training DAG's schedule: a cron time or a new dataset version, never "because someone unpaused it".

The trigger form's "Unpause on trigger" box unpauses the DAG; if the schedule then ran the
latest past cron time, a person asking for one run would get two, and the unrequested one,
with default settings, could become the champion the requested run is judged against.
The schedule is checked as the scheduler sees it: serialized, then read back.
"""

from __future__ import annotations

import pendulum
import pytest

from mlops_pipeline.triggers import dataset_asset, training_schedule

CRON = "0 3 * * 1"  # Mondays 03:00 UTC, the default
JUST_AFTER_A_TICK = pendulum.datetime(2026, 11, 23, 3, 1, tz="UTC")  # a Monday, one minute after the cron time
NEXT_TICK = pendulum.datetime(2026, 11, 30, 3, 0, tz="UTC")


def as_the_scheduler_sees_it(schedule):
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    return decode_timetable(encode_timetable(schedule))


def first_run_after(timetable, monkeypatch, now, earliest=None, last=None):
    import airflow.timetables.trigger as trigger
    from airflow.timetables.base import TimeRestriction

    monkeypatch.setattr(trigger, "utcnow", lambda: now)
    info = timetable.next_dagrun_info(last_automated_data_interval=last,
                                      restriction=TimeRestriction(earliest=earliest, latest=None, catchup=False))
    return info.run_after


@pytest.mark.parametrize("now", [JUST_AFTER_A_TICK, pendulum.datetime(2026, 11, 25, 12, 0, tz="UTC")])
def test_unpausing_a_never_run_training_dag_waits_for_the_next_cron_time(monkeypatch, now):
    # Given the training schedule, as serialized for the scheduler, and no run so far
    timetable = as_the_scheduler_sees_it(training_schedule(CRON, dataset_asset()))

    # When the scheduler computes the first run (which it creates as soon as the DAG is unpaused if it is due)
    run_after = first_run_after(timetable, monkeypatch, now)

    # Then it lies in the future: unpausing starts nothing
    assert run_after == NEXT_TICK > now


def test_airflows_run_immediately_false_alone_would_still_run_on_unpause(monkeypatch):
    # Why the schedule passes timedelta(0): in Airflow 3.3.2, run_immediately=False still runs the past
    # cron time when the DAG is unpaused within 10% of the cron period (here 16.8 hours) after it.
    from airflow.sdk import CronTriggerTimetable

    plain = as_the_scheduler_sees_it(CronTriggerTimetable(CRON, timezone="UTC", run_immediately=False))

    assert first_run_after(plain, monkeypatch, JUST_AFTER_A_TICK) < JUST_AFTER_A_TICK


def test_a_dag_start_date_would_bring_the_immediate_run_back(monkeypatch):
    # Airflow ignores run_immediately when the DAG has a start_date (catchup=False schedules the latest
    # past cron time), so the training DAG must not set one: this pins that constraint.
    timetable = as_the_scheduler_sees_it(training_schedule(CRON, dataset_asset()))

    run_after = first_run_after(timetable, monkeypatch, JUST_AFTER_A_TICK,
                                earliest=pendulum.datetime(2026, 1, 1, tz="UTC"))

    assert run_after < JUST_AFTER_A_TICK
