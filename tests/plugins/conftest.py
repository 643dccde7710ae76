"""The run report app's fixtures (a finished run's artifacts, an auth manager, logged-in clients) for every module."""

from tests.plugins.report_app import artifact_root, auth_manager, client, viewer  # noqa: F401
