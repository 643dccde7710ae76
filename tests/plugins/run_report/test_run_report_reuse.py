"""The run report names the data steps that reused an earlier run's outputs, and that run."""

from __future__ import annotations

from run_report.reuse import reuse_section, reused_steps
from tests.plugins.report_app import RUN_FACTS, RUN_URL

EARLIER = "manual__2026-11-20T10:00:00+00:00"
ORIGIN = {"dag_id": "fashion_mnist_training", "run_id": EARLIER, "run_folder": "manual__x-abc", "task_id": "fetch"}


def test_the_report_lists_each_reused_data_step_with_a_link_to_the_earlier_runs_report(viewer, artifact_root,
                                                                                      monkeypatch):
    import tests.plugins.report_app as app_tests

    results = {"fetch": {"rows": 1797, "reused_from": ORIGIN}, "split": {"reused_from": {**ORIGIN, "task_id": "split"}},
               "train": {"epochs_run": 3}}
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "reused": reused_steps(results)})
    html = viewer.get(RUN_URL).text
    assert "2 of 6 data steps reused an earlier run's outputs" in html
    section = html[html.index("id='reused-steps'"):]
    assert section.index("<th>fetch</th>") < section.index("<th>split</th>")
    assert "/run-report/dags/fashion_mnist_training/runs/manual__2026-11-20T10%3A00%3A00%2B00%3A00/" in section


def test_a_run_that_computed_every_data_step_says_so():
    assert "None: every data step computed its outputs in this run" in reuse_section({}, {"fetch", "split"})
    assert reuse_section({}, {"ingest"}) == ""  # not a training run's data path


def test_an_earlier_run_without_a_known_run_id_is_named_by_its_folder_escaped():
    html = reuse_section({"prepare": {"run_folder": "<b>run</b>-12ab", "task_id": "prepare"}})
    assert "<code>&lt;b&gt;run&lt;/b&gt;-12ab</code>" in html and "<b>run" not in html
