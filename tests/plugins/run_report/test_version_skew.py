"""The run report says which commits the run's code and DAG came from, and warns when they differ.

Given step results that record ``provenance`` (code commit, DAG commit), when the report is
rendered, then it shows "DAG commit X, steps ran code commit Y" near the data lineage, and a
visible warning listing the steps whose code came from another commit; names stay escaped.
"""

from __future__ import annotations

import tests.plugins.report_app as app_tests
from run_report.skew import skew_section, step_commits
from tests.plugins.report_app import RUN_FACTS, RUN_URL

DAG_SHA = "1234567" + "a" * 33
OLD_SHA = "89abcde" + "b" * 33
XSS = "<img src=x onerror=alert(1)>"


def _provenance(code: str | None, dag: str | None) -> dict:
    return {"provenance": {"code_commit": code, "dag_commit": dag}}


def test_step_commits_are_read_from_every_step_result_that_has_them():
    xcoms = {"fetch": {"sha256": "ab12", **_provenance(DAG_SHA, DAG_SHA)}, "train": _provenance(OLD_SHA, DAG_SHA),
             "gate": {"deploy": True}, "resolve_dataset": "not a dict"}

    assert step_commits(xcoms) == {"fetch": {"code": DAG_SHA, "dag": DAG_SHA}, "train": {"code": OLD_SHA,
                                                                                         "dag": DAG_SHA}}


def test_equal_commits_are_named_once_and_raise_no_warning(viewer, monkeypatch):
    commits = {"fetch": {"code": DAG_SHA, "dag": DAG_SHA}, "train": {"code": DAG_SHA[:12], "dag": DAG_SHA}}
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "provenance": commits})

    html = viewer.get(RUN_URL).text

    assert "DAG commit <code>1234567</code>, steps ran code commit <code>1234567</code>" in html
    assert html.index("id='lineage'") < html.index("id='code-version'")
    assert "version-skew" not in html and "Version skew" not in html


def test_a_step_whose_code_commit_differs_is_listed_under_a_visible_warning(viewer, monkeypatch):
    commits = {"fetch": {"code": DAG_SHA, "dag": DAG_SHA}, "train": {"code": OLD_SHA, "dag": DAG_SHA}}
    monkeypatch.setattr(app_tests, "RUN_FACTS", {**RUN_FACTS, "provenance": commits})

    html = viewer.get(RUN_URL).text

    assert "steps ran code commit <code>1234567, 89abcde</code>" in html
    warning = html.split("id='version-skew'")[1].split("</div>")[0]
    assert "Version skew: 1 step(s)" in warning
    assert "<b>train</b>: code <code>89abcde</code>, DAG <code>1234567</code>" in warning
    assert "<b>fetch</b>" not in warning


def test_recorded_values_are_escaped_and_unknown_commits_are_not_compared():
    html = skew_section({XSS: {"code": XSS, "dag": DAG_SHA}, "evaluate": {"code": OLD_SHA, "dag": None}})

    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x" in html and "id='version-skew'" in html
    assert "Not compared (a commit is unknown): evaluate" in html


def test_a_run_whose_steps_recorded_nothing_says_so():
    assert "Not available: no step has recorded its commits" in skew_section({})
