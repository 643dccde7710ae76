"""What a message may say about a file that failed to parse: its name and the rule, never its bytes.

A dataset path can point at anything the worker can read (a password file linked into
the landing folder, ``/etc/passwd`` typed as ``dataset_uri``), and every refusal lands in
a ``.reason`` note, ``failure.json``, the task log and the Run report. So a message about
a file that is not yet known to be a ``label,...`` CSV names the file, the rule and
counts only; the column names of a CSV that has a ``label`` column may be shown, escaped
and cut short (:func:`shown`). Library errors are reduced to their kind before they are
quoted: pyarrow puts the offending row into its parse errors, ``gzip`` the first bytes.
Stdlib only.
"""

from __future__ import annotations

import re

NAME_LIMIT = 24
# pyarrow: "CSV parse error: Expected 5 columns, got 3: <the row's text>"
ARROW_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")


def shown(name: str, limit: int = NAME_LIMIT) -> str:
    """A column name as a message may show it: escaped (``repr``), at most ``limit`` characters of it."""
    return repr(name if len(name) <= limit else name[:limit - 3] + "...")


def shown_list(names: list[str], count: int = 3) -> str:
    """The first ``count`` names, each :func:`shown`, and how many more there are."""
    more = f" and {len(names) - count} more" if len(names) > count else ""
    return ", ".join(shown(name) for name in names[:count]) + more


def gzip_reason(err: BaseException) -> str:
    """Why a gzip stream failed, without the bytes ``gzip.BadGzipFile`` quotes (``Not a gzipped file (b'ro')``)."""
    if isinstance(err, EOFError):
        return "ends before the compressed data does"
    text = str(err)
    if "Not a gzipped file" in text or type(err).__name__ == "BadGzipFile":
        return "not gzip data"
    if text.startswith(("Error -", "zlib inflate failed")):  # zlib's and pyarrow's own wording, no data in it
        return text.splitlines()[0][:80]
    return type(err).__name__


def arrow_reason(message: str) -> str:
    """pyarrow's reason for refusing a CSV, cut before any quoted row or cell."""
    first = message.splitlines()[0] if message else ""
    fields = ARROW_FIELDS.search(first)
    if fields:
        return f"a row has {fields.group(2)} fields, the header {fields.group(1)}"
    if "UTF8" in first or "utf-8" in first.lower():
        return "invalid UTF-8"
    return first.split(":")[0][:60] or "unreadable"
