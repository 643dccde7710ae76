"""Is a dataset there yet? The check behind the training DAG's wait-for-data sensor."""

from __future__ import annotations

EMBEDDED_PREFIX = "embedded://"


def dataset_available(uri: str) -> bool:
    """True when ``uri`` exists (files, folders, object-store keys); embedded data always exists."""
    if uri.startswith(EMBEDDED_PREFIX):
        return True
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(uri)
        return bool(fs.exists(path))
    except (OSError, ValueError, ImportError):
        return False
