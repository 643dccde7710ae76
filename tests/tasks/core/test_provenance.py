"""Which commits a step's result records: its code's and its DAG's (version skew between image and git-sync).

The git checkouts here are written by hand (HEAD, refs, packed-refs, a worktree's ``.git`` file),
as ``git`` would lay them out, so the tests stay in-process.
"""

from __future__ import annotations

import json

from tasks.core import provenance as prov
from tasks.core.common import emit_result

MAIN = "a" * 40
SIDE = "b" * 40
PACKED = "c" * 40


def _repo(root, head="ref: refs/heads/main", refs=None, packed=""):
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text(head + "\n")
    for name, sha in (refs or {}).items():
        (git / name).write_text(sha + "\n")
    if packed:
        (git / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted\n" + packed)
    return git


def test_a_branch_head_is_read_from_its_ref_from_any_folder_below(tmp_path):
    _repo(tmp_path, refs={"refs/heads/main": MAIN})
    (tmp_path / "dags" / "deep").mkdir(parents=True)

    assert prov.git_commit(tmp_path / "dags" / "deep") == MAIN


def test_a_detached_head_is_the_commit_itself(tmp_path):
    _repo(tmp_path, head=SIDE)

    assert prov.git_commit(tmp_path) == SIDE


def test_a_packed_branch_is_found_in_packed_refs(tmp_path):
    _repo(tmp_path, packed=f"{SIDE} refs/heads/other\n{PACKED} refs/heads/main\n")

    assert prov.git_commit(tmp_path) == PACKED


def test_a_worktree_git_file_leads_to_its_head_and_the_common_branches(tmp_path):
    git = _repo(tmp_path / "repo", refs={"refs/heads/main": MAIN, "refs/heads/feature": SIDE})
    linked = git / "worktrees" / "wt"
    linked.mkdir(parents=True)
    (linked / "HEAD").write_text("ref: refs/heads/feature\n")
    (linked / "commondir").write_text("../..\n")
    (tmp_path / "wt" / "dags").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {linked}\n")

    assert prov.git_commit(tmp_path / "wt" / "dags") == SIDE


def test_outside_a_checkout_or_with_a_broken_head_there_is_no_commit(tmp_path):
    assert prov.git_commit(tmp_path) is None
    _repo(tmp_path / "broken", head="ref: refs/heads/gone")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / ".git").write_text("not a gitdir line\n")

    assert prov.git_commit(tmp_path / "broken") is None
    assert prov.git_commit(tmp_path / "odd") is None


def test_the_image_commit_wins_and_unknown_falls_back_to_the_checkout(tmp_path, monkeypatch):
    _repo(tmp_path, refs={"refs/heads/main": MAIN})
    monkeypatch.setattr(prov, "_TASKS_ROOT", tmp_path)
    monkeypatch.setenv("GIT_COMMIT", SIDE)
    assert prov.code_commit() == SIDE

    monkeypatch.setenv("GIT_COMMIT", "unknown")
    assert prov.code_commit() == MAIN


def test_every_result_line_records_the_code_and_dag_commits(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIT_COMMIT", SIDE)
    monkeypatch.setenv(prov.DAG_COMMIT_ENV, MAIN)
    monkeypatch.setenv("STEP_RESULT_PATH", str(tmp_path / "xcom" / "return.json"))

    emit_result({"model": "/artifacts/model.keras"})

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {"model": "/artifacts/model.keras", "provenance": {"code_commit": SIDE, "dag_commit": MAIN}}
    assert json.loads((tmp_path / "xcom" / "return.json").read_text()) == printed


def test_a_step_run_without_a_runner_has_no_dag_commit(monkeypatch, capsys):
    monkeypatch.delenv(prov.DAG_COMMIT_ENV, raising=False)
    monkeypatch.delenv("STEP_RESULT_PATH", raising=False)
    monkeypatch.setenv("GIT_COMMIT", SIDE)

    emit_result({})

    assert json.loads(capsys.readouterr().out)["provenance"] == {"code_commit": SIDE, "dag_commit": None}
