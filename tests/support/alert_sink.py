"""An alert hook for end-to-end runs (``PIPELINE_ALERT_HOOK=tests.support.alert_sink:record``): one line per alert
appended to the file ``$ALERT_SINK`` names, so a test can read what the hook was handed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def record(summary: str, context: Mapping[str, Any]) -> None:
    with open(os.environ["ALERT_SINK"], "a") as sink:
        sink.write(summary.replace("\n", " ") + "\n")
