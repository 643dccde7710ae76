"""Debian's Chromium driven by Playwright, and the login every browser test starts with."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.airflow_server import ROOT, Standalone

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("PIPELINE_UI_SCREENSHOTS", ROOT / "tests" / "artifacts"))


def log_in(page, airflow: Standalone) -> None:
    """Sign in as ``admin`` with the password standalone generated."""
    page.goto(airflow.base + "/")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(airflow.admin_password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(airflow.base + "/")
