"""Version skew: did the run's steps execute the code of the commit its DAG came from?

DAGs arrive by git-sync while ``tasks/`` and ``plugins/`` are baked into images, so a DAG
can wire a step whose image is older or newer than it. Each step's result records both
commits (``provenance``, :mod:`tasks.core.provenance`); this section, shown beside the data
lineage, names them and warns when a step's code commit differs from its DAG's. Commits
come from the environment and results: all escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

SKEW_STYLE = (".skew{border:2px solid #b60;background:#fff6e8;padding:6px 12px}.skew p{margin:4px 0}")
SHORT = 7


def short(commit: Any) -> str:
    """A commit as people quote it (7 characters), or "unknown"."""
    return str(commit)[:SHORT] if commit else "unknown"


def same_commit(a: Any, b: Any) -> bool:
    """Equal commits, a full and an abbreviated spelling included (an image may be built with either)."""
    a, b = str(a), str(b)
    return len(min(a, b, key=len)) >= SHORT and (a.startswith(b) or b.startswith(a))


def step_commits(xcoms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each step's recorded ``provenance`` (code and DAG commit), from the run's task results."""
    found = {}
    for task_id, result in sorted(xcoms.items()):
        recorded = result.get("provenance") if isinstance(result, dict) else None
        if isinstance(recorded, dict):
            found[task_id] = {"code": recorded.get("code_commit"), "dag": recorded.get("dag_commit")}
    return found


def _joined(commits: list[Any]) -> str:
    """Distinct commits, short (a full and an abbreviated spelling count once)."""
    return ", ".join(escape(c) for c in dict.fromkeys(short(c) for c in commits)) or "unknown"


def skew_section(commits: dict[str, dict[str, Any]]) -> str:
    """"DAG commit X, steps ran code commit Y", and a warning listing the steps whose code commit differs."""
    if not commits:
        return ("<h2>Code version</h2><p class='muted' id='code-version'>Not available: no step has recorded "
                "its commits.</p>")
    dags = [c["dag"] for c in commits.values() if c["dag"]]
    codes = [c["code"] for c in commits.values() if c["code"]]
    line = (f"<p id='code-version'>DAG commit <code>{_joined(dags)}</code>, steps ran code commit "
            f"<code>{_joined(codes)}</code></p>")
    differing = {task_id: c for task_id, c in commits.items()
                 if c["code"] and c["dag"] and not same_commit(c["code"], c["dag"])}
    unknown = [task_id for task_id, c in commits.items() if not (c["code"] and c["dag"])]
    parts = ["<h2>Code version</h2>", line]
    if differing:
        rows = "".join(f"<li><b>{escape(task_id)}</b>: code <code>{escape(short(c['code']))}</code>, "
                       f"DAG <code>{escape(short(c['dag']))}</code></li>" for task_id, c in differing.items())
        parts.append(f"<div class='skew' id='version-skew'><p class='bad'>Version skew: {len(differing)} "
                     "step(s) ran code from another commit than their DAG's (the images and the git-synced "
                     f"DAGs are out of step; rebuild the images or pin the DAG's revision):</p><ul>{rows}</ul></div>")
    if unknown:
        parts.append(f"<p class='muted' id='commit-unknown'>Not compared (a commit is unknown): "
                     f"{escape(', '.join(unknown))}</p>")
    return "".join(parts)
