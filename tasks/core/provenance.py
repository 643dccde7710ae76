"""Which commit a step's code and its DAG came from, so a run notices when they differ (version skew).

DAGs arrive by git-sync while ``tasks/`` and ``plugins/`` are baked into images: the two
can come from different commits and nothing else would say so. A step records both in its
result (``provenance``): ``code_commit`` is the image's ``GIT_COMMIT`` (a build argument,
"unknown" when none was given), else the commit of the checkout the ``tasks`` package runs
from; ``dag_commit`` is ``PIPELINE_DAG_COMMIT``, which the runner sets when the task runs,
from the checkout the DAG file lies in (:func:`git_commit`).

The commit is read from the ``.git`` files (HEAD, the ref it names, ``packed-refs``) rather
than by spawning ``git``: images have no ``git``, and a step should not fork for a label.
A ``.git`` *file* (a worktree, as git-sync makes) points at its git folder; a worktree's
branches live in the main repository's folder (``commondir``). No airflow import here:
the runners (plugins) and the steps share this one reader.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DAG_COMMIT_ENV = "PIPELINE_DAG_COMMIT"
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_TASKS_ROOT = Path(__file__).resolve().parents[2]


def _git_dir(dot_git: Path) -> Path | None:
    """The git folder of a checkout: ``.git`` itself, or where a ``.git`` file's ``gitdir:`` line points."""
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text().strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[len("gitdir:"):].strip())
    return target if target.is_absolute() else dot_git.parent / target


def _common_dir(git_dir: Path) -> Path:
    """Where branches and ``packed-refs`` live: a worktree's ``commondir``, else the git folder itself."""
    try:
        common = Path((git_dir / "commondir").read_text().strip())
    except OSError:
        return git_dir
    return common if common.is_absolute() else git_dir / common


def _resolve(git_dir: Path, ref: str) -> str | None:
    """The commit a ref names: a loose ref file (worktree's, then common), else a ``packed-refs`` line."""
    common = _common_dir(git_dir)
    for folder in (git_dir, common):
        try:
            sha = (folder / ref).read_text().strip()
        except OSError:
            continue
        if _SHA.fullmatch(sha):
            return sha
    try:
        packed = (common / "packed-refs").read_text().splitlines()
    except OSError:
        return None
    for line in packed:
        sha, _, name = line.partition(" ")
        if name.strip() == ref and _SHA.fullmatch(sha):
            return sha
    return None


def head_commit(git_dir: Path) -> str | None:
    """The commit HEAD points at (detached or through a branch), or ``None`` if it cannot be read."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if _SHA.fullmatch(head):
        return head
    if head.startswith("ref:"):
        return _resolve(git_dir, head[len("ref:"):].strip())
    return None


def git_commit(start: str | Path) -> str | None:
    """The commit of the git checkout that holds ``start`` (walking up), ``None`` outside one."""
    folder = Path(os.path.abspath(start))
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.exists():
            git_dir = _git_dir(dot_git)
            return head_commit(git_dir) if git_dir is not None else None
    return None


def code_commit() -> str | None:
    """The commit of the step's code: the image's ``GIT_COMMIT``, else the checkout ``tasks`` runs from."""
    baked = os.environ.get("GIT_COMMIT", "").strip()
    if baked and baked != "unknown":
        return baked
    return git_commit(_TASKS_ROOT)


def provenance() -> dict[str, str | None]:
    """What a step's result records: its code's commit and its DAG's (``None`` where unknown)."""
    return {"code_commit": code_commit(), "dag_commit": os.environ.get(DAG_COMMIT_ENV, "").strip() or None}


def dag_commit_env(dag_file: str | Path | None) -> dict[str, str]:
    """What a runner adds to a step's environment: the commit of the checkout its DAG file lies in.

    Runners call it when the task runs (never at parse: it reads files); nothing when the DAG
    is not in a git checkout, so the step records ``dag_commit`` as unknown rather than a guess.
    """
    commit = git_commit(Path(dag_file).parent) if dag_file else None
    return {DAG_COMMIT_ENV: commit} if commit else {}
