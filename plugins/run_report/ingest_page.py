"""The report of a ``dataset_ingest`` run: which file it took and what became of it.

An ingest run writes no report files: what it did is in the ingest task's result (its
XCom: ``new``, ``duplicate`` or ``none``), the dataset store's ``index.jsonl`` (when a
duplicate's bytes were first stored, and under which name) and, for a rejected file, the
``<landing>/rejected/<UTC stamp>_<name>.reason`` note the step left beside the moved file
and the failure reason the callback recorded. A rejected file's note is matched to the
run by its stamp falling within the run's task times. File names, URIs and reasons come
from whoever dropped the file: every one is escaped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from run_report.header import HEADER_STYLE, failure_section
from run_report.page import STYLE

INDEX, REJECTED, NOTE = "index.jsonl", "rejected", ".reason"
STAMP = "%Y%m%dT%H%M%S"  # tasks/steps/ingest.py's prefix of a rejected file's name
NOTE_LIMIT = 4000  # characters of a note shown (it is one line; a planted huge file must not be read whole)
SLACK = timedelta(seconds=2)  # the stamp has whole seconds


def first_stored(store: Path, sha256: str) -> dict[str, Any] | None:
    """The index line that first stored these bytes as a new version, if the index is readable."""
    try:
        lines = (store / INDEX).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("status") == "new" and entry.get("sha256") == sha256:
            return entry
    return None


def _stamp(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:len("20260101T000000")], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def rejected_during(landing: Path, start: datetime | None, end: datetime | None) -> list[dict[str, str]]:
    """The files moved to ``rejected/`` between ``start`` and ``end`` (now, if running), with their reasons."""
    folder = landing / REJECTED
    if start is None or not folder.is_dir():
        return []
    end = end or datetime.now(UTC)
    found = []
    for note in sorted(folder.glob("*" + NOTE)):
        stamp = _stamp(note.name)
        if stamp is None or not start - SLACK <= stamp <= end + SLACK:
            continue
        try:
            with note.open(errors="replace") as handle:
                reason = handle.read(NOTE_LIMIT).strip()
        except OSError:
            reason = "(the note could not be read)"
        found.append({"file": note.name[len("20260101T000000_"):-len(NOTE)], "moved_as": note.name[:-len(NOTE)],
                      "reason": reason})
    return found


def _window(tasks: dict[str, dict[str, Any]]) -> tuple[datetime | None, datetime | None]:
    starts = [t["start"] for t in tasks.values() if isinstance(t.get("start"), datetime)]
    ends = [t["end"] for t in tasks.values() if isinstance(t.get("end"), datetime)]
    running = any(t.get("state") in ("running", "queued", "deferred", "up_for_retry") for t in tasks.values())
    return (min(starts) if starts else None), (None if running or not ends else max(ends))


def _code(value: Any) -> str:
    return f"<code>{escape(str(value))}</code>"


def _taken(result: dict[str, Any], store: Path, published: str) -> str:
    """What the step did with the file it took: a new version, or a duplicate of one."""
    name = _code(result.get("filename", "?"))
    if result.get("status") == "new":
        publish = ("published to the dataset Asset: the training DAG starts on it" if published == "success"
                   else f"publish: {escape(published or 'not run (yet)')}")
        return (f"<p class='ok'>Stored a new dataset version</p><p>File {name} &rarr; version "
                f"{_code(result.get('sha256', '?'))} at {_code(result.get('uri', '?'))}; {publish}.</p>")
    first = first_stored(store, str(result.get("sha256", ""))) or {}
    since = (f" (first stored from {_code(first.get('filename', '?'))} at {escape(str(first.get('at', '?')))})"
             if first else "")
    return (f"<p class='muted'><b>Duplicate: nothing new</b></p><p>File {name} has the same bytes as stored version "
            f"{_code(result.get('sha256', '?'))}{since}, at {_code(result.get('uri', '?'))}. Nothing was published, "
            "so the same data does not train twice.</p>")


def ingest_outcome(facts: dict[str, Any], store: Path, landing: Path) -> str:
    """One paragraph or two: new version, duplicate, nothing ready, rejected and why, or not run (yet)."""
    tasks = facts.get("tasks") or {}
    state = {task_id: str(t.get("state") or "") for task_id, t in tasks.items()}
    result = (facts.get("xcoms") or {}).get("ingest")
    if isinstance(result, dict) and result.get("status") in ("new", "duplicate"):
        return _taken(result, store, state.get("publish", ""))
    if isinstance(result, dict) and result.get("status") == "none":
        pending = ", ".join(map(str, result.get("pending") or []))
        return ("<p class='muted'><b>No file was ready</b></p><p>" + (
            f"Files still being written (waited for them to settle): {_code(pending)}." if pending
            else "The landing folder held no dataset file when the step looked.") + "</p>")
    rejected = rejected_during(landing, *_window(tasks))
    if rejected:
        return "".join(f"<p class='bad'>Rejected {_code(r['file'])}</p><p>Why: <span class='reason'>"
                       f"{escape(r['reason'])}</span>. The file was moved to {_code(REJECTED + '/' + r['moved_as'])} "
                       "in the landing folder; the store is unchanged.</p>" for r in rejected)
    if state.get("ingest") == "failed":
        return "<p class='bad'>Ingest failed</p><p>No rejected file was recorded for this run: see why below.</p>"
    if state.get("wait_for_file") == "skipped":
        return "<p class='muted'><b>No file arrived</b></p><p>The sensor gave up waiting: nothing to ingest.</p>"
    return "<p class='muted'>Ingest has not run (yet) in this run.</p>"


def ingest_page(dag_id: str, run_id: str, facts: dict[str, Any], failures: list[dict[str, Any]], store: Path,
                landing: Path) -> str:
    """The whole page of an ingest run: outcome first, then the failure (if any) and each task's state."""
    title = f"Ingest run: {escape(dag_id)} / {escape(run_id)}"
    tasks = facts.get("tasks") or {}
    rows = "".join(f"<tr><td>{escape(task_id)}</td><td>{escape(str(t.get('state') or 'not started'))}</td></tr>"
                   for task_id, t in tasks.items())
    result = (facts.get("xcoms") or {}).get("ingest")
    left = (f"<p>{escape(str(result['remaining']))} file(s) left in the landing folder for the next runs.</p>"
            if isinstance(result, dict) and "remaining" in result else "")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}{HEADER_STYLE}</style></head><body><h1>{title}</h1>"
            f"<div id='ingest-outcome'><h2>What this run did</h2>{ingest_outcome(facts, store, landing)}{left}</div>"
            + failure_section(dag_id, run_id, failures)
            + f"<h2>Tasks</h2><table id='ingest-tasks'><tr><th>task</th><th>state</th></tr>{rows}</table>"
            "</body></html>")
