"""The README stays the overview the issue asked for: what it is, the two commands, the UI, the data, the
architecture, production, security; history and long explanations live in docs/."""

from __future__ import annotations

from tests.support.steps import ROOT


def test_the_readme_is_an_overview_of_at_most_250_lines_that_names_both_commands():
    readme = (ROOT / "README.md").read_text()

    assert len(readme.splitlines()) <= 250
    assert "make demo" in readme and "make test" in readme
